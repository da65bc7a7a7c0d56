package domain

import (
	"errors"
	"fmt"
)

// Sentinels callers branch on (HTTP status, retry, IVR prompt). The typed errors
// below match them through errors.Is, so a caller may test either the kind
// (errors.Is(err, ErrForbidden)) or read the details (errors.As(err, &fe)).
var (
	// ErrNotFound is returned by repositories for an unknown case.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by repositories when a case ID or number already exists.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the actor's role or unit may not perform the action.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalidTransition: the action is not allowed in the case's current state.
	ErrInvalidTransition = errors.New("action not allowed in this state")
	// ErrInvalid: input failed validation.
	ErrInvalid = errors.New("invalid input")
	// ErrExtensionLimit: an extension would exceed the city's policy.
	ErrExtensionLimit = errors.New("extension limit reached")
	// ErrNoPendingExtension: there is no extension request to approve or refuse.
	ErrNoPendingExtension = errors.New("no pending extension request")
	// ErrExtensionPending: a second request while one still awaits a decision.
	ErrExtensionPending = errors.New("an extension request is already pending")
)

// ValidationError reports one bad field. Value is left empty for caller data
// (name, phone, address) so that error messages and logs never carry it.
type ValidationError struct {
	Field  string
	Value  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Value != "" {
		return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, value, reason string) error {
	return &ValidationError{Field: field, Value: value, Reason: reason}
}

// TransitionError is returned when Action is not in the state machine for From.
type TransitionError struct {
	From   State
	Action Action
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a case that is %s", e.Action, e.From)
}

// Is makes errors.Is(err, ErrInvalidTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

// ForbiddenError is returned when the actor may not perform Action on this case.
type ForbiddenError struct {
	Actor  Actor
	Action Action
	Reason string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("%s %q may not %s: %s", e.Actor.Role, e.Actor.ID, e.Action, e.Reason)
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// ExtensionLimitError tells which cap of ExtensionLimits an extension would break.
type ExtensionLimitError struct {
	// Requests counts extension requests in the current round, this one included.
	Requests    int
	MaxRequests int
	// TotalWorkingDays is the round's time limit plus all extensions, this one included.
	TotalWorkingDays    int
	MaxTotalWorkingDays int
}

func (e *ExtensionLimitError) Error() string {
	if e.MaxRequests != NoLimit && e.Requests > e.MaxRequests {
		return fmt.Sprintf("extension request %d exceeds the limit of %d per assignment", e.Requests, e.MaxRequests)
	}
	return fmt.Sprintf("time limit would reach %d working days, more than the limit of %d", e.TotalWorkingDays, e.MaxTotalWorkingDays)
}

// Is makes errors.Is(err, ErrExtensionLimit) true.
func (e *ExtensionLimitError) Is(target error) bool { return target == ErrExtensionLimit }
