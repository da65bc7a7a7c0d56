// Package policy holds the deadline policy of a city's hotline (SPEC C4, C6):
// how many working days a unit has to reply by handling mode, the clock-hour
// deadlines of urgent and leader-instructed cases, how far a deadline may be
// extended, when to remind (催办) and when to supervise (督办).
//
// Policies are data, one embedded JSON profile per seed city in profiles/,
// validated when loaded. Deadlines are counted with the working-day
// semantics of package calendar: the day of receipt does not count, and the
// deadline is the end (24:00 Asia/Shanghai) of the last working day.
package policy

import (
	"errors"
	"fmt"
	"time"
)

// WorkingDays is the part of the working-day calendar a policy needs;
// *calendar.Calendar implements it.
type WorkingDays interface {
	// AddWorkingDays returns the end of the n-th working day after the day
	// of from (n >= 1).
	AddWorkingDays(from time.Time, n int) (time.Time, error)
}

// HandlingMode is how a case was transferred to the unit (交办方式).
type HandlingMode string

const (
	Written HandlingMode = "written" // 书面交办 / 交办工单
	Phone   HandlingMode = "phone"   // 电话、短信交办
)

// ParseHandlingMode parses "written" or "phone".
func ParseHandlingMode(s string) (HandlingMode, error) {
	switch m := HandlingMode(s); m {
	case Written, Phone:
		return m, nil
	}
	return "", fmt.Errorf("policy: handling mode %q: want written or phone", s)
}

// Urgency decides whether a case runs on working days or on clock hours.
type Urgency string

const (
	Normal     Urgency = "normal"
	Urgent     Urgency = "urgent"     // 急办件: its own deadline in clock hours
	Instructed Urgency = "instructed" // 领导批示件: its own deadline in clock hours
)

// ParseUrgency parses "normal", "urgent" or "instructed".
func ParseUrgency(s string) (Urgency, error) {
	switch u := Urgency(s); u {
	case Normal, Urgent, Instructed:
		return u, nil
	}
	return "", fmt.Errorf("policy: urgency %q: want normal, urgent or instructed", s)
}

// Terms are the facts of one case its deadline depends on.
type Terms struct {
	ReceivedAt time.Time
	Mode       HandlingMode
	Urgency    Urgency
	// Days is a time limit in working days the center set for this normal
	// case (004 第十条(三), (八): the center fixes the limit per case);
	// 0 takes the profile's limit for Mode.
	Days int
	// Hours is the own deadline of an urgent or instructed case in clock
	// hours; 0 takes the profile default.
	Hours int
	// Extensions are the working days of each extension granted so far.
	Extensions []int
}

// Errors callers branch on.
var (
	// ErrExtensionLimit: the extension would exceed the profile's count or
	// total-days cap. The error is an *ExtensionLimitError.
	ErrExtensionLimit = errors.New("extension limit reached")
	// ErrExtensionNotAllowed: the profile or the kind of case takes no
	// extension at all.
	ErrExtensionNotAllowed = errors.New("extension not allowed")
)

// ExtensionLimitError says which cap an extension request hit and what is
// left, so the center can offer a shorter extension.
type ExtensionLimitError struct {
	Profile string
	// Rule is "count" (number of extensions) or "days" (total working days).
	Rule string
	// Limit is the cap: the number of extensions, or the longest total
	// time limit in working days including the original one.
	Limit int
	// Remaining is how many more extensions (count) or working days (days)
	// could still be granted.
	Remaining int
}

func (e *ExtensionLimitError) Error() string {
	if e.Rule == "count" {
		return fmt.Sprintf("policy %s: extension limit reached: at most %d extension(s)", e.Profile, e.Limit)
	}
	return fmt.Sprintf("policy %s: extension limit reached: total time limit at most %d working days, %d more can be granted",
		e.Profile, e.Limit, e.Remaining)
}

// Is makes errors.Is(err, ErrExtensionLimit) true.
func (e *ExtensionLimitError) Is(target error) bool { return target == ErrExtensionLimit }

// Deadline is when the unit's reply is due. Normal cases: the end of the
// base limit plus all granted extensions in working days, counted from the
// day after receipt. Urgent and instructed cases: receipt plus their clock
// hours (they take no extension: 002 二 "必须在要求时限内办结反馈").
func (p Profile) Deadline(cal WorkingDays, t Terms) (time.Time, error) {
	if err := p.checkTerms(t); err != nil {
		return time.Time{}, err
	}
	if t.Urgency != Normal {
		return t.ReceivedAt.Add(time.Duration(p.hours(t)) * time.Hour), nil
	}
	days := p.baseDays(t) + sum(t.Extensions)
	d, err := cal.AddWorkingDays(t.ReceivedAt, days)
	if err != nil {
		return time.Time{}, fmt.Errorf("policy %s: deadline of %d working days: %w", p.Name, days, err)
	}
	return d, nil
}

