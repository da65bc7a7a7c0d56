package ari

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"
)

// fakeARI mimics the ARI REST endpoints a call uses: it answers 204 except
// for the paths told otherwise, records what it was asked, and counts the
// TCP connections it accepted.
type fakeARI struct {
	srv   *httptest.Server
	conns atomic.Int64

	mu    sync.Mutex
	seen  []string
	delay map[string]time.Duration // "METHOD /path" → sleep before answering
	code  map[string]int           // "METHOD /path" → status
}

func newFakeARI(t *testing.T) *fakeARI {
	f := &fakeARI{delay: map[string]time.Duration{}, code: map[string]int{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := r.Method + " " + r.URL.Path
		f.mu.Lock()
		f.seen = append(f.seen, k)
		d, code := f.delay[k], f.code[k]
		f.mu.Unlock()
		if d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if code == 0 {
			code = http.StatusNoContent
		}
		w.WriteHeader(code)
	}))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeARI) set(key string, code int, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.code[key], f.delay[key] = code, delay
}

func (f *fakeARI) asked(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.seen {
		if k == key {
			return true
		}
	}
	return false
}

func newFakeClient(t *testing.T, f *fakeARI, cfg Config) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.URL, cfg.Username, cfg.Password, cfg.Application = f.srv.URL+"/ari", "u", "p", "hotline"
	c, err := New(cfg, zaptest.NewLogger(t), NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.api.close)
	return c, reg
}

type answerHandler struct{ err chan error }

func (h answerHandler) HandleCall(ctx context.Context, s *Session) {
	h.err <- s.Answer(ctx, s.ID())
}

