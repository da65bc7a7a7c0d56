// Package calendar is the official Chinese working-day calendar the hotline
// counts deadlines in (SPEC C4) and decides service hours by (SPEC T2).
//
// A working day is Monday to Friday, except days the State Council's annual
// holiday notice makes days off, plus weekend days it makes working days
// (调休 makeup days). All dates are civil dates in Asia/Shanghai, whatever
// the location of the time.Time passed in.
//
// # Data
//
// Official notices come from two places: the years embedded from data/YYYY.json
// (copied from the holiday-cn data set, https://github.com/NateScarlet/holiday-cn,
// MIT licence, see data/LICENSE and data/README.md), which are the floor, and
// the years operators import at run time (hotlinectl calendar import), which
// add a year or replace an embedded one without a rebuild. Build merges them.
//
// A year without an official notice is provisional: its days off are derived
// from the statute (StatuteNotice), with no 调休. The hotline keeps working on
// it instead of stopping when the State Council's notice is late; callers ask
// ProvisionalBetween whether a deadline was counted on such days and mark it,
// and recompute it when the notice arrives. The notice for a year can also
// move the last days of the previous December (the 2019 notice made
// 2018-12-29 a working day; the 2023 notice lists 2022-12-31), so dates from
// 29 December on are provisional too until the next year's notice is loaded.
// A calendar built with New (tests) has no provisional years: a question about
// an uncovered year fails with a *MissingYearError, as it also does in every
// calendar for years outside MinYear..MaxYear.
//
// # Deadline semantics
//
// "Within n working days" (n个工作日内) is counted as Chinese administrative
// practice does: the day of receipt is not counted, counting starts with the
// first working day after it (even if the case arrived on a holiday or at
// 00:00), and the deadline is the end of the n-th working day, 24:00, returned
// as 00:00 Asia/Shanghai of the following calendar day. A reply at exactly
// the deadline instant is on time; anything after it is late. A Calendar is
// immutable and safe for concurrent use.
package calendar

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // deadlines must not depend on the host having zoneinfo installed
)

// Location is the time zone of all civil dates in this package.
const Location = "Asia/Shanghai"

// MissingYearError reports that a calculation needed a date of a year for
// which no official holiday notice is loaded.
type MissingYearError struct {
	Year int
}

func (e *MissingYearError) Error() string {
	return fmt.Sprintf("no official holiday notice loaded for %d", e.Year)
}

// Calendar answers working-day questions from a fixed set of holiday notices.
type Calendar struct {
	loc     *time.Location
	covered map[int]bool // years with an official notice
	last    int
	// exceptions maps a date to whether it is a day off, from the official
	// notices; dates not listed follow the Monday-Friday rule.
	exceptions map[day]bool
	names      map[day]string // the notices' names of the exceptions (春节, ...)
	// provisional: years without a notice are derived from the statute
	// (Build, Load); false for New's strict calendars.
	provisional bool
	mu          sync.Mutex
	derived     map[int]map[day]bool // statute days off per provisional year, filled on first use
}

// New builds a strict calendar from explicit data, mainly for tests. exceptions
// maps an ISO date ("2026-10-10") to whether it is a day off (true: holiday,
// false: makeup working day); years are the years whose notice the data
// stands for. Dates outside those years may be listed but only matter when
// their own year is covered too. Other years are not provisional: questions
// about them fail with a *MissingYearError.
func New(exceptions map[string]bool, years ...int) (*Calendar, error) {
	c, err := newCalendar()
	if err != nil {
		return nil, err
	}
	for _, y := range years {
		c.cover(y)
	}
	for s, off := range exceptions {
		d, err := parseDay(s)
		if err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		c.exceptions[d] = off
	}
	return c, nil
}

// Build makes the calendar of the official notices given (each year at most
// once; an empty notice is a placeholder and ignored), with every other year
// from MinYear to MaxYear provisional. Two notices that disagree about a date
// (a New Year bridge listed in both neighbouring years) are refused.
func Build(notices []Notice) (*Calendar, error) {
	c, err := newCalendar()
	if err != nil {
		return nil, err
	}
	c.provisional = true
	source := map[day]int{} // which year's notice set each exception, to name both on a conflict
	for _, n := range notices {
		if n.Empty() {
			continue
		}
		if err := n.Validate(); err != nil {
			return nil, fmt.Errorf("calendar: notice %d: %w", n.Year, err)
		}
		if c.covered[n.Year] {
			return nil, fmt.Errorf("calendar: notice %d given twice", n.Year)
		}
		c.cover(n.Year)
		for _, x := range n.Days {
			d, _ := parseDay(x.Date) // Validate checked it
			if prev, ok := c.exceptions[d]; ok && prev != x.IsOffDay && source[d] != n.Year {
				return nil, fmt.Errorf("calendar: notice %d: %s contradicts the %d notice", n.Year, d, source[d])
			}
			c.exceptions[d] = x.IsOffDay
			c.names[d] = x.Name
			source[d] = n.Year
		}
	}
	return c, nil
}

