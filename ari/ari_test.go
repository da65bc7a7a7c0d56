package ari

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"
)

func TestDecodeEventGuard(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr error // nil means decodes
		anyErr  bool
	}{
		{"known type", `{"type":"StasisStart","application":"hotline","args":[],"channel":{"id":"c1","name":"PJSIP/carrier-1","state":"Ring","caller":{"name":"","number":"138"}}}`, nil, false},
		{"asterisk 22 type the library does not know", `{"type":"ChannelToneDetected","channel":{"id":"c1"}}`, ErrUnhandledEvent, true},
		{"invented type", `{"type":"ChannelTeleported"}`, ErrUnhandledEvent, true},
		{"handled type the filter allows but with garbage fields", `{"type":"ChannelDtmfReceived","digit":5,"channel":"x"}`, nil, true},
		{"not json", `{"type":`, nil, true},
		{"no type", `{"channel":{}}`, nil, true},
		{"empty", ``, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, _, err := decodeEvent([]byte(tc.in))
			if !tc.anyErr {
				if err != nil || ev == nil {
					t.Fatalf("decode = %v, %v; want an event", ev, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("decode of %q succeeded, want an error", tc.in)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

type recordingHandler struct {
	mu    sync.Mutex
	calls []string
	done  chan struct{}
}

func (h *recordingHandler) HandleCall(ctx context.Context, s *Session) {
	h.mu.Lock()
	h.calls = append(h.calls, s.ID())
	h.mu.Unlock()
	<-h.done
}

func newTestClient(t *testing.T) (*Client, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	c, err := New(Config{URL: "http://127.0.0.1:1/ari", Username: "u", Password: "p", Application: "hotline"}, zaptest.NewLogger(t), NewMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	return c, reg
}

// TestDispatchNeverPanicsAndCountsSkipped feeds the dispatcher what a real Asterisk
// 22 may send, including types ari/v5 v5.3.1 cannot decode, and checks that the one
// real call still reaches its handler and everything else is counted.
func TestDispatchNeverPanicsAndCountsSkipped(t *testing.T) {
	c, _ := newTestClient(t)
	h := &recordingHandler{done: make(chan struct{})}
	ctx := context.Background()
	msgs := []string{
		`{"type":"ChannelToneDetected","channel":{"id":"c1"}}`,
		`{"type":"PeerStatusChange","peer":{}}`,
		`garbage`,
		`{"type":"StasisStart","application":"hotline","args":[],"channel":{"id":"c1","name":"PJSIP/carrier-1","state":"Ring","caller":{"number":"13800138000"},"dialplan":{"context":"from-carrier","exten":"12345","priority":2}}}`,
		`{"type":"ChannelDtmfReceived","digit":"1","duration_ms":100,"channel":{"id":"c1"}}`,
		`{"type":"ChannelDtmfReceived","digit":"2","duration_ms":100,"channel":{"id":"nobody"}}`,
	}
	for _, m := range msgs {
		c.dispatch(ctx, h, []byte(m))
	}
	waitUntil(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return len(h.calls) == 1 })
	if got := testutil.ToFloat64(c.metrics.skipped.WithLabelValues("unhandled_type")); got != 2 {
		t.Errorf("unhandled_type = %v, want 2", got)
	}
	if got := testutil.ToFloat64(c.metrics.skipped.WithLabelValues("decode_error")); got != 1 {
		t.Errorf("decode_error = %v, want 1", got)
	}
	if got := testutil.ToFloat64(c.metrics.skipped.WithLabelValues("unrouted")); got != 1 {
		t.Errorf("unrouted = %v, want 1", got)
	}
	c.mu.Lock()
	var s *Session
	for x := range c.sessions {
		s = x
	}
	c.mu.Unlock()
	info := s.Caller()
	if info.CallerNumber != "13800138000" || info.Dialed != "12345" {
		t.Errorf("caller info = %+v", info)
	}
	if !s.hasDigits("c1") {
		t.Error("the DTMF for the call's channel did not reach its session")
	}
	close(h.done)
}

func TestReadDigitsTypeAheadTerminatorAndTimeouts(t *testing.T) {
	c, _ := newTestClient(t)
	s := newSession(c, "c1", zaptest.NewLogger(t))
	dtmf := func(d string) {
		ev, _, err := decodeEvent([]byte(`{"type":"ChannelDtmfReceived","digit":"` + d + `","channel":{"id":"c1"}}`))
		if err != nil {
			t.Fatal(err)
		}
		s.apply(ev)
	}
	ctx := context.Background()
	opts := ReadOptions{Terminators: "#", FirstTimeout: 300 * time.Millisecond, InterTimeout: 300 * time.Millisecond}

	// Typed ahead before anyone read: nothing lost.
	for _, d := range []string{"2", "0", "2", "6", "#", "9"} {
		dtmf(d)
	}
	got, err := s.ReadDigits(ctx, "c1", opts)
	if err != nil || got != "2026" {
		t.Fatalf("ReadDigits = %q, %v; want 2026", got, err)
	}
	// The key after the terminator stays for the next read.
	got, err = s.ReadDigits(ctx, "c1", ReadOptions{Max: 1, FirstTimeout: time.Second})
	if err != nil || got != "9" {
		t.Fatalf("second read = %q, %v; want 9", got, err)
	}
	// Nothing pressed.
	if _, err := s.ReadDigits(ctx, "c1", opts); !errors.Is(err, ErrNoInput) {
		t.Fatalf("silence: err = %v, want ErrNoInput", err)
	}
	// Keys arriving while waiting, then the inter-digit timeout.
	go func() { time.Sleep(50 * time.Millisecond); dtmf("4"); dtmf("2") }()
	got, err = s.ReadDigits(ctx, "c1", opts)
	if err != nil || got != "42" {
		t.Fatalf("live read = %q, %v; want 42", got, err)
	}
	// Hang-up while waiting.
	go func() {
		time.Sleep(50 * time.Millisecond)
		ev, _, _ := decodeEvent([]byte(`{"type":"ChannelDestroyed","cause":16,"cause_txt":"Normal Clearing","channel":{"id":"c1"}}`))
		s.apply(ev)
	}()
	_, err = s.ReadDigits(ctx, "c1", ReadOptions{FirstTimeout: 5 * time.Second})
	var herr *HangupError
	if !errors.As(err, &herr) || herr.Cause != 16 || !errors.Is(err, ErrHangup) {
		t.Fatalf("hang-up: err = %v", err)
	}
}

// TestCameBack: after StasisEnd, a return (StasisStart) and a hang-up (cause
// arriving after StasisEnd, as Asterisk may send them for a caller hanging up
// in a bridge) are told apart, whatever comes first; WaitReturn takes back
// only a channel that came back.
func TestCameBack(t *testing.T) {
	const (
		start   = `{"type":"StasisStart","args":["fax-detected"],"channel":{"id":"c1"}}`
		end     = `{"type":"StasisEnd","channel":{"id":"c1"}}`
		request = `{"type":"ChannelHangupRequest","cause":16,"channel":{"id":"c1"}}`
		gone    = `{"type":"ChannelDestroyed","cause":16,"cause_txt":"Normal Clearing","channel":{"id":"c1"}}`
	)
	tests := []struct {
		name   string
		before []string // applied before asking
		later  []string // applied while CameBack waits
		want   bool
	}{
		{"back before asked", []string{start, end, start}, nil, true},
		{"back while waiting", []string{start, end}, []string{start}, true},
		{"hang-up cause first", []string{start, request, end}, nil, false},
		{"hang-up cause after StasisEnd", []string{start, end}, []string{gone}, false},
		{"never left", []string{start}, nil, false},
		{"left, nothing more: bounded wait", []string{start, end}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t)
			s := newSession(c, "c1", zaptest.NewLogger(t))
			apply := func(raw string) {
				ev, _, err := decodeEvent([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				s.apply(ev)
			}
			for _, raw := range tt.before {
				apply(raw)
			}
			go func() {
				time.Sleep(50 * time.Millisecond)
				for _, raw := range tt.later {
					apply(raw)
				}
			}()
			if got := s.CameBack(context.Background(), "c1", 500*time.Millisecond); got != tt.want {
				t.Fatalf("CameBack = %v, want %v", got, tt.want)
			}
			// CameBack only looks; WaitReturn takes the channel back with the
			// dialplan's Stasis arguments.
			args, ok := s.WaitReturn(context.Background(), "c1", 500*time.Millisecond)
			if ok != tt.want || (ok && (len(args) != 1 || args[0] != "fax-detected")) {
				t.Fatalf("WaitReturn = %v, %v; want %v with the fax-detected argument", args, ok, tt.want)
			}
			if ok && !s.Alive("c1") {
				t.Error("a channel taken back is still marked gone")
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{},
		{URL: "ftp://x/ari", Username: "u", Password: "p", Application: "a"},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", Application: "a"},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p"},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", Application: "a", MaxConns: 500},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", Application: "a", RequestTimeout: time.Millisecond},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", Application: "a", MaxActiveCalls: -1},
		{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", Application: "a", MaxActiveCalls: 2},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
	}
	good := Config{URL: "http://127.0.0.1:8088/ari", Username: "u", Password: "p", Application: "hotline"}
	if err := good.Validate(); err != nil {
		t.Errorf("good config refused: %v", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met")
}

// TestHangupCause: the cause recorded for a channel's end, from the events
// Asterisk 22 sends (the BYE sequence as measured on a caller hanging up).
func TestHangupCause(t *testing.T) {
	const (
		bye      = `{"type":"ChannelHangupRequest","cause":0,"channel":{"id":"c1"}}`
		softReq  = `{"type":"ChannelHangupRequest","cause":16,"soft":true,"channel":{"id":"c1"}}`
		gone0    = `{"type":"ChannelDestroyed","cause":0,"cause_txt":"Unknown","channel":{"id":"c1"}}`
		gone16   = `{"type":"ChannelDestroyed","cause":16,"cause_txt":"Normal Clearing","channel":{"id":"c1"}}`
		goneBusy = `{"type":"ChannelDestroyed","cause":17,"cause_txt":"User busy","channel":{"id":"c1"}}`
		end      = `{"type":"StasisEnd","channel":{"id":"c1"}}`
	)
	tests := []struct {
		name     string
		events   []string
		cause    int
		text     string
		bySystem bool
	}{
		{"caller's BYE: no cause from chan_pjsip, normal clearing", []string{bye, end, softReq, gone0}, 16, "Normal Clearing", false},
		{"caller's BYE after StasisEnd", []string{end, bye, gone0}, 16, "Normal Clearing", false},
		{"Asterisk's own hang-up keeps its cause", []string{softReq, gone16}, 16, "Normal Clearing", true},
		{"a soft hang-up with no cause stays unknown", []string{softReq, end, bye, gone0}, 0, "Unknown", true},
		{"no request seen: Asterisk's cause as it is", []string{gone0}, 0, "Unknown", false},
		{"far end busy keeps its cause", []string{bye, goneBusy}, 17, "User busy", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t)
			s := newSession(c, "c1", zaptest.NewLogger(t))
			for _, raw := range append([]string{`{"type":"StasisStart","args":[],"channel":{"id":"c1","state":"Up"}}`}, tt.events...) {
				ev, _, err := decodeEvent([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				s.apply(ev)
			}
			info := s.Caller()
			if info.Cause != tt.cause || info.CauseText != tt.text || info.BySystem != tt.bySystem {
				t.Fatalf("cause %d %q by system %v, want %d %q %v", info.Cause, info.CauseText, info.BySystem, tt.cause, tt.text, tt.bySystem)
			}
		})
	}
}
