// Package e2e tests the hotline end to end on the real parts: an Asterisk 22
// instance of its own (started from the stack's sid root on free ports), SIPp as
// the carrier and phones, the call and casework services as real processes, NATS
// JetStream and PostgreSQL. Run with `make test` (which installs the stack first).
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// Addresses of the test network on loopback: Asterisk listens on 127.0.0.1, the
// carrier (SIPp, and the caller's media) sends from CARRIER_IP.
const carrierIP = "127.0.0.10"

// stack is the Asterisk instance and binaries shared by the tests of this package.
type stack struct {
	repo     string
	instance string
	sipPort  int
	httpPort int
	tlsPort  int // SIP over TLS
	amiPort  int // the SIP guard's read-only AMI
	amiPass  string
	ariUser  string
	ariPass  string
	binDir   string
	dataDir  string
	rtpBase  int // RTP ports rtpBase..+199, UDPTL rtpBase+10000..+10199 (shards_test.go)
}

var st stack

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	if run, err := selectShard(); err != nil || !run {
		return 0, err
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		return 0, err
	}
	st = stack{
		repo:     repo,
		instance: fmt.Sprintf("e2e%d", os.Getpid()),
		ariUser:  "e2e",
		ariPass:  randomHex(12),
		amiPass:  randomHex(12),
		dataDir:  envOr("HOTLINE_DATA_DIR", "/var/lib/hotline12345"),
	}
	if st.rtpBase, err = rtpSlot(); err != nil {
		return 0, err
	}
	st.binDir, err = os.MkdirTemp("", "hotline-e2e-bin")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(st.binDir)
	// The desktop's JsSIP bundle, embedded by casework (up to date: no work).
	web := exec.Command("make", "--no-print-directory", "web")
	web.Dir, web.Stdout, web.Stderr = repo, os.Stderr, os.Stderr
	if err := web.Run(); err != nil {
		return 0, fmt.Errorf("make web: %w", err)
	}
	build := exec.Command("go", "build", "-o", st.binDir+"/", "./cmd/callsvc", "./cmd/casework", "./cmd/prompts", "./cmd/hotlinectl")
	build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return 0, fmt.Errorf("build binaries: %w", err)
	}
	prompts := exec.Command(filepath.Join(st.binDir, "prompts"))
	prompts.Env = append(os.Environ(), "HOTLINE_DATA_DIR="+st.dataDir)
	if out, err := prompts.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("render prompts: %w\n%s", err, out)
	}
	if err := startInstance(); err != nil {
		return 0, err
	}
	stopBus, err := startBus()
	if err != nil {
		return 0, err
	}
	defer stopBus()
	code := 1
	defer func() {
		if out, err := st.stackCmd("asterisk-stop", st.instance); err != nil {
			fmt.Fprintf(os.Stderr, "stop Asterisk instance: %v\n%s", err, out)
		}
		// Asterisk's logs are what a failed run is debugged with; a passed
		// run's are not kept (every run has an instance of its own).
		dir := filepath.Join(st.dataDir, "asterisk", st.instance)
		if code == 0 {
			_ = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "Asterisk instance %s kept for its logs: %s\n", st.instance, dir)
		}
	}()
	defer stopOnInterrupt(func() { _, _ = st.stackCmd("asterisk-stop", st.instance) })()
	code = m.Run()
	return code, nil
}

// stackCmd runs deploy/stack.sh with this instance's settings.
func (s *stack) stackCmd(args ...string) ([]byte, error) {
	rtpBase := s.rtpBase
	cmd := exec.Command("bash", append([]string{filepath.Join(s.repo, "deploy/stack.sh")}, args...)...)
	cmd.Env = append(os.Environ(),
		"HOTLINE_PROFILE=production",
		"HOTLINE_DATA_DIR="+s.dataDir,
		fmt.Sprintf("AST_SIP_PORT=%d", s.sipPort),
		fmt.Sprintf("AST_HTTP_PORT=%d", s.httpPort),
		fmt.Sprintf("AST_RTP_START=%d", rtpBase),
		fmt.Sprintf("AST_RTP_END=%d", rtpBase+199),
		fmt.Sprintf("AST_UDPTL_START=%d", rtpBase+10000),
		fmt.Sprintf("AST_UDPTL_END=%d", rtpBase+10199),
		"ARI_USER="+s.ariUser,
		"ARI_PASSWORD="+s.ariPass,
		"CARRIER_IP="+carrierIP,
		fmt.Sprintf("AST_SIP_TLS_PORT=%d", s.tlsPort),
		fmt.Sprintf("AST_AMI_PORT=%d", s.amiPort),
		"AMI_PASSWORD="+s.amiPass,
		// Agents' phones only from 127.0.0.0/26: the SIP tests send from
		// 127.0.0.100 to be outside (sip_security_test.go).
		"AST_AGENT_NETWORKS="+agentNetwork,
	)
	return cmd.CombinedOutput()
}

