package assessment

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

var (
	cst = time.FixedZone("CST", 8*3600)
	q2  = Period{From: time.Date(2024, 4, 1, 0, 0, 0, 0, cst), To: time.Date(2024, 7, 1, 0, 0, 0, 0, cst)}
)

// day is a time in Q2 2024: day(0) is 1 April 09:00, negative days fall in Q1,
// day(91) and later in Q3.
func day(n int) time.Time { return q2.From.Add(9*time.Hour).AddDate(0, 0, n) }

func TestQuarter(t *testing.T) {
	p, err := Quarter(2024, 2, cst)
	if err != nil || !p.From.Equal(q2.From) || !p.To.Equal(q2.To) {
		t.Fatalf("Quarter(2024, 2) = %v, %v", p, err)
	}
	p4, _ := Quarter(2024, 4, cst)
	if !p4.To.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, cst)) {
		t.Errorf("Q4 ends %v", p4.To)
	}
	// The boundary is local midnight: 1 April 00:30 in the city is Q2 although UTC
	// still says 31 March.
	if p.Contains(time.Date(2024, 3, 31, 23, 30, 0, 0, cst)) || !p.Contains(time.Date(2024, 4, 1, 0, 30, 0, 0, cst)) {
		t.Errorf("quarter boundary in local time")
	}
	for _, q := range []int{0, 5} {
		if _, err := Quarter(2024, q, cst); err == nil {
			t.Errorf("Quarter(2024, %d) accepted", q)
		}
	}
	if _, err := Quarter(2024, 1, nil); err == nil {
		t.Errorf("nil location accepted")
	}
}

func TestGroundCodesAndLabels(t *testing.T) {
	if len(Grounds()) != 7 {
		t.Fatalf("%d grounds, want the seven of 002 三", len(Grounds()))
	}
	for i, g := range Grounds() {
		if g.Number() != i+1 || g.Code() == "" || g.Label() == "" {
			t.Errorf("ground %d: %d %q %q", i+1, g.Number(), g.Code(), g.Label())
		}
		b, err := json.Marshal(g)
		var back Ground
		if err != nil || json.Unmarshal(b, &back) != nil || back != g {
			t.Errorf("ground %v does not round-trip: %s %v", g, b, err)
		}
	}
	if Ground(0).Code() != "" || Ground(8).Label() != "" {
		t.Errorf("out-of-range grounds have names")
	}
}

// late is a round due on day d that was never replied.
func late(d int) Round { return Round{Deadline: day(d)} }

// onTime is a round due on day d replied a day early.
func onTime(d int) Round { return Round{Deadline: day(d), RepliedAt: day(d - 1)} }

