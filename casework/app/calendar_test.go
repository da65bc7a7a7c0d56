package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/calendarsync"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
	"github.com/hotline12345/hotline/casework/store"
)

// The cliff: from Friday 2026-12-18 a written transfer (7 working days)
// reached 2026-12-29, which the 2027 notice can move, and answered 503. It now
// succeeds on the statute's provisional days off, marked as such in the case,
// its history and its case.changed event.
func TestTransferOnProvisionalYear(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.now = time.Date(2026, 12, 18, 9, 59, 0, 0, cst) // the clock ticks a minute per use
	c := f.register(t, "路灯不亮")
	c, err := f.svc.Transfer(ctx, agent, c.ID(), app.TransferInput{Lead: "D1"})
	if err != nil {
		t.Fatalf("transfer on 2026-12-18: %v", err)
	}
	// 12-21..25, 12-28, 12-29 (provisional): due at the end of Tuesday 12-29.
	if want := time.Date(2026, 12, 30, 0, 0, 0, 0, cst); !c.Deadline().Equal(want) || !c.DeadlineProvisional() {
		t.Fatalf("deadline %s provisional %v, want %s provisional", c.Deadline(), c.DeadlineProvisional(), want)
	}
	got, err := f.cases.Get(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	h := got.History()
	if last := h[len(h)-1]; last.Action != domain.ActionTransfer || !last.DeadlineProvisional {
		t.Errorf("history %+v: transfer not marked provisional", last)
	}
	if v := got.ViewFor(agent); !v.DeadlineProvisional {
		t.Error("case view not marked provisional")
	}
	var payload []byte
	if err := f.pool.QueryRow(ctx, `SELECT envelope->'payload' FROM case_outbox WHERE envelope->>'case_id' = $1
		AND type = 'case.changed' ORDER BY id DESC LIMIT 1`, c.ID()).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var p event.CaseChangedPayload
	if err := json.Unmarshal(payload, &p); err != nil || !p.DeadlineProvisional || !p.Deadline.Equal(c.Deadline()) {
		t.Errorf("case.changed payload %s (%v): deadline not marked provisional", payload, err)
	}
	var n int
	if n, err = f.cases.CountProvisional(ctx); err != nil || n != 1 {
		t.Errorf("CountProvisional = %d, %v", n, err)
	}
	// A transfer on 2026-12-01 ends on official days and is not marked.
	f.now = time.Date(2026, 12, 1, 10, 0, 0, 0, cst)
	c2, err := f.svc.Transfer(ctx, agent, f.register(t, "井盖缺失").ID(), app.TransferInput{Lead: "D1"})
	if err != nil || c2.DeadlineProvisional() {
		t.Errorf("transfer on 2026-12-01: provisional %v, %v", c2 != nil && c2.DeadlineProvisional(), err)
	}
}

// A dissatisfied callback result arriving as an event in a provisional year
// reopens the case: nothing on the consumer path waits for a notice.
func TestDissatisfiedCallbackInProvisionalYearReopens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.now = time.Date(2027, 3, 1, 9, 0, 0, 0, cst) // 2027 has no official notice in the data
	c := f.completedCase(t)
	if !c.DeadlineProvisional() {
		t.Errorf("deadline %s in 2027 not provisional", c.Deadline())
	}
	env := envelope(t, event.CallbackResult, "node-9.1", "", event.CallbackPayload{CaseNumber: string(c.Number()), Attempt: 1, Result: "dissatisfied"})
	env.Time = time.Date(2027, 3, 8, 10, 0, 0, 0, cst) // the call's time decides the redo's limit
	if err := f.events.Handle(ctx, env); err != nil {
		t.Fatalf("dissatisfied callback in 2027: %v", err)
	}
	got, err := f.cases.Get(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got.State() != domain.StateTransferred || got.Redos() != 1 || !got.DeadlineProvisional() {
		t.Fatalf("after dissatisfied callback: %s, redos %d, provisional %v", got.State(), got.Redos(), got.DeadlineProvisional())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.skipped) != 0 {
		t.Errorf("skipped %v", f.skipped)
	}
}

// test2027 is test data shaped like a notice, not the official one: it moves
// 12-29 and 12-30 of 2026 off (a long New Year bridge), so deadlines through
// them move, and makes the statute's 除夕 (2027-02-05) a working day.
const test2027 = `# test data, not the official notice
year 2027
paper https://example.invalid/test-notice-2027
2026-12-29 off 元旦（测试）
2026-12-30 off 元旦（测试）
2027-01-01 off 元旦（测试）
2027-02-06 off 春节（测试）
2027-02-07 off 春节（测试）
2027-02-08 off 春节（测试）
2027-02-09 off 春节（测试）
2027-02-10 off 春节（测试）
2027-02-20 work 春节（测试）
`

// Importing a notice while casework runs: the syncer rebuilds the calendar,
// recomputes the open provisional deadline with history and a case.changed
// event, shares the calendar on the KV bucket the call service watches, and the
// gauges follow. Real PostgreSQL and JetStream; the injected clock is 2026-12-18.
func TestImportRecomputesProvisionalDeadlines(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	src := calendar.NewSource(cal)
	f.svc = f.serviceOn(t, src)
	f.now = time.Date(2026, 12, 18, 9, 59, 0, 0, cst)
	c, err := f.svc.Transfer(ctx, agent, f.register(t, "供暖不热").ID(), app.TransferInput{Lead: "D1"})
	if err != nil {
		t.Fatal(err)
	}
	before := c.Deadline() // 2026-12-30 00:00, provisional

	bus := natstest.Config(t, natstest.URL())
	nc, err := nats.Connect(bus.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bucket := eventbus.CalendarBucket(bus.Stream)
	// The call service's side: a watcher on the bucket.
	got := make(chan eventbus.CalendarSnapshot, 4)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_ = eventbus.WatchCalendar(wctx, js, bucket, 100*time.Millisecond, zaptest.NewLogger(t), func(s eventbus.CalendarSnapshot) { got <- s })
	}()

	reg := prometheus.NewRegistry()
	metrics := calendarsync.NewMetrics(reg, true)
	calendars := store.NewCalendars(f.pool)
	sync := calendarsync.New(calendarsync.Syncer{Source: src, Imports: calendars, Cases: f.cases, Recompute: f.svc,
		Metrics: metrics, Log: zaptest.NewLogger(t), Clock: func() time.Time { return time.Date(2026, 12, 18, 10, 0, 0, 0, cst) },
		Publish: func(ctx context.Context, s eventbus.CalendarSnapshot) error {
			return eventbus.PublishCalendar(ctx, js, bucket, s)
		}})
	if err := sync.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(metrics.ProvisionalCases()); n != 1 {
		t.Errorf("provisional cases gauge %v before the import, want 1", n)
	}
	if d := testutil.ToFloat64(metrics.DaysUntilProvisionalYear()); d < 13 || d > 14 {
		t.Errorf("days until the provisional year %v on 2026-12-18, want 13.x", d)
	}
	if s := <-got; s.Revision != 0 || len(s.Notices) != 0 {
		t.Errorf("first snapshot %+v, want revision 0 without imports", s)
	}

	n, err := calendar.ParseImport("test-2027.txt", []byte(test2027))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := calendars.Import(ctx, store.ImportInput{Notice: n, Format: calendar.FormatList, FileName: "test-2027.txt",
		Raw: []byte(test2027), By: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sync.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !src.Covers(2027) {
		t.Fatal("imported 2027 not in force")
	}
	after, err := f.cases.Get(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	// 12-21..25, 12-28 (6), 12-29/30 off by the test notice, 12-31 (7): due 2027-01-01 00:00.
	if want := time.Date(2027, 1, 1, 0, 0, 0, 0, cst); !after.Deadline().Equal(want) || after.DeadlineProvisional() {
		t.Fatalf("recomputed deadline %s provisional %v, want %s official", after.Deadline(), after.DeadlineProvisional(), want)
	}
	h := after.History()
	last := h[len(h)-1]
	if last.Action != domain.ActionRecomputeDeadline || last.Details[domain.DetailPreviousDeadline] != before.Format(time.RFC3339) ||
		last.Details[domain.DetailReason] == "" || last.Actor != app.CalendarActor {
		t.Errorf("history entry %+v", last)
	}
	var outbox int
	_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM case_outbox WHERE envelope->>'case_id' = $1 AND type = 'case.changed'
		AND envelope->'payload'->>'action' = 'recompute_deadline'`, c.ID()).Scan(&outbox)
	if outbox != 1 {
		t.Errorf("%d case.changed events for the recomputation, want 1", outbox)
	}
	if n := testutil.ToFloat64(metrics.ProvisionalCases()); n != 0 {
		t.Errorf("provisional cases gauge %v after the import, want 0", n)
	}
	// A second pass, or another casework instance, records nothing more.
	changed, err := f.svc.RecomputeDeadline(ctx, c.ID(), "again")
	if err != nil || changed {
		t.Errorf("second recomputation: changed %v, %v", changed, err)
	}
	select {
	case s := <-got:
		if s.Revision != rec.ID || len(s.Notices) != 1 || s.Notices[0].Year != 2027 {
			t.Errorf("snapshot on the bucket %+v, want revision %d with 2027", s, rec.ID)
		}
		cal, err := s.Calendar()
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := cal.IsWorkingDay(time.Date(2027, 2, 5, 10, 0, 0, 0, cst)); !ok {
			t.Error("the call service's calendar keeps the statute's 除夕 off after the import")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the import never reached the bucket")
	}
}

func (f *fixture) register(t *testing.T, content string) *domain.Case {
	t.Helper()
	c, err := f.svc.Register(context.Background(), agent, app.RegisterInput{
		Content: content, Category: domain.CategoryHelp, Region: "110101", Urgency: domain.UrgencyNormal,
		Confidentiality: domain.ConfidentialityNone, Channel: domain.ChannelPhone, HandlingMode: domain.ModeWrittenTransfer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