// hotline is one test's running services: its own database and stream, a casework
// process and (unless stopped) a call service process.
type hotline struct {
	t        *testing.T
	bus      eventbus.Config // the test's own stream and subject root
	dbURL    string
	pool     *pgxpool.Pool
	env      []string
	logDir   string
	casework *proc
	callsvc  *proc
	callHTTP string
	caseHTTP string

	noCallService bool
	beforeCall    []func(*hotline)
	// runAs prefixes a service's command line, by service name (asServiceUsers).
	runAs map[string][]string
}

// option adjusts a test's hotline before its services start.
type option func(*hotline)

// withEnv adds KEY=value settings for both services (later ones win).
func withEnv(kv ...string) option { return func(h *hotline) { h.env = append(h.env, kv...) } }

// withoutCallService leaves the call service stopped (the dialplan fallback answers).
func withoutCallService() option { return func(h *hotline) { h.noCallService = true } }

// beforeCallService runs after casework is ready and before the call service
// starts (e.g. to create users and tokens the call service needs).
func beforeCallService(fn func(h *hotline)) option {
	return func(h *hotline) { h.beforeCall = append(h.beforeCall, fn) }
}

func startHotline(t *testing.T, opts ...option) *hotline {
	t.Helper()
	bus := natstest.Config(t, busURL())
	h := &hotline{t: t, bus: bus, dbURL: pgtest.NewDatabase(t), logDir: t.TempDir()}
	if d := os.Getenv("E2E_KEEP_LOGS"); d != "" {
		// Services' logs of a passing run, for a look at timings
		// (one test at a time: each run overwrites them).
		h.logDir = d
	}
	callPort, _ := freePort("tcp")
	casePort, _ := freePort("tcp")
	h.callHTTP = fmt.Sprintf("127.0.0.1:%d", callPort)
	h.env = append(os.Environ(),
		"HOTLINE_PROFILE=production",
		"HOTLINE_LOG_LEVEL=debug",
		"HOTLINE_DATA_DIR="+st.dataDir,
		"HOTLINE_DATABASE_URL="+h.dbURL,
		"HOTLINE_NATS_URL="+bus.URL,
		"HOTLINE_STREAM="+bus.Stream,
		"HOTLINE_SUBJECT_ROOT="+bus.SubjectRoot,
		fmt.Sprintf("HOTLINE_ARI_URL=http://127.0.0.1:%d/ari", st.httpPort),
		"HOTLINE_ARI_USER="+st.ariUser,
		"HOTLINE_ARI_PASSWORD="+st.ariPass,
		fmt.Sprintf("HOTLINE_AMI_ADDR=127.0.0.1:%d", st.amiPort),
		"HOTLINE_AMI_PASSWORD="+st.amiPass,
		"HOTLINE_SPOOL_DIR="+filepath.Join(t.TempDir(), "spool"),
		// Each test's calendar cache of its own: a notice one test imports must not
		// reach another's call service through the shared data directory.
		"HOTLINE_CALENDAR_CACHE="+filepath.Join(t.TempDir(), "calendar.json"),
		"HOTLINE_CALLSVC_HTTP_ADDR="+h.callHTTP,
		fmt.Sprintf("HOTLINE_CASEWORK_HTTP_ADDR=127.0.0.1:%d", casePort),
		"HOTLINE_DRAIN_TIMEOUT=5s",
		// The fallback's native mailbox of this package's Asterisk instance,
		// imported into the inbox (scanned often: tests wait for it).
		"HOTLINE_FALLBACK_MAILBOX="+filepath.Join(st.dataDir, "asterisk", st.instance, "spool", "voicemail", "hotline", "12345", "INBOX"),
		"HOTLINE_FALLBACK_SCAN=1s",
		// Tests share one Asterisk: a test's calls must not outlive its call
		// service (the handover on SIGTERM is on in production; the recovery
		// tests turn it on).
		"HOTLINE_DRAIN_HANDOVER=off",
	)
	h.caseHTTP = fmt.Sprintf("127.0.0.1:%d", casePort)
	for _, o := range opts {
		o(h)
	}
	h.casework = h.start("casework", "http://"+h.caseHTTP+"/readyz")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h.pool = pool
	if h.noCallService {
		return h
	}
	for _, fn := range h.beforeCall {
		fn(h)
	}
	h.callsvc = h.start("callsvc", "http://"+h.callHTTP+"/readyz")
	return h
}

