package routing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNext(t *testing.T) {
	tests := []struct {
		from State
		act  Action
		want State
		bad  bool
	}{
		{LoggedOut, ActLogin, Paused, false},
		{Ready, ActLogin, Ready, false},
		{LoggedOut, ActReady, LoggedOut, true},
		{Paused, ActReady, Ready, false},
		{WrapUp, ActReady, Ready, false},
		{Ready, ActPause, Paused, false},
		{OnCall, ActPause, OnCall, false}, // takes effect after the call
		{OnCall, ActLogout, OnCall, true},
		{WrapUp, ActLogout, LoggedOut, false},
		{Ready, ActConnect, OnCall, false},
		{Paused, ActConnect, Paused, true},
		{OnCall, ActHangup, WrapUp, false},
		{Ready, ActHangup, Ready, true},
		{WrapUp, ActWrapEnd, Ready, false},
		{Paused, ActWrapEnd, Paused, false},
	}
	for _, tt := range tests {
		got, err := Next(tt.from, tt.act)
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("Next(%s, %s) = %s, %v; want %s, bad=%v", tt.from, tt.act, got, err, tt.want, tt.bad)
		}
		if tt.bad && !errors.Is(err, ErrBadState) {
			t.Errorf("Next(%s, %s) error %v is not ErrBadState", tt.from, tt.act, err)
		}
	}
}

func TestMatchLongestIdle(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ag := func(staff string, s State, idle time.Duration, offering string) *Agent {
		return &Agent{Staff: staff, State: s, IdleSince: t0.Add(idle), Offering: offering}
	}
	w1 := &waiter{callID: "c1", tried: map[string]bool{}}
	w2 := &waiter{callID: "c2", tried: map[string]bool{}}
	w3 := &waiter{callID: "c3", tried: map[string]bool{"1001": true}}
	wOnly := &waiter{callID: "c4", only: "1003", tried: map[string]bool{}}
	tests := []struct {
		name   string
		queue  []*waiter
		agents []*Agent
		want   map[*waiter]string
	}{
		{"longest idle first", []*waiter{w1}, []*Agent{ag("1001", Ready, 2*time.Minute, ""), ag("1002", Ready, time.Minute, "")},
			map[*waiter]string{w1: "1002"}},
		{"queue order", []*waiter{w1, w2}, []*Agent{ag("1001", Ready, 2*time.Minute, ""), ag("1002", Ready, time.Minute, "")},
			map[*waiter]string{w1: "1002", w2: "1001"}},
		{"not ready or ringing skipped", []*waiter{w1}, []*Agent{ag("1001", Paused, 0, ""), ag("1002", Ready, 0, "c9"),
			ag("1003", OnCall, 0, ""), ag("1004", WrapUp, 0, ""), ag("1005", Ready, time.Hour, "")},
			map[*waiter]string{w1: "1005"}},
		{"tried agent skipped, next caller gets it", []*waiter{w3, w2}, []*Agent{ag("1001", Ready, 0, "")},
			map[*waiter]string{w2: "1001"}},
		{"transfer to one agent", []*waiter{wOnly}, []*Agent{ag("1001", Ready, 0, ""), ag("1003", Ready, time.Hour, "")},
			map[*waiter]string{wOnly: "1003"}},
		{"nobody ready", []*waiter{w1, w2}, []*Agent{ag("1001", Paused, 0, "")}, map[*waiter]string{}},
		{"tie broken by staff number", []*waiter{w1}, []*Agent{ag("1002", Ready, 0, ""), ag("1001", Ready, 0, "")},
			map[*waiter]string{w1: "1001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := match(tt.queue, tt.agents)
			if len(got) != len(tt.want) {
				t.Fatalf("match = %v, want %v", got, tt.want)
			}
			for w, staff := range tt.want {
				if got[w] != staff {
					t.Errorf("caller %s got %q, want %q", w.callID, got[w], staff)
				}
			}
		})
	}
}

func TestEstimateWait(t *testing.T) {
	tests := []struct {
		pos     int
		aht     time.Duration
		serving int
		want    time.Duration
		known   bool
		minutes int
	}{
		{1, 3 * time.Minute, 1, 3 * time.Minute, true, 3},
		{3, 3 * time.Minute, 2, 270 * time.Second, true, 5},
		{1, 3 * time.Minute, 6, 30 * time.Second, true, 1},
		{2, time.Minute, 0, 0, false, 1},
		{0, time.Minute, 2, 0, false, 1},
	}
	for _, tt := range tests {
		got, known := estimateWait(tt.pos, tt.aht, tt.serving)
		if got != tt.want || known != tt.known || waitMinutes(got) != tt.minutes {
			t.Errorf("estimateWait(%d, %s, %d) = %s, %v (%d min); want %s, %v (%d min)",
				tt.pos, tt.aht, tt.serving, got, known, waitMinutes(got), tt.want, tt.known, tt.minutes)
		}
	}
}

