package domain

import (
	"fmt"
	"slices"
	"time"
)

// Snapshot is the complete, unredacted state of a case as plain data: what a
// store persists and gives back to RestoreCase. It is not a view for users; use
// ViewFor for that.
type Snapshot struct {
	ID             string        `json:"id"`
	Registration   Registration  `json:"registration"`
	State          State         `json:"state"`
	Mode           HandlingMode  `json:"mode"`
	Answer         *DirectAnswer `json:"answer,omitempty"`
	ReferralAdvice string        `json:"referral_advice,omitempty"`
	Approval       *Approval     `json:"approval,omitempty"`
	Lead           *UnitRef      `json:"lead,omitempty"`
	Assisting      []UnitRef     `json:"assisting,omitempty"`
	Deadline       time.Time     `json:"deadline,omitzero"`
	// DeadlineProvisional: a year without an official holiday notice decided
	// Deadline (see TimeLimit.Provisional).
	DeadlineProvisional bool              `json:"deadline_provisional,omitempty"`
	Round               Round             `json:"round"`
	PendingExtension    *ExtensionRequest `json:"pending_extension,omitempty"`
	Extensions          []Extension       `json:"extensions,omitempty"`
	Reminders           int               `json:"reminders"`
	Supervisions        int               `json:"supervisions"`
	Redos               int               `json:"redos"`
	RepeatReports       int               `json:"repeat_reports"`
	Reply               *Reply            `json:"reply,omitempty"`
	Callback            *CallbackRecord   `json:"callback,omitempty"`
	CallIDs             []string          `json:"call_ids,omitempty"`
	Materials           []Material        `json:"materials,omitempty"`
	History             []HistoryEntry    `json:"history"`
}

// Snapshot returns a deep copy of the case's state.
func (c *Case) Snapshot() Snapshot { return c.s.clone() }

func (s Snapshot) clone() Snapshot {
	s.Answer = clonePtr(s.Answer)
	if s.Approval != nil {
		a := *s.Approval
		a.Instruction = clonePtr(a.Instruction)
		s.Approval = &a
	}
	s.Lead = clonePtr(s.Lead)
	s.Assisting = slices.Clone(s.Assisting)
	s.PendingExtension = clonePtr(s.PendingExtension)
	s.Extensions = slices.Clone(s.Extensions)
	s.Reply = clonePtr(s.Reply)
	s.Callback = clonePtr(s.Callback)
	s.CallIDs = slices.Clone(s.CallIDs)
	s.Materials = slices.Clone(s.Materials)
	s.History = cloneEntries(s.History)
	return s
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// RestoreCase rebuilds a case from a snapshot a store saved. It checks the
// invariants the methods maintain, so a corrupted row surfaces as an error here
// instead of as odd behaviour later. The restored case has nothing pending.
func RestoreCase(s Snapshot) (*Case, error) {
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("restore case %q: %w", s.ID, err)
	}
	return &Case{s: s.clone()}, nil
}

func (s Snapshot) validate() error {
	if !caseIDPattern.MatchString(s.ID) {
		return invalid("id", s.ID, "malformed case ID")
	}
	if err := s.Registration.Validate(); err != nil {
		return err
	}
	if err := stateEnum.check(s.State); err != nil {
		return err
	}
	if err := modeEnum.check(s.Mode); err != nil {
		return err
	}
	if len(s.History) == 0 {
		return invalid("history", "", "empty; a case has at least its registration entry")
	}
	for i, e := range s.History {
		if e.Seq != i+1 {
			return invalid("history", fmt.Sprint(e.Seq), fmt.Sprintf("entry %d has seq %d", i+1, e.Seq))
		}
		if e.CaseID != s.ID {
			return invalid("history", e.CaseID, fmt.Sprintf("entry %d belongs to another case", e.Seq))
		}
	}
	if first := s.History[0]; first.Action != ActionRegister {
		return invalid("history", string(first.Action), "the first entry must be the registration")
	}
	if last := s.History[len(s.History)-1]; last.To != s.State {
		return invalid("state", string(s.State), fmt.Sprintf("the last history entry ends in %s", last.To))
	}
	if s.State.withUnit() || s.State == StateReplied || s.State == StateCompleted {
		if s.Lead == nil {
			return invalid("lead", "", fmt.Sprintf("a %s case needs a lead unit", s.State))
		}
		if s.Deadline.IsZero() {
			return invalid("deadline", "", fmt.Sprintf("a %s case needs a deadline", s.State))
		}
	}
	if s.PendingExtension != nil && s.State != StateAccepted {
		return invalid("pending_extension", "", "only an accepted case can have a pending extension")
	}
	for _, n := range []int{s.Reminders, s.Supervisions, s.Redos, s.RepeatReports, s.Round.Seq,
		s.Round.WorkingDays, s.Round.Reminders, s.Round.Supervisions, s.Round.ExtensionRequests,
		s.Round.ExtensionDays, s.Round.RepeatReports} {
		if n < 0 {
			return invalid("counters", fmt.Sprint(n), "negative")
		}
	}
	return nil
}
