package calendar

import (
	"sync/atomic"
	"time"
)

// Source is the calendar in force in a running service: an immutable
// *Calendar that a watcher replaces when an operator imports a year, so the
// services use it without a restart. Its methods answer from the current
// calendar; a caller that asks several questions about one decision (a deadline
// and whether it is provisional) takes Current() once and asks that.
type Source struct {
	cur atomic.Pointer[Calendar]
}

// NewSource starts a source at c.
func NewSource(c *Calendar) *Source {
	s := &Source{}
	s.cur.Store(c)
	return s
}

// Current is the calendar in force.
func (s *Source) Current() *Calendar { return s.cur.Load() }

// Set puts c in force.
func (s *Source) Set(c *Calendar) { s.cur.Store(c) }

// AddWorkingDays is Current().AddWorkingDays.
func (s *Source) AddWorkingDays(from time.Time, n int) (time.Time, error) {
	return s.Current().AddWorkingDays(from, n)
}

// WorkingDaysBetween is Current().WorkingDaysBetween.
func (s *Source) WorkingDaysBetween(a, b time.Time) (int, error) {
	return s.Current().WorkingDaysBetween(a, b)
}

// IsWorkingDay is Current().IsWorkingDay.
func (s *Source) IsWorkingDay(t time.Time) (bool, error) { return s.Current().IsWorkingDay(t) }

// ProvisionalBetween is Current().ProvisionalBetween.
func (s *Source) ProvisionalBetween(a, b time.Time) bool { return s.Current().ProvisionalBetween(a, b) }

// Staffed is Current().Staffed.
func (s *Source) Staffed(t time.Time, mode Mode, h OfficeHours, always24h bool) (bool, error) {
	return s.Current().Staffed(t, mode, h, always24h)
}

// Covers is Current().Covers.
func (s *Source) Covers(year int) bool { return s.Current().Covers(year) }

// LastYear is Current().LastYear.
func (s *Source) LastYear() int { return s.Current().LastYear() }

// FirstUncovered is Current().FirstUncovered.
func (s *Source) FirstUncovered(year int) int { return s.Current().FirstUncovered(year) }
