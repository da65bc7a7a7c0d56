// Package escalation is the automatic reminder (催办) and supervision (督办)
// job of C6: before a deadline the lead unit is reminded, and when the case is
// overdue or reminders went unanswered it is supervised, each exactly once per
// round, however many casework instances run the job.
//
// Exactly once comes from two things together: the store keeps a due index
// (cases.due_at) and hands each due case to one scanner at a time (FOR UPDATE
// SKIP LOCKED), and Fire decides from the locked, current case, whose round
// counters already show a reminder or supervision another scan recorded.
package escalation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/store"
)

// Actor is who records automatic reminders and supervisions.
var Actor = domain.Actor{ID: "scheduler", Role: domain.RoleSystem}

// Rules applies the city's policy to one case. Due and Fire share it, so the due
// index never promises what Fire would not do.
type Rules struct {
	Policy   policy.Profile
	Calendar policy.WorkingDays
}

func owesReply(c *domain.Case) bool {
	return c.State() == domain.StateTransferred || c.State() == domain.StateAccepted
}

// Due is when the round's automatic reminder and supervision fall due; zero when
// none will. It is the store's DueFunc.
func (r Rules) Due(c *domain.Case) (remindAt, superviseAt time.Time) {
	if !owesReply(c) || c.Deadline().IsZero() {
		return time.Time{}, time.Time{}
	}
	round := c.Round()
	if round.Reminders == 0 {
		remindAt = r.reminderAt(c)
	}
	if round.Supervisions == 0 {
		sv := r.Policy.Supervision
		switch {
		case sv.AfterReminders > 0 && round.Reminders >= sv.AfterReminders:
			superviseAt = round.StartedAt // due now: reminders went unanswered
		case sv.OnOverdue:
			// Overdue means strictly after the deadline (a reply at the deadline is on
			// time); the database keeps microseconds.
			superviseAt = c.Deadline().Add(time.Microsecond)
		}
	}
	return remindAt, superviseAt
}

// reminderAt computes the policy's reminder time from the round's terms, so it
// counts exactly as the deadline did. It never returns later than the deadline;
// if the calendar cannot answer (it answered for the deadline, so this is a
// program error), the reminder is due at once rather than never.
func (r Rules) reminderAt(c *domain.Case) time.Time {
	round := c.Round()
	t := policy.Terms{ReceivedAt: round.StartedAt, Mode: policy.Written, Urgency: policy.Normal, Days: round.WorkingDays}
	if c.Mode() == domain.ModePhoneTransfer {
		t.Mode = policy.Phone
	}
	if round.WorkingDays == 0 {
		// A limit in clock hours (urgent, leader-instructed).
		t.Urgency = policy.Urgent
		t.Hours = max(1, int(c.Deadline().Sub(round.StartedAt).Hours()))
	} else if round.ExtensionDays > 0 {
		t.Extensions = []int{round.ExtensionDays}
	}
	at, err := r.Policy.ReminderAt(r.Calendar, t)
	if err != nil || at.IsZero() {
		return round.StartedAt
	}
	if at.After(c.Deadline()) {
		return c.Deadline()
	}
	return at
}

// Fired says what Fire did.
type Fired struct {
	Reminded   bool
	Supervised bool
	Reason     policy.Reason
}