func TestGrounds(t *testing.T) {
	one := func(rounds ...Round) []CaseSummary {
		var out []CaseSummary
		for i, r := range rounds {
			out = append(out, CaseSummary{CaseID: "c" + string(rune('a'+i)), UnitID: "U", Rounds: []Round{r}})
		}
		return out
	}
	tests := []struct {
		name     string
		cases    []CaseSummary
		failures []DutyLineFailure
		want     []Ground
		evidence map[Ground][]string
	}{
		{"nothing wrong", one(onTime(10), onTime(20)), nil, nil, nil},

		// （一）
		{"two consecutive returns", []CaseSummary{{CaseID: "c1", UnitID: "U", Reviews: []Review{
			{At: day(5), Returned: true}, {At: day(15), Returned: true}}}}, nil,
			[]Ground{GroundConsecutiveReturns}, map[Ground][]string{GroundConsecutiveReturns: {"c1"}}},
		{"returns with an accepted review between", []CaseSummary{{CaseID: "c1", UnitID: "U", Reviews: []Review{
			{At: day(5), Returned: true}, {At: day(10)}, {At: day(15), Returned: true}}}}, nil, nil, nil},
		{"streak begun last quarter", []CaseSummary{{CaseID: "c1", UnitID: "U", Reviews: []Review{
			{At: day(-5), Returned: true}, {At: day(5), Returned: true}}}}, nil,
			[]Ground{GroundConsecutiveReturns}, nil},
		{"streak wholly last quarter", []CaseSummary{{CaseID: "c1", UnitID: "U", Reviews: []Review{
			{At: day(-15), Returned: true}, {At: day(-5), Returned: true}}}}, nil, nil, nil},
		{"returns on two different cases are not consecutive", []CaseSummary{
			{CaseID: "c1", UnitID: "U", Reviews: []Review{{At: day(5), Returned: true}}},
			{CaseID: "c2", UnitID: "U", Reviews: []Review{{At: day(6), Returned: true}}}}, nil, nil, nil},

		// （三）
		{"three late without reason", one(late(10), late(20), Round{Deadline: day(30), RepliedAt: day(31)}), nil,
			[]Ground{GroundLateWithoutReason}, map[Ground][]string{GroundLateWithoutReason: {"ca", "cb", "cc"}}},
		{"two late without reason", one(late(10), late(20), onTime(30)), nil, nil, nil},
		{"three late, one explained", one(late(10), late(20), Round{Deadline: day(30), ReasonGiven: true}), nil, nil, nil},
		{"three late, one due last quarter", one(late(-10), late(20), late(30)), nil, nil, nil},
		{"three late, one not yet due", one(late(10), late(20), late(95)), nil, nil, nil},

		// （二）
		{"written, unreplied, inadequate", one(Round{Deadline: day(10), Written: true, Inadequate: true}), nil,
			[]Ground{GroundWrittenReplyMissing}, nil},
		{"written, replied late, then returned", one(Round{Deadline: day(10), RepliedAt: day(12), Written: true, Inadequate: true}), nil,
			[]Ground{GroundWrittenReplyMissing}, nil},
		{"phone transfer is not a written reply", one(Round{Deadline: day(10), Inadequate: true}), nil, nil, nil},
		{"written, unreplied, but explained", one(Round{Deadline: day(10), Written: true, Inadequate: true, ReasonGiven: true}), nil, nil, nil},
		{"written, unreplied, not found inadequate", one(Round{Deadline: day(10), Written: true}), nil, nil, nil},
		{"written, on time, inadequate", one(Round{Deadline: day(10), RepliedAt: day(9), Written: true, Inadequate: true}), nil, nil, nil},

		// （四）（五）
		{"inconsistent reply finding", []CaseSummary{{CaseID: "c1", UnitID: "U", Findings: []Finding{
			{At: day(40), Kind: domain.FindingInconsistentReply}}}}, nil, []Ground{GroundInconsistentReply}, nil},
		{"shirking finding", []CaseSummary{{CaseID: "c1", UnitID: "U", Findings: []Finding{
			{At: day(40), Kind: domain.FindingShirking}}}}, nil, []Ground{GroundShirking}, nil},
		{"finding last quarter", []CaseSummary{{CaseID: "c1", UnitID: "U", Findings: []Finding{
			{At: day(-1), Kind: domain.FindingShirking}}}}, nil, nil, nil},
		{"inadequate-handling finding alone is no ground", []CaseSummary{{CaseID: "c1", UnitID: "U", Findings: []Finding{
			{At: day(40), Kind: domain.FindingInadequateHandling}}}}, nil, nil, nil},

		// （六）
		{"repeated and ignored", one(Round{Deadline: day(10), RepeatReports: 1}), nil, []Ground{GroundRepeatIgnored}, nil},
		{"repeated but answered on time", one(Round{Deadline: day(10), RepliedAt: day(9), RepeatReports: 3}), nil, nil, nil},
		{"repeated, late but explained", one(Round{Deadline: day(10), RepeatReports: 2, ReasonGiven: true}), nil, nil, nil},
		{"late but reported once", one(Round{Deadline: day(10)}), nil, nil, nil},

		// （七）
		{"duty line unanswered", nil, []DutyLineFailure{{UnitID: "U", At: day(3), CallID: "call-7"}},
			[]Ground{GroundDutyLineUnanswered}, map[Ground][]string{GroundDutyLineUnanswered: {"call-7"}}},
		{"duty line failure last quarter", nil, []DutyLineFailure{{UnitID: "U", At: day(-3)}}, nil, nil},

		// Several at once, reported in the seed's order.
		{"several grounds", append(one(late(10), late(20), Round{Deadline: day(30), RepeatReports: 1}),
			CaseSummary{CaseID: "cz", UnitID: "U", Findings: []Finding{{At: day(50), Kind: domain.FindingShirking}}}),
			[]DutyLineFailure{{UnitID: "U", At: day(3)}},
			[]Ground{GroundLateWithoutReason, GroundShirking, GroundRepeatIgnored, GroundDutyLineUnanswered}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Assess(Input{Period: q2, Units: []string{"U"}, Cases: tt.cases, DutyLineFailures: tt.failures, Rules: DefaultRules()})
			if err != nil {
				t.Fatal(err)
			}
			u := rep.Units[0]
			var got []Ground
			for _, h := range u.Grounds {
				got = append(got, h.Ground)
				if want, ok := tt.evidence[h.Ground]; ok && !slices.Equal(h.Evidence, want) {
					t.Errorf("%s evidence %v, want %v", h.Ground, h.Evidence, want)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("grounds %v, want %v", got, tt.want)
			}
			if u.Criticized() != (len(tt.want) > 0) {
				t.Errorf("Criticized() = %v", u.Criticized())
			}
		})
	}
}

