package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/app/apptest"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// The contract every app.Repository (the one case repository interface, declared
// where the use cases need it) must keep, run against the PostgreSQL store and
// the in-memory store the unit tests above the store use. Filing inbox items
// (CreateCase's filings) needs the inbox tables and is covered by the voicemail
// and fax store tests.

var (
	cst       = time.FixedZone("CST", 8*3600)
	t0        = time.Date(2026, 3, 2, 9, 0, 0, 0, cst)
	agent     = domain.Actor{ID: "1001", Role: domain.RoleAgent}
	superv    = domain.Actor{ID: "s01", Role: domain.RoleSupervisor}
	unitD1    = domain.Unit{ID: "D1", Name: "东区人民政府", Level: domain.LevelDepartment, ParentID: "C"}
	unitD11   = domain.Unit{ID: "D1-1", Name: "东区城管局", Level: domain.LevelSubUnit, ParentID: "D1"}
	unitD2    = domain.Unit{ID: "D2", Name: "市水务局", Level: domain.LevelDepartment, ParentID: "C"}
	d1Staff   = domain.Actor{ID: "staff-d1", Role: domain.RoleUnit, UnitID: "D1"}
	numberSeq int
	numberMu  sync.Mutex
)

func registration(number string, cat domain.Category) domain.Registration {
	return domain.Registration{
		Number:          domain.CaseNumber(number),
		Caller:          domain.Caller{Name: "张三", Phone: "13800138000", Address: "东区人民路1号"},
		ReceivedAt:      t0,
		Content:         "小区门口道路积水多日无人处理",
		Category:        cat,
		Region:          "110101",
		Urgency:         domain.UrgencyNormal,
		Confidentiality: domain.ConfidentialityNone,
		Channel:         domain.ChannelPhone,
		HandlingMode:    domain.ModeWrittenTransfer,
		QueryCode:       "4711",
	}
}

func nextNumber() string {
	numberMu.Lock()
	defer numberMu.Unlock()
	numberSeq++
	return fmt.Sprintf("20260302%04d", numberSeq)
}

