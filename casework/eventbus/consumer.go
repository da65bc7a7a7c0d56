package eventbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/event"
)

// Handler stores or acts on one event. Returning nil commits: the event is then
// acknowledged and never redelivered. Returning an error redelivers it later, so a
// handler must be idempotent (the event ID is the key for that).
type Handler interface {
	Handle(ctx context.Context, env event.Envelope) error
	// HandleInvalid receives messages that break the contract. They are kept (for a
	// person to look at) rather than retried forever or dropped.
	HandleInvalid(ctx context.Context, subject string, data []byte, cause error) error
}

// ConsumerMetrics are the consumer's Prometheus series.
type ConsumerMetrics struct {
	handled  *prometheus.CounterVec
	failures prometheus.Counter
	invalid  prometheus.Counter
	poisoned prometheus.Counter
	lag      prometheus.Histogram
	lastLag  prometheus.Gauge
}

// NewConsumerMetrics registers the consumer's series with reg.
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	m := &ConsumerMetrics{
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_events_consumed_total",
			Help: "Events handled and acknowledged, by type.",
		}, []string{"type"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_event_consume_failures_total",
			Help: "Handler failures; the event is redelivered later.",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_events_invalid_total",
			Help: "Messages that broke the event contract and were parked.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_event_lag_seconds",
			Help:    "Time from an event's creation to its commit by the consumer.",
			Buckets: []float64{.005, .01, .05, .1, .5, 1, 5, 30, 120, 600, 3600},
		}),
		lastLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_event_last_lag_seconds",
			Help: "Lag of the most recently committed event.",
		}),
	}
	m.poisoned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_events_poisoned_total",
		Help: "Valid events whose handling kept failing (not an outage) and that were parked in dead_events for replay.",
	})
	reg.MustRegister(m.handled, m.failures, m.invalid, m.poisoned, m.lag, m.lastLag)
	return m
}

// Consumer runs a durable pull consumer over the whole stream.
type Consumer struct {
	js      jetstream.JetStream
	cfg     Config
	durable string
	log     *zap.Logger
	metrics *ConsumerMetrics
}

// NewConsumer prepares a durable consumer named durable. Several service instances
// may share it: JetStream spreads the events among them.
func NewConsumer(nc *nats.Conn, cfg Config, durable string, log *zap.Logger, m *ConsumerMetrics) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return &Consumer{js: js, cfg: cfg.withDefaults(), durable: durable, log: log, metrics: m}, nil
}

// Run consumes until ctx ends. It survives NATS outages: it waits for the stream,
// and a broken message iterator is recreated.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	stream, err := waitForJetStream(ctx, c.js, c.cfg, c.log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       c.durable,
		Description:   "casework event store",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.cfg.AckWait,
		MaxDeliver:    -1, // a database outage must not make events expire
		FilterSubject: c.cfg.SubjectRoot + ".>",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 1000,
	})
	if err != nil {
		return fmt.Errorf("ensure consumer %s: %w", c.durable, err)
	}
	for ctx.Err() == nil {
		if err := c.consume(ctx, cons, h); err != nil && ctx.Err() == nil {
			c.log.Warn("event iterator failed, recreating", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (c *Consumer) consume(ctx context.Context, cons jetstream.Consumer, h Handler) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(100))
	if err != nil {
		return fmt.Errorf("open message iterator: %w", err)
	}
	// Stop the iterator when ctx ends so that Next returns.
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("next event: %w", err)
		}
		c.handle(ctx, msg, h)
	}
}

