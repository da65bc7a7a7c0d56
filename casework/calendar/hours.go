package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultOfficeHours are the usual hours of municipal offices; 001 §六(一)
// ties the hotline's human service to them (作息时间随同市级机关), so a city
// configures its own.
const DefaultOfficeHours = "08:30-12:00,13:30-17:30"

// OfficeHours are the daily periods of human service on a working day, in
// Asia/Shanghai clock time. The zero value has no periods and is rejected by
// InServiceHours, so a missing setting cannot silently close the hotline.
type OfficeHours struct {
	periods []period
}

// period is [start, end) in minutes after midnight.
type period struct{ start, end int }

// ParseOfficeHours parses comma-separated "HH:MM-HH:MM" periods in
// increasing order, e.g. "08:30-12:00,13:30-17:30"; "24:00" may end the last.
func ParseOfficeHours(s string) (OfficeHours, error) {
	if strings.TrimSpace(s) == "" {
		return OfficeHours{}, errors.New(`calendar: office hours: empty, want e.g. "08:30-12:00,13:30-17:30"`)
	}
	var h OfficeHours
	for _, part := range strings.Split(s, ",") {
		from, to, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return OfficeHours{}, fmt.Errorf("calendar: office hours %q: period %q is not HH:MM-HH:MM", s, part)
		}
		start, err := parseClock(strings.TrimSpace(from))
		if err != nil {
			return OfficeHours{}, fmt.Errorf("calendar: office hours %q: %w", s, err)
		}
		end, err := parseClock(strings.TrimSpace(to))
		if err != nil {
			return OfficeHours{}, fmt.Errorf("calendar: office hours %q: %w", s, err)
		}
		if start >= end {
			return OfficeHours{}, fmt.Errorf("calendar: office hours %q: period %q ends before it starts", s, part)
		}
		if n := len(h.periods); n > 0 && start < h.periods[n-1].end {
			return OfficeHours{}, fmt.Errorf("calendar: office hours %q: period %q overlaps or precedes the one before", s, part)
		}
		h.periods = append(h.periods, period{start, end})
	}
	return h, nil
}

func parseClock(s string) (int, error) {
	digit := func(i int) int { return int(s[i] - '0') }
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("time %q is not HH:MM", s)
		}
	}
	hh, mm := digit(0)*10+digit(1), digit(3)*10+digit(4)
	if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q is out of range 00:00-24:00", s)
	}
	return hh*60 + mm, nil
}

// String gives the hours back in ParseOfficeHours syntax.
func (h OfficeHours) String() string {
	parts := make([]string, len(h.periods))
	for i, p := range h.periods {
		parts[i] = fmt.Sprintf("%02d:%02d-%02d:%02d", p.start/60, p.start%60, p.end/60, p.end%60)
	}
	return strings.Join(parts, ",")
}

// InServiceHours reports whether t falls on a working day inside one of the
// periods of h. Outside the periods the answer needs no calendar data, so a
// missing notice only fails questions about the hours themselves.
func (c *Calendar) InServiceHours(t time.Time, h OfficeHours) (bool, error) {
	if len(h.periods) == 0 {
		return false, errors.New("calendar: no office hours configured")
	}
	local := t.In(c.loc)
	sec := local.Hour()*3600 + local.Minute()*60 + local.Second()
	inside := false
	for _, p := range h.periods {
		if sec >= p.start*60 && sec < p.end*60 {
			inside = true
			break
		}
	}
	if !inside {
		return false, nil
	}
	return c.IsWorkingDay(t)
}

// Mode is the service-hours mode (SPEC §4). The zero value is ModeCalendar,
// the default.
type Mode int

const (
	ModeCalendar Mode = iota // human service on working days in office hours
	ModeOpen                 // forced open, for drills and tests
	ModeClosed               // forced closed: self-service, voicemail and fax only
)

func (m Mode) String() string {
	switch m {
	case ModeCalendar:
		return "calendar"
	case ModeOpen:
		return "open"
	case ModeClosed:
		return "closed"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses "open", "closed" or "calendar"; an empty string is the
// default, calendar.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{ModeCalendar, ModeOpen, ModeClosed} {
		if s == m.String() {
			return m, nil
		}
	}
	if s == "" {
		return ModeCalendar, nil
	}
	return 0, fmt.Errorf("calendar: service-hours mode %q: want open, closed or calendar", s)
}

// Staffed reports whether agents take calls at t. A forced mode wins over
// everything, so a drill can close even a 24-hour hotline; in calendar mode
// always24h (004 第六条, 第十条(一): 24-hour duty) means staffed without
// consulting the calendar, otherwise working day and office hours decide.
func (c *Calendar) Staffed(t time.Time, mode Mode, h OfficeHours, always24h bool) (bool, error) {
	switch mode {
	case ModeOpen:
		return true, nil
	case ModeClosed:
		return false, nil
	case ModeCalendar:
		if always24h {
			return true, nil
		}
		return c.InServiceHours(t, h)
	}
	return false, fmt.Errorf("calendar: unknown service-hours mode %v", mode)
}
