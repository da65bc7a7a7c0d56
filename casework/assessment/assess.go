package assessment

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

// Rate is a fraction kept as integers, so that ranking compares exactly and a
// unit without data is told apart from a unit at 0%.
type Rate struct {
	Num int `json:"num"`
	Den int `json:"den"`
}

// Defined reports whether there was anything to measure.
func (r Rate) Defined() bool { return r.Den > 0 }

// Value is the fraction, 0 when undefined.
func (r Rate) Value() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

func (r Rate) String() string {
	if r.Den == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", r.Num, r.Den, 100*r.Value())
}

// compare orders rates from worse to better; undefined is worst, so that having
// no evidence never outranks evidence.
func (r Rate) compare(o Rate) int {
	switch {
	case !r.Defined() && !o.Defined():
		return 0
	case !r.Defined():
		return -1
	case !o.Defined():
		return 1
	}
	a, b := r.Num*o.Den, o.Num*r.Den
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Hit is a ground that applies to a unit, with the evidence: case IDs for
// grounds (一)–(六), call IDs (or times) of the failed calls for (七).
type Hit struct {
	Ground   Ground   `json:"ground"`
	Count    int      `json:"count"`
	Evidence []string `json:"evidence"`
}

// UnitResult is one unit's quarter.
type UnitResult struct {
	UnitID string `json:"unit_id"`
	// Rank is the place in the 通报, 1 = best; equal keys share a rank (1, 1, 3).
	// 0 means not ranked: the unit had nothing due, no callbacks and no ground.
	Rank int `json:"rank"`
	// Grounds lists the grounds that apply, in the seed's order.
	Grounds []Hit `json:"grounds"`

	Due               int  `json:"due"`
	OnTime            int  `json:"on_time"`
	OnTimeRate        Rate `json:"on_time_rate"`
	LateWithoutReason int  `json:"late_without_reason"`
	Returns           int  `json:"returns"`

	Callbacks          int  `json:"callbacks"`
	Satisfied          int  `json:"satisfied"`
	BasicallySatisfied int  `json:"basically_satisfied"`
	Dissatisfied       int  `json:"dissatisfied"`
	SatisfactionRate   Rate `json:"satisfaction_rate"`

	Supervisions       int `json:"supervisions"`
	DutyLineUnanswered int `json:"duty_line_unanswered"`
	// Commended: 通报表扬 for 认真负责、办理及时和办理结果群众满意 (002 三) — no ground,
	// everything due replied on time (at least one), and every callback that
	// reached the citizen satisfied or basically satisfied (at least one).
	Commended bool `json:"commended"`
}

// Criticized reports whether any ground applies (通报批评).
func (u UnitResult) Criticized() bool { return len(u.Grounds) > 0 }

// Has reports whether ground g applies.
func (u UnitResult) Has(g Ground) bool {
	return slices.ContainsFunc(u.Grounds, func(h Hit) bool { return h.Ground == g })
}

// Report is the quarter's assessment, units in ranking order.
type Report struct {
	Period Period       `json:"period"`
	AsOf   time.Time    `json:"as_of"`
	Rules  Rules        `json:"rules"`
	Units  []UnitResult `json:"units"`
}

// tally collects one unit's raw counts before the grounds are decided.
type tally struct {
	res        UnitResult
	evidence   map[Ground][]string
	occurrence map[Ground]int
}

func (t *tally) hit(g Ground, ev string) {
	t.occurrence[g]++
	if !slices.Contains(t.evidence[g], ev) {
		t.evidence[g] = append(t.evidence[g], ev)
	}
}

// Assess computes every unit's result and the ranking.
//
// Ranking rule, best first:
//  1. fewer grounds applying (distinct grounds, not occurrences);
//  2. higher on-time rate;
//  3. higher satisfaction rate;
//  4. fewer returns for redo;
//
// an undefined rate ranks below any defined one; units equal on all four share a
// rank and are listed by unit ID. Units with nothing due, no callbacks and no
// ground are not ranked (Rank 0) and come last: the 通报 has nothing to say about
// them, and placing them anywhere would be invented.
func Assess(in Input) (Report, error) {
	if !in.Period.From.Before(in.Period.To) {
		return Report{}, errors.New("assessment: period is empty")
	}
	if err := in.Rules.validate(); err != nil {
		return Report{}, err
	}
	asOf := in.AsOf
	if asOf.IsZero() {
		asOf = in.Period.To
	}
	if asOf.Before(in.Period.From) {
		return Report{}, errors.New("assessment: as-of time is before the period")
	}
	units := map[string]*tally{}
	var order []string
	get := func(id string) *tally {
		t, ok := units[id]
		if !ok {
			t = &tally{res: UnitResult{UnitID: id}, evidence: map[Ground][]string{}, occurrence: map[Ground]int{}}
			units[id] = t
			order = append(order, id)
		}
		return t
	}
	for _, id := range in.Units {
		if id == "" {
			return Report{}, errors.New("assessment: empty unit ID")
		}
		get(id)
	}
	for i, cs := range in.Cases {
		if cs.UnitID == "" || cs.CaseID == "" {
			return Report{}, fmt.Errorf("assessment: case summary %d lacks a case or unit ID", i)
		}
		assessCase(get(cs.UnitID), cs, in.Period, asOf, in.Rules)
	}
	for i, f := range in.DutyLineFailures {
		if f.UnitID == "" {
			return Report{}, fmt.Errorf("assessment: duty-line failure %d lacks a unit ID", i)
		}
		if !in.Period.Contains(f.At) || f.At.After(asOf) {
			continue
		}
		t := get(f.UnitID)
		t.res.DutyLineUnanswered++
		ev := f.CallID
		if ev == "" {
			ev = f.At.Format(time.RFC3339)
		}
		t.hit(GroundDutyLineUnanswered, ev)
	}

	results := make([]UnitResult, 0, len(order))
	for _, id := range order {
		results = append(results, units[id].finish(in.Rules))
	}
	rank(results)
	return Report{Period: in.Period, AsOf: asOf, Rules: in.Rules, Units: results}, nil
}

func assessCase(t *tally, cs CaseSummary, p Period, asOf time.Time, rules Rules) {
	seen := func(at time.Time) bool { return p.Contains(at) && !at.After(asOf) }
	for _, r := range cs.Rounds {
		// A round belongs to the quarter its deadline falls in, so each round is
		// judged exactly once, and only once its deadline has passed.
		if !p.Contains(r.Deadline) || !r.Deadline.Before(asOf) {
			continue
		}
		t.res.Due++
		replied := !r.RepliedAt.IsZero() && !r.RepliedAt.After(asOf)
		if replied && !r.RepliedAt.After(r.Deadline) {
			t.res.OnTime++
			continue
		}
		if r.ReasonGiven {
			continue
		}
		t.res.LateWithoutReason++
		t.hit(GroundLateWithoutReason, cs.CaseID)
		if r.Written && r.Inadequate {
			t.hit(GroundWrittenReplyMissing, cs.CaseID)
		}
		if r.RepeatReports >= rules.RepeatReports {
			t.hit(GroundRepeatIgnored, cs.CaseID)
		}
	}
	streak := 0
	for _, rv := range cs.Reviews {
		if !rv.Returned {
			streak = 0
			continue
		}
		streak++
		if !seen(rv.At) {
			continue
		}
		t.res.Returns++
		if streak >= rules.ConsecutiveReturns {
			t.hit(GroundConsecutiveReturns, cs.CaseID)
		}
	}
	for _, cb := range cs.Callbacks {
		if !seen(cb.At) || !cb.Satisfaction.Counts() {
			continue
		}
		t.res.Callbacks++
		switch {
		case cb.Satisfaction == domain.Satisfied:
			t.res.Satisfied++
		case cb.Satisfaction == domain.BasicallySatisfied:
			t.res.BasicallySatisfied++
		default:
			t.res.Dissatisfied++
		}
	}
	for _, f := range cs.Findings {
		if !seen(f.At) {
			continue
		}
		switch f.Kind {
		case domain.FindingInconsistentReply:
			t.hit(GroundInconsistentReply, cs.CaseID)
		case domain.FindingShirking:
			t.hit(GroundShirking, cs.CaseID)
		}
	}
	for _, at := range cs.Supervisions {
		if seen(at) {
			t.res.Supervisions++
		}
	}
}

// finish decides the grounds from the tallies and computes the rates.
func (t *tally) finish(rules Rules) UnitResult {
	r := t.res
	r.OnTimeRate = Rate{Num: r.OnTime, Den: r.Due}
	r.SatisfactionRate = Rate{Num: r.Satisfied + r.BasicallySatisfied, Den: r.Callbacks}
	threshold := map[Ground]int{
		GroundLateWithoutReason:  rules.LateWithoutReason,
		GroundDutyLineUnanswered: rules.DutyLineUnanswered,
	}
	r.Grounds = []Hit{}
	for _, g := range Grounds() {
		n := t.occurrence[g]
		min := max(threshold[g], 1)
		if n < min {
			continue
		}
		ev := slices.Clone(t.evidence[g])
		slices.Sort(ev)
		r.Grounds = append(r.Grounds, Hit{Ground: g, Count: n, Evidence: ev})
	}
	r.Commended = len(r.Grounds) == 0 && r.Due > 0 && r.OnTime == r.Due &&
		r.Callbacks > 0 && r.Dissatisfied == 0
	return r
}

func (u UnitResult) ranked() bool {
	return u.Due > 0 || u.Callbacks > 0 || len(u.Grounds) > 0
}

// better compares two units by the ranking rule: negative if a ranks before b.
func better(a, b UnitResult) int {
	if c := len(a.Grounds) - len(b.Grounds); c != 0 {
		return c
	}
	if c := b.OnTimeRate.compare(a.OnTimeRate); c != 0 {
		return c
	}
	if c := b.SatisfactionRate.compare(a.SatisfactionRate); c != 0 {
		return c
	}
	return a.Returns - b.Returns
}

func rank(rs []UnitResult) {
	slices.SortStableFunc(rs, func(a, b UnitResult) int {
		if a.ranked() != b.ranked() {
			if a.ranked() {
				return -1
			}
			return 1
		}
		if a.ranked() {
			if c := better(a, b); c != 0 {
				return c
			}
		}
		return strings.Compare(a.UnitID, b.UnitID)
	})
	for i := range rs {
		switch {
		case !rs[i].ranked():
			rs[i].Rank = 0
		case i > 0 && rs[i-1].ranked() && better(rs[i-1], rs[i]) == 0:
			rs[i].Rank = rs[i-1].Rank
		default:
			rs[i].Rank = i + 1
		}
	}
}
