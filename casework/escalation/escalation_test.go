package escalation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/escalation"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

var (
	cst    = time.FixedZone("CST", 8*3600)
	agent  = domain.Actor{ID: "1001", Role: domain.RoleAgent}
	superv = domain.Actor{ID: "s01", Role: domain.RoleSupervisor}
	unitD1 = domain.Unit{ID: "D1", Name: "东区人民政府", Level: domain.LevelDepartment, ParentID: "C"}
)

func rules(t testing.TB) escalation.Rules {
	t.Helper()
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(policy.Default)
	if err != nil {
		t.Fatal(err)
	}
	return escalation.Rules{Policy: p, Calendar: cal}
}

// seed creates a case transferred at at with a 7-working-day limit and the given
// number of manual reminders.
func seed(t testing.TB, cases *store.Cases, r escalation.Rules, i int, at time.Time, reminders int) string {
	t.Helper()
	id := fmt.Sprintf("case-%04d", i)
	reg := domain.Registration{
		Number: domain.CaseNumber(fmt.Sprintf("20260302%04d", i)), ReceivedAt: at, Content: "路灯不亮",
		Category: domain.CategoryComplaint, Region: "110101", Urgency: domain.UrgencyNormal,
		Confidentiality: domain.ConfidentialityNone, Channel: domain.ChannelPhone, HandlingMode: domain.ModeWrittenTransfer,
	}
	c, err := domain.NewCase(id, reg, agent, at)
	if err != nil {
		t.Fatal(err)
	}
	due, err := r.Calendar.AddWorkingDays(at, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Transfer(agent, at, domain.TransferOrder{Lead: unitD1, Mode: domain.ModeWrittenTransfer,
		Limit: domain.TimeLimit{Due: due, WorkingDays: 7}}); err != nil {
		t.Fatal(err)
	}
	for k := range reminders {
		if err := c.Remind(superv, at.Add(time.Duration(k+1)*time.Minute), "请抓紧"); err != nil {
			t.Fatal(err)
		}
	}
	if err := cases.CreateCase(context.Background(), c, false, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestTwoSchedulersFireEachEscalationExactlyOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	r := rules(t)
	cases := store.NewCases(pool, store.WithDue(r.Due))
	now := time.Date(2026, 4, 20, 10, 0, 0, 0, cst)

	const overdue, nagged, notDue = 60, 20, 15
	i := 0
	for range overdue { // transferred a month ago: reminder and supervision (overdue) due
		i++
		seed(t, cases, r, i, time.Date(2026, 3, 16, 9, 0, 0, 0, cst), 0)
	}
	for range nagged { // deadline ahead, two reminders already: supervision (reminders) due
		i++
		seed(t, cases, r, i, now.Add(-time.Hour), 2)
	}
	for range notDue { // deadline ahead, nothing yet
		i++
		seed(t, cases, r, i, now.Add(-time.Hour), 0)
	}

	reg := prometheus.NewRegistry()
	metrics := escalation.NewMetrics(reg)
	newScheduler := func() *escalation.Scheduler {
		return &escalation.Scheduler{Store: cases, Rules: r, Metrics: metrics, Log: zaptest.NewLogger(t),
			Clock: func() time.Time { return now }, Batch: 7}
	}
	var wg sync.WaitGroup
	results := make([]escalation.Result, 2)
	for k := range 2 {
		s := newScheduler()
		wg.Go(func() {
			for range 3 {
				res, err := s.RunOnce(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				results[k].Reminders += res.Reminders
				results[k].Supervisions += res.Supervisions
				results[k].Failed += res.Failed
			}
		})
	}
	wg.Wait()

	if got := results[0].Reminders + results[1].Reminders; got != overdue {
		t.Errorf("reminders fired %d (%+v), want %d", got, results, overdue)
	}
	if got := results[0].Supervisions + results[1].Supervisions; got != overdue+nagged {
		t.Errorf("supervisions fired %d (%+v), want %d", got, results, overdue+nagged)
	}
	if results[0].Failed+results[1].Failed != 0 {
		t.Errorf("failures: %+v", results)
	}
	count := func(q string) int {
		var n int
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The history is the truth: at most one automatic entry of each kind per case.
	if n := count(`SELECT count(*) FROM (SELECT case_id, action FROM case_history WHERE actor_id = 'scheduler'
		GROUP BY case_id, action HAVING count(*) > 1) d`); n != 0 {
		t.Errorf("%d cases escalated twice", n)
	}
	if n := count(`SELECT count(*) FROM case_history WHERE actor_id = 'scheduler' AND action = 'remind'`); n != overdue {
		t.Errorf("remind entries %d, want %d", n, overdue)
	}
	if n := count(`SELECT count(*) FROM case_history WHERE actor_id = 'scheduler' AND action = 'supervise'`); n != overdue+nagged {
		t.Errorf("supervise entries %d, want %d", n, overdue+nagged)
	}
	// Every entry is in the outbox once, under its derived event ID.
	if n := count(`SELECT count(*) FROM case_outbox o JOIN case_history h ON h.actor_id = 'scheduler'
		AND o.envelope->>'case_id' = h.case_id AND (o.envelope->'payload'->>'seq')::int = h.seq`); n != 2*overdue+nagged {
		t.Errorf("outbox has %d scheduler events, want %d", n, 2*overdue+nagged)
	}
	if n := count(`SELECT count(*) FROM cases WHERE due_at <= '2026-04-20T10:00:00+08:00'`); n != 0 {
		t.Errorf("%d cases still due", n)
	}
	if got := testutil.ToFloat64(metrics.Overdue()); got != overdue {
		t.Errorf("overdue gauge %v, want %d", got, overdue)
	}

	// Later passes find nothing new.
	res, err := newScheduler().RunOnce(ctx)
	if err != nil || res != (escalation.Result{}) {
		t.Fatalf("second pass: %+v, %v", res, err)
	}
}
