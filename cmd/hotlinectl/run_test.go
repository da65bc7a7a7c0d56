package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

type ctl struct {
	t   *testing.T
	env map[string]string
}

// run runs one command line and returns stdout, stderr and the error.
func (c ctl) run(args ...string) (string, string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return c.env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func (c ctl) must(args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("hotlinectl %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	c := ctl{t: t, env: map[string]string{"HOTLINE_DATABASE_URL": dsn, "USER": "ops"}}

	// Before migrate, commands say what is missing.
	if _, _, err := c.run("units", "list"); err == nil || !strings.Contains(err.Error(), "hotlinectl migrate") {
		t.Fatalf("units list before migrate: %v", err)
	}
	if out := c.must("migrate"); !strings.Contains(out, "applied migrations") {
		t.Fatalf("migrate: %q", out)
	}
	if out := c.must("migrate"); !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %q", out)
	}

	demo := filepath.Join("..", "..", "deploy", "demo", "units.csv")
	if out := c.must("units", "import", demo); out != "units: 12 inserted, 0 updated, 0 unchanged\n" {
		t.Fatalf("import: %q", out)
	}
	if out := c.must("units", "import", demo); out != "units: 0 inserted, 0 updated, 12 unchanged\n" {
		t.Fatalf("re-import: %q", out)
	}
	list := c.must("units", "list")
	if !strings.Contains(list, "dc-andingmen") || !strings.Contains(list, "PJSIP/8811@dutylines") || !strings.Contains(list, "东城区") {
		t.Fatalf("units list:\n%s", list)
	}

	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("id,name,level,parent_id,duty_line\nok,好,2,center,\nevil,坏,2,center,PJSIP/1001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.run("units", "import", bad)
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "duty_line") {
		t.Fatalf("bad import: %v", err)
	}

	adminID := strings.TrimSpace(c.must("user", "add", "--name", "管理员", "--role", "admin"))
	unitID := strings.TrimSpace(c.must("user", "add", "--name", "东城区值班", "--role", "unit", "--unit", "dongcheng"))
	c.must("user", "add", "--name", "张敏", "--role", "话务员", "--staff", "1001")
	users := c.must("user", "list")
	for _, want := range []string{adminID, unitID, "dongcheng", "1001", "agent"} {
		if !strings.Contains(users, want) {
			t.Errorf("user list lacks %s:\n%s", want, users)
		}
	}

	// Tokens expire by default; one that never does is asked for by name.
	if _, note, err := c.run("token", "create", "--user", unitID); err != nil || !strings.Contains(note, "expires "+time.Now().Add(90*24*time.Hour).Format("2006-01-02")) {
		t.Fatalf("default token: %v, note %q, want 90 days", err, note)
	}
	if _, note, err := c.run("token", "create", "--user", unitID, "--no-expiry"); err != nil || !strings.Contains(note, "never expires") {
		t.Fatalf("--no-expiry token: %v, note %q", err, note)
	}
	secret, note, err := c.run("token", "create", "--user", unitID, "--expires", "24h")
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.TrimSpace(secret)
	if !strings.Contains(note, "shown only this once") || !strings.Contains(note, "expires") {
		t.Fatalf("token note %q", note)
	}

	// The printed token authenticates as the unit user.
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	auth := access.NewAuthenticator(store.NewUsers(pool), nil)
	p, err := auth.Authenticate(ctx, "Bearer "+secret)
	if err != nil || p.UserID != unitID || p.Role != domain.RoleUnit || p.UnitID != "dongcheng" {
		t.Fatalf("token authenticates as %+v, %v", p, err)
	}
	// The note on stderr is for a person: the token's ID is labelled as what to
	// revoke, not printed where the token itself is expected ("token <uuid>").
	if strings.HasPrefix(note, "token ") || !strings.Contains(note, `its ID, for "hotlinectl token revoke", is `+p.TokenID) {
		t.Fatalf("token note %q does not label the ID %s", note, p.TokenID)
	}
	c.must("token", "revoke", p.TokenID)
	if _, err := auth.Authenticate(ctx, "Bearer "+secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}

	c.must("user", "disable", "--user", adminID)
	if _, _, err := c.run("token", "create", "--user", adminID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("token for disabled user: %v", err)
	}
	c.must("user", "enable", "--user", adminID)
	c.must("token", "create", "--user", adminID)

	// Every change is in the audit log under the operator's name.
	entries, err := store.NewAuditLog(pool).List(ctx, store.AuditFilter{UserID: "hotlinectl:ops"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i := len(entries) - 1; i >= 0; i-- {
		actions = append(actions, entries[i].Action+" "+entries[i].ObjectType)
	}
	want := "update unit_directory,create user,create user,create user,create token,create token,create token,revoke token,update user,update user,create token"
	if strings.Join(actions, ",") != want {
		t.Fatalf("audit trail\n  %s\nwant\n  %s", strings.Join(actions, ","), want)
	}
}

func TestCommandLineErrors(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	withDB := map[string]string{"HOTLINE_DATABASE_URL": dsn}
	c := ctl{t: t, env: withDB}
	c.must("migrate")
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		usage bool
		want  string
	}{
		{"no command", withDB, nil, true, "no command"},
		{"unknown command", withDB, []string{"frobnicate"}, true, "unknown command"},
		{"unknown subcommand", withDB, []string{"user", "delete"}, true, "unknown command"},
		{"missing database url", map[string]string{}, []string{"units", "list"}, false, "HOTLINE_DATABASE_URL is required"},
		{"bad database url", map[string]string{"HOTLINE_DATABASE_URL": "postgres://%zz"}, []string{"units", "list"}, false, "HOTLINE_DATABASE_URL"},
		{"user add without role", withDB, []string{"user", "add", "--name", "x"}, true, "--role"},
		{"user add unknown flag", withDB, []string{"user", "add", "--name", "x", "--role", "admin", "--password", "x"}, true, "password"},
		{"user add bad role", withDB, []string{"user", "add", "--name", "x", "--role", "mayor"}, false, "role"},
		{"unit user without unit", withDB, []string{"user", "add", "--name", "x", "--role", "unit"}, false, "unit_id"},
		{"token create without user", withDB, []string{"token", "create"}, true, "--user"},
		{"token for unknown user", withDB, []string{"token", "create", "--user", "7d7b5b8e-0000-4000-8000-000000000000"}, false, "not found"},
		{"token revoke without id", withDB, []string{"token", "revoke"}, true, "TOKEN_ID"},
		{"revoke unknown token", withDB, []string{"token", "revoke", "7d7b5b8e-0000-4000-8000-000000000000"}, false, "not found"},
		{"import missing file", withDB, []string{"units", "import", "/nonexistent.csv"}, false, "no such file"},
		{"extra argument", withDB, []string{"units", "list", "extra"}, true, "unexpected argument"},
	}
	for _, tt := range tests {
		c := ctl{t: t, env: tt.env}
		_, _, err := c.run(tt.args...)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if errors.Is(err, errUsage) != tt.usage {
			t.Errorf("%s: usage error = %v, want %v (%v)", tt.name, errors.Is(err, errUsage), tt.usage, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %q does not mention %q", tt.name, err, tt.want)
		}
	}
	if out, _, err := (ctl{t: t, env: withDB}).run("help"); err != nil || !strings.Contains(out, "usage: hotlinectl") {
		t.Errorf("help: %v %q", err, out)
	}
}
