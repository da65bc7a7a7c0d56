package store_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// BenchmarkReportsOnManyCases times the C11 reports for one month on a
// case file of HOTLINE_BENCH_CASES cases (default 1,000,000) spread over a
// year, each with three history entries, as the supervisor's report page asks
// for them. The data is generated in SQL (a minute or two for a million).
func BenchmarkReportsOnManyCases(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("HOTLINE_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	pool := pgtest.NewPool(b)
	start := time.Now()
	for _, sql := range []string{
		`INSERT INTO units (id, name, level, active) VALUES ('center', '12345热线中心', 1, true)`,
		`INSERT INTO units (id, name, level, parent_id, active) SELECT 'u' || i, '单位' || i, 2, 'center', true FROM generate_series(1, 40) i`,
		`INSERT INTO cases (id, number, state, category, region, urgency, confidentiality, channel, mode, protected,
			lead_unit, round, deadline, caller_phone, content, received_at, created_at, updated_at, version, snapshot)
		SELECT 'c' || i, to_char(t, 'YYYYMMDD') || lpad(i::text, 8, '0'),
			(ARRAY['transferred','accepted','replied','completed','closed','archived'])[1 + i % 6],
			(ARRAY['inquiry','help','complaint','report','suggestion','praise'])[1 + i % 6],
			'1101' || lpad((1 + i % 16)::text, 2, '0'), 'normal', 'none', 'phone', 'written_transfer', i % 6 = 3,
			'u' || (1 + i % 40), 1, t + interval '9 days', '138' || lpad((i % 100000000)::text, 8, '0'), '诉求内容',
			t, t, t + interval '1 day', 3, '{}'
		FROM (SELECT i, timestamptz '2026-01-01 08:00+08' + (i % 365) * interval '1 day' + (i % 600) * interval '1 minute' AS t
			FROM generate_series(1, ` + strconv.Itoa(n) + `) i) g`,
		`INSERT INTO case_history (case_id, seq, at, actor_id, actor_role, action, from_state, to_state, lead_unit, deadline)
		SELECT c.id, s.seq, c.created_at + s.seq * interval '1 hour', CASE s.seq WHEN 3 THEN 'staff-' || c.lead_unit ELSE '1001' END,
			CASE s.seq WHEN 3 THEN 'unit' ELSE 'agent' END,
			(ARRAY['register','transfer','accept'])[s.seq], NULLIF((ARRAY['','registered','transferred'])[s.seq], ''),
			(ARRAY['registered','transferred','accepted'])[s.seq], c.lead_unit, c.deadline
		FROM cases c CROSS JOIN generate_series(1, 3) AS s(seq)`,
		`ANALYZE`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d cases, %d history entries generated in %v", n, 3*n, time.Since(start).Round(time.Second))
	cases := store.NewCases(pool)
	cst := time.FixedZone("CST", 8*3600)
	from, to := time.Date(2026, 6, 1, 0, 0, 0, 0, cst), time.Date(2026, 7, 1, 0, 0, 0, 0, cst)
	b.ResetTimer()
	b.Run("business-month", func(b *testing.B) {
		for b.Loop() {
			if _, err := cases.BusinessReport(ctx, from, to, to); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("staff-month", func(b *testing.B) {
		for b.Loop() {
			if _, err := cases.StaffReport(ctx, from, to); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("calls-month", func(b *testing.B) {
		for b.Loop() {
			if _, err := cases.CallReport(ctx, from, to); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("business-day", func(b *testing.B) {
		for b.Loop() {
			if _, err := cases.BusinessReport(ctx, from, from.Add(24*time.Hour), to); err != nil {
				b.Fatal(err)
			}
		}
	})
}