func newCase(t testing.TB, id string) *domain.Case {
	t.Helper()
	c, err := domain.NewCase(id, registration(nextNumber(), domain.CategoryComplaint), agent, t0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func transfer(t testing.TB, c *domain.Case, at time.Time) {
	t.Helper()
	err := c.Transfer(agent, at, domain.TransferOrder{Lead: unitD1, Assisting: []domain.Unit{unitD2},
		Mode: domain.ModeWrittenTransfer, Limit: domain.TimeLimit{Due: at.Add(9 * 24 * time.Hour), WorkingDays: 7}})
	if err != nil {
		t.Fatal(err)
	}
}

// create and update are the plain forms of CreateCase and UpdateCase.
func create(ctx context.Context, r app.Repository, c *domain.Case) error {
	return r.CreateCase(ctx, c, false, nil)
}

func update(ctx context.Context, r app.Repository, id string, fn func(*domain.Case) error) error {
	return r.UpdateCase(ctx, id, func(c *domain.Case, _ bool) ([]event.Envelope, error) { return nil, fn(c) })
}

func repositoryContract(t *testing.T, newRepo func(t *testing.T) app.Repository) {
	ctx := context.Background()

	t.Run("create then get returns the same case", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-get")
		transfer(t, c, t0.Add(time.Hour))
		if err := c.LinkCall(agent, t0.Add(2*time.Hour), "call-1"); err != nil {
			t.Fatal(err)
		}
		want := c.Snapshot()
		if err := create(ctx, r, c); err != nil {
			t.Fatal(err)
		}
		if n := len(c.Pending()); n != 0 {
			t.Fatalf("%d entries still pending after Create", n)
		}
		got, err := r.Get(ctx, "case-get")
		if err != nil {
			t.Fatal(err)
		}
		sameSnapshot(t, got.Snapshot(), want)
		if n := len(got.Pending()); n != 0 {
			t.Fatalf("loaded case has %d pending entries", n)
		}
	})

	t.Run("duplicate ID or number is a conflict", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-dup")
		if err := create(ctx, r, c); err != nil {
			t.Fatal(err)
		}
		again, _ := domain.NewCase("case-dup", registration(nextNumber(), domain.CategoryHelp), agent, t0)
		if err := create(ctx, r, again); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("same ID: %v, want ErrConflict", err)
		}
		sameNumber, _ := domain.NewCase("case-dup-2", registration(string(c.Number()), domain.CategoryHelp), agent, t0)
		if err := create(ctx, r, sameNumber); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("same number: %v, want ErrConflict", err)
		}
	})

	t.Run("unknown case is not found", func(t *testing.T) {
		r := newRepo(t)
		if _, err := r.Get(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Get: %v", err)
		}
		called := false
		err := update(ctx, r, "nope", func(*domain.Case) error { called = true; return nil })
		if !errors.Is(err, domain.ErrNotFound) || called {
			t.Fatalf("Update: %v (fn called: %v)", err, called)
		}
	})

	t.Run("update saves state and appends history", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-upd")
		transfer(t, c, t0.Add(time.Hour))
		if err := create(ctx, r, c); err != nil {
			t.Fatal(err)
		}
		err := update(ctx, r, "case-upd", func(c *domain.Case) error {
			return c.Accept(d1Staff, t0.Add(2*time.Hour), "已签收")
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := r.Get(ctx, "case-upd")
		if got.State() != domain.StateAccepted || got.Version() != 3 {
			t.Fatalf("state %s version %d", got.State(), got.Version())
		}
		h := got.History()
		if h[2].Action != domain.ActionAccept || h[2].Actor != d1Staff || h[2].Note != "已签收" || h[2].Lead != "D1" {
			t.Fatalf("entry 3 = %+v", h[2])
		}
	})

	t.Run("a refused change saves nothing and keeps its error type", func(t *testing.T) {
		r := newRepo(t)
		if err := create(ctx, r, newCase(t, "case-ref")); err != nil {
			t.Fatal(err)
		}
		err := update(ctx, r, "case-ref", func(c *domain.Case) error {
			if err := c.LinkCall(agent, t0.Add(time.Hour), "call-x"); err != nil {
				return err
			}
			return c.Accept(d1Staff, t0.Add(2*time.Hour), "") // registered: not allowed
		})
		var te *domain.TransitionError
		if !errors.As(err, &te) || !errors.Is(err, domain.ErrInvalidTransition) {
			t.Fatalf("err = %v, want a *TransitionError", err)
		}
		got, _ := r.Get(ctx, "case-ref")
		if got.Version() != 1 || len(got.CallIDs()) != 0 {
			t.Fatalf("refused change was saved: version %d calls %v", got.Version(), got.CallIDs())
		}
	})

	t.Run("concurrent updates lose nothing", func(t *testing.T) {
		r := newRepo(t)
		if err := create(ctx, r, newCase(t, "case-conc")); err != nil {
			t.Fatal(err)
		}
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- update(ctx, r, "case-conc", func(c *domain.Case) error {
					return c.LinkCall(agent, t0.Add(time.Duration(i+1)*time.Minute), fmt.Sprintf("call-%02d", i))
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, _ := r.Get(ctx, "case-conc")
		if got.Version() != n+1 || len(got.CallIDs()) != n {
			t.Fatalf("version %d, %d calls; want %d and %d", got.Version(), len(got.CallIDs()), n+1, n)
		}
		for i, e := range got.History() {
			if e.Seq != i+1 {
				t.Fatalf("history seq %d at %d", e.Seq, i)
			}
		}
	})

	t.Run("consent is kept and given to every change", func(t *testing.T) {
		r := newRepo(t)
		for id, consent := range map[string]bool{"case-yes": true, "case-no": false} {
			if err := r.CreateCase(ctx, newCase(t, id), consent, nil); err != nil {
				t.Fatal(err)
			}
			var got *bool
			err := r.UpdateCase(ctx, id, func(c *domain.Case, consent bool) ([]event.Envelope, error) {
				got = &consent
				return nil, c.LinkCall(agent, t0.Add(time.Hour), "call-"+id)
			})
			if err != nil || got == nil || *got != consent {
				t.Fatalf("%s: consent %v in the change, want %v (%v)", id, got, consent, err)
			}
		}
	})

	t.Run("extra events commit with the change", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-extra")
		extra := func(key string) []event.Envelope {
			return []event.Envelope{{ID: store.DerivedEventID("case-extra/"+key, t0), Version: event.Version,
				Type: event.CallbackRequested, Time: t0, Source: "test", CaseID: "case-extra",
				Payload: json.RawMessage(`{"case_number":"x","number":"13800138000"}`)}}
		}
		if err := r.CreateCase(ctx, c, true, extra("create")); err != nil {
			t.Fatal(err)
		}
		err := r.UpdateCase(ctx, "case-extra", func(c *domain.Case, _ bool) ([]event.Envelope, error) {
			return extra("update"), c.LinkCall(agent, t0.Add(time.Hour), "call-1")
		})
		if err != nil {
			t.Fatal(err)
		}
		// A change that fails takes its extra events with it: nothing to see here
		// but the error.
		err = r.UpdateCase(ctx, "case-extra", func(c *domain.Case, _ bool) ([]event.Envelope, error) {
			return extra("refused"), c.Accept(d1Staff, t0.Add(2*time.Hour), "")
		})
		if !errors.Is(err, domain.ErrInvalidTransition) {
			t.Fatalf("refused change: %v", err)
		}
		if got, _ := r.Get(ctx, "case-extra"); got.Version() != 2 {
			t.Fatalf("version %d, want 2", got.Version())
		}
	})

	t.Run("numbers are distinct per day and resolve to their case", func(t *testing.T) {
		r := newRepo(t)
		day := time.Date(2026, 12, 18, 23, 59, 0, 0, cst)
		seen := map[domain.CaseNumber]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				n, err := r.NextNumber(ctx, day)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if seen[n] || !strings.HasPrefix(string(n), "20261218") {
					t.Errorf("number %s (seen before: %v)", n, seen[n])
				}
				seen[n] = true
			})
		}
		wg.Wait()
		// 2026-12-18 16:00 UTC is already the 19th in Shanghai.
		if n, err := r.NextNumber(ctx, time.Date(2026, 12, 18, 16, 0, 0, 0, time.UTC)); err != nil || !strings.HasPrefix(string(n), "20261219") {
			t.Errorf("number dated %s, %v; want the Shanghai day 20261219", n, err)
		}
		c := newCase(t, "case-num")
		if err := create(ctx, r, c); err != nil {
			t.Fatal(err)
		}
		if id, err := r.IDByNumber(ctx, string(c.Number())); err != nil || id != "case-num" {
			t.Errorf("IDByNumber = %q, %v", id, err)
		}
		if _, err := r.IDByNumber(ctx, "209901010001"); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("unknown number: %v, want ErrNotFound", err)
		}
	})

	t.Run("a no-op change appends nothing", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-noop")
		if err := c.LinkCall(agent, t0, "call-1"); err != nil {
			t.Fatal(err)
		}
		if err := create(ctx, r, c); err != nil {
			t.Fatal(err)
		}
		if err := update(ctx, r, "case-noop", func(c *domain.Case) error { return c.LinkCall(agent, t0.Add(time.Hour), "call-1") }); err != nil {
			t.Fatal(err)
		}
		got, _ := r.Get(ctx, "case-noop")
		if got.Version() != 2 {
			t.Fatalf("version %d, want 2", got.Version())
		}
	})
}

