package ari

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJournalSaveLoadRemove(t *testing.T) {
	j, err := NewJournal(filepath.Join(t.TempDir(), "calls"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for i, id := range []string{"b-call", "a-call"} {
		if err := j.Save(&CallRecord{CallID: id, StartedAt: t0.Add(time.Duration(i) * time.Second), Phase: PhaseMenu}); err != nil {
			t.Fatal(err)
		}
	}
	recs, bad, err := j.Load()
	if err != nil || len(bad) != 0 || len(recs) != 2 {
		t.Fatalf("Load = %v, bad %v, err %v", recs, bad, err)
	}
	if recs[0].CallID != "b-call" {
		t.Errorf("records not in order of arrival: %s first", recs[0].CallID)
	}
	if r, ok := j.Get("a-call"); !ok || r.Phase != PhaseMenu {
		t.Errorf("Get(a-call) = %+v, %v", r, ok)
	}
	if err := j.Remove("a-call"); err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Get("a-call"); ok {
		t.Error("removed record still there")
	}
	if err := j.Save(&CallRecord{CallID: "../escape"}); err == nil {
		t.Error("a call ID with a path separator was written")
	}
}

// A damaged record (a truncated write on a full disk, a hand edit) is
// quarantined and the rest loads: the service must start.
func TestJournalQuarantinesDamagedRecords(t *testing.T) {
	j, err := NewJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Save(&CallRecord{CallID: "good", Phase: PhaseQueue}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"truncated.json": `{"call_id":"trunc`,
		"mismatch.json":  `{"call_id":"other"}`,
		"empty.json":     ``,
	}
	for name, body := range cases {
		if err := os.WriteFile(filepath.Join(j.Dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	recs, bad, err := j.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].CallID != "good" {
		t.Fatalf("loaded %+v, want only the good record", recs)
	}
	if len(bad) != len(cases) {
		t.Fatalf("bad = %v, want %d", bad, len(cases))
	}
	for name := range cases {
		if _, err := os.Stat(filepath.Join(j.Dir, name+".bad")); err != nil {
			t.Errorf("%s not quarantined: %v", name, err)
		}
	}
	// A second start does not trip over the quarantined files.
	if _, bad, _ := j.Load(); len(bad) != 0 {
		t.Errorf("second load reports %v", bad)
	}
}

func TestWriteFileSyncReplacesAtomically(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	for _, body := range []string{"one", "two"} {
		if err := WriteFileSync(p, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	if string(b) != "two" {
		t.Fatalf("content %q", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	if err := WriteFileSync(filepath.Join(t.TempDir(), "missing", "x"), nil, 0o640); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}
