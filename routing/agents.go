// Package routing is the hotline's agent side: agents (话务员) and their states,
// the queue (ACD) callers wait in, the connection of a caller to an agent with
// the staff-number announcement and a recording that follows the caller, screen
// pop, three-way calls to units' duty lines, the polite ending and blind
// transfer. It implements ivr.HumanService.
package routing

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// State is an agent's state.
type State string

// Agent states. Offering is not a state of its own: an agent being rung is
// still Ready with an offer reserved (see Agent.Offering).
const (
	LoggedOut State = "logged_out"
	Ready     State = "ready"
	OnCall    State = "on_call"
	WrapUp    State = "wrap_up"
	Paused    State = "paused"
)

// States lists every state (for metrics).
var States = []State{LoggedOut, Ready, OnCall, WrapUp, Paused}

// Pause reasons set by the service itself.
const (
	ReasonNoAnswer = "no_answer" // N offers in a row not answered
)

// Errors of agent operations; the HTTP API maps them to statuses.
var (
	ErrUnknownAgent = errors.New("unknown agent")
	ErrBadState     = errors.New("operation not allowed in the agent's state")
	ErrNotOnCall    = errors.New("agent is not on a call")
)

var staffPattern = regexp.MustCompile(`^[0-9]{1,10}$`)

// ValidStaff tells whether s looks like a staff number (工号), which is also the
// agent's PJSIP endpoint name.
func ValidStaff(s string) bool { return staffPattern.MatchString(s) }

// Action is what an agent (or the service) asks of an agent's state.
type Action string

// Actions.
const (
	ActLogin   Action = "login"
	ActLogout  Action = "logout"
	ActReady   Action = "ready"
	ActPause   Action = "pause"
	ActConnect Action = "connect" // an offer was answered
	ActHangup  Action = "hangup"  // the call ended: wrap-up
	ActWrapEnd Action = "wrap_end"
)

// Next is the agent state machine: the state after act in from, or ErrBadState.
// Logging out is refused on a call (the call ends first); pausing and readying
// are allowed from wrap-up (the agent finishes wrap-up early or takes a break).
func Next(from State, act Action) (State, error) {
	bad := fmt.Errorf("%w: %s while %s", ErrBadState, act, from)
	switch act {
	case ActLogin:
		if from == LoggedOut {
			return Paused, nil // logged in, not yet taking calls
		}
		return from, nil // idempotent: a second login keeps the state
	case ActLogout:
		if from == OnCall {
			return from, bad
		}
		return LoggedOut, nil
	case ActReady:
		switch from {
		case Ready, Paused, WrapUp:
			return Ready, nil
		}
	case ActPause:
		switch from {
		case Ready, Paused, WrapUp:
			return Paused, nil
		case OnCall:
			// Allowed: the pause takes effect after the call (see Agent.PauseAfter).
			return OnCall, nil
		}
	case ActConnect:
		if from == Ready {
			return OnCall, nil
		}
	case ActHangup:
		if from == OnCall {
			return WrapUp, nil
		}
	case ActWrapEnd:
		if from == WrapUp {
			return Ready, nil
		}
		return from, nil // paused or logged out during wrap-up: stay there
	}
	return from, bad
}

// Agent is one agent as the queue sees it.
type Agent struct {
	Staff  string    `json:"staff_number"`
	State  State     `json:"state"`
	Reason string    `json:"reason,omitempty"` // pause reason
	Since  time.Time `json:"since"`            // when the state began
	// IdleSince is when the agent last became available for a call after a call
	// (or logged in): longest idle is the smallest IdleSince among ready agents.
	IdleSince time.Time `json:"idle_since,omitzero"`
	// Missed counts offers not answered in a row.
	Missed int `json:"missed_offers"`
	// Offering is the call being offered (rung) right now, empty otherwise.
	Offering string `json:"offering,omitempty"`
	// CallID is the call the agent is on (or wrapping up).
	CallID string `json:"call_id,omitempty"`
	// PauseAfter holds a pause asked for during a call (or while the phone rang).
	PauseAfter string `json:"pause_after,omitempty"`
	// LogoutAfter: the agent logged out while their phone rang and answered anyway.
	LogoutAfter bool `json:"logout_after,omitempty"`
	// Calls counts answered calls since login.
	Calls int `json:"calls"`
	// ForcedBy names the supervisor who forced the last change (a pause or a
	// sign-out ordered from the supervisor's screen); empty when the agent did.
	ForcedBy string `json:"forced_by,omitempty"`
	// forcedReason is the supervisor's reason, for the record even when the
	// state keeps no reason (a sign-out).
	forcedReason string
}

// Available tells whether an offer may go to the agent now.
func (a *Agent) Available() bool { return a.State == Ready && a.Offering == "" }
