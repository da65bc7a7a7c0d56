package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// carrierIP is where the carrier's calls come from (the carrier endpoint of
// pjsip.conf is identified by this address only).
const carrierIP = "127.0.0.10"

// stack is what the benchmark brought up, and how to take it down.
type stack struct {
	cfg      config
	runDir   string
	binDir   string
	instance string
	sipPort  int
	httpPort int
	tlsPort  int // SIP over TLS
	amiPort  int // the SIP guard's AMI
	amiPass  string
	ariUser  string
	ariPass  string
	astPID   int
	dbName   string
	dbURL    string
	bus      eventbus.Config
	// nats is the run's own nats-server with the production rules
	// (casework/eventbus/access.go): the services run in the production
	// profile, each as its own NATS user.
	nats     *natstest.AuthServer
	pool     *pgxpool.Pool
	rtpSink  *net.UDPConn
	services []*service // started order; stopped in reverse
	callsvc  *service
	started  bool // the Asterisk instance
}

// up brings the stack up; on an error what was started is taken down again.
func up(ctx context.Context, cfg config, runDir string) (s *stack, err error) {
	s = &stack{
		cfg:      cfg,
		runDir:   runDir,
		instance: fmt.Sprintf("bench%d", os.Getpid()),
		ariUser:  "bench",
		ariPass:  randomHex(12),
		amiPass:  randomHex(12),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.down(false))
		}
	}()
	if s.sipPort, err = freePort("udp", "127.0.0.1"); err != nil {
		return s, err
	}
	if s.httpPort, err = freePort("tcp", "127.0.0.1"); err != nil {
		return s, err
	}
	if s.tlsPort, err = freePort("tcp", "127.0.0.1"); err != nil {
		return s, err
	}
	if s.amiPort, err = freePort("tcp", "127.0.0.1"); err != nil {
		return s, err
	}
	// The callers' media goes to a socket that is never read: Asterisk's RTP
	// fills its buffer and the kernel drops the rest (no ICMP, no CPU of ours).
	if s.rtpSink, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(carrierIP)}); err != nil {
		return s, fmt.Errorf("RTP sink on %s: %w", carrierIP, err)
	}
	if s.binDir, err = os.MkdirTemp("", "hotline-bench-bin"); err != nil {
		return s, fmt.Errorf("binaries directory: %w", err)
	}
	fmt.Println("building callsvc, casework, prompts")
	if err := s.command(ctx, "go", "build", "-o", s.binDir+"/", "./cmd/callsvc", "./cmd/casework", "./cmd/prompts"); err != nil {
		return s, fmt.Errorf("build binaries: %w", err)
	}
	if err := s.command(ctx, filepath.Join(s.binDir, "prompts")); err != nil {
		return s, fmt.Errorf("render prompts: %w", err)
	}
	fmt.Printf("starting Asterisk instance %s (SIP %d, ARI %d)\n", s.instance, s.sipPort, s.httpPort)
	s.started = true
	if err := s.stackCmd(ctx, "asterisk-start", s.instance); err != nil {
		return s, fmt.Errorf("start Asterisk instance: %w", err)
	}
	if s.astPID, err = s.asteriskPID(); err != nil {
		return s, err
	}
	// Flow B's number answers only on this instance (extensions.conf, 12399).
	if err := s.ari(ctx, http.MethodPost, "/asterisk/variable?variable=BENCH_TWIN&value=on", nil); err != nil {
		return s, fmt.Errorf("switch on the dialplan twin: %w", err)
	}
	if err := s.createDatabase(ctx); err != nil {
		return s, err
	}
	id := randomHex(4)
	s.bus = eventbus.Config{Stream: "HOTLINE_BENCH_" + strings.ToUpper(id), SubjectRoot: "hotlinebench_" + id}
	scope := eventbus.DefaultScope()
	scope.Stream, scope.SubjectRoot, scope.PopSubject = s.bus.Stream, s.bus.SubjectRoot, s.bus.SubjectRoot+"_agents"
	if s.nats, err = natstest.LaunchAuth(filepath.Join(s.binDir, "nats"), scope, ""); err != nil {
		return s, err
	}
	s.bus.URL = s.nats.URL
	env, callHTTP, caseHTTP, err := s.serviceEnv()
	if err != nil {
		return s, err
	}
	as := func(user string) []string {
		return append(env, "HOTLINE_NATS_USER="+user, "HOTLINE_NATS_PASSWORD="+s.nats.Passwords[user])
	}
	cw, err := startService(ctx, filepath.Join(s.binDir, "casework"), as(eventbus.UserCasework), filepath.Join(runDir, "casework.log"), "http://"+caseHTTP+"/readyz")
	if err != nil {
		return s, err
	}
	s.services = append(s.services, cw)
	if s.pool, err = pgxpool.New(ctx, s.dbURL); err != nil {
		return s, fmt.Errorf("database pool: %w", err)
	}
	if s.callsvc, err = startService(ctx, filepath.Join(s.binDir, "callsvc"), as(eventbus.UserCallService), filepath.Join(runDir, "callsvc.log"), "http://"+callHTTP+"/readyz"); err != nil {
		return s, err
	}
	s.services = append(s.services, s.callsvc)
	return s, nil
}

