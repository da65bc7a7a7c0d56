package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/app/apptest"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// The contract every domain.Repository must keep, run against the PostgreSQL
// store. Another implementation (an in-memory fake for unit tests) is checked by
// calling repositoryContract with its constructor.

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

func repositoryContract(t *testing.T, newRepo func(t *testing.T) domain.Repository) {
	ctx := context.Background()

	t.Run("create then get returns the same case", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-get")
		transfer(t, c, t0.Add(time.Hour))
		if err := c.LinkCall(agent, t0.Add(2*time.Hour), "call-1"); err != nil {
			t.Fatal(err)
		}
		want := c.Snapshot()
		if err := r.Create(ctx, c); err != nil {
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
		if err := r.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		again, _ := domain.NewCase("case-dup", registration(nextNumber(), domain.CategoryHelp), agent, t0)
		if err := r.Create(ctx, again); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("same ID: %v, want ErrConflict", err)
		}
		sameNumber, _ := domain.NewCase("case-dup-2", registration(string(c.Number()), domain.CategoryHelp), agent, t0)
		if err := r.Create(ctx, sameNumber); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("same number: %v, want ErrConflict", err)
		}
	})

	t.Run("unknown case is not found", func(t *testing.T) {
		r := newRepo(t)
		if _, err := r.Get(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("Get: %v", err)
		}
		called := false
		err := r.Update(ctx, "nope", func(*domain.Case) error { called = true; return nil })
		if !errors.Is(err, domain.ErrNotFound) || called {
			t.Fatalf("Update: %v (fn called: %v)", err, called)
		}
	})

	t.Run("update saves state and appends history", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-upd")
		transfer(t, c, t0.Add(time.Hour))
		if err := r.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		err := r.Update(ctx, "case-upd", func(c *domain.Case) error {
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
		if err := r.Create(ctx, newCase(t, "case-ref")); err != nil {
			t.Fatal(err)
		}
		err := r.Update(ctx, "case-ref", func(c *domain.Case) error {
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
		if err := r.Create(ctx, newCase(t, "case-conc")); err != nil {
			t.Fatal(err)
		}
		const n = 12
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- r.Update(ctx, "case-conc", func(c *domain.Case) error {
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

	t.Run("a no-op change appends nothing", func(t *testing.T) {
		r := newRepo(t)
		c := newCase(t, "case-noop")
		if err := c.LinkCall(agent, t0, "call-1"); err != nil {
			t.Fatal(err)
		}
		if err := r.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := r.Update(ctx, "case-noop", func(c *domain.Case) error { return c.LinkCall(agent, t0.Add(time.Hour), "call-1") }); err != nil {
			t.Fatal(err)
		}
		got, _ := r.Get(ctx, "case-noop")
		if got.Version() != 2 {
			t.Fatalf("version %d, want 2", got.Version())
		}
	})
}

func TestPostgresRepositoryContract(t *testing.T) {
	repositoryContract(t, func(t *testing.T) domain.Repository { return store.NewCases(pgtest.NewPool(t)) })
}

// The in-memory fake that unit tests use keeps the same contract.
func TestMemoryRepositoryContract(t *testing.T) {
	repositoryContract(t, func(*testing.T) domain.Repository { return apptest.NewMemory() })
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
	if err := store.NewCases(pool).Create(ctx, newCase(t, "case-imm")); err != nil {
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
