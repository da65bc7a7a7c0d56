package store_test

import (
	"context"
	"testing"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func TestAuditLogAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	log := store.NewAuditLog(pool)
	e := store.AuditEntry{UserID: "u1", Role: domain.RoleUnit, UnitID: "dongcheng", Action: "read",
		ObjectType: "case", ObjectID: "12345-2025-000001", RequestID: "req-1"}
	if err := log.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	// In a transaction that rolls back, the audit line goes too.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AppendAudit(ctx, tx, store.AuditEntry{UserID: "u2", Role: domain.RoleAdmin, Action: "update", ObjectType: "unit", ObjectID: "x"}); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)

	got, err := log.List(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d entries, want 1", len(got))
	}
	g := got[0]
	if g.At.IsZero() || g.UserID != e.UserID || g.Role != e.Role || g.UnitID != e.UnitID || g.Action != e.Action ||
		g.ObjectType != e.ObjectType || g.ObjectID != e.ObjectID || g.RequestID != e.RequestID {
		t.Fatalf("entry %+v, wrote %+v", g, e)
	}
	if got, _ := log.List(ctx, store.AuditFilter{ObjectType: "case", ObjectID: "other"}); len(got) != 0 {
		t.Fatalf("filter by object: %v", got)
	}

	for _, sql := range []string{`UPDATE audit_log SET user_id = 'someone else'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: accepted", sql)
		}
	}
	if err := log.Append(ctx, store.AuditEntry{UserID: "", Role: domain.RoleAdmin, Action: "read", ObjectType: "case"}); err == nil {
		t.Error("entry without user accepted")
	}
}
