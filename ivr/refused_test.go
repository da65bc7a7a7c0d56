package ivr

import (
	"testing"
	"time"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// A call sent to the fallback unhandled (capacity, drain) is still a call in the
// record: one call.started and one call.ended, ended by the system, outcome
// fallback, never answered by the service.
func TestRecordRefusedKeepsTheCallInTheRecord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		number   string
		sent     bool
		wantText string
		wantAnon bool
	}{
		{"capacity", testCaller, true, "sent to the dialplan fallback: capacity", false},
		{"draining", "anonymous", true, "sent to the dialplan fallback: draining", true},
		{"capacity", testCaller, false, "could not be sent to the dialplan fallback: capacity", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newFront(t, Config{})
			at := time.Now().Add(-20 * time.Millisecond)
			s.RecordRefused(ari.RefusedCall{
				Info:   ari.ChannelInfo{ID: "ch-9", Name: "PJSIP/carrier-9", CallerNumber: tc.number, Dialed: "12345"},
				Reason: tc.name, At: at, Sent: tc.sent,
			})
			evs := sink.events()
			if len(evs) != 2 || evs[0].Type != event.CallStarted || evs[1].Type != event.CallEnded {
				t.Fatalf("events %v, want call.started then call.ended", sink.types())
			}
			var st event.CallStartedPayload
			if err := evs[0].DecodePayload(&st); err != nil {
				t.Fatal(err)
			}
			if evs[0].CallID != "ch-9" || evs[1].CallID != "ch-9" {
				t.Errorf("call IDs %q, %q; want ch-9", evs[0].CallID, evs[1].CallID)
			}
			if st.Anonymous != tc.wantAnon || st.Called != "12345" || st.Direction != "inbound" {
				t.Errorf("call.started %+v", st)
			}
			if !tc.wantAnon && st.Caller != tc.number {
				t.Errorf("caller %q, want %q", st.Caller, tc.number)
			}
			p := sink.ended(t)
			if p.Outcome != event.OutcomeFallback || p.HangupBy != event.HangupBySystem || !p.AnsweredAt.IsZero() {
				t.Errorf("call.ended %+v: want outcome fallback, hung up by the system, never answered", p)
			}
			if p.HangupCauseText != tc.wantText || !p.StartedAt.Equal(at.UTC()) || p.DurationMS < 20 {
				t.Errorf("call.ended text %q started %v duration %d ms", p.HangupCauseText, p.StartedAt, p.DurationMS)
			}
		})
	}
}
