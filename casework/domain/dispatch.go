package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DirectAnswer is how a case was settled at intake (直接办理, C2).
type DirectAnswer struct {
	Text string `json:"text"`
	// ViaUnitID is set when a unit answered on a three-way call (三方通话, 003 四(一),
	// 004 第十条(二)) rather than the agent.
	ViaUnitID string `json:"via_unit_id,omitempty"`
}

// AnswerDirectly settles the case at intake and closes it.
func (c *Case) AnswerDirectly(by Actor, at time.Time, ans DirectAnswer) error {
	to, err := c.begin(by, at, ActionAnswerDirectly)
	if err != nil {
		return err
	}
	if err := checkText("answer.text", ans.Text, maxContentRunes, true); err != nil {
		return err
	}
	if ans.ViaUnitID != "" && !unitIDPattern.MatchString(ans.ViaUnitID) {
		return invalid("answer.via_unit_id", ans.ViaUnitID, "malformed unit ID")
	}
	c.s.Answer = &ans
	c.s.Mode = ModeDirectAnswer
	c.record(by, at, ActionAnswerDirectly, to, map[string]string{
		DetailText: ans.Text,
		DetailUnit: ans.ViaUnitID,
		DetailMode: string(ModeDirectAnswer),
	}, "")
	return nil
}

// ReferOut records that the request is outside the government's remit and what
// the caller was told (001 §二(二): 向来话人说明情况，告知其向有关机关反映).
func (c *Case) ReferOut(by Actor, at time.Time, advice string) error {
	to, err := c.begin(by, at, ActionReferOut)
	if err != nil {
		return err
	}
	if err := checkText("advice", advice, maxNoteRunes, true); err != nil {
		return err
	}
	c.s.ReferralAdvice = advice
	c.record(by, at, ActionReferOut, to, map[string]string{DetailAdvice: advice}, "")
	return nil
}

// SubmitForApproval sends an important, difficult or complex case to the center
// head (制作批办单, 001 §五(二)1). reason says why it needs approval.
func (c *Case) SubmitForApproval(by Actor, at time.Time, reason string) error {
	to, err := c.begin(by, at, ActionSubmitForApproval)
	if err != nil {
		return err
	}
	if err := checkText("reason", reason, maxNoteRunes, true); err != nil {
		return err
	}
	c.record(by, at, ActionSubmitForApproval, to, map[string]string{DetailReason: reason}, "")
	return nil
}

// LeaderInstruction is a 领导批示 on a case (C5). Due, when set, is the leader's own
// time limit, which no transfer may exceed (002 二: 领导批示件必须在要求时限内办结反馈).
type LeaderInstruction struct {
	Leader string    `json:"leader"`
	Text   string    `json:"text"`
	Due    time.Time `json:"due,omitzero"`
}

// Approval is the center head's decision (阅办意见) with an optional instruction.
type Approval struct {
	Opinion     string             `json:"opinion"`
	Instruction *LeaderInstruction `json:"instruction,omitempty"`
	By          Actor              `json:"by"`
	At          time.Time          `json:"at"`
}

// Approve records the head's opinion and, for major issues, the leader's
// instruction (重大问题呈请市政府领导批示).
func (c *Case) Approve(by Actor, at time.Time, opinion string, instr *LeaderInstruction) error {
	to, err := c.begin(by, at, ActionApprove)
	if err != nil {
		return err
	}
	if err := checkText("opinion", opinion, maxNoteRunes, true); err != nil {
		return err
	}
	details := map[string]string{DetailOpinion: opinion}
	var in *LeaderInstruction
	if instr != nil {
		if err := checkText("instruction.leader", instr.Leader, 64, true); err != nil {
			return err
		}
		if err := checkText("instruction.text", instr.Text, maxNoteRunes, true); err != nil {
			return err
		}
		if !instr.Due.IsZero() && !instr.Due.After(at) {
			return invalid("instruction.due", formatTime(instr.Due), "the leader's time limit is already past")
		}
		copied := *instr
		in = &copied
		details[DetailLeader] = instr.Leader
		details[DetailInstruction] = instr.Text
		details[DetailInstructionDue] = formatTime(instr.Due)
	}
	c.s.Approval = &Approval{Opinion: opinion, Instruction: in, By: by, At: at}
	c.record(by, at, ActionApprove, to, details, "")
	return nil
}

// TimeLimit is a deadline computed outside the domain from the city's policy and
// the working-day calendar (C4). WorkingDays is the size of the limit in working
// days, kept for the extension cap; 0 for limits set in hours. Provisional says
// that a year without the State Council's notice decided Due (days off derived
// from the statute): the deadline is recomputed when the notice is imported.
type TimeLimit struct {
	Due         time.Time `json:"due"`
	WorkingDays int       `json:"working_days"`
	Provisional bool      `json:"provisional,omitempty"`
}

func (l TimeLimit) validate(field string, at time.Time) error {
	if l.Due.IsZero() {
		return invalid(field+".due", "", "missing deadline")
	}
	if !l.Due.After(at) {
		return invalid(field+".due", formatTime(l.Due), "deadline is not after the time of the action")
	}
	if l.WorkingDays < 0 {
		return invalid(field+".working_days", strconv.Itoa(l.WorkingDays), "negative")
	}
	return nil
}