func newCalendar() (*Calendar, error) {
	loc, err := time.LoadLocation(Location)
	if err != nil {
		return nil, fmt.Errorf("calendar: load time zone: %w", err)
	}
	return &Calendar{loc: loc, covered: map[int]bool{}, exceptions: map[day]bool{}, names: map[day]string{}, derived: map[int]map[day]bool{}}, nil
}

func (c *Calendar) cover(year int) {
	c.covered[year] = true
	if year > c.last {
		c.last = year
	}
}

// Covers reports whether the official notice for year is loaded. Dates from
// 29 December on also need Covers(year+1), see the package documentation.
func (c *Calendar) Covers(year int) bool { return c.covered[year] }

// LastYear is the latest year with a loaded notice, 0 if there is none.
func (c *Calendar) LastYear() int { return c.last }

// FirstUncovered is the first year from year on without an official notice:
// the year a provisional calendar starts.
func (c *Calendar) FirstUncovered(year int) int {
	for c.covered[year] {
		year++
	}
	return year
}

// Provisional reports whether the working-day status of the Asia/Shanghai
// date of t may still change with a notice not yet loaded: its own year's, or
// for 29-31 December the next year's.
func (c *Calendar) Provisional(t time.Time) bool { return c.provisionalDay(c.dayOf(t)) }

// ProvisionalBetween reports whether any day that decides a deadline counted
// from a to b is provisional: the days after the day of a up to the day
// before b (a deadline is 00:00 of the day after its last working day). Use
// it on AddWorkingDays(a, n) to mark the result.
func (c *Calendar) ProvisionalBetween(a, b time.Time) bool {
	if b.Before(a) {
		a, b = b, a
	}
	for d := c.dayOf(a) + 1; d <= c.dayOf(b.Add(-time.Nanosecond)); d++ {
		if c.provisionalDay(d) {
			return true
		}
	}
	return false
}

func (c *Calendar) provisionalDay(d day) bool {
	y, m, dd := d.date()
	return !c.covered[y] || (m == time.December && dd >= 29 && !c.covered[y+1])
}

// Notice returns the notice that decides year: the official one loaded (its
// days inside the year, whichever notice listed them) or, for a provisional
// year, the statute's days off; official reports which. Days are in date order.
func (c *Calendar) Notice(year int) (n Notice, official bool, err error) {
	if year < MinYear || year > MaxYear {
		return Notice{}, false, &MissingYearError{Year: year}
	}
	if !c.covered[year] && !c.provisional {
		return Notice{}, false, &MissingYearError{Year: year}
	}
	n = Notice{Year: year}
	from, to := dayFromDate(year, time.January, 1), dayFromDate(year, time.December, 31)
	var derived map[day]NoticeDay
	if !c.covered[year] {
		sn, err := StatuteNotice(year)
		if err != nil {
			return Notice{}, false, fmt.Errorf("provisional year %d: %w", year, err)
		}
		derived = map[day]NoticeDay{}
		for _, x := range sn.Days {
			d, _ := parseDay(x.Date)
			derived[d] = x
		}
	}
	for d := from; d <= to; d++ {
		if off, ok := c.exceptions[d]; ok {
			n.Days = append(n.Days, NoticeDay{Name: c.names[d], Date: d.String(), IsOffDay: off})
		} else if x, ok := derived[d]; ok {
			n.Days = append(n.Days, x)
		}
	}
	return n, c.covered[year], nil
}

// IsWorkingDay reports whether the Asia/Shanghai date of t is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) (bool, error) {
	ok, err := c.isWorking(c.dayOf(t))
	if err != nil {
		return false, fmt.Errorf("calendar: %w", err)
	}
	return ok, nil
}

