package escalation_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// benchCases is the number of open cases the due-scan benchmark loads:
// HOTLINE_BENCH_CASES (default 100000; set 1000000 for the figure of the issue).
func benchCases(b *testing.B) int {
	if s := os.Getenv("HOTLINE_BENCH_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("HOTLINE_BENCH_CASES=%q: want an integer >= 1000", s)
		}
		return n
	}
	return 100_000
}

// loadOpenCases bulk-loads n open cases with COPY: deadlines spread over the
// next 30 days, reminders a day before, 1 in 100 already due at now. The
// snapshot is a stub: the scan only reads the index and IDs.
func loadOpenCases(b *testing.B, pool *pgxpool.Pool, n int, now time.Time) {
	b.Helper()
	ctx := context.Background()
	rows := make([][]any, 0, 10_000)
	flush := func() {
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"cases"}, []string{"id", "number", "state", "category", "region",
			"urgency", "confidentiality", "channel", "mode", "protected", "lead_unit", "round", "deadline", "content",
			"received_at", "created_at", "updated_at", "version", "remind_at", "supervise_at", "due_at", "snapshot"},
			pgx.CopyFromRows(rows))
		if err != nil {
			b.Fatal(err)
		}
		rows = rows[:0]
	}
	for i := range n {
		created := now.Add(-time.Duration(i%(30*24)) * time.Hour)
		deadline := now.Add(time.Duration(i%(30*24)+1) * time.Hour)
		remind := deadline.Add(-24 * time.Hour)
		if i%100 == 0 {
			remind = now.Add(-time.Duration(i%1000) * time.Second) // due
		}
		supervise := deadline.Add(time.Microsecond)
		due := remind
		state := "transferred"
		if i%2 == 0 {
			state = "accepted"
		}
		rows = append(rows, []any{fmt.Sprintf("bench-%08d", i), fmt.Sprintf("20260302%08d", i), state, "complaint",
			"110101", "normal", "none", "phone", "written_transfer", false, fmt.Sprintf("U%03d", i%200), 1, deadline,
			"路灯不亮", created, created, created, 2, remind, supervise, due, []byte(`{}`)})
		if len(rows) == cap(rows) {
			flush()
		}
	}
	if len(rows) > 0 {
		flush()
	}
	if _, err := pool.Exec(ctx, `ANALYZE cases`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEscalation loads the open cases once and times, over them, the
// scheduler's due-scan query (the SKIP LOCKED batch of 100 off the due index; its
// p99, and the same query with index scans disabled as the baseline in the same
// run) and the overdue gauge's count.
func BenchmarkEscalation(b *testing.B) {
	n := benchCases(b)
	pool := pgtest.NewPool(b)
	now := time.Date(2026, 4, 20, 10, 0, 0, 0, cst)
	loadOpenCases(b, pool, n, now)
	ctx := context.Background()
	scan := func(b *testing.B, seq bool) time.Duration {
		tx, err := pool.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if seq {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		rows, err := tx.Query(ctx, `SELECT id FROM cases WHERE due_at <= $1 ORDER BY due_at LIMIT 100 FOR UPDATE SKIP LOCKED`, now)
		if err != nil {
			b.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) != 100 {
			b.Fatalf("scan: %d ids, %v", len(ids), err)
		}
		return time.Since(start)
	}
	b.Run("due_scan", func(b *testing.B) {
		var base []time.Duration
		for range 5 {
			base = append(base, scan(b, true))
		}
		var lat []time.Duration
		for b.Loop() {
			lat = append(lat, scan(b, false))
		}
		slices.Sort(lat)
		slices.Sort(base)
		p99 := lat[min(len(lat)-1, len(lat)*99/100)]
		b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(base[len(base)/2].Microseconds()), "seqscan-p50-µs")
		b.ReportMetric(float64(base[len(base)/2])/float64(p99), "seqscan/p99")
		b.ReportMetric(float64(n), "cases")
	})
	b.Run("overdue_count", func(b *testing.B) {
		for b.Loop() {
			var c int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE state IN ('transferred', 'accepted') AND deadline < $1`,
				now.Add(24*time.Hour)).Scan(&c); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "cases")
	})
}
