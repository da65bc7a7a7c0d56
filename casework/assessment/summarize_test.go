package assessment

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

var (
	agent      = domain.Actor{ID: "1001", Role: domain.RoleAgent}
	supervisor = domain.Actor{ID: "s01", Role: domain.RoleSupervisor}

	center = domain.Unit{ID: "C", Name: "受理中心", Level: domain.LevelCenter}
	d1     = domain.Unit{ID: "D1", Name: "东区人民政府", Level: domain.LevelDepartment, ParentID: "C"}
	d11    = domain.Unit{ID: "D1-1", Name: "东区城管局", Level: domain.LevelSubUnit, ParentID: "D1"}
	d2     = domain.Unit{ID: "D2", Name: "市水务局", Level: domain.LevelDepartment, ParentID: "C"}
	d3     = domain.Unit{ID: "D3", Name: "市住建局", Level: domain.LevelDepartment, ParentID: "C"}
	d4     = domain.Unit{ID: "D4", Name: "市交通局", Level: domain.LevelDepartment, ParentID: "C"}
)

// run drives one real case through the domain, so the assessment is tested on
// histories exactly as the domain writes them.
type run struct {
	t *testing.T
	c *domain.Case
}

func newRun(t *testing.T, id string, d int) *run {
	t.Helper()
	c, err := domain.NewCase(id, domain.Registration{
		Number: "202404010001", ReceivedAt: day(d), Content: "反映问题", Category: domain.CategoryComplaint,
		Region: "110101", Urgency: domain.UrgencyNormal, Confidentiality: domain.ConfidentialityNone,
		Channel: domain.ChannelPhone, HandlingMode: domain.ModeWrittenTransfer,
	}, agent, day(d))
	if err != nil {
		t.Fatal(err)
	}
	return &run{t: t, c: c}
}

func (r *run) do(err error) *run {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	return r
}

func (r *run) lead() domain.Actor {
	l, _ := r.c.Lead()
	return domain.Actor{ID: "staff-" + l.ID, Role: domain.RoleUnit, UnitID: l.ID}
}

// at is day d plus minute m, to order several actions on one day.
func at(d, m int) time.Time { return day(d).Add(time.Duration(m) * time.Minute) }

func (r *run) transfer(d int, u domain.Unit, mode domain.HandlingMode, dueDay int) *run {
	r.t.Helper()
	return r.do(r.c.Transfer(agent, at(d, 1), domain.TransferOrder{Lead: u, Mode: mode, Limit: domain.TimeLimit{Due: day(dueDay), WorkingDays: 7}}))
}
func (r *run) accept(d int) *run { r.t.Helper(); return r.do(r.c.Accept(r.lead(), at(d, 2), "")) }
func (r *run) passDown(d int, u domain.Unit) *run {
	r.t.Helper()
	return r.do(r.c.PassDown(r.lead(), at(d, 3), u, ""))
}
func (r *run) progress(d int) *run {
	r.t.Helper()
	return r.do(r.c.ReportProgress(r.lead(), at(d, 4), "正在协调"))
}
func (r *run) repeat(d int) *run {
	r.t.Helper()
	return r.do(r.c.RecordRepeat(agent, at(d, 5), "", "群众再次来电"))
}
func (r *run) extend(d, days, newDueDay int) *run {
	r.t.Helper()
	lim := domain.ExtensionLimits{MaxCount: 1, MaxTotalWorkingDays: 30}
	r.do(r.c.RequestExtension(r.lead(), at(d, 6), days, "工程量大", lim))
	return r.do(r.c.ApproveExtension(supervisor, at(d, 7), domain.TimeLimit{Due: day(newDueDay)}, lim, ""))
}
func (r *run) reply(d int) *run {
	r.t.Helper()
	return r.do(r.c.Reply(r.lead(), at(d, 8), "已处理"))
}
func (r *run) complete(d int) *run {
	r.t.Helper()
	return r.do(r.c.Complete(supervisor, at(d, 9), ""))
}
func (r *run) giveBack(d, dueDay int) *run {
	r.t.Helper()
	return r.do(r.c.ReturnForRedo(supervisor, at(d, 9), "不符合要求", domain.TimeLimit{Due: day(dueDay), WorkingDays: 7}))
}
func (r *run) callback(d int, s domain.Satisfaction, redoDueDay int) *run {
	r.t.Helper()
	cb := domain.Callback{Satisfaction: s}
	if s == domain.Dissatisfied {
		cb.Redo = domain.TimeLimit{Due: day(redoDueDay), WorkingDays: 7}
	}
	return r.do(r.c.RecordCallback(agent, at(d, 10), cb))
}
func (r *run) supervise(d int) *run {
	r.t.Helper()
	return r.do(r.c.Supervise(supervisor, at(d, 11), time.Time{}, "督办"))
}
func (r *run) finding(d int, unit string, k domain.FindingKind) *run {
	r.t.Helper()
	return r.do(r.c.RecordFinding(supervisor, at(d, 12), unit, k, "经核实"))
}

