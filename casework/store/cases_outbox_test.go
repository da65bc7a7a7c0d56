package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// TestOutboxSurvivesBrokerOutage changes cases while NATS is down: the events
// wait in the outbox, the relay keeps failing without losing them, and after
// the broker returns every history entry reaches the stream and the event
// store exactly once, even though one batch is relayed twice.
func TestOutboxSurvivesBrokerOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv := natstest.StartServer(t)
	pool := pgtest.NewPool(t)
	cfg := natstest.Config(t, srv.URL)
	log := zaptest.NewLogger(t)
	nc, err := eventbus.Connect(cfg, "test-relay", log)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eventbus.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	cases := store.NewCases(pool)
	relay := store.NewOutboxRelay(pool, js, cfg.SubjectRoot, log, prometheus.NewRegistry())

	create := func(i int) {
		c := newCase(t, fmt.Sprintf("outage-%02d", i))
		transfer(t, c, t0.Add(time.Hour))
		if err := cases.CreateCase(ctx, c, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	create(1)
	if n, err := relay.RelayOnce(ctx); err != nil || n != 2 {
		t.Fatalf("relay with broker up: %d, %v", n, err)
	}

	srv.Stop()
	for i := 2; i <= 6; i++ {
		create(i) // the case service keeps working: the outbox is in the database
	}
	if err := cases.UpdateCase(ctx, "outage-02", func(c *domain.Case, _ bool) ([]event.Envelope, error) {
		return nil, c.Remind(agent, t0.Add(2*time.Hour), "请抓紧")
	}); err != nil {
		t.Fatal(err)
	}
	// While the relay waits on the dead broker it holds no transaction open
	// (that would hold back vacuum and the locks it took): the database sees
	// no session idle in a transaction.
	relayed := make(chan error, 1)
	go func() {
		n, err := relay.RelayOnce(ctx)
		if err == nil || n != 0 {
			err = fmt.Errorf("relay with broker down: %d, %v; want an error and nothing sent", n, err)
		} else {
			err = nil
		}
		relayed <- err
	}()
	time.Sleep(time.Second)
	if n := count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND state LIKE 'idle in transaction%'`); n != 0 {
		t.Errorf("%d sessions idle in a transaction while the relay publishes", n)
	}
	if err := <-relayed; err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM case_outbox`); n != 11 {
		t.Fatalf("outbox holds %d, want 11", n)
	}

	srv.Start()
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = relay.Run(rctx) }()
	waitFor(t, func() bool { return count(t, pool, `SELECT count(*) FROM case_outbox`) == 0 })
	rcancel()
	<-done
	// Republish the first case's two events by hand, as a crashed relay would.
	c1, _ := cases.Get(ctx, "outage-01")
	for _, e := range c1.History() {
		env, err := store.CaseChangedEvent("casework", string(c1.Number()), e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, cfg.SubjectRoot+".case.changed", mustJSON(t, env), jetstream.WithMsgID(env.ID)); err != nil {
			t.Fatal(err)
		}
	}

	es := store.NewEventStore(pool)
	cnc := connect(t, srv.URL)
	runConsumer(t, ctx, cnc, cfg, es)
	history := count(t, pool, `SELECT count(*) FROM case_history`)
	if history != 13 {
		t.Fatalf("history rows %d, want 13", history)
	}
	waitFor(t, func() bool {
		return count(t, pool, `SELECT count(*) FROM events WHERE type = 'case.changed'`) == history
	})
	if n := count(t, pool, `SELECT count(*) FROM events e JOIN case_history h
		ON e.case_id = h.case_id AND (e.payload->>'seq')::int = h.seq`); n != history {
		t.Fatalf("events matching history rows: %d, want %d", n, history)
	}
}