// A request Asterisk does not answer in time fails with ErrRequestTimeout
// after the configured deadline (not the library's never-applied one), and
// the call then ends cleanly: the handler returns and the session hangs its
// channel up.
func TestRequestPastDeadlineFailsAndCallEnds(t *testing.T) {
	f := newFakeARI(t)
	f.set("POST /ari/channels/c1/answer", 0, 30*time.Second)
	c, reg := newFakeClient(t, f, Config{RequestTimeout: 200 * time.Millisecond})
	h := answerHandler{err: make(chan error, 1)}
	start := time.Now()
	c.dispatch(context.Background(), h, []byte(`{"type":"StasisStart","application":"hotline","args":[],"channel":{"id":"c1","name":"PJSIP/carrier-1","state":"Ring"}}`))
	var err error
	select {
	case err = <-h.err:
	case <-time.After(10 * time.Second):
		t.Fatal("answer still pending 10 s after a 200 ms deadline")
	}
	// The deadline, then up to hangupSettle for a hang-up that may explain it.
	t.Logf("answer failed after %s: %v", time.Since(start), err)
	if !errors.Is(err, ErrRequestTimeout) {
		t.Fatalf("err = %v, want ErrRequestTimeout", err)
	}
	if errors.Is(err, ErrHangup) {
		t.Fatalf("a live channel's timeout was classed as a hang-up: %v", err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	if !f.asked("DELETE /ari/channels/c1") {
		t.Fatal("the session did not hang the channel up after the failed request")
	}
	if n := testutil.ToFloat64(c.metrics.restTimeouts.WithLabelValues("answer")); n != 1 {
		t.Fatalf("hotline_ari_request_timeouts_total{op=answer} = %v, want 1", n)
	}
	_ = reg
}

// Concurrent requests share a bounded pool of persistent connections
// instead of opening one each (Go's default transport keeps 2 idle per host).
func TestRequestsShareBoundedConnectionPool(t *testing.T) {
	const requests, workers, bound = 400, 64, 8
	run := func(do func(ctx context.Context) error) {
		var wg sync.WaitGroup
		next := make(chan struct{}, requests)
		for range requests {
			next <- struct{}{}
		}
		close(next)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range next {
					if err := do(context.Background()); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
	}
	pooled := newFakeARI(t)
	c, _ := newFakeClient(t, pooled, Config{MaxConns: bound})
	run(func(ctx context.Context) error {
		return c.api.do(ctx, http.MethodPost, "/channels/c1/answer", nil, nil)
	})
	// The default client, as ari/v5's native client uses it: the baseline.
	plain := newFakeARI(t)
	def := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	run(func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, plain.srv.URL+"/ari/channels/c1/answer", nil)
		resp, err := def.Do(req)
		if err != nil {
			return err
		}
		drainClose(resp.Body)
		return nil
	})
	t.Logf("TCP connections for %d requests from %d goroutines: pool(%d) %d, default transport %d",
		requests, workers, bound, pooled.conns.Load(), plain.conns.Load())
	if n := pooled.conns.Load(); n > bound {
		t.Fatalf("pool opened %d connections, bound is %d", n, bound)
	}
}

// The decision that tells a caller's hang-up racing a request from a fault.
func TestClassifyFailure(t *testing.T) {
	gone := &HangupError{ChannelID: "c1", Cause: 16, CauseText: "Normal Clearing"}
	timeout := fmt.Errorf("answer: %w", ErrRequestTimeout)
	notFound := fmt.Errorf("play: %w", &StatusError{Method: "POST", Path: "/channels/c1/play/p", Code: 404, Status: "404 Not Found"})
	conflict := fmt.Errorf("play: %w", &StatusError{Method: "POST", Path: "/channels/c1/play/p", Code: 409, Status: "409 Conflict"})
	serverErr := fmt.Errorf("play: %w", &StatusError{Method: "POST", Path: "/channels/c1/play/p", Code: 500, Status: "500 Internal Server Error"})
	for _, tc := range []struct {
		name       string
		err, herr  error
		wantHangup bool
	}{
		{"404 then the caller's hang-up", notFound, gone, true},
		{"409 not in Stasis then hang-up", conflict, gone, true},
		{"timeout while Asterisk tore the channel down", timeout, gone, true},
		{"404 on a live channel is a fault", notFound, nil, false},
		{"timeout on a live channel is a fault", timeout, nil, false},
		{"500 is a fault even after a hang-up", serverErr, gone, false},
		{"no error", nil, gone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classifyFailure(tc.err, tc.herr)
			if errors.Is(got, ErrHangup) != tc.wantHangup {
				t.Fatalf("classifyFailure(%v, %v) = %v; hang-up %v, want %v", tc.err, tc.herr, got, errors.Is(got, ErrHangup), tc.wantHangup)
			}
			if tc.err != nil && !errors.Is(got, tc.err) {
				t.Fatalf("the request error is lost: %v", got)
			}
		})
	}
	for _, tc := range []struct{ asked, soft, want bool }{
		{false, false, false}, {true, false, true}, {false, true, true}, {true, true, true},
	} {
		if got := hangupBySystem(tc.asked, tc.soft); got != tc.want {
			t.Errorf("hangupBySystem(asked=%v, soft=%v) = %v, want %v", tc.asked, tc.soft, got, tc.want)
		}
	}
}

