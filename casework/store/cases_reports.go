package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/casework/event"
)

// Reports of C11 (001 §五(四), 000 三(五), 002 二, 003 二): counts over a period
// [From, To), computed in SQL so a month of a big city stays one round trip each.

// Count is one group of a report.
type Count struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

// BusinessReport is the case side of a period.
type BusinessReport struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Registered int       `json:"registered"`
	ByCategory []Count   `json:"by_category"`
	ByRegion   []Count   `json:"by_region"`
	ByChannel  []Count   `json:"by_channel"`
	ByUnit     []Count   `json:"by_unit"`
	ByState    []Count   `json:"by_state"`
	// Trend counts registrations per Asia/Shanghai day.
	Trend []Count `json:"trend"`
	// Hot are the region and category pairs with the most registrations.
	Hot []Count `json:"hot"`
	// Recurring are the cases citizens reported again most often in the period.
	Recurring    []Count `json:"recurring"`
	Replies      int     `json:"replies"`
	LateReplies  int     `json:"late_replies"`
	Returns      int     `json:"returns"`
	Reminders    int     `json:"reminders"`
	Supervisions int     `json:"supervisions"`
	Overdue      int     `json:"overdue_now"`
}

// CallReport is the telephony side of a period.
type CallReport struct {
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	Total           int       `json:"total"`
	Inbound         int       `json:"inbound"`
	Outbound        int       `json:"outbound"`
	TotalDurationMS int64     `json:"total_duration_ms"`
	Answered        int       `json:"answered"`
	Failed          int       `json:"failed"`
	Abandoned       int       `json:"abandoned"`
	// Transferred counts calls a unit's duty line was joined into (三方通话).
	Transferred int     `json:"transferred"`
	ByOutcome   []Count `json:"by_outcome"`
	// Queue is the agent queue in the period, as the wallboard counts it
	// (Answered above counts calls the hotline answered, menus included).
	Queue QueueFigures `json:"queue"`
}

// StaffLine is one agent's work in a period.
type StaffLine struct {
	StaffNumber  string `json:"staff_number"`
	Calls        int    `json:"calls"`
	TalkMS       int64  `json:"talk_ms"`
	CasesHandled int    `json:"cases_handled"`
}

func (s *Cases) counts(ctx context.Context, sql string, args ...any) ([]Count, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Count, error) {
		var c Count
		return c, r.Scan(&c.Key, &c.N)
	})
	if out == nil {
		out = []Count{}
	}
	return out, err
}

