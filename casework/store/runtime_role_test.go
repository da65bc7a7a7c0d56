package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// The role the services run as (a member of hotline_runtime, migration 0013)
// does its work but cannot touch the evidence: no UPDATE or DELETE of the case
// history, the audit log or the calendar imports, no disabling their triggers,
// no altering or dropping tables.
func TestRuntimeRoleCannotRewriteEvidence(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t) // migrated as the owner
	owner, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := store.Migrate(ctx, owner); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	role := "hotline_rt_" + hex.EncodeToString(b)
	if _, err := owner.Exec(ctx, `CREATE ROLE `+role+` LOGIN IN ROLE hotline_runtime`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = owner.Exec(context.Background(), `DROP OWNED BY `+role+`; DROP ROLE IF EXISTS `+role) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	rt, err := pgxpool.New(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	// The work: a case with its history and outbox, through the real store.
	cases := store.NewCases(rt)
	c := newCase(t, "case-rt")
	transfer(t, c, t0)
	if err := create(ctx, cases, c); err != nil {
		t.Fatalf("the runtime role cannot store a case: %v", err)
	}
	if err := update(ctx, cases, "case-rt", func(c *domain.Case) error { return c.Remind(agent, t0.Add(3600e9), "") }); err != nil {
		t.Fatalf("the runtime role cannot change a case: %v", err)
	}
	notice := calendar.Notice{Year: 2031, Papers: []string{"test data"}, Days: []calendar.NoticeDay{{Name: "元旦", Date: "2031-01-01", IsOffDay: true}}}
	if _, err := store.NewCalendars(rt).Import(ctx, store.ImportInput{Notice: notice, Format: calendar.FormatList,
		FileName: "t.txt", Raw: []byte("t"), By: "test"}); err != nil {
		t.Fatalf("the runtime role cannot import a calendar notice: %v", err)
	}
	// The evidence is out of its reach.
	for _, sql := range []string{
		`UPDATE case_history SET note = 'edited'`,
		`DELETE FROM case_history`,
		`TRUNCATE case_history CASCADE`,
		`ALTER TABLE case_history DISABLE TRIGGER ALL`,
		`DROP TRIGGER case_history_no_update ON case_history`,
		`UPDATE audit_log SET user_id = 'x'`,
		`DELETE FROM calendar_notices`,
		`ALTER TABLE cases DROP COLUMN content`,
		`DROP TABLE case_history CASCADE`,
		`DELETE FROM schema_migrations`,
	} {
		_, err := rt.Exec(ctx, sql)
		if err == nil {
			t.Errorf("runtime role: %s accepted", sql)
			continue
		}
		if !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") &&
			!strings.Contains(err.Error(), "append-only") {
			t.Errorf("runtime role: %s: %v (want a privilege error)", sql, err)
		}
	}
	var n int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM case_history WHERE case_id = 'case-rt'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("history rows %d, %v; want 3", n, err)
	}
}
