package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func registerInput() app.RegisterInput {
	return app.RegisterInput{
		Caller: domain.Caller{Name: "张三", Phone: "13800138000"}, Content: "小区门口道路积水多日无人处理",
		Category: domain.CategoryComplaint, Region: "110101", Urgency: domain.UrgencyNormal,
		Confidentiality: domain.ConfidentialityNone, Channel: domain.ChannelPhone,
		HandlingMode: domain.ModeWrittenTransfer, CallID: "node-1.1", CallbackConsent: true,
	}
}

// BenchmarkRegister measures registration end to end in the store (number,
// case row, history, calls, outbox in one transaction), sequentially and from
// 8 goroutines, against a baseline in the same run: one INSERT of a row of the
// same size in its own transaction, the floor any durable registration pays.
func BenchmarkRegister(b *testing.B) {
	pool := pgtest.NewPool(b)
	fx := newServiceOn(b, pool)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, body jsonb NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(registerInput())
	baseline := func(n int) time.Duration {
		start := time.Now()
		for range n {
			if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO bench_baseline (body) VALUES ($1)`, body)
				return err
			}); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / time.Duration(n)
	}
	base := baseline(500)
	agentActor := domain.Actor{ID: "1001", Role: domain.RoleAgent}
	b.Run("sequential", func(b *testing.B) {
		start := time.Now()
		n := 0
		for b.Loop() {
			if _, err := fx.Register(ctx, agentActor, registerInput()); err != nil {
				b.Fatal(err)
			}
			n++
		}
		per := time.Since(start) / time.Duration(n)
		b.ReportMetric(float64(time.Second)/float64(per), "regs/s")
		b.ReportMetric(float64(per)/float64(base), "x-baseline")
		b.ReportMetric(float64(base.Microseconds()), "baseline-µs")
	})
	b.Run("parallel8", func(b *testing.B) {
		b.SetParallelism(4) // 4 x GOMAXPROCS(2) = 8 concurrent registrations
		var n atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := fx.Register(ctx, agentActor, registerInput()); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
		b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "regs/s")
	})
}

// newServiceOn is the service on pool with the real calendar, the default
// policy and the wall clock.
func newServiceOn(tb testing.TB, pool *pgxpool.Pool) *app.Service {
	tb.Helper()
	cal, err := calendar.Load()
	if err != nil {
		tb.Fatal(err)
	}
	prof, err := policy.Load(policy.Default)
	if err != nil {
		tb.Fatal(err)
	}
	return app.New(app.Config{Repo: store.NewCases(pool), Policy: prof, Calendar: cal,
		Units: func(context.Context, string) (domain.Unit, error) { return domain.Unit{}, domain.ErrNotFound }})
}

// assessCases is HOTLINE_BENCH_CASES (default 100000).
func assessCases(b *testing.B) int {
	if s := os.Getenv("HOTLINE_BENCH_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("HOTLINE_BENCH_CASES=%q: want an integer >= 1000", s)
		}
		return n
	}
	return 100_000
}

// loadQuarter bulk-loads n cases registered in Q1 2026 with five to seven
// history entries each (register, transfer, accept, reply, complete, callback,
// sometimes a return for redo), led by 200 units, a quarter of them late.
func loadQuarter(b *testing.B, pool *pgxpool.Pool, n int) {
	b.Helper()
	ctx := context.Background()
	q1 := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	span := 85 * 24 * time.Hour
	var cases, hist [][]any
	flush := func() {
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"cases"}, []string{"id", "number", "state", "category", "region",
			"urgency", "confidentiality", "channel", "mode", "protected", "lead_unit", "round", "deadline", "content",
			"received_at", "created_at", "updated_at", "version", "snapshot"}, pgx.CopyFromRows(cases)); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"case_history"}, []string{"case_id", "seq", "at", "actor_id",
			"actor_role", "actor_unit", "action", "from_state", "to_state", "lead_unit", "deadline", "details", "note"},
			pgx.CopyFromRows(hist)); err != nil {
			b.Fatal(err)
		}
		cases, hist = cases[:0], hist[:0]
	}
	for i := range n {
		id := fmt.Sprintf("q-%08d", i)
		unit := fmt.Sprintf("U%03d", i%200)
		t := q1.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		deadline := t.Add(9 * 24 * time.Hour)
		replied := t.Add(3 * 24 * time.Hour)
		if i%4 == 0 {
			replied = deadline.Add(24 * time.Hour)
		}
		seq := 0
		add := func(at time.Time, actor, role, actorUnit, action, from, to, lead string, dl *time.Time, details map[string]string) {
			seq++
			var d []byte
			if details != nil {
				d, _ = json.Marshal(details)
			}
			hist = append(hist, []any{id, seq, at, actor, role, nullIf(actorUnit), action, nullIf(from), to, nullIf(lead), dl, d, nil})
		}
		add(t, "1001", "agent", "", "register", "", "registered", "", nil, map[string]string{"category": "complaint"})
		add(t.Add(time.Hour), "1001", "agent", "", "transfer", "registered", "transferred", unit, &deadline,
			map[string]string{"unit": unit, "mode": "written_transfer", "working_days": "7"})
		add(t.Add(2*time.Hour), "u", "unit", unit, "accept", "transferred", "accepted", unit, &deadline, nil)
		if i%10 == 0 {
			add(replied.Add(-time.Hour), "u", "unit", unit, "reply", "accepted", "replied", unit, &deadline, map[string]string{"on_time": "true"})
			d2 := replied.Add(7 * 24 * time.Hour)
			add(replied, "s01", "supervisor", "", "return_for_redo", "replied", "transferred", unit, &d2, map[string]string{"reason": "不到位"})
			add(replied.Add(time.Hour), "u", "unit", unit, "accept", "transferred", "accepted", unit, &d2, nil)
		}
		add(replied.Add(2*time.Hour), "u", "unit", unit, "reply", "accepted", "replied", unit, &deadline, nil)
		add(replied.Add(3*time.Hour), "s01", "supervisor", "", "complete", "replied", "completed", unit, &deadline, nil)
		sat := "satisfied"
		if i%7 == 0 {
			sat = "basically_satisfied"
		}
		end := replied.Add(26 * time.Hour)
		add(end, "1001", "agent", "", "callback", "completed", "closed", unit, &deadline, map[string]string{"satisfaction": sat})
		cases = append(cases, []any{id, fmt.Sprintf("20260101%08d", i), "closed", "complaint", "110101", "normal", "none",
			"phone", "written_transfer", false, unit, 1, deadline, "路灯不亮", t, t, end, seq, []byte(`{}`)})
		if len(cases) == 5000 {
			flush()
		}
	}
	if len(cases) > 0 {
		flush()
	}
	if _, err := pool.Exec(ctx, `ANALYZE cases; ANALYZE case_history`); err != nil {
		b.Fatal(err)
	}
}

func nullIf(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// BenchmarkAssessQuarter assesses Q1 2026 over n cases (all of the quarter) and
// reports cases per second and the ratio to a baseline in the same run: streaming
// the same histories out of PostgreSQL without assessing them.
func BenchmarkAssessQuarter(b *testing.B) {
	n := assessCases(b)
	pool := pgtest.NewPool(b)
	loadQuarter(b, pool, n)
	f := store.NewCases(pool)
	ctx := context.Background()
	assessor := app.Assessor{Feed: f, Clock: func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, cst) }}
	q1 := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	start := time.Now()
	seen := 0
	if err := f.AssessmentHistories(ctx, q1, q1.AddDate(0, 3, 0), func(string, []domain.HistoryEntry) error { seen++; return nil }); err != nil {
		b.Fatal(err)
	}
	base := time.Since(start)
	if seen != n {
		b.Fatalf("baseline streamed %d cases, want %d", seen, n)
	}
	var per time.Duration
	runs := 0
	for b.Loop() {
		s := time.Now()
		rep, err := assessor.Quarter(ctx, 2026, 1)
		if err != nil {
			b.Fatal(err)
		}
		per += time.Since(s)
		runs++
		if len(rep.Units) != 200 {
			b.Fatalf("%d units", len(rep.Units))
		}
	}
	per /= time.Duration(runs)
	b.ReportMetric(float64(n)/per.Seconds(), "cases/s")
	b.ReportMetric(float64(per)/float64(base), "x-stream-baseline")
	b.ReportMetric(base.Seconds(), "baseline-s")
	b.ReportMetric(float64(n), "cases")
}
