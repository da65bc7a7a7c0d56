package store_test

import (
	"context"
	"encoding/json"
	"errors"
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

func TestMigrateIsIdempotent(t *testing.T) {
	pool := pgtest.NewPool(t)
	again, err := store.Migrate(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second migrate applied %v, want nothing", again)
	}
}

func TestCallProjectionFromStartedAndEnded(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	es := store.NewEventStore(pool)
	callID := "node-1700000000.42"
	start := mustEvent(t, event.CallStarted, callID, event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
	t0 := start.Time
	end := mustEvent(t, event.CallEnded, callID, event.CallEndedPayload{
		StartedAt: t0, AnsweredAt: t0.Add(100 * time.Millisecond), EndedAt: t0.Add(5 * time.Second),
		DurationMS: 5000, HangupBy: event.HangupByCaller, HangupCause: 16, Outcome: "greeted",
	})
	// Ended before started: the projection must not depend on arrival order.
	for _, e := range []event.Envelope{end, start} {
		if err := es.Handle(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var caller, hangupBy, outcome string
	var dur int64
	var started, ended time.Time
	err := pool.QueryRow(ctx, `SELECT caller, started_at, ended_at, duration_ms, hangup_by, outcome FROM calls WHERE call_id = $1`, callID).
		Scan(&caller, &started, &ended, &dur, &hangupBy, &outcome)
	if err != nil {
		t.Fatal(err)
	}
	if caller != "13800138000" || dur != 5000 || hangupBy != "caller" || outcome != "greeted" || !ended.After(started) {
		t.Fatalf("calls row = %s %v %v %d %s %s", caller, started, ended, dur, hangupBy, outcome)
	}
}

// TestSameEventPublishedTwiceIsStoredOnce goes through the real stream: the second
// publish of an ID is dropped by JetStream's duplicate window, and a publish of the
// same ID on a stream that has forgotten it (here: a direct second delivery) is a
// no-op in the database.
func TestSameEventPublishedTwiceIsStoredOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := pgtest.NewPool(t)
	cfg := natstest.Config(t, natstest.URL())
	nc := connect(t, cfg.URL)
	js, _ := jetstream.New(nc)
	if _, err := eventbus.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	env := mustEvent(t, event.CallStarted, "c-1", event.CallStartedPayload{Called: "12345", Direction: "inbound"})
	data := mustJSON(t, env)
	for range 2 {
		if _, err := js.Publish(ctx, event.Subject(cfg.SubjectRoot, env.Type), data, jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}
	// Bypass the duplicate window too: same event, no Msg-Id.
	if _, err := js.Publish(ctx, event.Subject(cfg.SubjectRoot, env.Type), data); err != nil {
		t.Fatal(err)
	}
	es := store.NewEventStore(pool)
	runConsumer(t, ctx, nc, cfg, es)
	waitFor(t, func() bool { return count(t, pool, `SELECT count(*) FROM events`) == 1 && streamAcked(t, js, cfg, 2) })
	if n := count(t, pool, `SELECT count(*) FROM calls`); n != 1 {
		t.Fatalf("calls rows = %d, want 1", n)
	}
}

// crashOnce commits an event and then fails before the ack, as a service killed
// between COMMIT and ACK would: JetStream redelivers, and the redelivery is a no-op.
type crashOnce struct {
	*store.EventStore
	mu        sync.Mutex
	crashed   map[string]bool
	callsSeen int
}

func (c *crashOnce) Handle(ctx context.Context, env event.Envelope) error {
	if err := c.EventStore.Handle(ctx, env); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.callsSeen++
	if !c.crashed[env.ID] {
		c.crashed[env.ID] = true
		return errors.New("crash after commit, before ack")
	}
	return nil
}

func TestRedeliveryAfterCrashBeforeAckDoesNotDuplicate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool := pgtest.NewPool(t)
	cfg := natstest.Config(t, natstest.URL())
	cfg.AckWait = time.Second
	nc := connect(t, cfg.URL)
	js, _ := jetstream.New(nc)
	if _, err := eventbus.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 5 {
		env := mustEvent(t, event.CallStarted, "c-"+string(rune('a'+i)), event.CallStartedPayload{Called: "12345", Direction: "inbound"})
		ids = append(ids, env.ID)
		if _, err := js.Publish(ctx, event.Subject(cfg.SubjectRoot, env.Type), mustJSON(t, env), jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}
	h := &crashOnce{EventStore: store.NewEventStore(pool), crashed: map[string]bool{}}
	runConsumer(t, ctx, nc, cfg, h)
	waitFor(t, func() bool { return streamAcked(t, js, cfg, 5) })
	if n := count(t, pool, `SELECT count(*) FROM events`); n != 5 {
		t.Fatalf("events = %d, want 5", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM calls`); n != 5 {
		t.Fatalf("calls = %d, want 5", n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.callsSeen < 10 {
		t.Fatalf("handler saw %d deliveries, want every event delivered twice", h.callsSeen)
	}
}

func TestInvalidMessageIsParkedNotLost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := pgtest.NewPool(t)
	cfg := natstest.Config(t, natstest.URL())
	nc := connect(t, cfg.URL)
	js, _ := jetstream.New(nc)
	if _, err := eventbus.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, cfg.SubjectRoot+".call.started", []byte(`{"not":"an envelope"`)); err != nil {
		t.Fatal(err)
	}
	runConsumer(t, ctx, nc, cfg, store.NewEventStore(pool))
	waitFor(t, func() bool { return count(t, pool, `SELECT count(*) FROM dead_events`) == 1 })
}

// TestNoEventLostWhileBrokerIsDown publishes through the spooling publisher while
// the broker is stopped, restarts the broker, and finds every event stored once.
func TestNoEventLostWhileBrokerIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv := natstest.StartServer(t)
	pool := pgtest.NewPool(t)
	cfg := natstest.Config(t, srv.URL)
	log := zaptest.NewLogger(t)
	nc, err := eventbus.Connect(cfg, "test-publisher", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	spool := t.TempDir()
	pub, err := eventbus.NewPublisher(nc, cfg, spool, log, eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	pdone := make(chan struct{})
	go func() { defer close(pdone); _ = pub.Run(pctx) }()

	publish := func(n int) {
		for range n {
			if err := pub.Publish(mustEvent(t, event.CallStarted, "x", event.CallStartedPayload{Called: "12345", Direction: "inbound"})); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(3)
	waitFor(t, func() bool { return pub.Depth() == 0 })
	srv.Stop()
	publish(7)
	if d := pub.Depth(); d != 7 {
		t.Fatalf("spool depth during outage = %d, want 7", d)
	}
	// A restart of the service during the outage must not lose the spool either.
	pcancel()
	<-pdone
	pub2, err := eventbus.NewPublisher(nc, cfg, spool, log, eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	if d := pub2.Depth(); d != 7 {
		t.Fatalf("spool after restart = %d, want 7", d)
	}
	go func() { _ = pub2.Run(ctx) }()
	srv.Start()
	waitFor(t, func() bool { return pub2.Depth() == 0 })

	cnc := connect(t, srv.URL)
	runConsumer(t, ctx, cnc, cfg, store.NewEventStore(pool))
	waitFor(t, func() bool { return count(t, pool, `SELECT count(*) FROM events`) == 10 })
}

// helpers

func mustEvent(t *testing.T, typ event.Type, callID string, payload any) event.Envelope {
	t.Helper()
	env, err := event.New(typ, "test", callID, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func mustJSON(t *testing.T, env event.Envelope) []byte {
	t.Helper()
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func runConsumer(t *testing.T, ctx context.Context, nc *nats.Conn, cfg eventbus.Config, h eventbus.Handler) {
	t.Helper()
	c, err := eventbus.NewConsumer(nc, cfg, "casework", zaptest.NewLogger(t), eventbus.NewConsumerMetrics(prometheus.NewRegistry()))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(cctx, h) }()
	t.Cleanup(func() { cancel(); <-done })
}

func count(t *testing.T, pool *pgxpool.Pool, q string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// streamAcked reports whether the consumer has acknowledged n stream messages.
func streamAcked(t *testing.T, js jetstream.JetStream, cfg eventbus.Config, n uint64) bool {
	t.Helper()
	c, err := js.Consumer(context.Background(), cfg.Stream, "casework")
	if err != nil {
		return false
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return false
	}
	return info.AckFloor.Stream >= n && info.NumAckPending == 0
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("condition not met within 30s")
}