func TestPostgresRepositoryContract(t *testing.T) {
	repositoryContract(t, func(t *testing.T) app.Repository { return store.NewCases(pgtest.NewPool(t)) })
}

// The in-memory fake that unit tests use keeps the same contract.
func TestMemoryRepositoryContract(t *testing.T) {
	repositoryContract(t, func(*testing.T) app.Repository { return apptest.NewMemory() })
}

// sameSnapshot compares snapshots as JSON with every timestamp in UTC: the
// database gives instants back in its own zone, which is the same instant.
func sameSnapshot(t *testing.T, got, want domain.Snapshot) {
	t.Helper()
	g, w := normalised(t, got), normalised(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", " ")
		wb, _ := json.MarshalIndent(w, "", " ")
		t.Fatalf("snapshot differs\n got: %s\nwant: %s", gb, wb)
	}
}

func normalised(t *testing.T, s domain.Snapshot) any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return ts.UTC().Format(time.RFC3339Nano)
			}
		}
		return v
	}
	return walk(v)
}

// TestHistoryIsAppendOnly: the database itself refuses to rewrite the record.
func TestHistoryIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if err := create(ctx, store.NewCases(pool), newCase(t, "case-imm")); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`UPDATE case_history SET note = 'edited'`, `DELETE FROM case_history`, `TRUNCATE case_history CASCADE`} {
		if _, err := pool.Exec(ctx, sql); err == nil {
			t.Errorf("%s: accepted", sql)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM case_history WHERE case_id = 'case-imm'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("history rows %d, %v", n, err)
	}
}
