package domain

import (
	"slices"
	"time"
)

// RecordRepeat notes that the citizen reported the same problem again (群众多次反映).
// Unanswered repeats are ground (六) of 002 三. callID, when set, is also linked.
func (c *Case) RecordRepeat(by Actor, at time.Time, callID, note string) error {
	to, err := c.begin(by, at, ActionRecordRepeat)
	if err != nil {
		return err
	}
	if callID != "" {
		if err := checkCallID("call_id", callID); err != nil {
			return err
		}
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.s.RepeatReports++
	c.s.Round.RepeatReports++
	c.linkCall(callID)
	c.record(by, at, ActionRecordRepeat, to, map[string]string{DetailCallID: callID}, note)
	return nil
}

// FindingKind is a fault of a unit that only a person can establish. Three of the
// seven grounds of 002 三 need such a judgement; recording it on the case keeps
// it attributed and dated, and lets assessment count it.
type FindingKind string

const (
	// FindingInadequateHandling: 处理不到位 (002 三(二)).
	FindingInadequateHandling FindingKind = "inadequate_handling"
	// FindingInconsistentReply: 反馈情况与实际处理情况不一致，且造成不良影响 (002 三(四)).
	FindingInconsistentReply FindingKind = "inconsistent_reply"
	// FindingShirking: 不认真办理，推诿拖拉，延误问题解决，造成不良影响 (002 三(五)).
	FindingShirking FindingKind = "shirking"
)

var findingEnum = enum[FindingKind]{
	field:  "finding",
	codes:  []FindingKind{FindingInadequateHandling, FindingInconsistentReply, FindingShirking},
	labels: []string{"处理不到位", "反馈与实际不一致", "推诿拖拉"},
}

// ParseFindingKind accepts a code or a label.
func ParseFindingKind(s string) (FindingKind, error) { return findingEnum.parse(s) }

// Valid reports whether k is one of the codes.
func (k FindingKind) Valid() bool { return findingEnum.valid(k) }

// Label is the Chinese name.
func (k FindingKind) Label() string { return findingEnum.label(k) }

// UnmarshalText refuses unknown kinds at the JSON boundary.
func (k *FindingKind) UnmarshalText(b []byte) error {
	v, err := ParseFindingKind(string(b))
	*k = v
	return err
}

// RecordFinding records a supervisor's finding against a unit that has handled
// the case (lead now or before, or assisting). facts is required: a criticism
// must say what happened.
func (c *Case) RecordFinding(by Actor, at time.Time, unitID string, kind FindingKind, facts string) error {
	to, err := c.begin(by, at, ActionRecordFinding)
	if err != nil {
		return err
	}
	if err := findingEnum.check(kind); err != nil {
		return err
	}
	if !slices.Contains(c.involvedUnits(), unitID) {
		return invalid("unit", unitID, "the unit has not handled this case")
	}
	if err := checkText("facts", facts, maxNoteRunes, true); err != nil {
		return err
	}
	c.record(by, at, ActionRecordFinding, to, map[string]string{
		DetailUnit:    unitID,
		DetailFinding: string(kind),
	}, facts)
	return nil
}

// AttachMaterial files a recording, voicemail, fax or document. Attaching the
// same reference twice is a no-op, so a redelivered event does not duplicate it.
func (c *Case) AttachMaterial(by Actor, at time.Time, m MaterialRef) error {
	if err := checkActor(by, at); err != nil {
		return err
	}
	if !RoleMay(by.Role, ActionAttachMaterial) {
		return &ForbiddenError{Actor: by, Action: ActionAttachMaterial, Reason: "role not permitted"}
	}
	if err := c.checkScope(by, ActionAttachMaterial); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if slices.ContainsFunc(c.s.Materials, func(x Material) bool { return x.MaterialRef == m }) {
		return nil
	}
	to, err := c.begin(by, at, ActionAttachMaterial)
	if err != nil {
		return err
	}
	c.s.Materials = append(c.s.Materials, Material{MaterialRef: m, AddedAt: at, AddedBy: by})
	c.record(by, at, ActionAttachMaterial, to, map[string]string{
		DetailMaterialKind: string(m.Kind),
		DetailMaterialRef:  m.Ref,
	}, "")
	return nil
}

// LinkCall links a call (T6, T14) to the case. Linking a linked call is a no-op,
// for the same reason as in AttachMaterial.
func (c *Case) LinkCall(by Actor, at time.Time, callID string) error {
	if err := checkActor(by, at); err != nil {
		return err
	}
	if !RoleMay(by.Role, ActionLinkCall) {
		return &ForbiddenError{Actor: by, Action: ActionLinkCall, Reason: "role not permitted"}
	}
	if err := c.checkScope(by, ActionLinkCall); err != nil {
		return err
	}
	if err := checkCallID("call_id", callID); err != nil {
		return err
	}
	if slices.Contains(c.s.CallIDs, callID) {
		return nil
	}
	to, err := c.begin(by, at, ActionLinkCall)
	if err != nil {
		return err
	}
	c.linkCall(callID)
	c.record(by, at, ActionLinkCall, to, map[string]string{DetailCallID: callID}, "")
	return nil
}

func (c *Case) linkCall(callID string) {
	if callID != "" && !slices.Contains(c.s.CallIDs, callID) {
		c.s.CallIDs = append(c.s.CallIDs, callID)
	}
}