// serviceEnv is both services' environment, as deploy/e2e gives it, in the
// production profile with the service closed (no agents: the voice menu).
func (s *stack) serviceEnv() (env []string, callHTTP, caseHTTP string, err error) {
	callPort, err := freePort("tcp", "127.0.0.1")
	if err != nil {
		return nil, "", "", err
	}
	casePort, err := freePort("tcp", "127.0.0.1")
	if err != nil {
		return nil, "", "", err
	}
	callHTTP = fmt.Sprintf("127.0.0.1:%d", callPort)
	caseHTTP = fmt.Sprintf("127.0.0.1:%d", casePort)
	state := filepath.Join(s.binDir, "state") // spool, call records, calendar cache: ours alone
	env = append(os.Environ(),
		"HOTLINE_PROFILE=production",
		"HOTLINE_SERVICE_MODE=closed",
		// Info, as in production: debug logging would be part of what is measured.
		"HOTLINE_LOG_LEVEL=info",
		"HOTLINE_DATA_DIR="+s.cfg.dataDir,
		"HOTLINE_DATABASE_URL="+s.dbURL,
		"HOTLINE_NATS_URL="+s.bus.URL,
		"HOTLINE_STREAM="+s.bus.Stream,
		"HOTLINE_SUBJECT_ROOT="+s.bus.SubjectRoot,
		fmt.Sprintf("HOTLINE_ARI_URL=http://127.0.0.1:%d/ari", s.httpPort),
		"HOTLINE_ARI_USER="+s.ariUser,
		"HOTLINE_ARI_PASSWORD="+s.ariPass,
		fmt.Sprintf("HOTLINE_AMI_ADDR=127.0.0.1:%d", s.amiPort),
		"HOTLINE_AMI_PASSWORD="+s.amiPass,
		"HOTLINE_SPOOL_DIR="+filepath.Join(state, "spool", "callsvc"),
		"HOTLINE_CALENDAR_CACHE="+filepath.Join(state, "calendar.json"),
		"HOTLINE_VOICEMAIL_DIR="+filepath.Join(state, "voicemail"),
		"HOTLINE_CALLSVC_HTTP_ADDR="+callHTTP,
		"HOTLINE_CASEWORK_HTTP_ADDR="+caseHTTP,
		"HOTLINE_DRAIN_TIMEOUT=5s",
		"HOTLINE_DRAIN_HANDOVER=off",
		"HOTLINE_FALLBACK_MAILBOX="+filepath.Join(s.cfg.dataDir, "asterisk", s.instance, "spool", "voicemail", "hotline", "12345", "INBOX"),
	)
	return env, callHTTP, caseHTTP, nil
}