// The race itself on a session: Asterisk answers 404 to a play and to our
// hang-up before the caller's hang-up event arrives; the call is the
// caller's (hangup_by=caller) with the cause of the event, and no stop is
// sent for a playback whose channel is gone.
func TestHangupRacingRequestIsTheCallers(t *testing.T) {
	f := newFakeARI(t)
	f.set("POST /ari/channels/c1/play/pb", http.StatusNotFound, 0)
	f.set("DELETE /ari/channels/c1", http.StatusNotFound, 0)
	c, _ := newFakeClient(t, f, Config{})
	s := newSession(c, "c1", zaptest.NewLogger(t))
	s.apply(&ariv5.StasisStart{Channel: ariv5.ChannelData{ID: "c1", State: "Up"}})
	go func() {
		time.Sleep(50 * time.Millisecond) // the event trails the REST answer
		s.apply(&ariv5.ChannelHangupRequest{Channel: ariv5.ChannelData{ID: "c1"}, Cause: 16})
	}()
	err := s.chRest(context.Background(), "play", "c1", http.MethodPost, chPath("c1", "play", "pb"), nil, nil)
	var herr *HangupError
	if !errors.As(err, &herr) || herr.BySystem || herr.Cause != 16 {
		t.Fatalf("err = %v, want the caller's hang-up (cause 16, not by system)", err)
	}
	// Our own hang-up of a channel that was already gone is not ours.
	s2 := newSession(c, "c1", zaptest.NewLogger(t))
	s2.apply(&ariv5.StasisStart{Channel: ariv5.ChannelData{ID: "c1", State: "Up"}})
	if err := s2.Hangup(context.Background(), "c1", "normal"); err != nil {
		t.Fatal(err)
	}
	s2.apply(&ariv5.ChannelDestroyed{Channel: ariv5.ChannelData{ID: "c1"}, Cause: 16, CauseTxt: "Normal Clearing"})
	if info := s2.Caller(); info.BySystem || info.Cause != 16 {
		t.Fatalf("after a 404 hang-up: BySystem=%v cause=%d, want the caller's hang-up", info.BySystem, info.Cause)
	}
	// A playback of a gone channel is not stopped (that request could only fail).
	s.mu.Lock()
	s.playbacks["pb2"] = "playing"
	s.mu.Unlock()
	s.stopPlayback("c1", "pb2")
	if f.asked("DELETE /ari/playbacks/pb2") {
		t.Fatal("stop requested for the playback of a channel already gone")
	}
}

func TestOverCapacity(t *testing.T) {
	for _, tc := range []struct {
		max, active int
		want        bool
	}{{0, 1000, false}, {1, 0, false}, {1, 1, true}, {3, 2, false}, {3, 4, true}} {
		c, _ := newTestClient(t)
		c.cfg.MaxActiveCalls = tc.max
		for i := range tc.active {
			c.sessions[newSession(c, fmt.Sprint(i), c.log)] = struct{}{}
		}
		if got := c.overCapacity(); got != tc.want {
			t.Errorf("max %d, active %d: overCapacity = %v, want %v", tc.max, tc.active, got, tc.want)
		}
	}
}

// refusalHandler records the calls the client refused; HandleCall must not run.
type refusalHandler struct {
	got     chan RefusedCall
	handled chan string
}

func (h refusalHandler) HandleCall(ctx context.Context, s *Session) { h.handled <- s.ID() }
func (h refusalHandler) RecordRefused(rc RefusedCall)               { h.got <- rc }

// A call past capacity goes to the fallback and its handler still gets the
// account of it (caller, reason, whether Asterisk took the request), so that the
// record holds every call to the hotline.
func TestRefusedCallIsRecorded(t *testing.T) {
	for _, tc := range []struct {
		name string
		code int
		sent bool
	}{{"fallback took it", 0, true}, {"continue failed", 500, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeARI(t)
			f.set("POST /ari/channels/c2/continue", tc.code, 0)
			c, _ := newFakeClient(t, f, Config{MaxActiveCalls: 1, DrainContext: "hotline-drain"})
			c.sessions[newSession(c, "c1", c.log)] = struct{}{}
			h := refusalHandler{got: make(chan RefusedCall, 1), handled: make(chan string, 1)}
			c.dispatch(context.Background(), h, []byte(`{"type":"StasisStart","application":"hotline","args":[],"channel":{"id":"c2","name":"PJSIP/carrier-2","state":"Ring","caller":{"number":"13800138002"},"dialplan":{"context":"from-carrier","exten":"12345","priority":2}}}`))
			select {
			case rc := <-h.got:
				if rc.Reason != "capacity" || rc.Sent != tc.sent || rc.Info.ID != "c2" || rc.Info.CallerNumber != "13800138002" ||
					rc.Info.Dialed != "12345" || rc.At.IsZero() {
					t.Errorf("refused call %+v; want capacity, sent %v, c2 from 13800138002 to 12345", rc, tc.sent)
				}
			case id := <-h.handled:
				t.Fatalf("call %s past capacity was handled", id)
			case <-time.After(5 * time.Second):
				t.Fatal("no account of the refused call")
			}
			if !f.asked("POST /ari/channels/c2/continue") {
				t.Error("the call was not sent to the fallback")
			}
		})
	}
}
