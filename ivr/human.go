package ivr

import (
	"context"
	"errors"
)

// HumanService connects a caller to an agent. The routing package implements it;
// the front door only decides when to ask for it (staffed hours) and what to do
// when it declines (the voice menu).
type HumanService interface {
	// Serve holds the caller until their conversation with an agent is over
	// (nil), or returns ErrNoAgent when the caller should be offered the voice
	// menu instead: nobody logged in, queue full, or the maximum wait passed.
	Serve(ctx context.Context, call *Call) error
}

// ErrNoAgent means human service declined the call; the caller gets the menu.
var ErrNoAgent = errors.New("no agent available")

// HumanResumer is a HumanService that can take over, after a crash or a
// restart of the call service, a caller an earlier process left waiting in the
// queue or talking with an agent (the call's ari.CallRecord says which).
type HumanResumer interface {
	// Resume goes on with the call as Serve would have; ErrNoAgent sends the
	// caller to the voice menu.
	Resume(ctx context.Context, call *Call) error
}
