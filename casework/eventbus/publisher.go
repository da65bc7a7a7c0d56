package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/event"
)

// PublisherMetrics are the publisher's Prometheus series.
type PublisherMetrics struct {
	published  *prometheus.CounterVec
	failures   prometheus.Counter
	spoolDepth prometheus.Gauge
	lag        prometheus.Histogram
	// spoolFailures counts events that could not be written to the spool
	// (disk full): the caller learns it from Publish's error; ops from this.
	spoolFailures prometheus.Counter
	// spoolBad counts damaged spool files moved aside (.bad).
	spoolBad prometheus.Counter
}

// NewPublisherMetrics registers the publisher's series with reg.
func NewPublisherMetrics(reg prometheus.Registerer) *PublisherMetrics {
	m := &PublisherMetrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_events_published_total",
			Help: "Events acknowledged by JetStream, by type.",
		}, []string{"type"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_event_publish_failures_total",
			Help: "Publish attempts that failed and left the event in the spool for a retry.",
		}),
		spoolDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_event_spool_depth",
			Help: "Events written to the local spool and not yet acknowledged by JetStream.",
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hotline_event_publish_lag_seconds",
			Help:    "Time from an event's creation to its acknowledgement by JetStream.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 30, 120, 600},
		}),
	}
	m.spoolFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_event_spool_failures_total",
		Help: "Events that could not be written to the local spool (disk full?) and so were not recorded.",
	})
	m.spoolBad = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hotline_event_spool_quarantined_total",
		Help: "Damaged spooled events moved aside (.bad) for a person.",
	})
	reg.MustRegister(m.published, m.failures, m.spoolDepth, m.lag, m.spoolFailures, m.spoolBad)
	return m
}

// Publisher hands events to JetStream without ever losing one: Publish first writes
// the event to a spool directory (fsynced), and a background loop sends spooled
// events in ID (creation) order, deleting each file only after JetStream has
// acknowledged it. Events outlive a NATS outage and a restart of the service; the
// Nats-Msg-Id header and the database key make the resulting at-least-once delivery
// store each event once.
type Publisher struct {
	js      jetstream.JetStream
	cfg     Config
	root    string
	dir     string
	log     *zap.Logger
	metrics *PublisherMetrics
	wake    chan struct{}
	// afterWrite, if set, runs when Publish has written an event's file: where
	// the sending loop can overtake Publish (tests).
	afterWrite func()

	mu    sync.Mutex
	depth int
}

// NewPublisher prepares a publisher spooling into dir. Run must be started for
// anything to leave the machine.
func NewPublisher(nc *nats.Conn, cfg Config, dir string, log *zap.Logger, m *PublisherMetrics) (*Publisher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("event spool %s: %w", dir, err)
	}
	p := &Publisher{js: js, cfg: cfg, root: cfg.SubjectRoot, dir: dir, log: log, metrics: m, wake: make(chan struct{}, 1)}
	names, err := p.spooled()
	if err != nil {
		return nil, err
	}
	p.depth = len(names)
	m.spoolDepth.Set(float64(p.depth))
	if p.depth > 0 {
		log.Info("events left in spool from an earlier run will be sent", zap.Int("count", p.depth))
	}
	return p, nil
}

// Publish makes the event durable locally and schedules it for sending. It returns
// an error only when the local disk fails, which the caller should treat as fatal
// for the event (and alert on).
func (p *Publisher) Publish(env event.Envelope) error {
	if err := env.Validate(); err != nil {
		return fmt.Errorf("publish %s: %w", env.Type, err)
	}
	data, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", env.ID, err)
	}
	// Counted before the file appears: the sending loop may find, send and
	// forget it before writeFileSync returns, and a count made afterwards
	// would then stay one too high for ever.
	p.count(+1)
	if err := writeFileSync(p.dir, env.ID+".json", data); err != nil {
		p.count(-1)
		p.metrics.spoolFailures.Inc()
		return fmt.Errorf("spool event %s: %w", env.ID, err)
	}
	if p.afterWrite != nil {
		p.afterWrite()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run sends spooled events until ctx ends. On shutdown, callers that want the spool
// flushed give Run a context that outlives the call handling by a bounded grace.
func (p *Publisher) Run(ctx context.Context) error {
	// Either side may be first to start; both declare the same stream.
	if _, err := waitForJetStream(ctx, p.js, p.cfg, p.log); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	backoff := 100 * time.Millisecond
	for {
		sent, err := p.drain(ctx)
		if err != nil && ctx.Err() == nil {
			p.metrics.failures.Inc()
			p.log.Warn("event publish failed, kept in spool", zap.Error(err), zap.Duration("retry_in", backoff))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		if sent > 0 {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-time.After(5 * time.Second): // belt and braces: files put there by hand
		}
	}
}

// Depth is the number of events waiting in the spool.
func (p *Publisher) Depth() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.depth
}

// drain sends every spooled event in order and stops at the first failure, so that
// events of one call reach the stream in the order they happened.
func (p *Publisher) drain(ctx context.Context) (int, error) {
	names, err := p.spooled()
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, name := range names {
		if ctx.Err() != nil {
			return sent, nil
		}
		if err := p.send(ctx, name); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

func (p *Publisher) send(ctx context.Context, name string) error {
	path := filepath.Join(p.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read spooled %s: %w", name, err)
	}
	env, err := event.Decode(data)
	if err != nil {
		// A damaged file would block the spool forever; move it aside for a person.
		bad := path + ".bad"
		p.log.Error("spooled event is unreadable, moved aside", zap.String("file", bad), zap.Error(err))
		p.metrics.spoolBad.Inc()
		p.forget()
		return errors.Join(err, os.Rename(path, bad))
	}
	msg := &nats.Msg{Subject: event.Subject(p.root, env.Type), Data: data, Header: nats.Header{}}
	attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := p.js.PublishMsg(attempt, msg, jetstream.WithMsgID(env.ID)); err != nil {
		return fmt.Errorf("publish %s %s: %w", env.Type, env.ID, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sent event %s: %w", name, err)
	}
	p.forget()
	p.metrics.published.WithLabelValues(string(env.Type)).Inc()
	p.metrics.lag.Observe(time.Since(env.Time).Seconds())
	return nil
}

// forget counts an event out of the spool (sent, or moved aside).
func (p *Publisher) forget() { p.count(-1) }

func (p *Publisher) count(delta int) {
	p.mu.Lock()
	p.depth = max(p.depth+delta, 0)
	p.metrics.spoolDepth.Set(float64(p.depth))
	p.mu.Unlock()
}

// spooled lists waiting events; UUIDv7 file names sort in creation order.
func (p *Publisher) spooled() ([]string, error) {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("list event spool: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// writeFileSync writes atomically (temp file, fsync, rename, fsync dir) so a crash
// leaves either the whole event or none of it.
func writeFileSync(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