// Fire records whatever is due at now on the locked case.
func (r Rules) Fire(c *domain.Case, now time.Time) (Fired, error) {
	var f Fired
	remindAt, _ := r.Due(c)
	if !remindAt.IsZero() && !remindAt.After(now) {
		note := "自动催办：办理期限 " + c.Deadline().In(shanghai).Format("2006-01-02 15:04")
		if err := c.Remind(Actor, now, note); err != nil {
			return f, fmt.Errorf("remind case %s: %w", c.ID(), err)
		}
		f.Reminded = true
	}
	if _, superviseAt := r.Due(c); !superviseAt.IsZero() && !superviseAt.After(now) {
		ok, reason := r.Policy.ShouldSupervise(now, c.Deadline(), c.Round().Reminders)
		if ok {
			note := "自动督办：超出办理期限"
			if reason == policy.ReasonReminders {
				note = "自动督办：经催办未果"
			}
			if err := c.Supervise(Actor, now, time.Time{}, note); err != nil {
				return f, fmt.Errorf("supervise case %s: %w", c.ID(), err)
			}
			f.Supervised, f.Reason = true, reason
		}
	}
	return f, nil
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// Store is what the scheduler needs from the case store.
type Store interface {
	ScanDue(ctx context.Context, now time.Time, limit int, fn func(*domain.Case, bool) ([]event.Envelope, error)) (store.ScanResult, error)
	CountOverdue(ctx context.Context, now time.Time) (int, error)
}

// Metrics are the scheduler's Prometheus series.
type Metrics struct {
	overdue      prometheus.Gauge
	reminders    prometheus.Counter
	supervisions *prometheus.CounterVec
	failures     prometheus.Counter
	scan         prometheus.Histogram
}

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		overdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_cases_overdue", Help: "Cases a unit owes a reply on past their deadline, at the last scan.",
		}),
		reminders: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_case_reminders_total", Help: "Automatic reminders (催办) recorded.",
		}),
		supervisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_case_supervisions_total", Help: "Automatic supervisions (督办) recorded, by reason.",
		}, []string{"reason"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_escalation_failures_total", Help: "Cases whose escalation failed; retried later.",
		}),
		scan: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_escalation_scan_seconds", Help: "Duration of one escalation pass over the due index.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
	}
	reg.MustRegister(m.overdue, m.reminders, m.supervisions, m.failures, m.scan)
	// Both reasons exist from the start, so dashboards and alerts see zeros, not gaps.
	for _, r := range []policy.Reason{policy.ReasonOverdue, policy.ReasonReminders} {
		m.supervisions.WithLabelValues(string(r))
	}
	return m
}

// Scheduler runs the escalation passes.
type Scheduler struct {
	Store   Store
	Rules   Rules
	Metrics *Metrics
	Log     *zap.Logger
	Clock   func() time.Time
	// Interval between passes (default one minute) and cases per transaction
	// (default 100).
	Interval time.Duration
	Batch    int
}

// Result counts what one pass did.
type Result struct {
	Reminders    int
	Supervisions int
	Failed       int
}

// RunOnce escalates everything due now, batch by batch, until the due index has
// nothing left that this instance can lock.
func (s *Scheduler) RunOnce(ctx context.Context) (Result, error) {
	start := time.Now()
	now := s.now()
	batch := s.Batch
	if batch <= 0 {
		batch = 100
	}
	var total Result
	for ctx.Err() == nil {
		fired := map[string]Fired{}
		res, err := s.Store.ScanDue(ctx, now, batch, func(c *domain.Case, _ bool) ([]event.Envelope, error) {
			f, err := s.Rules.Fire(c, now)
			if err == nil {
				fired[c.ID()] = f
			}
			return nil, err
		})
		if err != nil {
			return total, fmt.Errorf("escalation scan: %w", err)
		}
		// Count only what committed: a case that failed after Fire was rolled back.
		for id, f := range fired {
			if _, failed := res.Failed[id]; failed {
				continue
			}
			if f.Reminded {
				total.Reminders++
				s.Metrics.reminders.Inc()
			}
			if f.Supervised {
				total.Supervisions++
				s.Metrics.supervisions.WithLabelValues(string(f.Reason)).Inc()
			}
		}
		for id, ferr := range res.Failed {
			total.Failed++
			s.Metrics.failures.Inc()
			level := s.Log.Warn
			if errors.Is(ferr, domain.ErrInvalidTransition) {
				level = s.Log.Info
			}
			level("escalation failed; retried later", zap.String("case_id", id), zap.Error(ferr))
		}
		if res.Locked < batch {
			break
		}
	}
	if n, err := s.Store.CountOverdue(ctx, now); err == nil {
		s.Metrics.overdue.Set(float64(n))
	} else {
		s.Log.Warn("count overdue cases", zap.Error(err))
	}
	s.Metrics.scan.Observe(time.Since(start).Seconds())
	return total, nil
}

// Run runs a pass every Interval until ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	interval := s.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := s.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.Log.Warn("escalation pass failed", zap.Error(err))
		case res.Reminders+res.Supervisions+res.Failed > 0:
			s.Log.Info("escalation pass", zap.Int("reminders", res.Reminders),
				zap.Int("supervisions", res.Supervisions), zap.Int("failed", res.Failed))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *Scheduler) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// Overdue is the overdue-cases gauge (for tests and dashboards' sanity checks).
func (m *Metrics) Overdue() prometheus.Gauge { return m.overdue }
