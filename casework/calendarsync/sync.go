// Package calendarsync keeps the casework service's working-day calendar in
// step with the holiday notices operators import at run time (C4, T2, T12):
// it rebuilds the calendar when the imports change, shares it with the call
// service, recomputes the deadlines that were counted on provisional days off,
// and exports the gauges the calendar alerts read.
package calendarsync

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/eventbus"
)

// Imports is the store of imported notices.
type Imports interface {
	Revision(ctx context.Context) (int64, error)
	InForce(ctx context.Context) ([]calendar.Notice, int64, error)
}

// Cases finds the open cases on provisional deadlines.
type Cases interface {
	ProvisionalCaseIDs(ctx context.Context, after string, limit int) ([]string, error)
	CountProvisional(ctx context.Context) (int, error)
}

// Recomputer recomputes one case's deadline on the calendar in force
// (app.Service.RecomputeDeadline); it reports whether the deadline changed.
type Recomputer interface {
	RecomputeDeadline(ctx context.Context, id, reason string) (bool, error)
}

// Publish shares a snapshot with the call service (eventbus.PublishCalendar).
type Publish func(ctx context.Context, s eventbus.CalendarSnapshot) error

// Syncer runs the passes. Every casework instance runs one: the passes are
// idempotent (a recomputation that finds nothing to change records nothing),
// so instances need no coordination.
type Syncer struct {
	Source    *calendar.Source
	Imports   Imports
	Cases     Cases
	Recompute Recomputer
	Publish   Publish
	Metrics   *Metrics
	Log       *zap.Logger
	Clock     func() time.Time
	// Interval between passes (default 15 s): an import made with hotlinectl
	// straight into the database is in force everywhere within about that.
	Interval time.Duration

	rev       int64 // revision in force; -1 before the first pass
	published bool  // the revision in force reached the bucket
	settled   bool  // every provisional case was recomputed on it
	snapshot  eventbus.CalendarSnapshot
	kick      chan struct{}
}

// New returns a syncer; fields may be set on the result before Run.
func New(s Syncer) *Syncer {
	s.rev = -1
	s.kick = make(chan struct{}, 1)
	return &s
}

// Kick asks for a pass now (after an import through the API).
func (s *Syncer) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run makes a pass every Interval, and on Kick, until ctx ends.
func (s *Syncer) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = 15 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("calendar pass failed; retried at the next", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.kick:
		}
	}
}

// RunOnce rebuilds the calendar if the imports changed, publishes it, recomputes
// provisional deadlines and updates the gauges. A step that fails is retried by
// the next pass; the calendar in force stays until a new one builds.
func (s *Syncer) RunOnce(ctx context.Context) error {
	rev, err := s.Imports.Revision(ctx)
	if err != nil {
		return err
	}
	if rev != s.rev {
		notices, got, err := s.Imports.InForce(ctx)
		if err != nil {
			return err
		}
		embedded, err := calendar.Embedded()
		if err != nil {
			return err
		}
		cal, err := calendar.Build(calendar.Merge(embedded, notices))
		if err != nil {
			// The import refused contradictions; a calendar that still does not build
			// is a data error an operator must see, with the old calendar kept.
			s.Log.Error("imported notices do not build a calendar; keeping the one in force",
				zap.Int64("revision", got), zap.Error(err))
			return fmt.Errorf("build calendar revision %d: %w", got, err)
		}
		s.Source.Set(cal)
		s.Log.Info("calendar in force", zap.Int64("revision", got), zap.Int("official_last_year", cal.LastYear()),
			zap.Int("imported_years", len(notices)))
		s.rev, s.published, s.settled = got, false, false
		s.snapshot = eventbus.CalendarSnapshot{Revision: got, Notices: notices}
	}
	if !s.published && s.Publish != nil {
		snap := s.snapshot
		snap.PublishedAt = s.now()
		if err := s.Publish(ctx, snap); err != nil {
			s.Log.Warn("calendar not shared with the call service yet", zap.Int64("revision", s.rev), zap.Error(err))
		} else {
			s.published = true
		}
	}
	if !s.settled {
		n, err := s.recomputeAll(ctx)
		s.Log.Info("provisional deadlines recomputed", zap.Int64("revision", s.rev), zap.Int("changed", n), zap.Error(err))
		if err == nil {
			s.settled = true
		}
	}
	s.observe(ctx)
	return nil
}

