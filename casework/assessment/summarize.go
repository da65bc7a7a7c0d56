package assessment

import "github.com/hotline12345/hotline/casework/domain"

// Summarize turns one case's history (ordered by Seq) into the summaries
// assessment needs, one per unit the case charged. It relies on every entry
// carrying the lead unit and deadline in force (domain.HistoryEntry.Lead and
// Deadline), so attribution is exact even across pass-downs; a store that feeds
// Assess from SQL should follow the same rules:
//   - a round starts with a transfer, a return for redo or a dissatisfied
//     callback, and is charged to the lead when it ends;
//   - a re-transfer (改派) before the unit signed drops the open round: the
//     wrongly assigned unit is not charged;
//   - an approved extension moves the round's deadline;
//   - a progress report or extension request before the reply is a reason given;
//   - reviews, callbacks and supervisions are charged to the lead at the time;
//     findings to the unit they name.
func Summarize(history []domain.HistoryEntry) []CaseSummary {
	if len(history) == 0 {
		return nil
	}
	caseID := history[0].CaseID
	byUnit := map[string]*CaseSummary{}
	var order []string
	get := func(unit string) *CaseSummary {
		s, ok := byUnit[unit]
		if !ok {
			s = &CaseSummary{CaseID: caseID, UnitID: unit}
			byUnit[unit] = s
			order = append(order, unit)
		}
		return s
	}

	type openRound struct {
		r    Round
		unit string
	}
	var cur *openRound
	lastRound := map[string]int{} // unit → index of its latest finished round
	written := false
	finish := func() {
		if cur == nil {
			return
		}
		s := get(cur.unit)
		s.Rounds = append(s.Rounds, cur.r)
		lastRound[cur.unit] = len(s.Rounds) - 1
		cur = nil
	}
	start := func(e domain.HistoryEntry) {
		cur = &openRound{r: Round{Deadline: e.Deadline, Written: written}, unit: e.Lead}
	}
	markInadequate := func(unit string) {
		if cur != nil && cur.unit == unit {
			cur.r.Inadequate = true
			return
		}
		if i, ok := lastRound[unit]; ok {
			byUnit[unit].Rounds[i].Inadequate = true
		}
	}
	awaitingReply := func() bool { return cur != nil && cur.r.RepliedAt.IsZero() }

	for _, e := range history {
		switch e.Action {
		case domain.ActionTransfer:
			written = e.Details[domain.DetailMode] == string(domain.ModeWrittenTransfer)
			cur = nil
			start(e)
		case domain.ActionPassDown:
			if cur != nil {
				cur.unit = e.Lead
			}
		case domain.ActionApproveExtension:
			if cur != nil {
				cur.r.Deadline = e.Deadline
			}
		case domain.ActionRequestExtension, domain.ActionReportProgress:
			if awaitingReply() {
				cur.r.ReasonGiven = true
			}
		case domain.ActionRecordRepeat:
			if awaitingReply() {
				cur.r.RepeatReports++
			}
		case domain.ActionReply:
			if cur != nil {
				cur.r.RepliedAt = e.At
				cur.unit = e.Lead
			}
		case domain.ActionComplete:
			s := get(e.Lead)
			s.Reviews = append(s.Reviews, Review{At: e.At})
		case domain.ActionReturnForRedo:
			s := get(e.Lead)
			s.Reviews = append(s.Reviews, Review{At: e.At, Returned: true})
			markInadequate(e.Lead)
			finish()
			start(e)
		case domain.ActionCallback, domain.ActionCallbackReopen:
			s := get(e.Lead)
			s.Callbacks = append(s.Callbacks, Callback{At: e.At, Satisfaction: domain.Satisfaction(e.Details[domain.DetailSatisfaction])})
			if e.Action == domain.ActionCallbackReopen {
				markInadequate(e.Lead)
				finish()
				start(e)
			}
		case domain.ActionSupervise:
			s := get(e.Lead)
			s.Supervisions = append(s.Supervisions, e.At)
		case domain.ActionRecordFinding:
			unit := e.Details[domain.DetailUnit]
			kind := domain.FindingKind(e.Details[domain.DetailFinding])
			s := get(unit)
			s.Findings = append(s.Findings, Finding{At: e.At, Kind: kind})
			if kind == domain.FindingInadequateHandling {
				markInadequate(unit)
			}
		}
	}
	finish()

	out := make([]CaseSummary, 0, len(order))
	for _, u := range order {
		out = append(out, *byUnit[u])
	}
	return out
}
