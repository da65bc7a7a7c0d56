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
// The notices are embedded from data/YYYY.json, copied from the holiday-cn
// data set (https://github.com/NateScarlet/holiday-cn, MIT licence, see
// data/LICENSE and data/README.md). A year without a notice, or whose file
// lists no days (2027 at the time of writing), is not covered: any question
// about one of its dates fails with a *MissingYearError instead of silently
// assuming Monday to Friday. The notice for a year can also move the last
// days of the previous December (the 2019 notice made 2018-12-29 a working
// day and 2018-12-30/31 days off; the 2023 notice lists 2022-12-31), so dates
// from 29 December on also need the next year's notice. Services should
// export LastYear as a metric and alert well before December when
// Covers(next year) is false; updating is copying the new YYYY.json here.
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
	covered map[int]bool
	last    int
	// exceptions maps a date to whether it is a day off; dates not listed
	// follow the Monday-Friday rule.
	exceptions map[day]bool
}

// New builds a calendar from explicit data, mainly for tests. exceptions maps
// an ISO date ("2026-10-10") to whether it is a day off (true: holiday,
// false: makeup working day); years are the years whose notice the data
// stands for. Dates outside those years may be listed but only matter when
// their own year is covered too.
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

func newCalendar() (*Calendar, error) {
	loc, err := time.LoadLocation(Location)
	if err != nil {
		return nil, fmt.Errorf("calendar: load time zone: %w", err)
	}
	return &Calendar{loc: loc, covered: map[int]bool{}, exceptions: map[day]bool{}}, nil
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
	wd := d.weekday()
	return wd != time.Saturday && wd != time.Sunday, nil
}

// check fails unless the notices that can decide d are loaded.
func (c *Calendar) check(d day) error {
	y, m, dd := d.date()
	if !c.covered[y] {
		return fmt.Errorf("%s: %w", d, &MissingYearError{Year: y})
	}
	if m == time.December && dd >= 29 && !c.covered[y+1] {
		return fmt.Errorf("%s (the %d notice can move it): %w", d, y+1, &MissingYearError{Year: y + 1})
	}
	return nil
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