// proc is a service process under test.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

func (h *hotline) start(name, readyURL string) *proc {
	h.t.Helper()
	logPath := filepath.Join(h.logDir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(st.binDir, name))
	if pre := h.runAs[name]; len(pre) > 0 {
		cmd = exec.Command(pre[0], append(pre[1:], cmd.Path)...)
	}
	cmd.Env, cmd.Stdout, cmd.Stderr = append(natsCreds(name), h.env...), f, f
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); f.Close() }()
	h.t.Cleanup(func() {
		p.stop(h.t)
		if h.t.Failed() {
			out, _ := os.ReadFile(logPath)
			h.t.Logf("---- %s log (tail) ----\n%s", name, tail(out, 6000))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			out, _ := os.ReadFile(logPath)
			h.t.Fatalf("%s exited at start: %v\n%s", name, err, tail(out, 4000))
		default:
		}
		if resp, err := http.Get(readyURL); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(logPath)
	h.t.Fatalf("%s not ready at %s within 30s\n%s", name, readyURL, tail(out, 4000))
	return nil
}

// stop sends SIGTERM and waits for a clean exit (the services' drain).
func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s did not exit cleanly on SIGTERM: %v", p.name, err)
		}
		p.done <- err
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("%s did not stop within 20s of SIGTERM", p.name)
	}
}

// sippResult is what a SIPp run left behind.
type sippResult struct {
	err    error
	output string
}

// carrierCall has the carrier call 12345 from caller with media at rtp, holding the
// call for hold before hanging up. It runs in the background; read the result from
// the channel.
func carrierCall(t *testing.T, caller string, rtp *rtpPeer, hold time.Duration) <-chan sippResult {
	t.Helper()
	sipPort, err := freePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	return runSIPp(t, t.TempDir(), hold+30*time.Second,
		"-sf", filepath.Join(st.repo, "deploy/e2e/sipp/carrier_call.xml"),
		"-s", "12345",
		"-i", carrierIP, "-p", fmt.Sprint(sipPort),
		"-key", "caller", caller,
		"-key", "rtpaddr", rtp.Addr, "-key", "rtpport", fmt.Sprint(rtp.Port),
		"-d", fmt.Sprint(hold.Milliseconds()),
		"-m", "1", "-l", "1",
		"-recv_timeout", "20000",
		fmt.Sprintf("127.0.0.1:%d", st.sipPort),
	)
}

// runSIPp runs sipp in dir in the background, bounded in time; it is killed
// (and waited for) when the test ends. The result carries its error log.
func runSIPp(t *testing.T, dir string, bound time.Duration, args ...string) <-chan sippResult {
	t.Helper()
	args = append([]string{"-timeout", fmt.Sprintf("%ds", int(bound.Seconds())), "-timeout_error",
		"-trace_err", "-nostdin"}, args...)
	cmd := exec.Command("sipp", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	res := make(chan sippResult, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		logs, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			out.Write(b)
		}
		res <- sippResult{err: err, output: out.String()}
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return res
}

func waitSIPp(t *testing.T, res <-chan sippResult, timeout time.Duration) sippResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-time.After(timeout):
		t.Fatal("sipp did not finish")
	}
	return sippResult{}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// startInstance starts the shard's Asterisk instance on free ports. A port
// found free can be taken by another process (the other shard's services, a
// SIPp) before Asterisk binds it ("Address already in use", seen once in a
// 2-shard run): then the instance is stopped and started again on new ports.
func startInstance() error {
	var err error
	for attempt := 1; ; attempt++ {
		for _, p := range []struct {
			port    *int
			network string
		}{{&st.sipPort, "udp"}, {&st.httpPort, "tcp"}, {&st.tlsPort, "tcp"}, {&st.amiPort, "tcp"}} {
			if *p.port, err = freePort(p.network); err != nil {
				return err
			}
		}
		out, err := st.stackCmd("asterisk-start", st.instance)
		if err == nil {
			return nil
		}
		log, _ := os.ReadFile(filepath.Join(st.dataDir, "asterisk", st.instance, "log", "console.log"))
		if attempt == 3 || !bytes.Contains(log, []byte("Address already in use")) {
			return fmt.Errorf("start Asterisk instance: %w\n%s", err, out)
		}
		fmt.Fprintf(os.Stderr, "e2e setup: a port of instance %s was taken before Asterisk bound it; again on new ports\n", st.instance)
		_, _ = st.stackCmd("asterisk-stop", st.instance)
		_ = os.Remove(filepath.Join(st.dataDir, "asterisk", st.instance, "log", "console.log"))
	}
}

func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
