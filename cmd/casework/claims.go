package main

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// claimRecoveryInterval is the time between claim recovery passes: a lost claim
// hides its item from the agents for at most the timeout plus this.
const claimRecoveryInterval = time.Minute

// claimRecoverer is a store whose filing claims can outlive the process that made
// them (store.Voicemails, store.Faxes).
type claimRecoverer interface {
	RecoverStaleClaims(ctx context.Context, claimedBefore time.Time) (linked, released int, err error)
}

// claimRecovery settles voicemail and fax claims left by a casework process that
// died while filing the item on a case: every instance runs it, the store's
// single-statement recovery makes concurrent passes harmless.
type claimRecovery struct {
	Stores   map[string]claimRecoverer // by item kind, for the log
	Timeout  time.Duration             // a claim older than this is stale
	Interval time.Duration
	Log      *zap.Logger
	Clock    func() time.Time // nil: time.Now
}

// Run makes a pass at once (a restart after a crash recovers its claims as soon as
// they are stale) and then every Interval, until ctx ends.
func (r *claimRecovery) Run(ctx context.Context) error {
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (r *claimRecovery) pass(ctx context.Context) {
	now := time.Now
	if r.Clock != nil {
		now = r.Clock
	}
	cutoff := now().Add(-r.Timeout)
	for kind, s := range r.Stores {
		linked, released, err := s.RecoverStaleClaims(ctx, cutoff)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Error("claim recovery failed", zap.String("kind", kind), zap.Error(err))
		case linked+released > 0:
			r.Log.Info("stale claims recovered", zap.String("kind", kind), zap.Int("linked", linked),
				zap.Int("released", released), zap.Time("claimed_before", cutoff))
		}
	}
}
