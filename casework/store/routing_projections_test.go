package store_test

import (
	"context"
	"testing"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func TestRoutingProjections(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	es := store.NewEventStore(pool)
	store.RegisterRoutingProjections(es)
	const callID = "node-1700000000.77"
	evs := []event.Envelope{
		mustEvent(t, event.AgentAnswered, callID, event.AgentAnsweredPayload{StaffNumber: "1001", WaitMS: 12000}),
		mustEvent(t, event.AgentAnswered, callID, event.AgentAnsweredPayload{StaffNumber: "1003", WaitMS: 30000}), // after a transfer
		mustEvent(t, event.CallAbandoned, "node-1700000000.78", event.CallAbandonedPayload{Queue: "default", WaitMS: 2500, Short: true}),
		mustEvent(t, event.RecordingSaved, callID, event.RecordingSavedPayload{RecordingID: "hotline-agent-x", URI: "/var/lib/hotline12345/recordings/2026/11/23/x.wav", DurationMS: 61000, Format: "wav"}),
	}
	for _, e := range append(evs, evs[0]) { // a redelivery changes nothing
		if err := es.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var agents, abandons, recs int
	var wait int64
	var short bool
	var uri string
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM call_agents WHERE call_id = $1`, callID).Scan(&agents); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*), max(wait_ms), bool_and(short) FROM queue_abandons`).Scan(&abandons, &wait, &short); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*), max(uri) FROM call_recordings WHERE call_id = $1`, callID).Scan(&recs, &uri); err != nil {
		t.Fatal(err)
	}
	if agents != 2 || abandons != 1 || wait != 2500 || !short || recs != 1 || uri == "" {
		t.Fatalf("agents %d, abandons %d (wait %d, short %v), recordings %d (%s)", agents, abandons, wait, short, recs, uri)
	}
}
