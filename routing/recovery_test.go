package routing

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// An adopted caller goes back to the place of their first arrival, not to the
// end of the queue.
func TestEnqueueKeepsAdoptedCallersPlace(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	p := NewPool(PoolConfig{}, nil, func() time.Time { return now })
	a, b := &waiter{callID: "a"}, &waiter{callID: "b"}
	p.enqueue(a)
	now = now.Add(10 * time.Second)
	p.enqueue(b)
	tests := []struct {
		name  string
		since time.Time
		want  int
	}{
		{"queued before both", now.Add(-time.Minute), 1},
		{"queued between", now.Add(-5 * time.Second), 2},
		{"fresh", time.Time{}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &waiter{callID: tc.name, since: tc.since, resumed: !tc.since.IsZero()}
			if got := p.enqueue(w); got != tc.want {
				t.Errorf("position %d, want %d", got, tc.want)
			}
			p.dequeue(w)
		})
	}
}

// Agents stay logged in across a restart; one who was on a call is held back
// for the adoption grace, then ready again; a damaged file is quarantined.
func TestPoolPersistsAgentStates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agents.json")
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p := NewPool(PoolConfig{}, nil, clock)
	if err := p.persist(path, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	for _, staff := range []string{"1001", "1002", "1003"} {
		if _, err := p.Apply(staff, ActLogin, ""); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = p.Apply("1001", ActReady, "")
	_, _ = p.Apply("1002", ActReady, "")
	w := &waiter{callID: "c1"}
	p.enqueue(w)
	staff := p.reserve(w)
	p.offerDone(w, staff, true) // 1001 (idle longest) on call
	_, _ = p.Apply("1003", ActLogout, "")

	q := NewPool(PoolConfig{}, nil, clock)
	if err := q.persist(path, zap.NewNop()); err != nil {
		t.Fatal(err)
	}
	want := map[string]State{"1001": WrapUp, "1002": Ready}
	for s, st := range want {
		if a, ok := q.Agent(s); !ok || a.State != st {
			t.Errorf("%s restored as %+v, want %s", s, a, st)
		}
	}
	if _, ok := q.Agent("1003"); ok {
		t.Error("a logged-out agent was restored")
	}
	q.restoreOnCall("1001", "c1")
	if a, _ := q.Agent("1001"); a.State != OnCall || a.CallID != "c1" {
		t.Errorf("adopted agent = %+v", a)
	}
	now = now.Add(adoptionGrace + time.Second)
	r := NewPool(PoolConfig{}, nil, clock)
	_ = r.persist(path, zap.NewNop())
	now = now.Add(adoptionGrace + time.Second)
	if a, _ := r.Agent("1001"); a.State != Ready {
		t.Errorf("agent whose call was not adopted = %s, want ready after the grace", a.State)
	}

	if err := os.WriteFile(path, []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := NewPool(PoolConfig{}, nil, clock).persist(path, zap.NewNop()); err == nil {
		t.Error("a damaged state file was accepted")
	}
	if _, err := os.Stat(path + ".bad"); err != nil {
		t.Errorf("damaged state file not quarantined: %v", err)
	}
}