// recomputeAll runs over every open case on a provisional deadline. A case
// that fails is logged and the pass goes on; the pass then reports an error so
// the next one tries again.
func (s *Syncer) recomputeAll(ctx context.Context) (int, error) {
	reason := fmt.Sprintf("节假日安排更新（日历修订 %d）：按新的工作日历重新计算办理时限", s.rev)
	changed, failed := 0, 0
	after := ""
	for {
		ids, err := s.Cases.ProvisionalCaseIDs(ctx, after, 200)
		if err != nil {
			return changed, err
		}
		for _, id := range ids {
			ok, err := s.Recompute.RecomputeDeadline(ctx, id, reason)
			if err != nil {
				failed++
				s.Log.Warn("recompute deadline failed", zap.String("case_id", id), zap.Error(err))
				continue
			}
			if ok {
				changed++
				s.Metrics.recomputed.Inc()
			}
		}
		if len(ids) < 200 {
			break
		}
		after = ids[len(ids)-1]
	}
	if failed > 0 {
		return changed, fmt.Errorf("%d case(s) not recomputed", failed)
	}
	return changed, nil
}

func (s *Syncer) observe(ctx context.Context) {
	s.Metrics.Observe(s.Source.Current(), s.now(), s.rev)
	if n, err := s.Cases.CountProvisional(ctx); err == nil {
		s.Metrics.provisionalCases.Set(float64(n))
	} else {
		s.Log.Warn("count provisional deadlines", zap.Error(err))
	}
}

func (s *Syncer) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Metrics are the calendar's gauges. The call service registers the calendar
// part too (NewMetrics with cases=false), so each service reports the calendar
// it actually uses.
type Metrics struct {
	lastYear         prometheus.Gauge
	daysToProvYear   prometheus.Gauge
	provYear         prometheus.Gauge
	revision         prometheus.Gauge
	provisionalCases prometheus.Gauge
	recomputed       prometheus.Counter
}

// NewMetrics registers the gauges; cases adds the case-side series (open cases
// on provisional deadlines, recomputations), which only casework knows.
func NewMetrics(reg prometheus.Registerer, cases bool) *Metrics {
	m := &Metrics{
		lastYear: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calendar_last_year", Help: "Latest year with an official holiday notice in force.",
		}),
		daysToProvYear: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calendar_days_until_provisional_year",
			Help: "Days until 1 January of the first year without an official holiday notice (0: this year is provisional). " +
				"Alert below 45 (warning) and 10 (critical): import the notice.",
		}),
		provYear: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calendar_provisional_year", Help: "First year without an official holiday notice (days off from the statute).",
		}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_calendar_revision", Help: "Import revision of the calendar in force (0: embedded notices only).",
		}),
		provisionalCases: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_cases_provisional_deadline", Help: "Open cases whose deadline was counted on a provisional calendar year.",
		}),
		recomputed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_calendar_recomputed_deadlines_total", Help: "Deadlines moved by a calendar import.",
		}),
	}
	reg.MustRegister(m.lastYear, m.daysToProvYear, m.provYear, m.revision)
	if cases {
		reg.MustRegister(m.provisionalCases, m.recomputed)
	}
	return m
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation(calendar.Location)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Observe sets the calendar gauges for cal at now.
func (m *Metrics) Observe(cal *calendar.Calendar, now time.Time, revision int64) {
	local := now.In(shanghai)
	year := cal.FirstUncovered(local.Year())
	start := time.Date(year, time.January, 1, 0, 0, 0, 0, shanghai)
	days := 0.0
	if start.After(local) {
		days = start.Sub(local).Hours() / 24
	}
	m.lastYear.Set(float64(cal.LastYear()))
	m.provYear.Set(float64(year))
	m.daysToProvYear.Set(days)
	m.revision.Set(float64(max(revision, 0)))
}

// ProvisionalCases is the gauge of open cases on provisional deadlines (tests).
func (m *Metrics) ProvisionalCases() prometheus.Gauge { return m.provisionalCases }

// DaysUntilProvisionalYear is the alert's gauge (tests).
func (m *Metrics) DaysUntilProvisionalYear() prometheus.Gauge { return m.daysToProvYear }
