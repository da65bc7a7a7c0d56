package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/desk"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// withStdin makes the next commands read pw from stdin.
func withStdin(t *testing.T, pw string) {
	old := stdin
	stdin = strings.NewReader(pw)
	t.Cleanup(func() { stdin = old })
}

// TestUserPasswords: an agent with a sign-in password in one command, a first
// admin with a sign-in name, a new password; bad passwords create nobody.
func TestUserPasswords(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	c := ctl{t: t, env: map[string]string{"HOTLINE_DATABASE_URL": dsn, "USER": "ops"}}
	c.must("migrate")
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sessions := store.NewSessions(pool)
	check := func(login, pw string, want bool) {
		t.Helper()
		rec, err := sessions.ByLogin(ctx, login)
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		ok, err := desk.VerifyPassword(rec.PasswordHash, pw)
		if err != nil || ok != want {
			t.Errorf("%s with %q: %v, %v; want %v", login, pw, ok, err, want)
		}
	}

	withStdin(t, "first-password-1\n")
	c.must("user", "add", "--name", "张三", "--role", "agent", "--staff", "1005", "--password-stdin")
	check("1005", "first-password-1", true)
	withStdin(t, "admin-password-1\n")
	c.must("user", "add", "--name", "管理员", "--role", "admin", "--login", "admin", "--password-stdin")
	check("Admin", "admin-password-1", true)
	withStdin(t, "second-password\n")
	c.must("user", "passwd", "--staff", "1005")
	check("1005", "first-password-1", false)
	check("1005", "second-password", true)

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"short password", "short\n", []string{"user", "add", "--name", "李四", "--role", "agent", "--staff", "1006", "--password-stdin"}, "at least 10"},
		{"no password", "", []string{"user", "add", "--name", "李四", "--role", "agent", "--staff", "1006", "--password-stdin"}, "no password on stdin"},
		{"login without password", "", []string{"user", "add", "--name", "李四", "--role", "admin", "--login", "li"}, "--login needs --password-stdin"},
		{"bad login", "long-enough-pw\n", []string{"user", "add", "--name", "李四", "--role", "admin", "--login", "李四", "--password-stdin"}, "--login"},
		{"unknown staff", "long-enough-pw\n", []string{"user", "passwd", "--staff", "4040"}, "no agent"},
		{"both user and staff", "long-enough-pw\n", []string{"user", "passwd", "--staff", "1005", "--user", "x"}, "give --user or --staff"},
	} {
		withStdin(t, tc.stdin)
		if _, _, err := c.run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE staff_number = '1006' OR login = 'li'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("refused commands created %d users (%v)", n, err)
	}
}
