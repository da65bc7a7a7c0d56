package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CodeAttempts counts wrong self-service query codes per day and subject (a
// case number, a calling number), so guesses are bounded across calls and
// casework instances (migration 0011).
type CodeAttempts struct {
	pool *pgxpool.Pool
}

// NewCodeAttempts returns the counter.
func NewCodeAttempts(pool *pgxpool.Pool) *CodeAttempts { return &CodeAttempts{pool: pool} }

// Failures is the highest count of wrong codes among subjects on day.
func (s *CodeAttempts) Failures(ctx context.Context, day time.Time, subjects ...string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(max(failures), 0) FROM selfservice_code_failures
		WHERE day = $1 AND subject = ANY($2)`, day.Format(time.DateOnly), subjects).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("self-service code failures: %w", err)
	}
	return n, nil
}

// Fail counts one wrong code against every subject on day.
func (s *CodeAttempts) Fail(ctx context.Context, day time.Time, subjects ...string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO selfservice_code_failures (day, subject, failures)
		SELECT $1, unnest($2::text[]), 1
		ON CONFLICT (day, subject) DO UPDATE SET failures = selfservice_code_failures.failures + 1`,
		day.Format(time.DateOnly), subjects)
	if err != nil {
		return fmt.Errorf("count a wrong self-service code: %w", err)
	}
	return nil
}
