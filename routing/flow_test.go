package routing

// Fast tests of the queue, the conversation and the agent's commands against
// the scripted fake of the call operations (ari/aritest). The end-to-end tests
// keep what only Asterisk can show: audio, SIP, the real bridges.

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ari/aritest"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/ivr/prompts"
)

type memSink struct {
	mu  sync.Mutex
	evs []event.Envelope
}

func (m *memSink) Publish(env event.Envelope) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, env)
	return nil
}

// of returns the events of type t, in order.
func (m *memSink) of(t event.Type) []event.Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []event.Envelope
	for _, e := range m.evs {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

func payload[T any](t *testing.T, e event.Envelope) T {
	t.Helper()
	var p T
	if err := e.DecodePayload(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

type ttsSpeaker struct{}

func (ttsSpeaker) RenderText(_ context.Context, text string) (string, error) {
	return "/tts/" + text, nil
}

// directory knows one unit and one case.
type directory struct{ unit Unit }

func (d directory) Unit(_ context.Context, _, id string) (Unit, error) {
	if id != d.unit.ID {
		return Unit{}, ErrNotInDirectory
	}
	return d.unit, nil
}
func (directory) EarlierCases(context.Context, string, string) ([]CaseSummary, error) {
	return nil, nil
}
func (directory) Case(_ context.Context, _, ref string) (CaseRef, error) {
	return CaseRef{ID: "case-" + ref, Number: ref, Category: "complaint"}, nil
}

// fileStore "fetches" a recording as an empty file.
type fileStore struct{}

func (fileStore) FetchRecording(_ context.Context, _, _, dst string) error {
	return os.WriteFile(dst, nil, 0o640)
}

var dongcheng = Unit{ID: "dongcheng", Name: "东城区", DutyLine: "PJSIP/88010001@dutylines", Active: true}

// queueTest is a routing service with short timers, its agents and one caller.
type queueTest struct {
	t    *testing.T
	s    *Service
	f    *aritest.Session
	sink *memSink
	call *ivr.Call
}

func newQueueTest(t *testing.T, cfg Config, ready ...string) *queueTest {
	t.Helper()
	cfg.SoundsDir, cfg.RecordingsDir = "/snd", t.TempDir()
	if cfg.RingTimeout == 0 {
		cfg.RingTimeout = 30 * time.Millisecond
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 5 * time.Second
	}
	if cfg.FirstAnnounce == 0 {
		cfg.FirstAnnounce = time.Hour
	}
	if cfg.DutyLineTimeout == 0 {
		cfg.DutyLineTimeout = 30 * time.Millisecond
	}
	if cfg.Pool.MaxMissed == 0 {
		cfg.Pool.MaxMissed = 2
	}
	log := zaptest.NewLogger(t)
	s := New(cfg, Deps{Speaker: ttsSpeaker{}, Directory: directory{dongcheng}, Recordings: fileStore{}},
		NewMetrics(prometheus.NewRegistry()), log)
	// Ready in order: the first has been idle longest.
	for _, staff := range ready {
		for _, act := range []Action{ActLogin, ActReady} {
			if _, err := s.Pool().Apply(staff, act, ""); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	f := aritest.NewSession("caller-1", ari.ChannelInfo{Name: "PJSIP/carrier-1", CallerNumber: "13800000001", State: "Up"})
	sink := &memSink{}
	return &queueTest{t: t, s: s, f: f, sink: sink, call: ivr.NewCall(f, log, sink, "test")}
}

// answers makes staff's phone answer each offer.
func (q *queueTest) answers(staff string) {
	q.f.On(aritest.OriginateTo("PJSIP/"+staff), func(o aritest.Op) { q.f.AnswerChannel(o.Channel) })
}

// serve runs Serve in the background; the result comes on the channel.
func (q *queueTest) serve(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- q.s.Serve(ctx, q.call) }()
	return done
}

func (q *queueTest) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	q.t.Cleanup(cancel)
	return ctx
}

// connected waits until the n-th agent is bridged with the caller (the
// recording starts once, at the first) and returns that agent's channel.
func (q *queueTest) connected(ctx context.Context, n int) string {
	q.t.Helper()
	o, err := q.f.WaitOp(ctx, func(o aritest.Op) bool { return o.Name == "bridge_add" && o.Channel != q.f.ID() }, n)
	if err != nil {
		q.t.Fatalf("agent %d not connected: %v; operations %v", n, err, q.f.Ops())
	}
	return o.Channel
}

func (q *queueTest) wait(done <-chan error) error {
	q.t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		q.t.Fatalf("Serve did not return; operations %v", q.f.Ops())
		return nil
	}
}

func (q *queueTest) offers() []string {
	var out []string
	for _, o := range q.f.Ops() {
		if o.Name == "originate" {
			out = append(out, o.Originate.Endpoint)
		}
	}
	return out
}

func (q *queueTest) agent(staff string) Agent {
	a, _ := q.s.Pool().Agent(staff)
	return a
}

// TestQueueLongestIdleRingTimeoutNext: the agent idle longest is rung first;
// unanswered within the ring timeout, the offer moves on to the next, who
// hears nothing but is connected after the staff-number prompt. The call is
// recorded from a snoop on the caller, saved when it ends.
func TestQueueLongestIdleRingTimeoutNext(t *testing.T) {
	for _, tc := range []struct {
		maxMissed int
		want      State // the agent who missed the offer
	}{{2, Ready}, {1, Paused}} {
		t.Run(string(tc.want), func(t *testing.T) {
			q := newQueueTest(t, Config{Pool: PoolConfig{MaxMissed: tc.maxMissed}}, "1001", "1002")
			q.answers("1002")
			ctx := q.ctx()
			done := q.serve(ctx)
			agentCh := q.connected(ctx, 1)
			q.f.HangUp(agentCh, 16)
			if err := q.wait(done); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if got := q.offers(); !slices.Equal(got, []string{"PJSIP/1001", "PJSIP/1002"}) {
				t.Errorf("offers %v, want 1001 (idle longest) then 1002", got)
			}
			if a := q.agent("1001"); a.State != tc.want || tc.want == Paused && a.Reason != ReasonNoAnswer {
				t.Errorf("1001 after a missed offer: %s (%s), want %s", a.State, a.Reason, tc.want)
			}
			ans := q.sink.of(event.AgentAnswered)
			if len(ans) != 1 || payload[event.AgentAnsweredPayload](t, ans[0]).StaffNumber != "1002" {
				t.Errorf("agent_answered %v, want one by 1002", ans)
			}
			var heard []string
			for _, o := range q.f.Ops() {
				if o.Name == "play" {
					heard = append(heard, o.Media)
				}
			}
			if !slices.Equal(heard, []string{"sound:/tts/" + prompts.Digits("1002"), "sound:/snd/agent-intro"}) {
				t.Errorf("caller heard %v, want the staff number and the intro", heard)
			}
			if q.f.Count(aritest.Named("snoop")) != 1 || len(q.sink.of(event.RecordingSaved)) != 1 {
				t.Errorf("recording: %d snoops, %d recording_saved; want 1 and 1", q.f.Count(aritest.Named("snoop")), len(q.sink.of(event.RecordingSaved)))
			}
			if a := q.agent("1002"); a.State != WrapUp && a.State != Ready {
				t.Errorf("1002 after the call: %s, want wrap-up", a.State)
			}
		})
	}
}

// TestQueueOverflowAfterMaxWait: nobody ready (one agent paused) — the caller
// waits with music in a holding bridge until the maximum wait, then goes to
// the front door's menu (ErrNoAgent), out of the bridge.
func TestQueueOverflowAfterMaxWait(t *testing.T) {
	q := newQueueTest(t, Config{MaxWait: 50 * time.Millisecond})
	if _, err := q.s.Pool().Apply("1001", ActLogin, ""); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := q.wait(q.serve(q.ctx()))
	if !errors.Is(err, ivr.ErrNoAgent) {
		t.Fatalf("Serve: %v, want ErrNoAgent", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("overflow after %v, before the maximum wait", waited)
	}
	if q.f.Count(aritest.Named("moh_start")) == 0 || len(q.f.Bridges()) != 0 {
		t.Errorf("music %d times, bridges left %v; want music and no bridge", q.f.Count(aritest.Named("moh_start")), q.f.Bridges())
	}
	if len(q.sink.of(event.CallQueued)) != 1 || len(q.offers()) != 0 {
		t.Errorf("queued %d, offers %v; want queued once, no offer", len(q.sink.of(event.CallQueued)), q.offers())
	}
}

// TestQueueNobodyLoggedIn: the front door gets the call back at once.
func TestQueueNobodyLoggedIn(t *testing.T) {
	q := newQueueTest(t, Config{})
	if err := q.s.Serve(q.ctx(), q.call); !errors.Is(err, ivr.ErrNoAgent) {
		t.Fatalf("Serve: %v, want ErrNoAgent", err)
	}
	if ops := q.f.Ops(); len(ops) != 0 {
		t.Errorf("operations %v, want none", ops)
	}
}

// TestQueueAbandoned: the caller hangs up while waiting: call.abandoned (a
// short abandon), the agent's offer is withdrawn without counting as missed.
func TestQueueAbandoned(t *testing.T) {
	q := newQueueTest(t, Config{RingTimeout: time.Second}, "1001")
	q.f.Once(aritest.OriginateTo("PJSIP/1001"), func(aritest.Op) { q.f.HangUp(q.f.ID(), 16) })
	err := q.wait(q.serve(q.ctx()))
	if !errors.Is(err, ari.ErrHangup) {
		t.Fatalf("Serve: %v, want the caller's hang-up", err)
	}
	ab := q.sink.of(event.CallAbandoned)
	if len(ab) != 1 || !payload[event.CallAbandonedPayload](t, ab[0]).Short {
		t.Errorf("abandoned %v, want one short", ab)
	}
	if a := q.agent("1001"); a.Missed != 0 || a.State != Ready || a.Offering != "" {
		t.Errorf("1001 %+v, want ready, no miss, no offer", a)
	}
}

// agentCmd sends an agent's command to their live call.
func (q *queueTest) agentCmd(ctx context.Context, staff string, cmd command) error {
	return q.s.callOp(ctx, staff, cmd)
}

// TestThreeWay: the agent adds the unit's duty line; then the agent leaves
// (citizen and unit go on), or drops the unit (citizen and agent go on), or
// the duty line does not answer (threeway_failed).
func TestThreeWay(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after the join: what happens, and the events that follow
		run  func(q *queueTest, ctx context.Context, agentCh, unitCh string)
		left []event.ThreeWayPayload
	}{{
		name: "agent leaves, unit stays",
		run: func(q *queueTest, ctx context.Context, agentCh, unitCh string) {
			if err := q.agentCmd(ctx, "1001", command{op: opLeave}); err != nil {
				q.t.Fatalf("leave: %v", err)
			}
			// The agent is gone and the conversation goes on: the unit ends it.
			if _, err := q.f.WaitOp(ctx, func(o aritest.Op) bool { return o.Name == "hangup" && o.Channel == agentCh }, 1); err != nil {
				q.t.Fatal(err)
			}
			waitFor(q.t, func() bool { return len(q.sink.of(event.ThreeWayLeft)) == 1 })
			if got := q.f.Bridge(bridgeOf(q)); !slices.Contains(got, q.f.ID()) || !slices.Contains(got, unitCh) || slices.Contains(got, agentCh) {
				q.t.Errorf("bridge after the agent left: %v, want caller and unit", got)
			}
			q.f.HangUp(unitCh, 16)
		},
		left: []event.ThreeWayPayload{{StaffNumber: "1001"}, {}},
	}, {
		name: "agent drops the unit",
		run: func(q *queueTest, ctx context.Context, agentCh, unitCh string) {
			if err := q.agentCmd(ctx, "1001", command{op: opDrop}); err != nil {
				q.t.Fatalf("drop: %v", err)
			}
			waitFor(q.t, func() bool { return len(q.sink.of(event.ThreeWayLeft)) == 1 })
			if err := q.agentCmd(ctx, "1001", command{op: opDrop}); !errors.Is(err, ErrNoThreeWay) {
				q.t.Errorf("second drop: %v, want ErrNoThreeWay", err)
			}
			q.f.HangUp(agentCh, 16)
		},
		left: []event.ThreeWayPayload{{}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQueueTest(t, Config{}, "1001")
			q.answers("1001")
			var unitCh string
			q.f.On(aritest.OriginateTo(dongcheng.DutyLine), func(o aritest.Op) { unitCh = o.Channel; q.f.AnswerChannel(o.Channel) })
			ctx := q.ctx()
			done := q.serve(ctx)
			agentCh := q.connected(ctx, 1)
			if err := q.agentCmd(ctx, "1001", command{op: opJoin, unitID: "dongcheng"}); err != nil {
				t.Fatalf("join: %v", err)
			}
			joined := q.sink.of(event.ThreeWayJoined)
			if len(joined) != 1 {
				t.Fatalf("threeway_joined %d times", len(joined))
			}
			if p := payload[event.ThreeWayPayload](t, joined[0]); p.UnitID != "dongcheng" || !p.Confidential || p.StaffNumber != "1001" {
				t.Errorf("joined %+v: want dongcheng by 1001, confidential (no case linked)", p)
			}
			o, _ := q.f.WaitOp(ctx, aritest.OriginateTo(dongcheng.DutyLine), 1)
			if o.Originate.CallerID != `"12345" <12345>` {
				t.Errorf("duty line sees %q, want the hotline's number", o.Originate.CallerID)
			}
			if got := q.f.Bridge(bridgeOf(q)); len(got) != 3 {
				t.Errorf("bridge %v, want caller, agent and unit", got)
			}
			if err := q.agentCmd(ctx, "1001", command{op: opJoin, unitID: "dongcheng"}); !errors.Is(err, ErrBusyCall) {
				t.Errorf("second join: %v, want ErrBusyCall", err)
			}
			tc.run(q, ctx, agentCh, unitCh)
			if err := q.wait(done); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			left := q.sink.of(event.ThreeWayLeft)
			if len(left) != len(tc.left) {
				t.Fatalf("threeway_left %d times, want %d", len(left), len(tc.left))
			}
			for i, want := range tc.left {
				if p := payload[event.ThreeWayPayload](t, left[i]); p.StaffNumber != want.StaffNumber || p.UnitID != "dongcheng" {
					t.Errorf("threeway_left %d: %+v, want staff %q", i, p, want.StaffNumber)
				}
			}
		})
	}
}

// TestThreeWayNoAnswer: the duty line rings out: the agent learns it, the
// unit is charged with threeway_failed (no_answer), caller and agent go on.
func TestThreeWayNoAnswer(t *testing.T) {
	q := newQueueTest(t, Config{}, "1001")
	q.answers("1001")
	ctx := q.ctx()
	done := q.serve(ctx)
	agentCh := q.connected(ctx, 1)
	var de *DialError
	if err := q.agentCmd(ctx, "1001", command{op: opJoin, unitID: "dongcheng"}); !errors.As(err, &de) || de.Reason != "no_answer" {
		t.Fatalf("join: %v, want a no-answer DialError", err)
	}
	failed := q.sink.of(event.ThreeWayFailed)
	if len(failed) != 1 || payload[event.ThreeWayPayload](t, failed[0]).Reason != "no_answer" {
		t.Errorf("threeway_failed %v, want one no_answer", failed)
	}
	if got := q.f.Bridge(bridgeOf(q)); len(got) != 2 {
		t.Errorf("bridge %v, want caller and agent", got)
	}
	q.f.HangUp(agentCh, 16)
	if err := q.wait(done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestBlindTransfer: the agent transfers the caller to another agent (or the
// queue); the caller waits again and is connected to the next agent, and the
// one recording goes on.
func TestBlindTransfer(t *testing.T) {
	for _, target := range []string{"1002", ""} {
		t.Run("to "+nonEmpty(target, "queue"), func(t *testing.T) {
			q := newQueueTest(t, Config{}, "1001", "1002")
			q.answers("1001")
			q.answers("1002")
			ctx := q.ctx()
			done := q.serve(ctx)
			first := q.connected(ctx, 1)
			if err := q.agentCmd(ctx, "1001", command{op: opTransfer, toStaff: "1003"}); !errors.Is(err, ErrUnknownAgent) {
				t.Errorf("transfer to an agent not logged in: %v, want ErrUnknownAgent", err)
			}
			if err := q.agentCmd(ctx, "1001", command{op: opTransfer, toStaff: target}); err != nil {
				t.Fatalf("transfer: %v", err)
			}
			second := q.connected(ctx, 2)
			if q.f.Alive(first) {
				t.Errorf("first agent still on the call")
			}
			q.f.HangUp(second, 16)
			if err := q.wait(done); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if got := q.offers(); !slices.Equal(got, []string{"PJSIP/1001", "PJSIP/1002"}) {
				t.Errorf("offers %v, want 1001 then 1002 (1001 is not offered the call again)", got)
			}
			if n := q.f.Count(aritest.Named("record_start")); n != 1 {
				t.Errorf("recordings started %d, want 1 (it follows the caller)", n)
			}
			if n := len(q.sink.of(event.CallQueued)); n != 2 {
				t.Errorf("call.queued %d times, want 2", n)
			}
		})
	}
}

// TestPoliteEnding: the closing prompt after the agent is gone, then the
// conversation ends (the front door hangs up).
func TestPoliteEnding(t *testing.T) {
	q := newQueueTest(t, Config{}, "1001")
	q.answers("1001")
	ctx := q.ctx()
	done := q.serve(ctx)
	agentCh := q.connected(ctx, 1)
	if err := q.agentCmd(ctx, "1001", command{op: opPoliteEnd}); err != nil {
		t.Fatalf("polite ending: %v", err)
	}
	if err := q.wait(done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if q.f.Alive(agentCh) {
		t.Error("agent still on the call")
	}
	pe := q.sink.of(event.PoliteEnding)
	if len(pe) != 1 || payload[event.PoliteEndingPayload](t, pe[0]).StaffNumber != "1001" {
		t.Errorf("polite_ending %v, want one by 1001", pe)
	}
	var last aritest.Op
	for _, o := range q.f.Ops() {
		if o.Name == "play" {
			last = o
		}
	}
	if last.Media != "sound:/snd/"+string(prompts.AbusiveCallEnd) || len(q.f.Bridge(bridgeOf(q))) != 0 {
		t.Errorf("last prompt %v, bridge %v; want the closing prompt, out of the bridge", last, q.f.Bridge(bridgeOf(q)))
	}
	if _, err := q.s.Pool().Apply("1001", ActReady, ""); err != nil {
		t.Errorf("agent not free after the polite ending: %v", err)
	}
}

// bridgeOf is the conversation's mixing bridge.
func bridgeOf(q *queueTest) string {
	for _, o := range q.f.Ops() {
		if o.Name == "bridge_create" && o.Arg == "mixing" {
			return o.Bridge
		}
	}
	return ""
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 5s")
}

// TestCommandsLateInTheConversation: a drop and a polite ending well into the
// conversation still hang up. (Every hang-up of a conversation once shared one
// deadline, set when it began: five seconds in, none went out any more — the
// unit stayed, the agent stayed.)
func TestCommandsLateInTheConversation(t *testing.T) {
	defer func(b time.Duration) { cleanupBound = b }(cleanupBound)
	cleanupBound = 20 * time.Millisecond
	q := newQueueTest(t, Config{}, "1001")
	q.answers("1001")
	var unitCh string
	q.f.On(aritest.OriginateTo(dongcheng.DutyLine), func(o aritest.Op) { unitCh = o.Channel; q.f.AnswerChannel(o.Channel) })
	ctx := q.ctx()
	done := q.serve(ctx)
	agentCh := q.connected(ctx, 1)
	if err := q.agentCmd(ctx, "1001", command{op: opJoin, unitID: "dongcheng"}); err != nil {
		t.Fatalf("join: %v", err)
	}
	time.Sleep(3 * cleanupBound)
	if err := q.agentCmd(ctx, "1001", command{op: opDrop}); err != nil {
		t.Fatalf("drop: %v", err)
	}
	waitFor(t, func() bool { return !q.f.Alive(unitCh) && len(q.sink.of(event.ThreeWayLeft)) == 1 })
	time.Sleep(3 * cleanupBound)
	if err := q.agentCmd(ctx, "1001", command{op: opPoliteEnd}); err != nil {
		t.Fatalf("polite ending: %v", err)
	}
	if err := q.wait(done); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if q.f.Alive(agentCh) {
		t.Error("agent still on the call after the polite ending")
	}
}