// fakeClock is a settable clock for the pool.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestPoolOffersWrapUpAndMissed(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	p := NewPool(PoolConfig{WrapUp: 10 * time.Second, MaxMissed: 2}, NewMetrics(prometheus.NewRegistry()), clk.now)
	for _, staff := range []string{"1001", "1002"} {
		if _, err := p.Apply(staff, ActLogin, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Apply("1001", ActReady, ""); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Second)
	if _, err := p.Apply("1002", ActReady, ""); err != nil {
		t.Fatal(err)
	}
	w := &waiter{callID: "c1"}
	p.enqueue(w)
	if got := p.reserve(w); got != "1001" {
		t.Fatalf("first offer to %q, want longest idle 1001", got)
	}
	p.offerDone(w, "1001", false)
	if got := p.reserve(w); got != "1002" {
		t.Fatalf("after no answer offer to %q, want 1002", got)
	}
	p.offerDone(w, "1002", true)
	p.dequeue(w)
	if a, _ := p.Agent("1002"); a.State != OnCall || a.CallID != "c1" {
		t.Fatalf("1002 = %+v, want on call c1", a)
	}
	// A second missed offer in a row pauses 1001.
	w2 := &waiter{callID: "c2"}
	p.enqueue(w2)
	if got := p.reserve(w2); got != "1001" {
		t.Fatalf("offer to %q, want 1001", got)
	}
	p.offerDone(w2, "1001", false)
	if a, _ := p.Agent("1001"); a.State != Paused || a.Reason != ReasonNoAnswer {
		t.Fatalf("1001 = %+v, want paused no_answer", a)
	}
	if got := p.reserve(w2); got != "" {
		t.Fatalf("offer to %q while nobody is available", got)
	}
	// 1002 hangs up: wrap-up, then ready again when it is over.
	p.callEnded("1002", time.Minute)
	if a, _ := p.Agent("1002"); a.State != WrapUp {
		t.Fatalf("1002 = %s, want wrap_up", a.State)
	}
	clk.t = clk.t.Add(11 * time.Second)
	if got := p.reserve(w2); got != "1002" {
		t.Fatalf("after wrap-up offer to %q, want 1002", got)
	}
	// A pause asked for during a call takes effect when it ends.
	p.offerDone(w2, "1002", true)
	if _, err := p.Apply("1002", ActPause, "lunch"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Apply("1002", ActLogout, ""); !errors.Is(err, ErrBadState) {
		t.Fatalf("logout on a call: %v, want ErrBadState", err)
	}
	p.callEnded("1002", time.Minute)
	if a, _ := p.Agent("1002"); a.State != Paused || a.Reason != "lunch" {
		t.Fatalf("1002 = %+v, want paused lunch", a)
	}
}

func TestAnnouncement(t *testing.T) {
	tests := []struct {
		pos   int
		wait  time.Duration
		known bool
		want  string
	}{
		{0, 0, false, ""},
		{1, 0, false, "queue-connecting"},
		{1, 90 * time.Second, true, "queue-connecting queue-wait-before 2 queue-wait-after"},
		{3, 0, false, "queue-position-before 2 queue-position-after"},
		{2, 4 * time.Minute, true, "queue-position-before 1 queue-position-after queue-wait-before 4 queue-wait-after"},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range announcement(tt.pos, tt.wait, tt.known) {
			if p.say != "" {
				got = append(got, p.say)
			} else {
				got = append(got, string(p.prompt))
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("announcement(%d, %s, %v) = %q, want %q", tt.pos, tt.wait, tt.known, g, tt.want)
		}
	}
}

func TestUsableDutyLine(t *testing.T) {
	trunks := []string{"dutylines"}
	for dial, want := range map[string]bool{
		"PJSIP/8801@dutylines":         true,
		"PJSIP/+8645112345@dutylines":  true,
		"PJSIP/13800138000@carrier":    false, // not a duty-line trunk
		"PJSIP/1001":                   false, // an agent's phone
		"PJSIP/8801@dutylines&PJSIP/1": false,
		"Local/8801@from-carrier":      false,
		"":                             false,
	} {
		if got := usableDutyLine(dial, trunks); got != want {
			t.Errorf("usableDutyLine(%q) = %v, want %v", dial, got, want)
		}
	}
}

func TestPoolStateChangesWhileRinging(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	p := NewPool(PoolConfig{WrapUp: 10 * time.Second}, NewMetrics(prometheus.NewRegistry()), clk.now)
	for _, act := range []Action{ActLogin, ActReady} {
		if _, err := p.Apply("1001", act, ""); err != nil {
			t.Fatal(err)
		}
	}
	w := &waiter{callID: "c1"}
	p.enqueue(w)
	if got := p.reserve(w); got != "1001" {
		t.Fatalf("offer to %q", got)
	}
	// Logged out while the phone rings, then answers anyway.
	if _, err := p.Apply("1001", ActLogout, ""); err != nil {
		t.Fatal(err)
	}
	p.offerDone(w, "1001", true)
	if a, _ := p.Agent("1001"); a.State != OnCall {
		t.Fatalf("answered call: %s, want on_call", a.State)
	}
	p.callEnded("1001", time.Minute)
	if a, _ := p.Agent("1001"); a.State != LoggedOut {
		t.Fatalf("after the call: %s, want logged_out (not wrap-up then ready)", a.State)
	}
}

func TestPoolStateHook(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	p := NewPool(PoolConfig{WrapUp: 10 * time.Second}, nil, clk.now)
	var got []string
	p.onState = func(a Agent, prev State, spent time.Duration) {
		got = append(got, fmt.Sprintf("%s>%s/%s:%s:%s", prev, a.State, a.Reason, spent, a.CallID))
	}
	_, _ = p.Apply("1001", ActLogin, "")
	clk.t = clk.t.Add(5 * time.Second)
	_, _ = p.Apply("1001", ActReady, "")
	w := &waiter{callID: "c1"}
	p.enqueue(w)
	p.reserve(w)
	clk.t = clk.t.Add(time.Minute)
	p.offerDone(w, "1001", true)
	clk.t = clk.t.Add(2 * time.Minute)
	p.callEnded("1001", 2*time.Minute)
	clk.t = clk.t.Add(10 * time.Second)
	p.Agent("1001") // wrap-up ends lazily
	want := []string{
		"logged_out>paused/logged_in:0s:",
		"paused>ready/:5s:",
		"ready>on_call/:1m0s:c1",
		"on_call>wrap_up/:2m0s:c1",
		"wrap_up>ready/:10s:",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("state changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
