package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
)

// ariRequest sends a request to the test instance's ARI (path below /ari) with
// its credentials; a body is JSON. The caller closes the answer's body.
func ariRequest(t *testing.T, method, path string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d/ari%s", st.httpPort, path), body)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(st.ariUser, st.ariPass)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// ariGet is the status of a GET on the test instance's ARI.
func ariGet(t *testing.T, path string) int {
	t.Helper()
	resp := ariRequest(t, "GET", path, nil)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// ariJSON GETs an ARI path and decodes the answer into out.
func ariJSON(t *testing.T, path string, out any) {
	t.Helper()
	resp := ariRequest(t, "GET", path, nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// playbackWatch records every playback Asterisk starts, on any channel, from
// ARI's own events: an ARI application of the test's, subscribed to all of
// Asterisk's events. It is the proof that a prompt was played on a call.
// Asterisk's log files cannot be it: they keep verbose messages up to level 2
// only, because the dial code logs a satisfaction callback's dial string, the
// caller's number, at level 3 (issue 14, docs/security.md), and the
// "Playing '…'" lines are level 3 too.
type playbackWatch struct {
	mu      sync.Mutex
	started []ariv5.PlaybackData
}

// watchPlaybacks starts recording before the test's call is placed (a playback
// started before it would be missed) and stops when the test ends.
func watchPlaybacks(t *testing.T) *playbackWatch {
	t.Helper()
	cl, err := native.Connect(&native.Options{
		Application:  fmt.Sprintf("e2e-playbacks-%d-%s", time.Now().UnixNano(), filepath.Base(t.Name())),
		URL:          fmt.Sprintf("http://127.0.0.1:%d/ari", st.httpPort),
		WebsocketURL: fmt.Sprintf("ws://127.0.0.1:%d/ari/events", st.httpPort),
		Username:     st.ariUser,
		Password:     st.ariPass,
		SubscribeAll: true,
	})
	if err != nil {
		t.Fatalf("ARI connection for the playback watch: %v", err)
	}
	w := &playbackWatch{}
	sub := cl.Bus().Subscribe(nil, ariv5.Events.PlaybackStarted)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				if ps, ok := e.(*ariv5.PlaybackStarted); ok {
					w.mu.Lock()
					w.started = append(w.started, ps.Playback)
					w.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sub.Cancel()
		cl.Close()
	})
	return w
}

// played tells whether media was started on the channel with this ID.
func (w *playbackWatch) played(channelID, media string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.started, func(p ariv5.PlaybackData) bool {
		return p.TargetURI == "channel:"+channelID && p.MediaURI == media
	})
}

// waitPromptPlayed waits until Asterisk has started the prompt on this
// hotline's (first) call.
func (h *hotline) waitPromptPlayed(w *playbackWatch, prompt string) {
	h.t.Helper()
	h.waitEventType("call.started", 30*time.Second)
	var callID string
	if err := h.pool.QueryRow(context.Background(),
		`SELECT call_id FROM events WHERE type = 'call.started' ORDER BY occurred_at LIMIT 1`).Scan(&callID); err != nil {
		h.t.Fatalf("the call's ID: %v", err)
	}
	media := "sound:" + filepath.Join(st.dataDir, "sounds", "hotline", prompt)
	eventually(h.t, 30*time.Second, "the "+prompt+" prompt played on call "+callID, func() bool {
		return w.played(callID, media)
	})
}

// consoleOutput is what a remote Asterisk console printed.
type consoleOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *consoleOutput) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *consoleOutput) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// remoteConsole keeps an operator's remote console (stack.sh asterisk-console)
// on the test's instance open until the test ends: args are asterisk's own,
// e.g. -vvv for the console's verbosity.
func remoteConsole(t *testing.T, args ...string) *consoleOutput {
	t.Helper()
	out := &consoleOutput{}
	// On a terminal, as an operator has it (script(1) makes one): through a
	// pipe the console's output would sit in stdio's buffer until it exits.
	line := strings.Join(append([]string{"exec", "bash", filepath.Join(st.repo, "deploy/stack.sh"), "asterisk-console", st.instance}, args...), " ")
	cmd := exec.Command("script", "--quiet", "--flush", "--return", "--command", line, "/dev/null")
	cmd.Env = append(os.Environ(), "HOTLINE_DATA_DIR="+st.dataDir)
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe() // held open: the console stays connected
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("remote console: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.output(), "Connected to Asterisk") {
		if time.Now().After(deadline) {
			t.Fatalf("the remote console did not connect: %q", out.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}