// down takes everything down; the Asterisk instance's directory (its logs) is
// kept unless the run succeeded.
func (s *stack) down(ok bool) error {
	var errs []error
	for i := len(s.services) - 1; i >= 0; i-- {
		if err := s.services[i].stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.pool != nil {
		s.pool.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if s.started {
		if err := s.stackCmd(ctx, "asterisk-stop", s.instance); err != nil {
			errs = append(errs, fmt.Errorf("stop Asterisk instance: %w", err))
		}
		dir := filepath.Join(s.cfg.dataDir, "asterisk", s.instance)
		// Asterisk's warnings under load belong with the results.
		if b, err := os.ReadFile(filepath.Join(dir, "log", "messages.log")); err == nil {
			_ = os.WriteFile(filepath.Join(s.runDir, "asterisk-messages.log"), b, 0o644)
		}
		if ok {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "Asterisk instance %s kept for its logs: %s\n", s.instance, dir)
		}
	}
	if s.dbName != "" {
		if err := s.dropDatabase(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if s.nats != nil {
		s.nats.Stop() // its store goes with binDir
	}
	if s.rtpSink != nil {
		_ = s.rtpSink.Close()
	}
	if s.binDir != "" {
		_ = os.RemoveAll(s.binDir)
	}
	return errors.Join(errs...)
}

// command runs a build step in the repository; its output is shown only when
// it fails (the prompts list every file).
func (s *stack) command(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.cfg.repo
	cmd.Env = append(os.Environ(), "HOTLINE_DATA_DIR="+s.cfg.dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// stackCmd runs deploy/stack.sh with this instance's settings (as deploy/e2e's
// stackCmd). The RTP range is wide enough for the holding test (two ports a
// call) and picked by pid, away from the e2e tests' 20000-29999.
func (s *stack) stackCmd(ctx context.Context, args ...string) error {
	rtpBase := 30000 + (os.Getpid()%8)*2500
	udptlBase := 50000 + (os.Getpid()%8)*200
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(s.cfg.repo, "deploy/stack.sh")}, args...)...)
	cmd.Env = append(os.Environ(),
		"HOTLINE_PROFILE=production",
		"HOTLINE_DATA_DIR="+s.cfg.dataDir,
		fmt.Sprintf("AST_SIP_PORT=%d", s.sipPort),
		fmt.Sprintf("AST_HTTP_PORT=%d", s.httpPort),
		fmt.Sprintf("AST_RTP_START=%d", rtpBase),
		fmt.Sprintf("AST_RTP_END=%d", rtpBase+2499),
		fmt.Sprintf("AST_UDPTL_START=%d", udptlBase),
		fmt.Sprintf("AST_UDPTL_END=%d", udptlBase+199),
		"ARI_USER="+s.ariUser,
		"ARI_PASSWORD="+s.ariPass,
		"CARRIER_IP="+carrierIP,
		fmt.Sprintf("AST_SIP_TLS_PORT=%d", s.tlsPort),
		fmt.Sprintf("AST_AMI_PORT=%d", s.amiPort),
		"AMI_PASSWORD="+s.amiPass,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("stack.sh %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// asteriskPID is the instance's process, as stack.sh recorded it (its CPU and
// memory are measured from /proc).
func (s *stack) asteriskPID() (int, error) {
	path := filepath.Join(s.cfg.dataDir, "asterisk", s.instance, "run", "stack.pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("Asterisk pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("Asterisk pid in %s: %w", path, err)
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "asterisk" {
		return 0, fmt.Errorf("pid %d of %s is not Asterisk (%q, %v)", pid, path, comm, err)
	}
	return pid, nil
}

// ari sends one ARI request; out, if not nil, receives the JSON answer.
func (s *stack) ari(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d/ari%s", s.httpPort, path), nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.ariUser, s.ariPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ARI %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ARI %s %s: %s", method, path, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("ARI %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// channels counts the instance's live channels.
func (s *stack) channels(ctx context.Context) (int, error) {
	var chans []json.RawMessage
	if err := s.ari(ctx, http.MethodGet, "/channels", &chans); err != nil {
		return 0, err
	}
	return len(chans), nil
}

// createDatabase makes the run's own database (casework migrates it at start).
func (s *stack) createDatabase(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, s.cfg.pgAdminURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL %s: %w", s.cfg.pgAdminURL, err)
	}
	defer admin.Close(ctx)
	name := "hotline_bench_" + randomHex(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	s.dbName = name
	u, err := url.Parse(s.cfg.pgAdminURL)
	if err != nil {
		return fmt.Errorf("PostgreSQL URL: %w", err)
	}
	u.Path = "/" + name
	s.dbURL = u.String()
	return nil
}

func (s *stack) dropDatabase(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, s.cfg.pgAdminURL)
	if err != nil {
		return fmt.Errorf("drop %s: %w", s.dbName, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+s.dbName+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop %s: %w", s.dbName, err)
	}
	return nil
}

// service is one of our services as a process.
type service struct {
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{} // closed when the process has been waited for
	err    error         // Wait's error, set before done closes
}

// startService starts a service and waits until readyURL answers 200. Its
// process belongs to a context: cancelling it (stop, or Ctrl-C through the
// parent) sends SIGTERM, the service drains, and 20 s later it is killed.
func startService(parent context.Context, bin string, env []string, logPath, readyURL string) (*service, error) {
	name := filepath.Base(bin)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	ctx, cancel := context.WithCancel(parent)
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &service{name: name, cmd: cmd, cancel: cancel, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		f.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			cancel()
			return nil, fmt.Errorf("%s exited at start (%v): see %s", name, s.err, logPath)
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), s.stop())
		case <-time.After(100 * time.Millisecond):
		}
		if resp, err := http.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
	}
	return nil, errors.Join(fmt.Errorf("%s not ready at %s within 30 s: see %s", name, readyURL, logPath), s.stop())
}

func (s *service) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for the exit; a clean exit is status 0.
func (s *service) stop() error {
	s.cancel()
	<-s.done
	if st := s.cmd.ProcessState; st == nil || !st.Success() {
		return fmt.Errorf("%s did not exit cleanly on SIGTERM: %v", s.name, s.err)
	}
	return nil
}

func freePort(network, ip string) (int, error) {
	if network == "udp" {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			return 0, fmt.Errorf("free UDP port on %s: %w", ip, err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		return 0, fmt.Errorf("free TCP port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
