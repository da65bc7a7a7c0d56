package domain

import "time"

// RemindersBeforeSupervision is 001 §五(二)4: 经两次催办未果 … 督办.
const RemindersBeforeSupervision = 2

// Remind records a reminder (催办) to the lead unit.
func (c *Case) Remind(by Actor, at time.Time, note string) error {
	to, err := c.begin(by, at, ActionRemind)
	if err != nil {
		return err
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.s.Reminders++
	c.s.Round.Reminders++
	c.record(by, at, ActionRemind, to, nil, note)
	return nil
}

// Supervise records a supervision (督办). limitBy, when set, is the 限期 the
// supervision gives (000 三(四)1: 书面督办，限期办结回复); it does not replace the
// deadline, so lateness is still measured against the unit's own time limit.
// Supervising again is allowed: 004 第十三条 escalates after two.
func (c *Case) Supervise(by Actor, at time.Time, limitBy time.Time, note string) error {
	to, err := c.begin(by, at, ActionSupervise)
	if err != nil {
		return err
	}
	if !limitBy.IsZero() && !limitBy.After(at) {
		return invalid("limit_by", formatTime(limitBy), "not after the time of the supervision")
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.s.Supervisions++
	c.s.Round.Supervisions++
	c.record(by, at, ActionSupervise, to, map[string]string{DetailLimitBy: formatTime(limitBy)}, note)
	return nil
}

// Overdue reports whether a unit owes a reply past the deadline at now.
func (c *Case) Overdue(now time.Time) bool {
	return c.s.State.withUnit() && now.After(c.s.Deadline)
}

// NeedsSupervision tells the scheduler (C6) whether to supervise now: the unit
// owes a reply, the round has not been supervised yet, and it is overdue or two
// reminders went unanswered (001 §五(二)4). Checking the round's count makes the
// automatic job idempotent: a second run finds the supervision already there.
func (c *Case) NeedsSupervision(now time.Time) bool {
	if !c.s.State.withUnit() || c.s.Round.Supervisions > 0 {
		return false
	}
	return now.After(c.s.Deadline) || c.s.Round.Reminders >= RemindersBeforeSupervision
}