func TestSummarizeAttribution(t *testing.T) {
	r := newRun(t, "case-a", 0).
		transfer(1, d1, domain.ModeWrittenTransfer, 10).accept(2).passDown(3, d11).accept(4).
		repeat(5).progress(6).extend(9, 5, 15).reply(16).
		giveBack(17, 25).accept(18).reply(20).complete(21).
		callback(22, domain.Dissatisfied, 30).accept(23).reply(24).complete(25).callback(26, domain.Satisfied, 0).
		finding(27, "D1", domain.FindingShirking)
	got := Summarize(r.c.History())
	if len(got) != 2 || got[0].UnitID != "D1-1" || got[1].UnitID != "D1" {
		t.Fatalf("summaries for %v", got)
	}
	sub := got[0]
	want := []Round{
		// passed down from D1, extended to day 15, replied on day 16, returned.
		{Deadline: day(15), RepliedAt: at(16, 8), Written: true, ReasonGiven: true, RepeatReports: 1, Inadequate: true},
		// redo, replied on time, then the citizen was dissatisfied.
		{Deadline: day(25), RepliedAt: at(20, 8), Written: true, Inadequate: true},
		// reopened, replied on time, satisfied.
		{Deadline: day(30), RepliedAt: at(24, 8), Written: true},
	}
	if len(sub.Rounds) != len(want) {
		t.Fatalf("rounds %+v", sub.Rounds)
	}
	for i := range want {
		g := sub.Rounds[i]
		if !g.Deadline.Equal(want[i].Deadline) || !g.RepliedAt.Equal(want[i].RepliedAt) || g.Written != want[i].Written ||
			g.ReasonGiven != want[i].ReasonGiven || g.RepeatReports != want[i].RepeatReports || g.Inadequate != want[i].Inadequate {
			t.Errorf("round %d = %+v, want %+v", i+1, g, want[i])
		}
	}
	if len(sub.Reviews) != 3 || !sub.Reviews[0].Returned || sub.Reviews[1].Returned {
		t.Errorf("reviews %+v", sub.Reviews)
	}
	if len(sub.Callbacks) != 2 || sub.Callbacks[0].Satisfaction != domain.Dissatisfied {
		t.Errorf("callbacks %+v", sub.Callbacks)
	}
	// The level-2 unit is charged with nothing but the finding against it.
	if parent := got[1]; len(parent.Rounds) != 0 || len(parent.Findings) != 1 || parent.Findings[0].Kind != domain.FindingShirking {
		t.Errorf("D1 summary %+v", parent)
	}
}

func TestSummarizeRetransferDropsWrongUnit(t *testing.T) {
	r := newRun(t, "case-b", 0).transfer(1, d1, domain.ModePhoneTransfer, 4)
	r.do(r.c.Transfer(agent, at(2, 0), domain.TransferOrder{Lead: d2, Mode: domain.ModePhoneTransfer, Limit: domain.TimeLimit{Due: day(6), WorkingDays: 3}}))
	r.accept(3).reply(5)
	got := Summarize(r.c.History())
	if len(got) != 1 || got[0].UnitID != "D2" || got[0].Rounds[0].Written {
		t.Errorf("summaries %+v", got)
	}
	if Summarize(nil) != nil {
		t.Errorf("empty history")
	}
}

