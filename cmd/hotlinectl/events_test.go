package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// buggyStore is the event store with a bug in the handling of one event: it
// fails (not an outage) until fixed.
type buggyStore struct {
	*store.EventStore
	mu    sync.Mutex
	bad   string
	fixed bool
}

func (b *buggyStore) Handle(ctx context.Context, env event.Envelope) error {
	b.mu.Lock()
	broken := env.ID == b.bad && !b.fixed
	b.mu.Unlock()
	if broken {
		return errors.New("projection bug")
	}
	return b.EventStore.Handle(ctx, env)
}

// TestPoisonEventsParkedConsumerGoesOnReplayWorks: on the real NATS and
// PostgreSQL, an event whose payload breaks the contract is parked at once
// with its error; one whose handling keeps failing is parked after
// MaxAttempts; the events after them are stored meanwhile; once the bug is
// fixed, `hotlinectl events replay --all` stores the second, and the broken
// one is parked again.
func TestPoisonEventsParkedConsumerGoesOnReplayWorks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dbURL := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := store.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	// A private server with the production rules: the consumer runs as
	// casework, the events come from the call service's user and the replay
	// is hotlinectl's, each with only its own rights.
	cfg := natstest.Config(t, natstest.URL())
	cfg.MaxAttempts, cfg.AckWait = 3, 5*time.Second
	scope := eventbus.DefaultScope()
	scope.Stream, scope.SubjectRoot, scope.PopSubject = cfg.Stream, cfg.SubjectRoot, cfg.SubjectRoot+"_agents"
	srv := natstest.StartAuthServer(t, scope, "")
	cfg.URL = srv.URL
	dial := func(user string) *nats.Conn {
		opts, err := eventbus.DialOptions(srv.As(cfg, user))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(cfg.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	nc := dial(eventbus.UserCasework)
	cw, _ := jetstream.New(nc)
	if _, err := eventbus.EnsureStream(ctx, cw, cfg); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(dial(eventbus.UserCallService))
	es := store.NewEventStore(pool)
	store.RegisterVoiceProjections(es)
	h := &buggyStore{EventStore: es}

	publish := func(env event.Envelope) {
		data, _ := json.Marshal(env)
		if _, err := js.Publish(ctx, event.Subject(cfg.SubjectRoot, env.Type), data, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}
	brokenPayload, _ := event.New(event.VoicemailLeft, "test", "call-1", map[string]any{"duration_ms": "twelve"})
	buggy, _ := event.New(event.CallStarted, "test", "call-2", event.CallStartedPayload{Caller: "13800000002", Direction: "inbound"})
	h.bad = buggy.ID
	after, _ := event.New(event.CallStarted, "test", "call-3", event.CallStartedPayload{Caller: "13800000003", Direction: "inbound"})
	for _, env := range []event.Envelope{brokenPayload, buggy, after} {
		publish(env)
	}
	reg := prometheus.NewRegistry()
	cons, err := eventbus.NewConsumer(nc, cfg, "casework", zaptest.NewLogger(t), eventbus.NewConsumerMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = cons.Run(cctx, h) }()
	defer func() { stop(); <-done }()

	count := func(q string, args ...any) int {
		var n int
		if err := pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(40 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitUntil("the event after the poison stored", func() bool {
		return count(`SELECT count(*) FROM events WHERE id = $1`, after.ID) == 1
	})
	waitUntil("both poison events parked", func() bool { return count(`SELECT count(*) FROM dead_events`) == 2 })
	var errText string
	if err := pool.QueryRow(ctx, `SELECT error FROM dead_events WHERE convert_from(data, 'UTF8') LIKE '%' || $1 || '%'`, brokenPayload.ID).Scan(&errText); err != nil {
		t.Fatal(err)
	}
	t.Logf("broken payload parked with: %s", errText)
	if !strings.Contains(errText, "invalid event") || !strings.Contains(errText, "after 1 deliveries") {
		t.Errorf("broken payload parked with %q, want the contract error at the first delivery", errText)
	}
	if err := pool.QueryRow(ctx, `SELECT error FROM dead_events WHERE convert_from(data, 'UTF8') LIKE '%' || $1 || '%'`, buggy.ID).Scan(&errText); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "projection bug") || !strings.Contains(errText, fmt.Sprintf("after %d deliveries", cfg.MaxAttempts)) {
		t.Errorf("failing event parked with %q, want its error after %d deliveries", errText, cfg.MaxAttempts)
	}

	// The bug is fixed; an operator replays.
	h.mu.Lock()
	h.fixed = true
	h.mu.Unlock()
	c := ctl{t: t, env: map[string]string{"HOTLINE_DATABASE_URL": dbURL, "HOTLINE_NATS_URL": cfg.URL,
		"HOTLINE_NATS_USER": eventbus.UserOperator, "HOTLINE_NATS_PASSWORD": srv.Passwords[eventbus.UserOperator]}}
	out := c.must("events", "dead")
	if strings.Count(out, cfg.SubjectRoot+".call.") != 2 {
		t.Errorf("events dead:\n%s", out)
	}
	t.Logf("events replay --all:\n%s", c.must("events", "replay", "--all"))
	waitUntil("the replayed event stored", func() bool {
		return count(`SELECT count(*) FROM events WHERE id = $1`, buggy.ID) == 1
	})
	waitUntil("the still broken one parked again, alone", func() bool {
		return count(`SELECT count(*) FROM dead_events`) == 1 &&
			count(`SELECT count(*) FROM dead_events WHERE convert_from(data, 'UTF8') LIKE '%' || $1 || '%'`, brokenPayload.ID) == 1
	})
	if _, _, err := c.run("events", "replay"); err == nil {
		t.Error("events replay without --id or --all accepted")
	}
}
