package ivr

import (
	"time"

	"github.com/hotline12345/hotline/casework/calendar"
)

// ServiceHours decides whether agents take calls at a moment (SPEC T2): in
// staffed hours the caller goes straight to human service, with no menu in front
// of an agent; outside them the caller gets the voice menu.
type ServiceHours interface {
	Staffed(t time.Time) (bool, error)
}

// CalendarHours is ServiceHours by the official working-day calendar (with 调休
// makeup days), the office hours, the forced mode (HOTLINE_SERVICE_MODE) and the
// 24-hour setting.
type CalendarHours struct {
	Calendar  StaffedCalendar
	Mode      calendar.Mode
	Office    calendar.OfficeHours
	Always24h bool
}

// StaffedCalendar is the calendar's service-hours rule; *calendar.Calendar and
// the run-time *calendar.Source (which follows operators' imports) implement it.
type StaffedCalendar interface {
	Staffed(t time.Time, mode calendar.Mode, h calendar.OfficeHours, always24h bool) (bool, error)
}

// Staffed implements ServiceHours.
func (h CalendarHours) Staffed(t time.Time) (bool, error) {
	return h.Calendar.Staffed(t, h.Mode, h.Office, h.Always24h)
}

// staffedOrHuman turns a service-hours answer into the route decision. When the
// calendar cannot answer (a year without the State Council notice), the caller
// is offered to human service anyway: if nobody is there, HumanService declines
// and the caller still gets the menu, whereas guessing "closed" would turn away
// callers during staffed hours.
func staffedOrHuman(staffed bool, err error) bool {
	if err != nil {
		return true
	}
	return staffed
}
