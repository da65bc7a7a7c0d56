package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func TestCalendarImportAndShow(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	c := ctl{t: t, env: map[string]string{"HOTLINE_DATABASE_URL": dsn, "USER": "ops"}}
	c.must("migrate")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Before any import, 2027 is provisional: the statute's days, no 调休.
	out := c.must("calendar", "show", "2027")
	for _, want := range []string{"PROVISIONAL", "2027-01-01", "2027-02-05", "元旦", "hotlinectl calendar import"} {
		if !strings.Contains(out, want) {
			t.Errorf("show 2027 before import lacks %q:\n%s", want, out)
		}
	}

	// A malformed file is refused with its line, and nothing changes.
	bad := write("bad-2027.txt", "year 2027\n2027-01-01 off 元旦\n2027-02-30 off 春节\n2027-02-20 work 春节\n")
	_, _, err := c.run("calendar", "import", bad)
	if err == nil || !strings.Contains(err.Error(), "bad-2027.txt:3") || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("malformed import: %v", err)
	}
	badJSON := write("2027.json", "{\n  \"year\": 2027,\n  \"papers\": [\"x\"],\n  \"days\": [\n    {\"name\": \"元旦\", \"date\": \"2027-01-01\"}\n  ]\n}\n")
	_, _, err = c.run("calendar", "import", badJSON)
	if err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("malformed JSON import: %v", err)
	}
	var n int
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM calendar_notices`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after refused imports: %d notices, %v", n, err)
	}
	if out := c.must("calendar", "show", "2027"); !strings.Contains(out, "PROVISIONAL") {
		t.Errorf("a refused import changed 2027:\n%s", out)
	}

	good := write("test-2027.txt", "# test data, not the official notice\nyear 2027\n2027-01-01 off 元旦\n2027-02-05 off 春节\n2027-02-06 off 春节\n2027-02-20 work 春节\n")
	if out := c.must("calendar", "import", good); !strings.Contains(out, "calendar 2027: imported as revision 1 (3 days off, 1 makeup working days)") {
		t.Fatalf("import: %q", out)
	}
	out = c.must("calendar", "show", "2027")
	for _, want := range []string{"official, imported by hotlinectl:ops", "test-2027.txt", "2027-02-20", "周六"} {
		if !strings.Contains(out, want) {
			t.Errorf("show 2027 after import lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PROVISIONAL") {
		t.Errorf("2027 still provisional after import:\n%s", out)
	}
	if out := c.must("calendar", "show", "2026"); !strings.Contains(out, "official, embedded") || !strings.Contains(out, "2026-10-10") {
		t.Errorf("show 2026:\n%s", out)
	}
	if _, _, err := c.run("calendar", "show", "1900"); err == nil {
		t.Error("show 1900 accepted")
	}
}
