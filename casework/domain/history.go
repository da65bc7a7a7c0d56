package domain

import (
	"fmt"
	"maps"
	"time"
)

// HistoryEntry is one immutable, timestamped, attributed record of an action (C9).
// Entries are only ever appended; Seq numbers them 1, 2, 3... per case, which makes
// (CaseID, Seq) a natural key for the history table and for event de-duplication.
type HistoryEntry struct {
	CaseID string    `json:"case_id"`
	Seq    int       `json:"seq"`
	At     time.Time `json:"at"`
	Actor  Actor     `json:"actor"`
	Action Action    `json:"action"`
	// From is empty for the registration entry.
	From State `json:"from,omitempty"`
	To   State `json:"to"`
	// Lead and Deadline are the lead unit and time limit in force after the action.
	// Copying them into every entry lets assessment and reports attribute each
	// event to a unit from the history alone, in SQL or in Go.
	Lead     string    `json:"lead,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	// DeadlineProvisional marks a Deadline counted on a provisional calendar year.
	DeadlineProvisional bool `json:"deadline_provisional,omitempty"`
	// Details holds the action's data under the Detail* keys; values are stable
	// codes or free text, never caller identity.
	Details map[string]string `json:"details,omitempty"`
	Note    string            `json:"note,omitempty"`
}

// Keys of HistoryEntry.Details.
const (
	DetailCategory          = "category"
	DetailChannel           = "channel"
	DetailUrgency           = "urgency"
	DetailConfidentiality   = "confidentiality"
	DetailMode              = "mode"
	DetailRegion            = "region"
	DetailText              = "text"               // answer, reply, progress report
	DetailAdvice            = "advice"             // referral advice
	DetailReason            = "reason"             // approval request, extension, redo, refusal
	DetailOpinion           = "opinion"            // the center head's 阅办意见
	DetailLeader            = "leader"             // who gave the 领导批示
	DetailInstruction       = "instruction"        // the 领导批示 text
	DetailInstructionDue    = "instruction_due"    // RFC 3339
	DetailUnit              = "unit"               // the unit a finding or three-way answer concerns
	DetailFromUnit          = "from_unit"          // previous lead on pass-down and re-transfer
	DetailAssisting         = "assisting"          // comma-separated unit IDs
	DetailWorkingDays       = "working_days"       // time limit or extension length
	DetailPreviousDeadline  = "previous_deadline"  // RFC 3339
	DetailLimitBy           = "limit_by"           // supervision's 限期, RFC 3339
	DetailOnTime            = "on_time"            // "true" or "false" on a reply
	DetailSatisfaction      = "satisfaction"       // callback result
	DetailFinding           = "finding"            // FindingKind
	DetailCallID            = "call_id"            // hidden from units on protected cases
	DetailMaterialKind      = "material_kind"      // MaterialKind
	DetailMaterialRef       = "material_ref"       // hidden from units on protected cases
	DetailExtensionWithdraw = "extension_withdraw" // "true" when a pending request lapsed
)

// EventID is a stable identifier for publishing the entry: redelivering the same
// entry yields the same ID, so JetStream's de-duplication drops the copy.
func (e HistoryEntry) EventID() string { return fmt.Sprintf("%s-%d", e.CaseID, e.Seq) }

func (e HistoryEntry) clone() HistoryEntry {
	e.Details = maps.Clone(e.Details)
	return e
}

func cloneEntries(in []HistoryEntry) []HistoryEntry {
	if in == nil {
		return nil
	}
	out := make([]HistoryEntry, len(in))
	for i, e := range in {
		out[i] = e.clone()
	}
	return out
}

// History returns a copy of every entry, oldest first.
func (c *Case) History() []HistoryEntry { return cloneEntries(c.s.History) }

// Version is the Seq of the newest entry. A store may use it for optimistic
// locking: the version it loaded is Version() minus len(Pending()).
func (c *Case) Version() int { return len(c.s.History) }

// Pending returns the entries appended since the case was created or restored, or
// since the last ClearPending: the rows the store must insert and the events it
// must publish, in the same transaction or outbox.
func (c *Case) Pending() []HistoryEntry {
	return cloneEntries(c.s.History[len(c.s.History)-c.pending:])
}

// ClearPending marks the pending entries as persisted.
func (c *Case) ClearPending() { c.pending = 0 }

// record appends the entry for an action that has passed every check and moves the
// case to its target state. It is the only place that changes State.
func (c *Case) record(by Actor, at time.Time, a Action, to State, details map[string]string, note string) {
	for k, v := range details {
		if v == "" {
			delete(details, k)
		}
	}
	if len(details) == 0 {
		details = nil
	}
	e := HistoryEntry{
		CaseID:              c.s.ID,
		Seq:                 len(c.s.History) + 1,
		At:                  at,
		Actor:               by,
		Action:              a,
		From:                c.s.State,
		To:                  to,
		Deadline:            c.s.Deadline,
		DeadlineProvisional: c.s.DeadlineProvisional,
		Details:             details,
		Note:                note,
	}
	if c.s.Lead != nil {
		e.Lead = c.s.Lead.ID
	}
	c.s.State = to
	c.s.History = append(c.s.History, e)
	c.pending++
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
