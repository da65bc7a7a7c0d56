package routing

import (
	"errors"
	"fmt"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// Errors callers branch on.
var (
	// ErrNotInDirectory: a three-way call asked for a unit (or number) that is not
	// in the unit directory, or has no duty line. Nothing is dialled.
	ErrNotInDirectory = errors.New("not in the unit directory")
	// ErrNoThreeWay: leave/drop without a unit in the call.
	ErrNoThreeWay = errors.New("no unit in the call")
	// ErrUnknownCase: the case to link the call to does not exist (or the agent
	// may not see it).
	ErrUnknownCase = errors.New("unknown case")
	// ErrBusyCall: another operation on the call is in progress.
	ErrBusyCall = errors.New("call is busy with another operation")
)

// DialError is a failed outbound leg (an offer to an agent, a duty line). It
// carries the Q.850 cause and the label used in metrics and events.
type DialError struct {
	Target string // PJSIP/1001, PJSIP/8801@dutylines
	Cause  int
	Reason string // no_answer, busy, congestion, refused, error
	Err    error
}

func (e *DialError) Error() string {
	return fmt.Sprintf("dial %s: %s (cause %d): %v", e.Target, e.Reason, e.Cause, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// MetricLabel is the result label of offers and three-way outcomes.
func (e *DialError) MetricLabel() string { return e.Reason }

// dialError classifies what WaitUp/Originate returned for an outbound leg.
func dialError(target string, err error) *DialError {
	de := &DialError{Target: target, Reason: "error", Err: err}
	var herr *ari.HangupError
	if errors.As(err, &herr) {
		de.Cause = herr.Cause
		de.Reason = reasonForCause(herr.Cause)
	}
	return de
}

// reasonForCause maps Q.850 causes to outcome labels (event.DialOutcome, the
// mapping callbacks use too).
func reasonForCause(cause int) string { return event.DialOutcome(cause) }