// TestQuarterFromHistories builds a quarter of real cases and checks the grounds
// and the ranking end to end.
func TestQuarterFromHistories(t *testing.T) {
	var cases []CaseSummary
	add := func(r *run) { cases = append(cases, Summarize(r.c.History())...) }
	n := 0
	id := func() string { n++; return fmt.Sprintf("case-%02d", n) }

	// D1: passes two cases down to D1-1, which replies late without a word three
	// times (ground 三); D1 itself answers one case on time, satisfied.
	for _, due := range []int{10, 20, 30} {
		add(newRun(t, id(), due-9).transfer(due-8, d1, domain.ModePhoneTransfer, due).accept(due-7).
			passDown(due-7, d11).accept(due-6).reply(due+2).complete(due+3).callback(due+4, domain.Satisfied, 0))
	}
	add(newRun(t, id(), 0).transfer(1, d1, domain.ModeWrittenTransfer, 10).accept(2).reply(8).complete(9).
		callback(10, domain.BasicallySatisfied, 0))

	// D2: returned twice in a row on one case (ground 一), finally accepted.
	add(newRun(t, id(), 0).transfer(1, d2, domain.ModeWrittenTransfer, 10).accept(2).reply(5).
		giveBack(6, 15).accept(7).reply(12).giveBack(13, 20).accept(14).reply(18).complete(19).
		callback(20, domain.Satisfied, 0))

	// D3: written transfer, silent past the deadline, supervised, then a poor
	// reply sent back (ground 二); a second case late but explained (no ground).
	add(newRun(t, id(), 0).transfer(1, d3, domain.ModeWrittenTransfer, 10).accept(2).supervise(12).
		reply(14).giveBack(15, 25).accept(16).reply(22).complete(23).callback(24, domain.Dissatisfied, 35).
		accept(25).reply(30).complete(31))
	add(newRun(t, id(), 40).transfer(41, d3, domain.ModePhoneTransfer, 45).accept(42).progress(44).reply(47).complete(48))

	// D4: the citizen called again while nothing happened (ground 六), and a
	// supervisor found the reply did not match what was done (ground 四).
	add(newRun(t, id(), 50).transfer(51, d4, domain.ModePhoneTransfer, 55).accept(52).repeat(56).reply(60).
		complete(61).finding(70, "D4", domain.FindingInconsistentReply))

	rep, err := Assess(Input{
		Period: q2,
		Units:  []string{"D1", "D1-1", "D2", "D3", "D4", "D5"},
		Cases:  cases,
		DutyLineFailures: []DutyLineFailure{
			{UnitID: "D4", At: day(33), CallID: "call-0433"}, // ground 七
			{UnitID: "D5", At: day(-3), CallID: "call-q1"},   // last quarter
		},
		Rules: DefaultRules(),
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		unit    string
		rank    int
		grounds []Ground
		onTime  Rate
		sat     Rate
	}
	var got []row
	for _, u := range rep.Units {
		var gs []Ground
		for _, h := range u.Grounds {
			gs = append(gs, h.Ground)
		}
		got = append(got, row{u.UnitID, u.Rank, gs, u.OnTimeRate, u.SatisfactionRate})
	}
	byUnit := map[string]row{}
	for _, g := range got {
		byUnit[g.unit] = g
	}
	check := func(unit string, rank int, grounds []Ground, onTime, sat Rate) {
		t.Helper()
		g, ok := byUnit[unit]
		if !ok {
			t.Fatalf("%s missing from the report", unit)
		}
		if g.rank != rank || !slices.Equal(g.grounds, grounds) || g.onTime != onTime || g.sat != sat {
			t.Errorf("%s: rank %d grounds %v on time %v satisfaction %v; want rank %d grounds %v on time %v satisfaction %v",
				unit, g.rank, g.grounds, g.onTime, g.sat, rank, grounds, onTime, sat)
		}
	}
	// D1: no ground, on time and satisfied. Its passed-down cases are charged
	// to D1-1, which replied.
	check("D1", 1, nil, Rate{1, 1}, Rate{1, 1})
	// D2: every reply on time, but returned twice in a row; among the units with
	// one ground it has the best on-time rate.
	check("D2", 2, []Ground{GroundConsecutiveReturns}, Rate{3, 3}, Rate{1, 1})
	// D3: first round late and unexplained, returned → (二); the redo round on
	// time; the reopened round on time; the second case late but explained.
	check("D3", 3, []Ground{GroundWrittenReplyMissing}, Rate{2, 4}, Rate{0, 1})
	// D1-1: three late replies without reason; satisfied citizens do not help.
	check("D1-1", 4, []Ground{GroundLateWithoutReason}, Rate{0, 3}, Rate{3, 3})
	// D4: three grounds, last of the ranked.
	check("D4", 5, []Ground{GroundInconsistentReply, GroundRepeatIgnored, GroundDutyLineUnanswered}, Rate{0, 1}, Rate{})
	// D5: nothing this quarter → not ranked.
	check("D5", 0, nil, Rate{}, Rate{})
	if rep.Units[len(rep.Units)-1].UnitID != "D5" {
		t.Errorf("unranked unit not last")
	}
	if len(rep.Units) != 6 {
		t.Errorf("%d units", len(rep.Units))
	}
}
