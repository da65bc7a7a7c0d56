package domain

import (
	"fmt"
	"strconv"
	"time"
)

// NoLimit disables one cap of ExtensionLimits.
const NoLimit = -1

// ExtensionLimits is the city's extension policy (C4), passed in as plain values
// because policies are configuration. Both caps apply per round.
//
// The zero value allows no extension at all: a missing policy must not grant time.
// Chongqing (000 三(三)1): {MaxCount: NoLimit, MaxTotalWorkingDays: 30}.
// Mudanjiang (004 第十条(八)): {MaxCount: 1, MaxTotalWorkingDays: NoLimit}.
type ExtensionLimits struct {
	// MaxCount caps the extension requests per round. Requests are counted, not
	// grants, because 004 says "只能申请1次延期": one application, whatever its fate.
	MaxCount int `json:"max_count"`
	// MaxTotalWorkingDays caps the round's time limit plus all its extensions,
	// reading 000 "最多不能超过30个工作日" as the whole handling time.
	MaxTotalWorkingDays int `json:"max_total_working_days"`
}

func (l ExtensionLimits) validate() error {
	if l.MaxCount < NoLimit {
		return invalid("limits.max_count", strconv.Itoa(l.MaxCount), "want a count or NoLimit (-1)")
	}
	if l.MaxTotalWorkingDays < NoLimit {
		return invalid("limits.max_total_working_days", strconv.Itoa(l.MaxTotalWorkingDays), "want a count or NoLimit (-1)")
	}
	return nil
}

// check tests a round with requests requests and extra more working days.
func (l ExtensionLimits) check(r Round, requests, extra int) error {
	total := r.WorkingDays + r.ExtensionDays + extra
	if (l.MaxCount != NoLimit && requests > l.MaxCount) ||
		(l.MaxTotalWorkingDays != NoLimit && total > l.MaxTotalWorkingDays) {
		return &ExtensionLimitError{
			Requests: requests, MaxRequests: l.MaxCount,
			TotalWorkingDays: total, MaxTotalWorkingDays: l.MaxTotalWorkingDays,
		}
	}
	return nil
}

// ExtensionRequest is a unit's application for more time (申请延期).
type ExtensionRequest struct {
	WorkingDays int       `json:"working_days"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
	By          Actor     `json:"by"`
}

// Extension is a granted request.
type Extension struct {
	Round            int       `json:"round"`
	WorkingDays      int       `json:"working_days"`
	Reason           string    `json:"reason"`
	RequestedAt      time.Time `json:"requested_at"`
	RequestedBy      Actor     `json:"requested_by"`
	ApprovedAt       time.Time `json:"approved_at"`
	ApprovedBy       Actor     `json:"approved_by"`
	PreviousDeadline time.Time `json:"previous_deadline"`
	NewDeadline      time.Time `json:"new_deadline"`
}

// RequestExtension asks for workingDays more. It is refused early when the policy
// could never grant it, so the unit learns at once rather than at the deadline.
func (c *Case) RequestExtension(by Actor, at time.Time, workingDays int, reason string, limits ExtensionLimits) error {
	to, err := c.begin(by, at, ActionRequestExtension)
	if err != nil {
		return err
	}
	if c.s.PendingExtension != nil {
		return fmt.Errorf("request extension: %w", ErrExtensionPending)
	}
	if workingDays < 1 {
		return invalid("working_days", strconv.Itoa(workingDays), "want at least 1")
	}
	if err := checkText("reason", reason, maxNoteRunes, true); err != nil {
		return err
	}
	if err := limits.validate(); err != nil {
		return err
	}
	if err := limits.check(c.s.Round, c.s.Round.ExtensionRequests+1, workingDays); err != nil {
		return err
	}
	c.s.PendingExtension = &ExtensionRequest{WorkingDays: workingDays, Reason: reason, At: at, By: by}
	c.s.Round.ExtensionRequests++
	c.record(by, at, ActionRequestExtension, to, map[string]string{
		DetailWorkingDays: strconv.Itoa(workingDays),
		DetailReason:      reason,
	}, "")
	return nil
}

// ApproveExtension grants the pending request. next.Due is the current
// deadline plus the requested working days, computed outside on the calendar
// (next.Provisional when a year without an official notice decided it; its
// WorkingDays is ignored). The caps are checked again because the policy may
// have changed meanwhile.
func (c *Case) ApproveExtension(by Actor, at time.Time, next TimeLimit, limits ExtensionLimits, note string) error {
	newDeadline := next.Due
	to, err := c.begin(by, at, ActionApproveExtension)
	if err != nil {
		return err
	}
	req := c.s.PendingExtension
	if req == nil {
		return fmt.Errorf("approve extension: %w", ErrNoPendingExtension)
	}
	if !newDeadline.After(c.s.Deadline) {
		return invalid("new_deadline", formatTime(newDeadline), "not after the current deadline "+formatTime(c.s.Deadline))
	}
	if err := limits.validate(); err != nil {
		return err
	}
	if err := limits.check(c.s.Round, c.s.Round.ExtensionRequests, req.WorkingDays); err != nil {
		return err
	}
	if err := checkNote(note); err != nil {
		return err
	}
	prev := c.s.Deadline
	c.s.Extensions = append(c.s.Extensions, Extension{
		Round: c.s.Round.Seq, WorkingDays: req.WorkingDays, Reason: req.Reason,
		RequestedAt: req.At, RequestedBy: req.By, ApprovedAt: at, ApprovedBy: by,
		PreviousDeadline: prev, NewDeadline: newDeadline,
	})
	c.s.Round.ExtensionDays += req.WorkingDays
	c.s.Deadline = newDeadline
	c.s.DeadlineProvisional = next.Provisional
	c.s.PendingExtension = nil
	c.record(by, at, ActionApproveExtension, to, map[string]string{
		DetailWorkingDays:      strconv.Itoa(req.WorkingDays),
		DetailPreviousDeadline: formatTime(prev),
	}, note)
	return nil
}

// RefuseExtension turns the pending request down; the deadline stands.
func (c *Case) RefuseExtension(by Actor, at time.Time, reason string) error {
	to, err := c.begin(by, at, ActionRefuseExtension)
	if err != nil {
		return err
	}
	if c.s.PendingExtension == nil {
		return fmt.Errorf("refuse extension: %w", ErrNoPendingExtension)
	}
	if err := checkText("reason", reason, maxNoteRunes, true); err != nil {
		return err
	}
	days := c.s.PendingExtension.WorkingDays
	c.s.PendingExtension = nil
	c.record(by, at, ActionRefuseExtension, to, map[string]string{
		DetailWorkingDays: strconv.Itoa(days),
		DetailReason:      reason,
	}, "")
	return nil
}
