package ivr

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// Config is what the front door needs to know.
type Config struct {
	// SoundsDir holds the rendered prompts (<id>.wav); the same path inside
	// Asterisk's root, which bind-mounts the data directory.
	SoundsDir string
	// Source names this service and node in events.
	Source string
	// MaxCallTime bounds a call that nothing else ends.
	MaxCallTime time.Duration
	// Human is the agent queue (nil: none, every caller gets the menu).
	Human HumanService
}

// Metrics are the front door's series.
type Metrics struct {
	started  *prometheus.CounterVec
	ended    *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewMetrics registers the front door's series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_total", Help: "Calls that reached the hotline, by direction.",
		}, []string{"direction"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_ended_total", Help: "Finished calls by outcome and who hung up.",
		}, []string{"outcome", "hangup_by"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_call_duration_seconds", Help: "Call duration from arrival to hang-up.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 3600},
		}),
	}
	reg.MustRegister(m.started, m.ended, m.duration)
	m.started.WithLabelValues("inbound")
	return m
}

// Service answers calls to 12345. It implements ari.Handler.
type Service struct {
	cfg     Config
	sink    Sink
	metrics *Metrics
	log     *zap.Logger
}

// NewService wires the front door.
func NewService(cfg Config, sink Sink, m *Metrics, log *zap.Logger) *Service {
	if cfg.MaxCallTime == 0 {
		cfg.MaxCallTime = 2 * time.Hour
	}
	return &Service{cfg: cfg, sink: sink, metrics: m, log: log}
}

// Sound returns the media URI of a rendered prompt.
func (s *Service) Sound(id string) string {
	return "sound:" + filepath.Join(s.cfg.SoundsDir, id)
}

// HandleCall runs one inbound call from arrival to hang-up.
func (s *Service) HandleCall(ctx context.Context, sess *ari.Session) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxCallTime)
	defer cancel()
	call := newCall(sess, s.sink, s.cfg.Source)
	info := sess.Caller()
	s.metrics.started.WithLabelValues("inbound").Inc()
	call.Emit(event.CallStarted, event.CallStartedPayload{
		Caller:     info.CallerNumber,
		CallerName: info.CallerName,
		Anonymous:  anonymous(info.CallerNumber),
		Called:     info.Dialed,
		Direction:  "inbound",
		Channel:    info.Name,
		Node:       sess.Node(),
	})
	call.Log.Info("call started", zap.String("caller", info.CallerNumber), zap.String("called", info.Dialed))
	defer func() {
		p := call.end(false)
		s.metrics.ended.WithLabelValues(p.Outcome, p.HangupBy).Inc()
		s.metrics.duration.Observe(float64(p.DurationMS) / 1000)
	}()

	if err := s.run(ctx, call); err != nil && !errors.Is(err, ari.ErrHangup) && ctx.Err() == nil {
		call.Log.Error("call flow failed", zap.Error(err))
		call.SetOutcome("failed")
	}
}

func (s *Service) run(ctx context.Context, call *Call) error {
	ch := call.ChannelID()
	if err := call.S.Answer(ctx, ch); err != nil {
		return err
	}
	if _, err := call.S.Play(ctx, ch, s.Sound("greeting"), false); err != nil {
		return err
	}
	if s.cfg.Human != nil {
		err := s.cfg.Human.Serve(ctx, call)
		if !errors.Is(err, ErrNoAgent) {
			return err
		}
	}
	// Until the voice menu exists, a greeted caller stays up until they hang up
	// (or the bound ends it).
	return call.S.WaitHangup(ctx, ch)
}

// anonymous tells whether the carrier withheld the caller's number.
func anonymous(number string) bool {
	switch number {
	case "", "anonymous", "Anonymous", "unknown", "restricted":
		return true
	}
	return false
}
