// Package natstest isolates tests on a real NATS JetStream server: every test gets
// its own stream and subject root on the shared server, or a private server process
// that the test can stop and start to play a broker outage.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hotline12345/hotline/casework/eventbus"
)

// URL is the shared server (HOTLINE_TEST_NATS_URL, default the local one).
func URL() string {
	if u := os.Getenv("HOTLINE_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// Config returns an event bus config with a stream and subject root of its own on
// url; the stream is deleted when the test ends.
func Config(t testing.TB, url string) eventbus.Config {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	cfg := eventbus.Config{
		URL:         url,
		Stream:      "HOTLINE_TEST_" + strings.ToUpper(id),
		SubjectRoot: "hotlinetest_" + id,
		MaxAge:      time.Hour,
	}
	t.Cleanup(func() {
		nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
		if err != nil {
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, cfg.Stream)
		_ = js.DeleteKeyValue(ctx, eventbus.CalendarBucket(cfg.Stream))
	})
	return cfg
}

// Server is a private nats-server process with JetStream.
type Server struct {
	URL  string
	port int
	dir  string
	cmd  *exec.Cmd
	t    testing.TB
	// conf is a config file the server reads (-c): authorization, TLS.
	conf string
}

// StartServer runs a private nats-server (from PATH, or HOTLINE_CACHE_DIR/bin where
// the stack script installs a current one) on a free loopback port.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return StartServerConfig(t, "")
}

// StartServerConfig is StartServer with conf as the server's config file
// (authorization, TLS; listen address and JetStream come from the command
// line, which takes precedence). URL is tls:// when conf has a tls block.
func StartServerConfig(t testing.TB, conf string) *Server {
	t.Helper()
	s, err := newServer(t.TempDir(), conf)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a server outside a test (a TestMain shared by a package's
// tests), its store and config under dir; the caller stops it.
func Launch(dir, conf string) (*Server, error) {
	s, err := newServer(dir, conf)
	if err != nil {
		return nil, err
	}
	return s, s.start()
}

func newServer(dir, conf string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), port: port, dir: filepath.Join(dir, "jetstream")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if conf != "" {
		s.conf = filepath.Join(dir, "nats-server.conf")
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		if strings.Contains(conf, "tls {") || strings.Contains(conf, "tls: {") {
			s.URL = fmt.Sprintf("tls://127.0.0.1:%d", port)
		}
	}
	return s, nil
}

func binary() string {
	cache := os.Getenv("HOTLINE_CACHE_DIR")
	if cache == "" {
		cache = "/var/cache/hotline12345"
	}
	if p := filepath.Join(cache, "bin", "nats-server"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	return "/usr/sbin/nats-server"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start (re)starts the server on the same port and store directory, and waits until
// it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) start() error {
	args := []string{"-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-js", "-sd", s.dir}
	if s.conf != "" {
		args = append(args, "-c", s.conf)
	}
	s.cmd = exec.Command(binary(), args...)
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start nats-server: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("nats-server on port %d did not come up", s.port)
}

// Stop ends the server (a broker outage, as far as clients can tell).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// AuthServer is a private server with the hotline's authorization rules
// (eventbus.RenderAuthorization) and a generated password for every user.
type AuthServer struct {
	*Server
	Scope     eventbus.Scope
	Passwords map[string]string
	// ObserverPassword is the password of ObserverUser, a wiretap that only
	// tests have: it may subscribe to every subject and publish nothing but
	// its replies, so that a test can see everything the bus carries (the
	// whistleblower leak test). Production configs never contain it.
	ObserverPassword string
}

// ObserverUser is the tests' wiretap on an AuthServer (AuthServer.ObserverPassword).
const ObserverUser = "test-observer"

// StartAuthServer runs a private server with the rules of scope for every
// user in eventbus.Users; extra is appended to the rendered config (a tls
// block).
func StartAuthServer(t testing.TB, scope eventbus.Scope, extra string) *AuthServer {
	t.Helper()
	a, conf, err := authConfig(scope, extra)
	if err != nil {
		t.Fatal(err)
	}
	a.Server = StartServerConfig(t, conf)
	return a
}

// LaunchAuth is StartAuthServer outside a test (Launch).
func LaunchAuth(dir string, scope eventbus.Scope, extra string) (*AuthServer, error) {
	a, conf, err := authConfig(scope, extra)
	if err != nil {
		return nil, err
	}
	if a.Server, err = Launch(dir, conf); err != nil {
		if a.Server != nil {
			a.Server.Stop()
		}
		return nil, err
	}
	return a, nil
}

func authConfig(scope eventbus.Scope, extra string) (*AuthServer, string, error) {
	a := &AuthServer{Scope: scope, Passwords: map[string]string{}}
	var creds []eventbus.Credential
	for _, u := range eventbus.Users {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		a.Passwords[u] = hex.EncodeToString(b)
		creds = append(creds, eventbus.Credential{User: u, Password: a.Passwords[u]})
	}
	var conf strings.Builder
	if err := eventbus.RenderAuthorization(&conf, scope, creds); err != nil {
		return nil, "", err
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	a.ObserverPassword = hex.EncodeToString(b)
	const end = "  ]\n}\n" // the rendered users list's end
	rendered, ok := strings.CutSuffix(conf.String(), end)
	if !ok {
		return nil, "", fmt.Errorf("natstest: rendered authorization does not end with the users list")
	}
	observer := fmt.Sprintf("    {\n      user: %q\n      password: %q\n      permissions: { publish: { allow: [\"_INBOX.>\"] }, subscribe: { allow: [\">\"] } }\n    }\n",
		ObserverUser, a.ObserverPassword)
	return a, rendered + observer + end + extra, nil
}

// As returns cfg with user's credentials.
func (a *AuthServer) As(cfg eventbus.Config, user string) eventbus.Config {
	cfg.User, cfg.Password = user, a.Passwords[user]
	return cfg
}
