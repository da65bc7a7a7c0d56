package assessment

import (
	"fmt"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

// Period is a half-open time range [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Quarter is quarter q (1-4) of year in loc (the city's time zone, so that a
// reply at 23:30 on 31 March local time falls in Q1).
func Quarter(year, q int, loc *time.Location) (Period, error) {
	if q < 1 || q > 4 {
		return Period{}, fmt.Errorf("assessment: quarter %d, want 1-4", q)
	}
	if loc == nil {
		return Period{}, fmt.Errorf("assessment: quarter needs a time zone")
	}
	from := time.Date(year, time.Month(3*(q-1)+1), 1, 0, 0, 0, 0, loc)
	return Period{From: from, To: from.AddDate(0, 3, 0)}, nil
}

// Contains reports whether t is in [From, To).
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

// Round is one assignment of a case to a unit with its own deadline: the first
// transfer, or a new one after a return for redo or a dissatisfied callback. It
// is charged to the unit that was lead when it ended (after a pass-down, the
// sub-unit that replied).
type Round struct {
	// Deadline is the last deadline in force, extensions included.
	Deadline time.Time `json:"deadline"`
	// RepliedAt is the unit's reply; zero if it has not replied.
	RepliedAt time.Time `json:"replied_at,omitzero"`
	// Written is true for a written transfer, which requires a written reply.
	Written bool `json:"written"`
	// ReasonGiven is true if the unit reported progress or asked for an extension
	// before replying: it said why (说明原因).
	ReasonGiven bool `json:"reason_given"`
	// RepeatReports counts the citizen's repeat reports before the reply.
	RepeatReports int `json:"repeat_reports"`
	// Inadequate is true if the reply was returned for redo or reopened after a
	// dissatisfied callback, or an inadequate-handling finding names the unit.
	Inadequate bool `json:"inadequate"`
}

// Review is the center's verdict on a reply.
type Review struct {
	At       time.Time `json:"at"`
	Returned bool      `json:"returned"`
}

// Callback is a callback result charged to the unit that handled the case.
type Callback struct {
	At           time.Time           `json:"at"`
	Satisfaction domain.Satisfaction `json:"satisfaction"`
}

// Finding is a supervisor's finding against the unit.
type Finding struct {
	At   time.Time          `json:"at"`
	Kind domain.FindingKind `json:"kind"`
}

// CaseSummary is what one case contributes to one unit's assessment. A case that
// passed through several units yields one summary per unit. Reviews must be in
// time order; the other lists may be in any order.
type CaseSummary struct {
	CaseID       string      `json:"case_id"`
	UnitID       string      `json:"unit_id"`
	Rounds       []Round     `json:"rounds,omitempty"`
	Reviews      []Review    `json:"reviews,omitempty"`
	Callbacks    []Callback  `json:"callbacks,omitempty"`
	Findings     []Finding   `json:"findings,omitempty"`
	Supervisions []time.Time `json:"supervisions,omitempty"`
}

// DutyLineFailure is an unanswered call to a unit's duty line (T7), as reported
// by the call side.
type DutyLineFailure struct {
	UnitID string    `json:"unit_id"`
	At     time.Time `json:"at"`
	CallID string    `json:"call_id,omitempty"`
}

// Input is everything an assessment needs.
type Input struct {
	Period Period
	// AsOf is when the data was read; rounds whose deadline is after it are not
	// due yet, and replies after it are not seen. Zero means Period.To.
	AsOf time.Time
	// Units are the units to assess and rank; a unit with no data still appears.
	// Units that only occur in Cases or DutyLineFailures are added.
	Units            []string
	Cases            []CaseSummary
	DutyLineFailures []DutyLineFailure
	Rules            Rules
}
