package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
)

// AuditEntry is one line of the audit log: who read or changed what.
type AuditEntry struct {
	ID         int64
	At         time.Time // set by the database
	UserID     string
	Role       domain.Role
	UnitID     string
	Action     string // e.g. "read", "create", "update", "revoke"
	ObjectType string // e.g. "case", "unit", "user", "token"
	ObjectID   string
	RequestID  string
}

// Execer is what AppendAudit needs: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// AppendAudit writes e through db. Pass the transaction of a change to have its
// audit line commit (or roll back) with it.
func AppendAudit(ctx context.Context, db Execer, e AuditEntry) error {
	_, err := db.Exec(ctx, `INSERT INTO audit_log (user_id, role, unit_id, action, object_type, object_id, request_id)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, NULLIF($7, ''))`,
		e.UserID, string(e.Role), e.UnitID, e.Action, e.ObjectType, e.ObjectID, e.RequestID)
	if err != nil {
		return fmt.Errorf("audit %s %s %s by %s: %w", e.Action, e.ObjectType, e.ObjectID, e.UserID, err)
	}
	return nil
}

// AuditLog reads and appends the audit log. It never updates or deletes: the
// table refuses both.
type AuditLog struct {
	pool *pgxpool.Pool
}

// NewAuditLog returns the audit log store.
func NewAuditLog(pool *pgxpool.Pool) *AuditLog { return &AuditLog{pool: pool} }

// Append writes one entry in its own statement.
func (a *AuditLog) Append(ctx context.Context, e AuditEntry) error {
	return AppendAudit(ctx, a.pool, e)
}

// AuditFilter selects entries; zero fields match everything.
type AuditFilter struct {
	UserID     string
	ObjectType string
	ObjectID   string
	Limit      int // 0 means 100
}

// List returns matching entries, newest first.
func (a *AuditLog) List(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := a.pool.Query(ctx, `SELECT id, at, user_id, role, COALESCE(unit_id, ''), action, object_type, object_id, COALESCE(request_id, '')
		FROM audit_log
		WHERE ($1 = '' OR user_id = $1) AND ($2 = '' OR object_type = $2) AND ($3 = '' OR object_id = $3)
		ORDER BY id DESC LIMIT $4`, f.UserID, f.ObjectType, f.ObjectID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		var role string
		err := r.Scan(&e.ID, &e.At, &e.UserID, &role, &e.UnitID, &e.Action, &e.ObjectType, &e.ObjectID, &e.RequestID)
		e.Role = domain.Role(role)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}
