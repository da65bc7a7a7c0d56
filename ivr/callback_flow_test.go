package ivr

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ari/aritest"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// scriptedDialer places each call as a scripted session.
type scriptedDialer struct {
	script func(f *aritest.Session)
	calls  []*aritest.Session
}

func (d *scriptedDialer) Dial(_ context.Context, _ *zap.Logger, r ari.OriginateRequest) (OutboundCall, error) {
	f := aritest.NewOutbound("callback-1", r)
	d.calls = append(d.calls, f)
	d.script(f)
	return f, nil
}

// TestCallbackSurvey: one attempt of a satisfaction callback, from the dial
// to the final result: keys, invalid keys, silence, busy, no answer, hang-up.
func TestCallbackSurvey(t *testing.T) {
	answer := func(f *aritest.Session) { f.AnswerChannel(f.ID()) }
	onSurvey := func(f *aritest.Session, keys ...string) {
		n := 0
		f.On(aritest.Played(string(prompts.CallbackSurvey)), func(o aritest.Op) {
			if n < len(keys) {
				f.Press(o.Channel, keys[n])
			}
			n++
		})
	}
	for _, tc := range []struct {
		name    string
		script  func(f *aritest.Session)
		attempt string   // call.callback_attempt's result
		final   string   // call.callback_result's, "" while a retry is due
		choices []string // the survey's menu choices
	}{
		{"satisfied", func(f *aritest.Session) { answer(f); onSurvey(f, "1") }, event.Satisfied, event.Satisfied, []string{"survey"}},
		{"invalid then dissatisfied", func(f *aritest.Session) { answer(f); onSurvey(f, "9", "3") }, event.Dissatisfied, event.Dissatisfied, []string{"survey", "survey"}},
		{"silence", func(f *aritest.Session) { answer(f) }, CBNoInput, "", []string{"timeout", "timeout", "timeout"}},
		{"hang-up before a key", func(f *aritest.Session) {
			answer(f)
			f.Once(aritest.Played(string(prompts.CallbackSurvey)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
		}, CBNoInput, "", nil},
		{"busy", func(f *aritest.Session) { f.HangUp(f.ID(), 17) }, CBBusy, "", nil},
		{"no answer", func(f *aritest.Session) {}, CBNoAnswer, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newFront(t, Config{})
			d := &scriptedDialer{script: tc.script}
			cb, err := NewCallbacks(CallbackConfig{Enabled: true, Dial: "PJSIP/{number}@carrier", CallerID: "12345",
				Attempts: 2, RetryDelay: time.Hour, RingTimeout: 30 * time.Millisecond, SpoolDir: t.TempDir()}, s, d, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := event.New(event.CallbackRequested, "casework", "", event.CallbackRequestedPayload{CaseNumber: "202611300001", Number: "13800000001"})
			req.CaseID = "case-1"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cb.Handle(ctx, req); err != nil {
				t.Fatal(err)
			}
			due := cb.due(time.Now())
			if len(due) != 1 {
				t.Fatalf("%d callbacks due, want 1", len(due))
			}
			cb.attempt(ctx, due[0])
			if len(d.calls) != 1 || !d.calls[0].Ended() {
				t.Fatalf("%d calls placed, want one, ended", len(d.calls))
			}
			if o := d.calls[0].Ops()[0]; o.Originate.Endpoint != "PJSIP/13800000001@carrier" {
				t.Errorf("dialled %q", o.Originate.Endpoint)
			}
			var attempts, finals []string
			for _, e := range sink.events() {
				var p event.CallbackPayload
				switch e.Type {
				case event.CallbackAttempt:
					_ = e.DecodePayload(&p)
					attempts = append(attempts, p.Result)
				case event.CallbackResult:
					_ = e.DecodePayload(&p)
					finals = append(finals, p.Result)
				}
				if e.Type != event.CallbackResult && e.CaseID != "case-1" {
					t.Errorf("%s without the case", e.Type)
				}
			}
			if !slices.Equal(attempts, []string{tc.attempt}) {
				t.Errorf("attempt results %v, want [%s]", attempts, tc.attempt)
			}
			if want := []string{tc.final}; tc.final == "" && len(finals) != 0 || tc.final != "" && !slices.Equal(finals, want) {
				t.Errorf("final results %v, want %q", finals, tc.final)
			}
			if got := sink.choices(t, "callback"); !slices.Equal(got, tc.choices) {
				t.Errorf("survey choices %v, want %v", got, tc.choices)
			}
			if sink.ended(t).Outcome == "" {
				t.Error("call.ended without an outcome")
			}
			cb.mu.Lock()
			_, pending := cb.jobs[req.ID]
			cb.mu.Unlock()
			if pending != (tc.final == "") {
				t.Errorf("job pending = %v, want a retry only without a final result", pending)
			}
		})
	}
}
