package domain

import (
	"fmt"
	"strconv"
	"time"
)

// Accept is the lead unit signing for the case (签收).
func (c *Case) Accept(by Actor, at time.Time, note string) error {
	to, err := c.begin(by, at, ActionAccept)
	if err != nil {
		return err
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.record(by, at, ActionAccept, to, nil, note)
	return nil
}

// PassDown hands the case from a level-2 lead to one of its own level-3 sub-units
// (004 第七条: 需由三级网络平台成员单位办理的，再由二级网络平台成员单位转交). The
// deadline and round stay: passing down does not buy time. The sub-unit becomes
// the lead and signs for the case in turn; the level-2 unit still sees it through
// the hierarchy.
func (c *Case) PassDown(by Actor, at time.Time, sub Unit, note string) error {
	to, err := c.begin(by, at, ActionPassDown)
	if err != nil {
		return err
	}
	if err := sub.Validate(); err != nil {
		return fmt.Errorf("sub-unit: %w", err)
	}
	lead := *c.s.Lead
	if lead.Level != LevelDepartment {
		return invalid("sub_unit", sub.ID, fmt.Sprintf("only a level-2 lead can pass a case down; %s is level %d", lead.ID, lead.Level))
	}
	if sub.Level != LevelSubUnit {
		return invalid("sub_unit", sub.ID, fmt.Sprintf("cases pass down to level-3 units; %s is level %d", sub.ID, sub.Level))
	}
	if sub.ParentID != lead.ID {
		return invalid("sub_unit", sub.ID, fmt.Sprintf("not a sub-unit of the lead %s", lead.ID))
	}
	if c.isAssisting(sub.ID) {
		return invalid("sub_unit", sub.ID, "already an assisting unit of this case")
	}
	if err := checkNote(note); err != nil {
		return err
	}
	ref := sub.Ref()
	c.s.Lead = &ref
	withdrawn := c.s.PendingExtension != nil
	c.s.PendingExtension = nil
	c.record(by, at, ActionPassDown, to, map[string]string{
		DetailUnit:              sub.ID,
		DetailFromUnit:          lead.ID,
		DetailExtensionWithdraw: boolDetail(withdrawn),
	}, note)
	return nil
}

// ReportProgress is the unit explaining a delay or reporting progress to the
// center (002 二: 向市长公开电话办汇报进度). It matters for assessment: a late reply
// with an explanation is not "没有说明原因" (002 三(三)).
func (c *Case) ReportProgress(by Actor, at time.Time, report string) error {
	to, err := c.begin(by, at, ActionReportProgress)
	if err != nil {
		return err
	}
	if err := checkText("report", report, maxNoteRunes, true); err != nil {
		return err
	}
	c.record(by, at, ActionReportProgress, to, map[string]string{DetailText: report}, "")
	return nil
}

// Reply is the unit's reported result (反馈).
type Reply struct {
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	By   Actor     `json:"by"`
	// OnTime is whether the reply came by the deadline in force.
	OnTime bool `json:"on_time"`
}

// Reply records the lead unit's result for review. A pending extension request
// lapses: the unit no longer needs the time.
func (c *Case) Reply(by Actor, at time.Time, result string) error {
	to, err := c.begin(by, at, ActionReply)
	if err != nil {
		return err
	}
	if err := checkText("result", result, maxContentRunes, true); err != nil {
		return err
	}
	onTime := !at.After(c.s.Deadline)
	c.s.Reply = &Reply{Text: result, At: at, By: by, OnTime: onTime}
	withdrawn := c.s.PendingExtension != nil
	c.s.PendingExtension = nil
	c.record(by, at, ActionReply, to, map[string]string{
		DetailText:              result,
		DetailOnTime:            strconv.FormatBool(onTime),
		DetailExtensionWithdraw: boolDetail(withdrawn),
	}, "")
	return nil
}

// boolDetail keeps false flags out of Details so entries stay small.
func boolDetail(b bool) string {
	if b {
		return "true"
	}
	return ""
}
