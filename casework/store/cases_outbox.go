package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/event"
)

// StreamPublisher is the part of jetstream.JetStream the relay uses.
type StreamPublisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

// OutboxRelay moves case events from the case_outbox table to JetStream. A row is
// deleted only in the transaction that saw JetStream acknowledge it, so a NATS
// outage or a crash delays events but never loses one; a row published twice
// (crash between ack and commit) carries the same Nats-Msg-Id and event ID, and
// is stored once.
type OutboxRelay struct {
	pool     *pgxpool.Pool
	js       StreamPublisher
	root     string
	log      *zap.Logger
	batch    int
	interval time.Duration

	published prometheus.Counter
	failures  prometheus.Counter
	depth     prometheus.Gauge
}

// outboxLockKey makes one relay active at a time across instances, which keeps
// each case's events in the order they happened.
const outboxLockKey = 12345_0003

// NewOutboxRelay returns a relay publishing under subject root root.
func NewOutboxRelay(pool *pgxpool.Pool, js StreamPublisher, root string, log *zap.Logger, reg prometheus.Registerer) *OutboxRelay {
	r := &OutboxRelay{
		pool: pool, js: js, root: root, log: log, batch: 200, interval: 500 * time.Millisecond,
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_case_outbox_published_total", Help: "Case events relayed from the outbox to JetStream.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_case_outbox_failures_total", Help: "Outbox relay attempts that failed; the events stay in the outbox.",
		}),
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_case_outbox_depth", Help: "Case events waiting in the outbox after the last relay pass.",
		}),
	}
	reg.MustRegister(r.published, r.failures, r.depth)
	return r
}

// Run relays until ctx ends, backing off while NATS or the database is down.
func (r *OutboxRelay) Run(ctx context.Context) error {
	backoff := r.interval
	for {
		n, err := r.RelayOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := r.interval
		switch {
		case err != nil:
			r.failures.Inc()
			r.log.Warn("outbox relay failed; events stay in the outbox", zap.Error(err), zap.Duration("retry_in", backoff))
			wait = backoff
			backoff = min(backoff*2, 10*time.Second)
		case n == r.batch:
			wait = 0 // more waiting
			backoff = r.interval
		default:
			backoff = r.interval
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// RelayOnce publishes up to one batch in outbox order and returns how many went.
func (r *OutboxRelay) RelayOnce(ctx context.Context) (int, error) {
	// One relay at a time across casework instances, held by a session lock on
	// one connection, not by a transaction: publishing waits on the broker (up
	// to seconds when it is slow), and an open transaction that long would hold
	// back vacuum and every lock it took.
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: acquire connection: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, outboxLockKey).Scan(&locked); err != nil {
		return 0, fmt.Errorf("outbox lock: %w", err)
	}
	if !locked {
		return 0, nil // another instance is relaying
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, outboxLockKey) }()

	rows, err := conn.Query(ctx, `SELECT id, event_id::text, type, envelope FROM case_outbox ORDER BY id LIMIT $1`, r.batch)
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	type row struct {
		id         int64
		eventID, t string
		body       []byte
	}
	batch, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		var x row
		return x, cr.Scan(&x.id, &x.eventID, &x.t, &x.body)
	})
	if err != nil {
		return 0, fmt.Errorf("read outbox: %w", err)
	}
	var done []int64
	var pubErr error
	for _, x := range batch {
		// Normalise through the envelope type so the wire form is the contract's.
		var env event.Envelope
		if err := json.Unmarshal(x.body, &env); err != nil {
			pubErr = fmt.Errorf("outbox row %d: %w", x.id, err)
			break
		}
		data, _ := json.Marshal(env)
		msg := &nats.Msg{Subject: event.Subject(r.root, event.Type(x.t)), Data: data, Header: nats.Header{}}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := r.js.PublishMsg(actx, msg, jetstream.WithMsgID(x.eventID))
		cancel()
		if err != nil {
			pubErr = fmt.Errorf("publish %s %s: %w", x.t, x.eventID, err)
			break // keep order: nothing after a failed event goes first
		}
		done = append(done, x.id)
	}
	// What was acknowledged is deleted even when a later publish failed. A crash
	// before this line republishes those rows: the same Nats-Msg-Id within the
	// stream's duplicate window, and the event ID as the database key after it,
	// keep them single.
	if len(done) > 0 {
		if _, err := conn.Exec(ctx, `DELETE FROM case_outbox WHERE id = ANY($1)`, done); err != nil {
			return 0, fmt.Errorf("delete relayed outbox rows: %w", err)
		}
	}
	var depth int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM case_outbox`).Scan(&depth); err == nil {
		r.depth.Set(float64(depth))
	}
	r.published.Add(float64(len(done)))
	return len(done), pubErr
}