func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg, h Handler) {
	env, err := event.Decode(msg.Data())
	if err != nil {
		c.metrics.invalid.Inc()
		if herr := h.HandleInvalid(ctx, msg.Subject(), msg.Data(), err); herr != nil {
			c.metrics.failures.Inc()
			c.log.Warn("parking an invalid event failed; will retry", zap.Error(herr))
			_ = msg.NakWithDelay(time.Second)
			return
		}
		c.log.Warn("invalid event parked", zap.String("subject", msg.Subject()), zap.Error(err))
		c.ack(ctx, msg)
		return
	}
	log := c.log.With(zap.String("event_id", env.ID), zap.String("type", string(env.Type)),
		zap.String("call_id", env.CallID), zap.String("case_id", env.CaseID))
	hctx, cancel := context.WithTimeout(ctx, c.cfg.HandlerTimeout)
	err = h.Handle(hctx, env)
	cancel()
	if err != nil {
		c.metrics.failures.Inc()
		if c.park(ctx, msg, h, log, err) {
			return
		}
		delay := redeliveryDelay(msg)
		log.Warn("event handling failed; redelivering", zap.Error(err), zap.Duration("delay", delay))
		_ = msg.NakWithDelay(delay)
		return
	}
	c.ack(ctx, msg)
	c.metrics.handled.WithLabelValues(string(env.Type)).Inc()
	lag := time.Since(env.Time).Seconds()
	c.metrics.lag.Observe(lag)
	c.metrics.lastLag.Set(lag)
}

// park moves an event that cannot be handled to the handler's dead letters
// (HandleInvalid) and acknowledges it, so that the consumer goes on: at once
// when it breaks the contract (event.ErrInvalid, e.g. a payload that does not
// decode), after MaxAttempts deliveries when it keeps failing for any reason
// but an outage. An outage (network, timeout) is retried for ever: parking
// needs the database too, and the event will go through when it is back.
func (c *Consumer) park(ctx context.Context, msg jetstream.Msg, h Handler, log *zap.Logger, err error) bool {
	invalid := errors.Is(err, event.ErrInvalid)
	n := deliveries(msg)
	if !invalid && (Transient(err) || n < c.cfg.MaxAttempts) {
		return false
	}
	cause := fmt.Errorf("after %d deliveries: %w", n, err)
	if perr := h.HandleInvalid(ctx, msg.Subject(), msg.Data(), cause); perr != nil {
		log.Warn("parking a failing event failed; will retry", zap.Error(perr))
		return false
	}
	if invalid {
		c.metrics.invalid.Inc()
	} else {
		c.metrics.poisoned.Inc()
	}
	log.Error("event parked in dead_events (replay: hotlinectl events replay)", zap.Bool("contract", invalid),
		zap.Int("deliveries", n), zap.Error(err))
	c.ack(ctx, msg)
	return true
}

// Transient tells whether a handler error is an outage (network, deadline)
// rather than something wrong with the event.
func Transient(err error) bool {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	// Database errors, without importing a driver: SQLSTATE classes of
	// connection trouble (08), operator intervention such as a restart (57),
	// insufficient resources (53) and transaction rollback (40) are outages.
	var sqlErr interface{ SQLState() string }
	if errors.As(err, &sqlErr) {
		switch st := sqlErr.SQLState(); {
		case len(st) >= 2 && (st[:2] == "08" || st[:2] == "57" || st[:2] == "53" || st[:2] == "40"):
			return true
		}
	}
	// pgconn marks errors where nothing reached the server.
	var retry interface{ SafeToRetry() bool }
	return errors.As(err, &retry) && retry.SafeToRetry()
}

func deliveries(msg jetstream.Msg) int {
	md, err := msg.Metadata()
	if err != nil {
		return 1
	}
	return int(md.NumDelivered)
}

// ack waits for the server to confirm, so that a crash right after a commit is the
// only window for a redelivery, which the handler's idempotence absorbs.
func (c *Consumer) ack(ctx context.Context, msg jetstream.Msg) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		c.log.Warn("ack not confirmed; the event may be redelivered (stored once anyway)", zap.Error(err))
	}
}

// redeliveryDelay backs off with the delivery count so that a database outage does
// not turn into a hot loop.
func redeliveryDelay(msg jetstream.Msg) time.Duration {
	md, err := msg.Metadata()
	if err != nil || md.NumDelivered < 1 {
		return time.Second
	}
	d := time.Duration(md.NumDelivered) * 500 * time.Millisecond
	return min(d, 30*time.Second)
}
