package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// IdempotencyKeys remembers which case a user's Idempotency-Key registered, so
// a retried POST /cases answers with that case instead of filing a second one
// (migration 0012). Keys are per user and live 24 hours.
type IdempotencyKeys struct {
	pool *pgxpool.Pool
}

// NewIdempotencyKeys returns the store.
func NewIdempotencyKeys(pool *pgxpool.Pool) *IdempotencyKeys { return &IdempotencyKeys{pool: pool} }

// Errors of Claim.
var (
	// ErrKeyReused: the key was used with a different request.
	ErrKeyReused = errors.New("idempotency key already used for a different request")
	// ErrKeyInProgress: the first request with the key has not finished.
	ErrKeyInProgress = errors.New("a request with this idempotency key is in progress")
)

// Claim takes the key for a request (hash identifies its content). claimed is
// true when the caller should do the work and then Complete or Release the
// key; otherwise caseID is the case an earlier request with the key made.
func (s *IdempotencyKeys) Claim(ctx context.Context, userID, key, hash string) (caseID string, claimed bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2
			AND created_at < now() - interval '24 hours'`, userID, key); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, userID, key, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			claimed = true
			return nil
		}
		var stored string
		var id *string
		if err := tx.QueryRow(ctx, `SELECT request_hash, case_id FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
			userID, key).Scan(&stored, &id); err != nil {
			return err
		}
		switch {
		case stored != hash:
			return ErrKeyReused
		case id == nil:
			return ErrKeyInProgress
		}
		caseID = *id
		return nil
	})
	if err != nil && !errors.Is(err, ErrKeyReused) && !errors.Is(err, ErrKeyInProgress) {
		err = fmt.Errorf("idempotency key: %w", err)
	}
	return caseID, claimed, err
}

// Complete records the case the claimed key made.
func (s *IdempotencyKeys) Complete(ctx context.Context, userID, key, caseID string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET case_id = $3 WHERE user_id = $1 AND key = $2`,
		userID, key, caseID); err != nil {
		return fmt.Errorf("idempotency key: %w", err)
	}
	return nil
}

// Release gives up a claimed key whose request failed, so a retry can succeed.
func (s *IdempotencyKeys) Release(ctx context.Context, userID, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND case_id IS NULL`,
		userID, key); err != nil {
		return fmt.Errorf("idempotency key: %w", err)
	}
	return nil
}