// TransferOrder is a 转办 (C3): the lead unit (主办), the assisting units (协办),
// the transfer mode and the time limit.
type TransferOrder struct {
	Lead      Unit
	Assisting []Unit
	Mode      HandlingMode
	Limit     TimeLimit
	Note      string
}

func (o TransferOrder) validate(at time.Time) error {
	if err := o.Lead.Validate(); err != nil {
		return fmt.Errorf("lead unit: %w", err)
	}
	// The center hands cases out; it cannot be its own 承办单位. Level 3 is allowed:
	// 004 第五条 lets the center transfer straight to a sub-unit when needed.
	if o.Lead.Level == LevelCenter {
		return invalid("lead", o.Lead.ID, "the center cannot be the lead unit")
	}
	seen := map[string]bool{o.Lead.ID: true}
	for _, u := range o.Assisting {
		if err := u.Validate(); err != nil {
			return fmt.Errorf("assisting unit: %w", err)
		}
		if u.Level == LevelCenter {
			return invalid("assisting", u.ID, "the center cannot be an assisting unit")
		}
		if seen[u.ID] {
			return invalid("assisting", u.ID, "unit listed twice or also the lead")
		}
		seen[u.ID] = true
	}
	if !o.Mode.IsTransfer() {
		return invalid("mode", string(o.Mode), "a transfer is written_transfer or phone_transfer")
	}
	if err := o.Limit.validate("limit", at); err != nil {
		return err
	}
	return checkNote(o.Note)
}

// Transfer hands the case to units with a deadline. From StateTransferred it
// re-assigns (改派) a case the unit has not signed for, starting a fresh round.
func (c *Case) Transfer(by Actor, at time.Time, o TransferOrder) error {
	to, err := c.begin(by, at, ActionTransfer)
	if err != nil {
		return err
	}
	if err := o.validate(at); err != nil {
		return err
	}
	if a := c.s.Approval; a != nil && a.Instruction != nil && !a.Instruction.Due.IsZero() && o.Limit.Due.After(a.Instruction.Due) {
		return invalid("limit.due", formatTime(o.Limit.Due),
			"later than the leader's time limit "+formatTime(a.Instruction.Due))
	}
	previous := ""
	if c.s.Lead != nil {
		previous = c.s.Lead.ID
	}
	lead := o.Lead.Ref()
	assisting := make([]UnitRef, len(o.Assisting))
	ids := make([]string, len(o.Assisting))
	for i, u := range o.Assisting {
		assisting[i] = u.Ref()
		ids[i] = u.ID
	}
	c.s.Lead = &lead
	c.s.Assisting = assisting
	c.s.Mode = o.Mode
	c.startRound(at, o.Limit)
	c.record(by, at, ActionTransfer, to, map[string]string{
		DetailUnit:        lead.ID,
		DetailFromUnit:    previous,
		DetailAssisting:   strings.Join(ids, ","),
		DetailMode:        string(o.Mode),
		DetailWorkingDays: strconv.Itoa(o.Limit.WorkingDays),
	}, o.Note)
	return nil
}

// startRound begins a new assignment period with its own deadline and counters.
// A pending extension request belongs to the old deadline and lapses.
func (c *Case) startRound(at time.Time, l TimeLimit) {
	c.s.Deadline = l.Due
	c.s.DeadlineProvisional = l.Provisional
	c.s.PendingExtension = nil
	c.s.Round = Round{Seq: c.s.Round.Seq + 1, StartedAt: at, WorkingDays: l.WorkingDays}
}

// involvedUnits lists every unit that has been lead or assisting, for checking
// that a finding names a unit that actually handled the case.
func (c *Case) involvedUnits() []string {
	var ids []string
	add := func(id string) {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, e := range c.s.History {
		add(e.Lead)
		for _, id := range strings.Split(e.Details[DetailAssisting], ",") {
			add(id)
		}
	}
	for _, u := range c.s.Assisting {
		add(u.ID)
	}
	return ids
}

// RecomputeDeadline replaces the deadline in force with one computed again on
// a corrected calendar: when the official notice of a year arrives, deadlines
// that were counted on its provisional days off (TimeLimit.Provisional) move to
// the official ones. The round, its counters and any pending extension request
// stand; only the deadline and its mark change, with the reason in the history.
// A limit equal to the one in force is not recorded (nothing changed).
func (c *Case) RecomputeDeadline(by Actor, at time.Time, l TimeLimit, reason string) error {
	to, err := c.begin(by, at, ActionRecomputeDeadline)
	if err != nil {
		return err
	}
	if l.Due.IsZero() {
		return invalid("limit.due", "", "missing deadline")
	}
	if c.s.Deadline.IsZero() {
		return invalid("deadline", "", "the case has no deadline to recompute")
	}
	if err := checkText("reason", reason, maxNoteRunes, true); err != nil {
		return err
	}
	if l.Due.Equal(c.s.Deadline) && l.Provisional == c.s.DeadlineProvisional {
		return nil
	}
	prev := c.s.Deadline
	c.s.Deadline = l.Due
	c.s.DeadlineProvisional = l.Provisional
	c.record(by, at, ActionRecomputeDeadline, to, map[string]string{
		DetailPreviousDeadline: formatTime(prev),
		DetailReason:           reason,
	}, "")
	return nil
}