func TestRulesAreConfigurable(t *testing.T) {
	cases := []CaseSummary{
		{CaseID: "c1", UnitID: "U", Rounds: []Round{late(10)}},
		{CaseID: "c2", UnitID: "U", Rounds: []Round{late(20)}},
	}
	strict := DefaultRules()
	strict.LateWithoutReason = 2
	rep, err := Assess(Input{Period: q2, Cases: cases, Rules: strict})
	if err != nil || !rep.Units[0].Has(GroundLateWithoutReason) {
		t.Errorf("stricter rule not applied: %+v %v", rep.Units, err)
	}
	if _, err := Assess(Input{Period: q2, Rules: Rules{}}); err == nil {
		t.Errorf("zero rules accepted")
	}
}

func TestRates(t *testing.T) {
	cs := CaseSummary{
		CaseID: "c1", UnitID: "U",
		Rounds: []Round{onTime(10), onTime(20), onTime(30), late(40), {Deadline: day(95)}},
		Callbacks: []Callback{
			{At: day(11), Satisfaction: domain.Satisfied},
			{At: day(21), Satisfaction: domain.BasicallySatisfied},
			{At: day(31), Satisfaction: domain.Dissatisfied},
			{At: day(41), Satisfaction: domain.Unreachable},  // not an answer
			{At: day(-1), Satisfaction: domain.Dissatisfied}, // last quarter
		},
		Supervisions: []time.Time{day(41), day(-2)},
	}
	rep, err := Assess(Input{Period: q2, Cases: []CaseSummary{cs}, Rules: DefaultRules()})
	if err != nil {
		t.Fatal(err)
	}
	u := rep.Units[0]
	if u.Due != 4 || u.OnTime != 3 || u.OnTimeRate != (Rate{3, 4}) {
		t.Errorf("on time %d/%d rate %v", u.OnTime, u.Due, u.OnTimeRate)
	}
	if u.Callbacks != 3 || u.Satisfied != 1 || u.BasicallySatisfied != 1 || u.Dissatisfied != 1 || u.SatisfactionRate != (Rate{2, 3}) {
		t.Errorf("satisfaction %+v", u)
	}
	if u.Supervisions != 1 {
		t.Errorf("supervisions %d", u.Supervisions)
	}
	if got := u.OnTimeRate.String(); got != "3/4 (75.0%)" {
		t.Errorf("rate string %q", got)
	}
	if (Rate{}).Defined() || (Rate{}).String() != "n/a" {
		t.Errorf("empty rate")
	}
}

func TestAsOfHidesTheFuture(t *testing.T) {
	cs := CaseSummary{CaseID: "c1", UnitID: "U", Rounds: []Round{
		{Deadline: day(10), RepliedAt: day(9)},
		{Deadline: day(20), RepliedAt: day(19)}, // replied after AsOf: not seen
		{Deadline: day(60), RepliedAt: day(59)}, // not yet due at AsOf
	}}
	rep, err := Assess(Input{Period: q2, AsOf: day(25), Cases: []CaseSummary{cs}, Rules: DefaultRules()})
	if err != nil {
		t.Fatal(err)
	}
	// The reply on day 19 is before AsOf (day 25), so both early rounds count.
	if u := rep.Units[0]; u.Due != 2 || u.OnTime != 2 {
		t.Errorf("due %d on time %d", u.Due, u.OnTime)
	}
	rep, _ = Assess(Input{Period: q2, AsOf: day(15), Cases: []CaseSummary{cs}, Rules: DefaultRules()})
	if u := rep.Units[0]; u.Due != 1 || u.OnTime != 1 {
		t.Errorf("as of day 15: due %d on time %d", u.Due, u.OnTime)
	}
}

