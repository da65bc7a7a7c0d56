package e2e

import (
	"bytes"
	"context"
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

	"github.com/jackc/pgx/v5"
)

// TestMakeRunAnswersAndStoresACall is the README's first command, as make run
// does it: deploy/stack.sh up in the demo profile (Asterisk "dev", the services'
// nats-server with logins, the service users), then deploy/run-services.sh
// with this package's binaries. The services come up as their own users
// (callsvc as hotline-call, casework as hotline-case; neither reads the
// other's NATS password), a carrier call is answered and stored, and Ctrl-C
// (SIGINT) stops them. Each part passed
// its own tests; this is where they meet (the NATS password modes and the
// service user once did not).
func TestMakeRunAnswersAndStoresACall(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:8088"} {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			t.Skipf("%s answers: a make run is running on this machine; its ports are make run's own", addr)
		}
	}
	db := "hotline_makerun_" + randomHex(4)
	up := exec.Command("bash", filepath.Join(st.repo, "deploy/stack.sh"), "up")
	up.Env = append(os.Environ(), "HOTLINE_PROFILE=demo", "HOTLINE_DATA_DIR="+st.dataDir)
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("stack.sh up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command("bash", filepath.Join(st.repo, "deploy/stack.sh"), "down")
		down.Env = append(os.Environ(), "HOTLINE_PROFILE=demo", "HOTLINE_DATA_DIR="+st.dataDir)
		if out, err := down.CombinedOutput(); err != nil {
			t.Errorf("stack.sh down: %v\n%s", err, out)
		}
		if conn, err := pgx.Connect(context.Background(), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"); err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})

	logPath := filepath.Join(t.TempDir(), "run.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	run := exec.Command("bash", filepath.Join(st.repo, "deploy/run-services.sh"))
	run.Env = append(os.Environ(), "HOTLINE_PROFILE=demo", "HOTLINE_DATA_DIR="+st.dataDir, "BIN="+st.binDir, "HOTLINE_DB_NAME="+db)
	run.Stdout, run.Stderr = logFile, logFile
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches the whole group, as in a terminal
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			t.Errorf("make run's services still running 40 s after Ctrl-C")
		}
	}
	t.Cleanup(stop)
	showLog := func() {
		b, _ := os.ReadFile(logPath)
		t.Logf("run-services.sh output (tail):\n%s", tail(b, 4000))
	}

	ready := func(url string) bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	deadline := time.Now().Add(90 * time.Second)
	for !(ready("http://127.0.0.1:9101/readyz") && ready("http://127.0.0.1:9102/desk/")) {
		select {
		case err := <-done:
			showLog()
			t.Fatalf("run-services.sh exited before the services were ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			showLog()
			t.Fatal("the services of make run were not ready within 90 s")
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Each service has only its own secrets in its environment (which only
	// its user can read): casework no ARI or AMI password, the call service
	// no database URL.
	for _, c := range []struct {
		bin, user     string
		mine, notMine []string
	}{
		{"callsvc", callUser, []string{"HOTLINE_ARI_PASSWORD", "HOTLINE_AMI_PASSWORD"}, []string{"HOTLINE_DATABASE_URL"}},
		{"casework", caseUser, []string{"HOTLINE_DATABASE_URL"}, []string{"HOTLINE_ARI_PASSWORD", "HOTLINE_AMI_PASSWORD"}},
	} {
		out, err := exec.Command("pgrep", "-u", c.user, "-f", filepath.Join(st.binDir, c.bin)).Output()
		pids := strings.Fields(string(out))
		if err != nil || len(pids) == 0 {
			showLog()
			t.Errorf("%s of make run does not run as user %s", c.bin, c.user)
			continue
		}
		env, err := os.ReadFile("/proc/" + pids[0] + "/environ")
		if err != nil {
			t.Fatal(err)
		}
		has := func(k string) bool { return bytes.Contains(append([]byte{0}, env...), []byte("\x00"+k+"=")) }
		for _, k := range c.mine {
			if !has(k) {
				t.Errorf("%s's environment lacks %s (positive control)", c.bin, k)
			}
		}
		for _, k := range c.notMine {
			if has(k) {
				t.Errorf("%s's environment has %s, which is not its own", c.bin, k)
			}
		}
	}
	// Each reads its own NATS password file (it connected), not the other's.
	secrets := filepath.Join(st.dataDir, "nats-hotline", "secrets")
	for _, c := range []struct{ user, file string }{{callUser, "casework"}, {caseUser, "callsvc"}} {
		if out, err := asUser(c.user, "cat", filepath.Join(secrets, c.file+".password")); err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("%s reads %s.password: %v %s", c.user, c.file, err, out)
		}
	}

	const caller = "13800138077"
	call := exec.Command("bash", filepath.Join(st.repo, "deploy/demo/sipp-call.sh"), "answered")
	sipPort, _ := freePort("udp")
	call.Env = append(os.Environ(), "SIPP_SECONDS=17", "SIPP_CALLER="+caller, fmt.Sprintf("SIPP_LOCAL_PORT=%d", sipPort))
	if out, err := call.CombinedOutput(); err != nil {
		showLog()
		t.Fatalf("demo call: %v\n%s", err, tail(out, 3000))
	}
	conn, err := pgx.Connect(t.Context(), "postgres://postgres@127.0.0.1:5432/"+db+"?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var outcome, by, causeText string
	var cause int
	eventually(t, 20*time.Second, "the demo call stored", func() bool {
		return conn.QueryRow(t.Context(), `SELECT outcome, hangup_by, hangup_cause, hangup_cause_text FROM calls WHERE caller = $1 AND ended_at IS NOT NULL`, caller).
			Scan(&outcome, &by, &cause, &causeText) == nil
	})
	// The scenario's BYE ends the call: the caller's, normal clearing
	// (chan_pjsip itself reports no cause for it).
	if by != "caller" || cause != 16 {
		t.Errorf("demo call ended by %q with cause %d %q, want the caller's normal clearing (16)", by, cause, causeText)
	}
	t.Logf("demo call stored, outcome %s", outcome)

	stop()
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "call service stopped") {
		showLog()
		t.Error("Ctrl-C did not stop the call service cleanly")
	}
}