// BusinessReport computes the case report of [from, to) as of now.
func (s *Cases) BusinessReport(ctx context.Context, from, to, now time.Time) (BusinessReport, error) {
	r := BusinessReport{From: from, To: to}
	groups := []struct {
		dst *[]Count
		sql string
	}{
		{&r.ByCategory, `SELECT category, count(*) FROM cases WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`},
		{&r.ByRegion, `SELECT region, count(*) FROM cases WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`},
		{&r.ByChannel, `SELECT channel, count(*) FROM cases WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`},
		{&r.ByState, `SELECT state, count(*) FROM cases WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`},
		{&r.ByUnit, `SELECT lead_unit, count(DISTINCT case_id) FROM case_history
			WHERE action = 'transfer' AND at >= $1 AND at < $2 AND lead_unit IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1`},
		{&r.Trend, `SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), count(*) FROM cases
			WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 1`},
		{&r.Hot, `SELECT region || '/' || category, count(*) FROM cases WHERE created_at >= $1 AND created_at < $2
			GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`},
		{&r.Recurring, `SELECT c.number, count(*) FROM case_history h JOIN cases c ON c.id = h.case_id
			WHERE h.action = 'record_repeat' AND h.at >= $1 AND h.at < $2 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10`},
	}
	for _, g := range groups {
		c, err := s.counts(ctx, g.sql, from, to)
		if err != nil {
			return r, fmt.Errorf("business report: %w", err)
		}
		*g.dst = c
	}
	err := s.pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM cases WHERE created_at >= $1 AND created_at < $2),
			count(*) FILTER (WHERE action = 'reply'),
			count(*) FILTER (WHERE action = 'reply' AND details->>'on_time' = 'false'),
			count(*) FILTER (WHERE action = 'return_for_redo'),
			count(*) FILTER (WHERE action = 'remind'),
			count(*) FILTER (WHERE action = 'supervise')
		FROM case_history WHERE at >= $1 AND at < $2`, from, to).
		Scan(&r.Registered, &r.Replies, &r.LateReplies, &r.Returns, &r.Reminders, &r.Supervisions)
	if err != nil {
		return r, fmt.Errorf("business report: %w", err)
	}
	if r.Overdue, err = s.CountOverdue(ctx, now); err != nil {
		return r, err
	}
	return r, nil
}

// CallReport computes the call report of [from, to) from the call projection.
func (s *Cases) CallReport(ctx context.Context, from, to time.Time) (CallReport, error) {
	r := CallReport{From: from, To: to}
	err := s.pool.QueryRow(ctx, `SELECT count(*),
			count(*) FILTER (WHERE direction = 'inbound'),
			count(*) FILTER (WHERE direction = 'outbound'),
			COALESCE(sum(duration_ms), 0)::bigint,
			count(*) FILTER (WHERE answered_at IS NOT NULL),
			count(*) FILTER (WHERE outcome = $3),
			count(*) FILTER (WHERE outcome = $4),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events e WHERE e.call_id = calls.call_id AND e.type = $5))
		FROM calls WHERE started_at >= $1 AND started_at < $2`, from, to,
		event.OutcomeFailed, event.OutcomeAbandoned, string(event.ThreeWayJoined)).
		Scan(&r.Total, &r.Inbound, &r.Outbound, &r.TotalDurationMS, &r.Answered, &r.Failed, &r.Abandoned, &r.Transferred)
	if err != nil {
		return r, fmt.Errorf("call report: %w", err)
	}
	r.ByOutcome, err = s.counts(ctx, `SELECT COALESCE(outcome, 'unknown'), count(*) FROM calls
		WHERE started_at >= $1 AND started_at < $2 GROUP BY 1 ORDER BY 2 DESC, 1`, from, to)
	if err != nil {
		return r, fmt.Errorf("call report: %w", err)
	}
	// [from, to) as the rest of the report: the last microsecond of the
	// period is the closed bound's end.
	if r.Queue, err = queueFigures(ctx, s.pool, from, to.Add(-time.Microsecond)); err != nil {
		return r, fmt.Errorf("call report: %w", err)
	}
	return r, nil
}

// StaffReport lists each agent's answered calls, talk time and cases handled in
// [from, to). Talk time runs from the agent answering to the end of the call.
func (s *Cases) StaffReport(ctx context.Context, from, to time.Time) ([]StaffLine, error) {
	rows, err := s.pool.Query(ctx, `WITH answered AS (
			SELECT e.payload->>'staff_number' AS staff, e.call_id, e.occurred_at
			FROM events e WHERE e.type = 'call.agent_answered' AND e.occurred_at >= $1 AND e.occurred_at < $2),
		talk AS (
			SELECT a.staff, count(*) AS calls,
				COALESCE(sum(GREATEST(0, EXTRACT(EPOCH FROM (c.ended_at - a.occurred_at)) * 1000)), 0)::bigint AS talk_ms
			FROM answered a LEFT JOIN calls c ON c.call_id = a.call_id GROUP BY a.staff),
		handled AS (
			SELECT actor_id AS staff, count(DISTINCT case_id) AS cases FROM case_history
			WHERE actor_role = 'agent' AND at >= $1 AND at < $2 GROUP BY actor_id)
		SELECT COALESCE(t.staff, h.staff), COALESCE(t.calls, 0), COALESCE(t.talk_ms, 0), COALESCE(h.cases, 0)
		FROM talk t FULL JOIN handled h ON h.staff = t.staff ORDER BY 1`, from, to)
	if err != nil {
		return nil, fmt.Errorf("staff report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (StaffLine, error) {
		var l StaffLine
		return l, r.Scan(&l.StaffNumber, &l.Calls, &l.TalkMS, &l.CasesHandled)
	})
	if err != nil {
		return nil, fmt.Errorf("staff report: %w", err)
	}
	if out == nil {
		out = []StaffLine{}
	}
	return out, nil
}