func TestRanking(t *testing.T) {
	cb := func(sats ...domain.Satisfaction) []Callback {
		var out []Callback
		for i, s := range sats {
			out = append(out, Callback{At: day(50 + i), Satisfaction: s})
		}
		return out
	}
	in := Input{
		Period: q2,
		Rules:  DefaultRules(),
		Units:  []string{"idle", "A", "B", "C", "D", "E", "F", "G"},
		Cases: []CaseSummary{
			// A: all on time, all satisfied → first, commended.
			{CaseID: "a1", UnitID: "A", Rounds: []Round{onTime(10), onTime(20)}, Callbacks: cb(domain.Satisfied, domain.BasicallySatisfied)},
			// B and C: identical records → share a rank.
			{CaseID: "b1", UnitID: "B", Rounds: []Round{onTime(10), late(20)}, Reviews: []Review{{At: day(21)}}, Callbacks: cb(domain.Satisfied)},
			{CaseID: "c1", UnitID: "C", Rounds: []Round{onTime(11), late(21)}, Callbacks: cb(domain.Satisfied)},
			// D: same on-time rate as B/C but lower satisfaction.
			{CaseID: "d1", UnitID: "D", Rounds: []Round{onTime(10), late(20)}, Callbacks: cb(domain.Satisfied, domain.Dissatisfied)},
			// E: same rates as D but one return for redo.
			{CaseID: "e1", UnitID: "E", Rounds: []Round{onTime(10), late(20)}, Callbacks: cb(domain.Satisfied, domain.Dissatisfied),
				Reviews: []Review{{At: day(30), Returned: true}, {At: day(31)}}},
			// F: better rates than everyone but one ground → after all units without grounds.
			{CaseID: "f1", UnitID: "F", Rounds: []Round{onTime(10)}, Callbacks: cb(domain.Satisfied),
				Findings: []Finding{{At: day(12), Kind: domain.FindingInconsistentReply}}},
			// G: two grounds → last of the ranked.
			{CaseID: "g1", UnitID: "G", Rounds: []Round{{Deadline: day(10), RepeatReports: 1}}},
		},
		DutyLineFailures: []DutyLineFailure{{UnitID: "G", At: day(2)}},
	}
	rep, err := Assess(in)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id   string
		rank int
	}
	var got []row
	for _, u := range rep.Units {
		got = append(got, row{u.UnitID, u.Rank})
	}
	want := []row{{"A", 1}, {"B", 2}, {"C", 2}, {"D", 4}, {"E", 5}, {"F", 6}, {"G", 7}, {"idle", 0}}
	if !slices.Equal(got, want) {
		t.Errorf("ranking\n got %v\nwant %v", got, want)
	}
	for _, u := range rep.Units {
		if u.Commended != (u.UnitID == "A") {
			t.Errorf("%s commended = %v", u.UnitID, u.Commended)
		}
	}
}

func TestUndefinedRateRanksBelowDefined(t *testing.T) {
	// X has no callbacks, Y had one dissatisfied callback: Y's 0% is still evidence.
	in := Input{Period: q2, Rules: DefaultRules(), Cases: []CaseSummary{
		{CaseID: "x", UnitID: "X", Rounds: []Round{onTime(10)}},
		{CaseID: "y", UnitID: "Y", Rounds: []Round{onTime(10)}, Callbacks: []Callback{{At: day(11), Satisfaction: domain.Dissatisfied}}},
	}}
	rep, _ := Assess(in)
	if rep.Units[0].UnitID != "Y" || rep.Units[1].UnitID != "X" {
		t.Errorf("order %s, %s", rep.Units[0].UnitID, rep.Units[1].UnitID)
	}
}

func TestAssessRefusesBadInput(t *testing.T) {
	tests := map[string]Input{
		"empty period":      {Period: Period{From: q2.To, To: q2.From}, Rules: DefaultRules()},
		"as-of before":      {Period: q2, AsOf: day(-10), Rules: DefaultRules()},
		"summary w/o unit":  {Period: q2, Rules: DefaultRules(), Cases: []CaseSummary{{CaseID: "c"}}},
		"summary w/o case":  {Period: q2, Rules: DefaultRules(), Cases: []CaseSummary{{UnitID: "U"}}},
		"failure w/o unit":  {Period: q2, Rules: DefaultRules(), DutyLineFailures: []DutyLineFailure{{At: day(1)}}},
		"empty unit listed": {Period: q2, Rules: DefaultRules(), Units: []string{""}},
	}
	for name, in := range tests {
		if _, err := Assess(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