// CheckExtension decides whether an extension of requestDays working days
// may be granted to a case on top of t.Extensions. Whether it should be is
// the center's decision (000 三(三)1 "征得...同意"); this only enforces the caps.
func (p Profile) CheckExtension(t Terms, requestDays int) error {
	if err := p.checkTerms(t); err != nil {
		return err
	}
	if requestDays < 1 {
		return fmt.Errorf("policy %s: extension of %d working days: need at least 1", p.Name, requestDays)
	}
	if t.Urgency != Normal {
		return fmt.Errorf("policy %s: %s case keeps its own deadline: %w", p.Name, t.Urgency, ErrExtensionNotAllowed)
	}
	x := p.Extension
	if !x.Allowed {
		return fmt.Errorf("policy %s: %w", p.Name, ErrExtensionNotAllowed)
	}
	if x.MaxCount > 0 && len(t.Extensions) >= x.MaxCount {
		return &ExtensionLimitError{Profile: p.Name, Rule: "count", Limit: x.MaxCount}
	}
	used := p.baseDays(t) + sum(t.Extensions)
	if used+requestDays > x.MaxTotalDays {
		return &ExtensionLimitError{Profile: p.Name, Rule: "days", Limit: x.MaxTotalDays, Remaining: max(0, x.MaxTotalDays-used)}
	}
	return nil
}

// ReminderAt is when the automatic reminder (催办) is due: for normal cases
// the end of the working day that leaves Reminder.LeadWorkingDays working
// days before the deadline, for urgent and instructed cases LeadHours before
// it. It is computed from the terms rather than from a stored deadline so it
// uses exactly the deadline's counting. A time not after ReceivedAt means
// "remind at once" and is returned as ReceivedAt.
func (p Profile) ReminderAt(cal WorkingDays, t Terms) (time.Time, error) {
	if err := p.checkTerms(t); err != nil {
		return time.Time{}, err
	}
	if t.Urgency != Normal {
		deadline := t.ReceivedAt.Add(time.Duration(p.hours(t)) * time.Hour)
		return latest(t.ReceivedAt, deadline.Add(-time.Duration(p.Reminder.LeadHours)*time.Hour)), nil
	}
	n := p.baseDays(t) + sum(t.Extensions) - p.Reminder.LeadWorkingDays
	if n < 1 {
		return t.ReceivedAt, nil
	}
	at, err := cal.AddWorkingDays(t.ReceivedAt, n)
	if err != nil {
		return time.Time{}, fmt.Errorf("policy %s: reminder %d working days before the deadline: %w", p.Name, p.Reminder.LeadWorkingDays, err)
	}
	return at, nil
}

// Reason says why a case goes to supervision.
type Reason string

const (
	ReasonNone      Reason = ""
	ReasonOverdue   Reason = "overdue"   // 超出办理期限
	ReasonReminders Reason = "reminders" // 经两次催办未果
)

// ShouldSupervise decides whether a case goes to supervision (督办) at now,
// given its deadline and how many reminders brought no result. Overdue is
// reported first when both apply. The result depends only on its inputs, so
// an automatic job can call it repeatedly and act once per reason.
func (p Profile) ShouldSupervise(now, deadline time.Time, fruitlessReminders int) (bool, Reason) {
	s := p.Supervision
	if s.OnOverdue && now.After(deadline) {
		return true, ReasonOverdue
	}
	if s.AfterReminders > 0 && fruitlessReminders >= s.AfterReminders {
		return true, ReasonReminders
	}
	return false, ReasonNone
}

func (p Profile) checkTerms(t Terms) error {
	if t.ReceivedAt.IsZero() {
		return fmt.Errorf("policy %s: case has no time of receipt", p.Name)
	}
	if _, err := ParseHandlingMode(string(t.Mode)); err != nil {
		return err
	}
	if _, err := ParseUrgency(string(t.Urgency)); err != nil {
		return err
	}
	if t.Days < 0 || t.Hours < 0 {
		return fmt.Errorf("policy %s: negative time limit (days %d, hours %d)", p.Name, t.Days, t.Hours)
	}
	if t.Urgency == Normal && t.Hours != 0 {
		return fmt.Errorf("policy %s: a normal case runs on working days, not %d hours", p.Name, t.Hours)
	}
	if t.Urgency != Normal && (t.Days != 0 || len(t.Extensions) > 0) {
		return fmt.Errorf("policy %s: an %s case runs on clock hours, not working days or extensions", p.Name, t.Urgency)
	}
	for i, d := range t.Extensions {
		if d < 1 {
			return fmt.Errorf("policy %s: extension %d of %d working days", p.Name, i+1, d)
		}
	}
	return nil
}

func (p Profile) baseDays(t Terms) int {
	if t.Days > 0 {
		return t.Days
	}
	if t.Mode == Phone {
		return p.Deadlines.PhoneDays
	}
	return p.Deadlines.WrittenDays
}

func (p Profile) hours(t Terms) int {
	if t.Hours > 0 {
		return t.Hours
	}
	if t.Urgency == Instructed {
		return p.Deadlines.InstructedHours
	}
	return p.Deadlines.UrgentHours
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