// AddWorkingDays returns the deadline for "within n working days" of a case
// received at from: the end (24:00, i.e. 00:00 of the next calendar day,
// Asia/Shanghai) of the n-th working day after the day of receipt. The day
// of receipt never counts. n must be at least 1.
func (c *Calendar) AddWorkingDays(from time.Time, n int) (time.Time, error) {
	if n < 1 {
		return time.Time{}, fmt.Errorf("calendar: add %d working days: need at least 1", n)
	}
	// The loop ends: every uncovered year fails, and only finitely many are covered.
	for d := c.dayOf(from) + 1; ; d++ {
		ok, err := c.isWorking(d)
		if err != nil {
			return time.Time{}, fmt.Errorf("calendar: %d working days from %s: %w", n, from.In(c.loc).Format(time.DateOnly), err)
		}
		if ok {
			n--
			if n == 0 {
				return c.start(d + 1), nil
			}
		}
	}
}

// WorkingDaysBetween counts the working days that lie entirely within [a, b]
// in Asia/Shanghai: the elapsed full working days. Measured from a deadline
// it is the number of whole working days overdue; measured from receipt it
// matches AddWorkingDays, WorkingDaysBetween(r, AddWorkingDays(r, n)) == n,
// unless r is exactly 00:00 of a working day, which is then itself a full
// working day inside the interval. If b is before a the result is negative.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) (int, error) {
	if b.Before(a) {
		n, err := c.WorkingDaysBetween(b, a)
		return -n, err
	}
	first := c.dayOf(a)
	if !c.start(first).Equal(a) {
		first++
	}
	last := c.dayOf(b) - 1 // the day containing b has not ended by b
	n := 0
	for d := first; d <= last; d++ {
		ok, err := c.isWorking(d)
		if err != nil {
			return 0, fmt.Errorf("calendar: working days between %s and %s: %w",
				a.In(c.loc).Format(time.DateOnly), b.In(c.loc).Format(time.DateOnly), err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func (c *Calendar) isWorking(d day) (bool, error) {
	if err := c.check(d); err != nil {
		return false, err
	}
	if off, ok := c.exceptions[d]; ok {
		return !off, nil
	}
	if y, _, _ := d.date(); !c.covered[y] {
		derived, err := c.statute(y)
		if err != nil {
			return false, err
		}
		if derived[d] {
			return false, nil
		}
	}
	wd := d.weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// check fails unless d can be decided: by the notices loaded, or, in a
// calendar with provisional years, by the statute within MinYear..MaxYear.
func (c *Calendar) check(d day) error {
	y, m, dd := d.date()
	if c.provisional {
		if y < MinYear || y > MaxYear {
			return fmt.Errorf("%s: %w", d, &MissingYearError{Year: y})
		}
		return nil
	}
	if !c.covered[y] {
		return fmt.Errorf("%s: %w", d, &MissingYearError{Year: y})
	}
	if m == time.December && dd >= 29 && !c.covered[y+1] {
		return fmt.Errorf("%s (the %d notice can move it): %w", d, y+1, &MissingYearError{Year: y + 1})
	}
	return nil
}

// statute returns the statute's days off of a provisional year, derived once.
func (c *Calendar) statute(year int) (map[day]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.derived[year]; ok {
		return m, nil
	}
	n, err := StatuteNotice(year)
	if err != nil {
		return nil, fmt.Errorf("provisional year %d: %w", year, err)
	}
	m := make(map[day]bool, len(n.Days))
	for _, x := range n.Days {
		d, err := parseDay(x.Date)
		if err != nil {
			return nil, fmt.Errorf("provisional year %d: %w", year, err)
		}
		m[d] = x.IsOffDay
	}
	c.derived[year] = m
	return m, nil
}

// day is a civil date counted in days since 1970-01-01, so that "next day"
// is +1 and dates compare with <.
type day int64

const secondsPerDay = 24 * 60 * 60

func dayFromDate(y int, m time.Month, d int) day {
	return day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

func parseDay(s string) (day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("bad date %q: %w", s, err)
	}
	return dayFromDate(t.Date()), nil
}

func (d day) utc() time.Time               { return time.Unix(int64(d)*secondsPerDay, 0).UTC() }
func (d day) date() (int, time.Month, int) { return d.utc().Date() }
func (d day) weekday() time.Weekday        { return d.utc().Weekday() }
func (d day) String() string               { return d.utc().Format(time.DateOnly) }
func (c *Calendar) dayOf(t time.Time) day  { return dayFromDate(t.In(c.loc).Date()) }
func (c *Calendar) start(d day) time.Time {
	y, m, dd := d.date()
	return time.Date(y, m, dd, 0, 0, 0, 0, c.loc)
}
