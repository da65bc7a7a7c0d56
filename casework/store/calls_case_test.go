package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// TestCallsRowGetsTheCaseOfLaterEventsAndLinks: a call that became a case's
// after it started (a voicemail filed as a case, an agent linking the call, the
// call service putting the case ID on later events) shows that case in
// calls.case_id, whichever comes first: the call's events or the link.
func TestCallsRowGetsTheCaseOfLaterEventsAndLinks(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	es := store.NewEventStore(pool)
	store.RegisterRoutingProjections(es)
	store.RegisterVoiceProjections(es)
	cases := store.NewCases(pool)

	withCase := func(env event.Envelope, caseID string) event.Envelope { env.CaseID = caseID; return env }
	started := func(callID string) event.Envelope {
		return mustEvent(t, event.CallStarted, callID, event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
	}
	ended := func(callID string) event.Envelope {
		return mustEvent(t, event.CallEnded, callID, event.CallEndedPayload{DurationMS: 5000, HangupBy: event.HangupByCaller, Outcome: "agent"})
	}
	recording := func(callID string) event.Envelope {
		return mustEvent(t, event.RecordingSaved, callID, event.RecordingSavedPayload{RecordingID: "rec-" + callID,
			URI: "/var/lib/hotline12345/recordings/" + callID + ".wav", DurationMS: 4000, Format: "wav"})
	}
	// register creates a case, linking callID at registration when it is set.
	register := func(t *testing.T, callID string) string {
		c := newCase(t, uuid.NewString())
		if callID != "" {
			if err := c.LinkCall(agent, t0, callID); err != nil {
				t.Fatal(err)
			}
		}
		if err := cases.CreateCase(ctx, c, false, nil); err != nil {
			t.Fatal(err)
		}
		return c.ID()
	}
	link := func(t *testing.T, caseID, callID string) {
		err := cases.UpdateCase(ctx, caseID, func(c *domain.Case, _ bool) ([]event.Envelope, error) {
			return nil, c.LinkCall(agent, t0.Add(1), callID)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	handle := func(t *testing.T, envs ...event.Envelope) {
		for _, env := range envs {
			if err := es.Handle(ctx, env); err != nil {
				t.Fatal(err)
			}
		}
	}

	tests := []struct {
		name string
		// run plays the scenario on callID and returns the case the row must show.
		run func(t *testing.T, callID string) string
	}{
		{"call.ended carries the case", func(t *testing.T, callID string) string {
			id := register(t, "")
			handle(t, started(callID), withCase(ended(callID), id))
			return id
		}},
		{"recording carries the case", func(t *testing.T, callID string) string {
			id := register(t, "")
			handle(t, started(callID), withCase(recording(callID), id), ended(callID))
			return id
		}},
		{"case registered from the call (voicemail filed)", func(t *testing.T, callID string) string {
			handle(t, started(callID), mustEvent(t, event.VoicemailLeft, callID, event.VoicemailPayload{
				MessageID: uuid.NewString(), URI: "/var/lib/hotline12345/voicemail/" + callID + ".wav", DurationMS: 3000}), ended(callID))
			return register(t, callID)
		}},
		{"agent links the call later", func(t *testing.T, callID string) string {
			id := register(t, "")
			handle(t, started(callID), ended(callID))
			link(t, id, callID)
			return id
		}},
		{"link before the call's events arrive", func(t *testing.T, callID string) string {
			id := register(t, callID)
			handle(t, ended(callID), started(callID))
			return id
		}},
		{"a later link keeps the call's first case", func(t *testing.T, callID string) string {
			first := register(t, "")
			handle(t, withCase(started(callID), first))
			link(t, register(t, ""), callID)
			return first
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			callID := "node-1700000100." + string(rune('a'+i))
			want := tc.run(t, callID)
			var got *string
			if err := pool.QueryRow(ctx, `SELECT case_id FROM calls WHERE call_id = $1`, callID).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got == nil || *got != want {
				t.Fatalf("calls.case_id = %v, want %s", got, want)
			}
		})
	}
}

// TestCallsCaseBackfill: migration 0008 gives rows stored before the projections
// filled calls.case_id their case, by the same rule.
func TestCallsCaseBackfill(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	es := store.NewEventStore(pool)
	store.RegisterRoutingProjections(es)
	fromEvent, fromLink := newCase(t, uuid.NewString()), newCase(t, uuid.NewString())
	if err := fromLink.LinkCall(agent, t0, "node-2.2"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*domain.Case{fromEvent, fromLink} {
		if err := store.NewCases(pool).CreateCase(ctx, c, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	rec := mustEvent(t, event.RecordingSaved, "node-2.1", event.RecordingSavedPayload{RecordingID: "r", URI: "/r.wav"})
	rec.CaseID = fromEvent.ID()
	for _, env := range []event.Envelope{
		mustEvent(t, event.CallStarted, "node-2.1", event.CallStartedPayload{Direction: "inbound"}), rec,
		mustEvent(t, event.CallStarted, "node-2.2", event.CallStartedPayload{Direction: "inbound"}),
		mustEvent(t, event.CallStarted, "node-2.3", event.CallStartedPayload{Direction: "inbound"}),
	} {
		if err := es.Handle(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	// The state an older version left behind.
	if _, err := pool.Exec(ctx, `UPDATE calls SET case_id = NULL`); err != nil {
		t.Fatal(err)
	}
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(migs, func(m store.Migration) bool { return m.Version == 8 })
	if i < 0 {
		t.Fatal("no migration 0008")
	}
	if _, err := pool.Exec(ctx, migs[i].SQL); err != nil {
		t.Fatal(err)
	}
	for callID, want := range map[string]string{"node-2.1": fromEvent.ID(), "node-2.2": fromLink.ID(), "node-2.3": ""} {
		var got *string
		if err := pool.QueryRow(ctx, `SELECT case_id FROM calls WHERE call_id = $1`, callID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (want == "") || (got != nil && *got != want) {
			t.Errorf("%s: case_id %v, want %q", callID, got, want)
		}
	}
}
