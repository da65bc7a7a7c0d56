package eventbus

import (
	"bytes"
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
	// perEventSync turns group commit off: each event its own file and
	// fsyncs (the baseline of the benchmark).
	perEventSync bool

	mu    sync.Mutex
	depth int
	// sentOf counts the events of a batch file already acknowledged, so that
	// a retry after a failure in the middle of a batch resends only the
	// rest (across a restart the stream's deduplication covers it).
	sentOf map[string]int

	// Group commit: Publish calls that arrive while a write is in progress
	// queue up and are written together by the next one, with one fsync.
	gmu        sync.Mutex
	queue      []*spoolItem
	committing bool
}

// spoolItem is one event waiting for the group commit.
type spoolItem struct {
	id   string
	data []byte
	done chan error
}

// batchSuffix names a spool file holding several events, one JSON envelope
// per line, written by one group commit.
const batchSuffix = ".jsonl"

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
	p := &Publisher{js: js, cfg: cfg, root: cfg.SubjectRoot, dir: dir, log: log, metrics: m, wake: make(chan struct{}, 1),
		sentOf: map[string]int{}}
	names, err := p.spooled()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		p.depth += p.eventsIn(n)
	}
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
	// forget it before the write returns, and a count made afterwards
	// would then stay one too high for ever.
	p.count(+1)
	if err := p.commit(&spoolItem{id: env.ID, data: data, done: make(chan error, 1)}); err != nil {
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

// commit writes it durably, together with the events other Publish calls
// queued meanwhile (group commit), and returns when it is on disk. The
// first caller to find no write in progress writes the queue, again and
// again until it is empty; the others wait for their turn's result. No
// goroutine is needed, and under no load an event is written at once.
func (p *Publisher) commit(it *spoolItem) error {
	if p.perEventSync {
		return writeFileSync(p.dir, it.id+".json", it.data)
	}
	p.gmu.Lock()
	p.queue = append(p.queue, it)
	if p.committing {
		p.gmu.Unlock()
		return <-it.done
	}
	p.committing = true
	for len(p.queue) > 0 {
		batch := p.queue
		p.queue = nil
		p.gmu.Unlock()
		err := p.writeBatch(batch)
		for _, b := range batch {
			b.done <- err
		}
		p.gmu.Lock()
	}
	p.committing = false
	p.gmu.Unlock()
	return <-it.done
}

// writeBatch writes events to one file (one fsync of the file, one of the
// directory). A single event keeps the one-event format; several go into
// a batch file named after the first, so the spool's order holds.
func (p *Publisher) writeBatch(batch []*spoolItem) error {
	if len(batch) == 1 {
		return writeFileSync(p.dir, batch[0].id+".json", batch[0].data)
	}
	var buf []byte
	for _, b := range batch {
		buf = append(append(buf, b.data...), '\n')
	}
	return writeFileSync(p.dir, batch[0].id+batchSuffix, buf)
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
		n, err := p.send(ctx, name)
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// eventsIn counts the events of a spool file (for the depth at start).
func (p *Publisher) eventsIn(name string) int {
	if !strings.HasSuffix(name, batchSuffix) {
		return 1
	}
	data, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		return 1
	}
	return len(splitLines(data))
}

func splitLines(data []byte) [][]byte {
	var out [][]byte
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// send publishes the events of one spool file in order and removes the file
// once JetStream has acknowledged all of them; it returns how many it sent.
func (p *Publisher) send(ctx context.Context, name string) (int, error) {
	path := filepath.Join(p.dir, name)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read spooled %s: %w", name, err)
	}
	lines := [][]byte{data}
	if strings.HasSuffix(name, batchSuffix) {
		lines = splitLines(data)
	}
	envs := make([]event.Envelope, len(lines))
	for i, l := range lines {
		env, err := event.Decode(l)
		if err != nil {
			// A damaged file would block the spool forever; move it aside for a person.
			bad := path + ".bad"
			p.log.Error("spooled event is unreadable, moved aside", zap.String("file", bad), zap.Error(err))
			p.metrics.spoolBad.Inc()
			p.count(-(len(lines) - p.sent(name)))
			p.mu.Lock()
			delete(p.sentOf, name)
			p.mu.Unlock()
			return 0, errors.Join(err, os.Rename(path, bad))
		}
		envs[i] = env
	}
	sent := 0
	for i := p.sent(name); i < len(envs); i++ {
		env := envs[i]
		msg := &nats.Msg{Subject: event.Subject(p.root, env.Type), Data: lines[i], Header: nats.Header{}}
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := p.js.PublishMsg(attempt, msg, jetstream.WithMsgID(env.ID))
		cancel()
		if err != nil {
			return sent, fmt.Errorf("publish %s %s: %w", env.Type, env.ID, err)
		}
		p.mu.Lock()
		p.sentOf[name] = i + 1
		p.mu.Unlock()
		sent++
		p.metrics.published.WithLabelValues(string(env.Type)).Inc()
		p.metrics.lag.Observe(time.Since(env.Time).Seconds())
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return sent, fmt.Errorf("remove sent events %s: %w", name, err)
	}
	p.mu.Lock()
	delete(p.sentOf, name)
	p.mu.Unlock()
	p.count(-len(envs))
	return sent, nil
}

// sent is how many events of a spool file JetStream has acknowledged.
func (p *Publisher) sent(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sentOf[name]
}

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
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), batchSuffix)) {
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
