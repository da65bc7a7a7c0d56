package domain

import "context"

// Repository is how the application loads and saves cases. It is declared here
// and implemented by the PostgreSQL store, so the domain depends on no storage.
type Repository interface {
	// Create stores a new case and its pending history; ErrConflict if the ID or
	// the number exists.
	Create(ctx context.Context, c *Case) error
	// Get loads a case; ErrNotFound if there is none.
	Get(ctx context.Context, id string) (*Case, error)
	// Update loads the case, runs fn on it and, if fn returns nil, saves the
	// state and inserts c.Pending() (and their events) in one transaction. The
	// store owns the transaction and the locking; fn must not call the store.
	// If fn fails, nothing is saved and its error is returned, wrapped at most,
	// so callers can still match *TransitionError, ErrForbidden and the rest with
	// errors.Is and errors.As. ErrNotFound if there is no such case.
	Update(ctx context.Context, id string, fn func(*Case) error) error
}
