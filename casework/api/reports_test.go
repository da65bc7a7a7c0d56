package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
)

func TestReports(t *testing.T) {
	e := newCaseEnv(t)
	ctx := context.Background()
	a := e.register(registerBody)
	e.register(registerBody)
	e.register(strings.Replace(registerBody, `"category":"complaint"`, `"category":"inquiry"`, 1))
	e.act("agent", a.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	e.act("agent", a.ID, "repeats", `{"note":"再次来电"}`, 200)

	es := store.NewEventStore(e.pool)
	start := time.Date(2026, 3, 2, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	for _, ev := range []struct {
		typ     event.Type
		at      time.Time
		payload any
	}{
		{event.CallStarted, start, event.CallStartedPayload{Caller: "13900139000", Called: "12345", Direction: "inbound"}},
		{event.AgentAnswered, start.Add(20 * time.Second), event.AgentAnsweredPayload{StaffNumber: "1001", WaitMS: 20000}},
		{event.ThreeWayJoined, start.Add(time.Minute), event.ThreeWayPayload{UnitID: "dongcheng", DutyLine: "PJSIP/8801@dutylines"}},
		{event.CallEnded, start.Add(3 * time.Minute), event.CallEndedPayload{StartedAt: start, AnsweredAt: start.Add(20 * time.Second),
			EndedAt: start.Add(3 * time.Minute), DurationMS: 180000, HangupBy: "caller", HangupCause: 16, Outcome: "agent"}},
	} {
		env, err := event.New(ev.typ, "test", "node-1.42", ev.payload)
		if err != nil {
			t.Fatal(err)
		}
		env.Time = ev.at
		if err := es.Handle(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	var biz store.BusinessReport
	r := e.do("supervisor", "GET", "/api/v1/reports/business?period=day&date=2026-03-02", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r.decode(t, &biz)
	if biz.Registered != 3 || len(biz.ByCategory) != 2 || biz.ByCategory[0] != (store.Count{Key: "complaint", N: 2}) ||
		len(biz.ByUnit) != 1 || biz.ByUnit[0].Key != "dongcheng" || len(biz.Trend) != 1 || len(biz.Recurring) != 1 {
		t.Errorf("business report %s", r.body)
	}
	var calls store.CallReport
	r = e.do("supervisor", "GET", "/api/v1/reports/calls?period=month&date=2026-03-15", "")
	r.decode(t, &calls)
	if r.status != 200 || calls.Total != 1 || calls.Answered != 1 || calls.Transferred != 1 || calls.TotalDurationMS != 180000 {
		t.Errorf("call report %d %s", r.status, r.body)
	}
	var staff struct {
		Staff []store.StaffLine `json:"staff"`
	}
	r = e.do("supervisor", "GET", "/api/v1/reports/staff?period=week&date=2026-03-04", "")
	r.decode(t, &staff)
	if r.status != 200 || len(staff.Staff) != 1 || staff.Staff[0] != (store.StaffLine{StaffNumber: "1001", Calls: 1, TalkMS: 160000, CasesHandled: 3}) {
		t.Errorf("staff report %d %s", r.status, r.body)
	}
	if r := e.do("dongcheng", "GET", "/api/v1/reports/business", ""); r.status != 403 {
		t.Errorf("unit reading reports: %d", r.status)
	}
	if r := e.do("supervisor", "GET", "/api/v1/reports/business?period=year", ""); r.status != 400 {
		t.Errorf("bad period: %d", r.status)
	}
}
