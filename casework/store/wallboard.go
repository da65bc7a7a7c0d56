package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Wallboard figures (supervisor screens, issue 13) come from the call
// projections casework already keeps from the event stream, not from the call
// service: the figures of the day and of 24 hours need history the call
// service does not keep, and one source means the wallboard and the day's call
// report cannot disagree. Their lag is the event pipeline's (milliseconds).
//
//	waiting, longest wait  call.queued events (events) of calls with no answer
//	                       (call_agents), abandon (queue_abandons) or end (calls)
//	                       since their latest queueing
//	agents by state        the latest agent.state_changed event per staff number
//	offered                calls queued today (distinct calls of call.queued)
//	answered, within 15 s  call_agents today: calls answered, their first wait
//	abandoned              queue_abandons today
//	answer rate (接通率)    answered / offered over the last 24 hours

// ServiceLevelWait is the answer-time target of the service level (answered
// within 15 s).
const ServiceLevelWait = 15 * time.Second

// AnswerRateTarget is the 接通率 a 12345 hotline must reach (GB/T 33358).
const AnswerRateTarget = 0.95

// waitingHorizon bounds how far back a queued call may still be waiting: a
// call's end lost for good (its event parked as invalid) must not wait on the
// board forever. It is the call service's default longest call (2 h).
const waitingHorizon = 2 * time.Hour

// agentHorizon bounds the search for agents' latest states: an agent with no
// state change for a week is not signed in.
const agentHorizon = 7 * 24 * time.Hour

// Wallboard is the live picture of the queue and today's figures.
type Wallboard struct {
	At time.Time `json:"at"`
	// Waiting callers in the queue and the longest current wait.
	Waiting       int   `json:"waiting"`
	LongestWaitMS int64 `json:"longest_wait_ms"`
	// Today (Asia/Shanghai day) so far.
	DayStart        time.Time      `json:"day_start"`
	Offered         int            `json:"offered"`
	Answered        int            `json:"answered"`
	AnsweredWithin  int            `json:"answered_within_15s"`
	Abandoned       int            `json:"abandoned"`
	ShortAbandoned  int            `json:"short_abandoned"`
	InboundToday    int            `json:"inbound_calls"`
	AverageWaitMS   int64          `json:"average_answer_wait_ms"`
	Offered24h      int            `json:"offered_24h"`
	Answered24h     int            `json:"answered_24h"`
	AnswerRate24h   *float64       `json:"answer_rate_24h"` // null before the first offered call
	AnswerRateGoal  float64        `json:"answer_rate_target"`
	ServiceLevelSec int            `json:"service_level_seconds"`
	Agents          []AgentOnBoard `json:"agents"`
}

// AgentOnBoard is one signed-in agent's state and how long it has lasted.
type AgentOnBoard struct {
	StaffNumber string    `json:"staff_number"`
	State       string    `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Since       time.Time `json:"since"`
	InStateMS   int64     `json:"in_state_ms"`
}

// Boards reads the wallboard from the projections.
type Boards struct{ pool *pgxpool.Pool }

// NewBoards returns the wallboard reader over pool.
func NewBoards(pool *pgxpool.Pool) *Boards { return &Boards{pool: pool} }

// Wallboard computes the board as of now; dayStart is the start of today in
// the hotline's time zone.
func (b *Boards) Wallboard(ctx context.Context, now, dayStart time.Time) (Wallboard, error) {
	w := Wallboard{At: now, DayStart: dayStart, AnswerRateGoal: AnswerRateTarget,
		ServiceLevelSec: int(ServiceLevelWait / time.Second), Agents: []AgentOnBoard{}}
	var oldest *time.Time
	err := b.pool.QueryRow(ctx, `WITH q AS (
			SELECT call_id, max(occurred_at) AS queued_at FROM events
			WHERE type = 'call.queued' AND call_id IS NOT NULL AND occurred_at > $2 AND occurred_at <= $1
			GROUP BY call_id)
		SELECT count(*), min(q.queued_at) FROM q
		WHERE NOT EXISTS (SELECT 1 FROM call_agents a WHERE a.call_id = q.call_id AND a.answered_at >= q.queued_at)
			AND NOT EXISTS (SELECT 1 FROM queue_abandons x WHERE x.call_id = q.call_id AND x.abandoned_at >= q.queued_at)
			AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.call_id = q.call_id AND c.ended_at IS NOT NULL)`,
		now, now.Add(-waitingHorizon)).Scan(&w.Waiting, &oldest)
	if err != nil {
		return w, fmt.Errorf("wallboard waiting: %w", err)
	}
	if oldest != nil {
		w.LongestWaitMS = max(now.Sub(*oldest).Milliseconds(), 0)
	}
	q, err := queueFigures(ctx, b.pool, dayStart, now)
	if err != nil {
		return w, fmt.Errorf("wallboard today: %w", err)
	}
	w.Offered, w.Answered, w.AnsweredWithin, w.AverageWaitMS = q.Offered, q.AgentAnswered, q.AnsweredWithin, q.AverageWaitMS
	w.Abandoned, w.ShortAbandoned = q.Abandoned, q.ShortAbandoned
	day, err := queueFigures(ctx, b.pool, now.Add(-24*time.Hour), now)
	if err != nil {
		return w, fmt.Errorf("wallboard 24 h: %w", err)
	}
	w.Offered24h, w.Answered24h = day.Offered, day.AgentAnswered
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM calls WHERE direction = 'inbound' AND started_at >= $1 AND started_at <= $2`,
		dayStart, now).Scan(&w.InboundToday); err != nil {
		return w, fmt.Errorf("wallboard inbound: %w", err)
	}
	if w.Offered24h > 0 {
		r := float64(w.Answered24h) / float64(w.Offered24h)
		w.AnswerRate24h = &r
	}
	rows, err := b.pool.Query(ctx, `SELECT staff, state, reason, since FROM (
			SELECT DISTINCT ON (payload->>'staff_number') payload->>'staff_number' AS staff,
				payload->>'state' AS state, COALESCE(payload->>'reason', '') AS reason, occurred_at AS since
			FROM events WHERE type = 'agent.state_changed' AND occurred_at > $2 AND occurred_at <= $1
			ORDER BY payload->>'staff_number', occurred_at DESC, stored_at DESC) s
		WHERE state <> 'logged_out' ORDER BY staff`, now, now.Add(-agentHorizon))
	if err != nil {
		return w, fmt.Errorf("wallboard agents: %w", err)
	}
	agents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgentOnBoard, error) {
		var a AgentOnBoard
		err := r.Scan(&a.StaffNumber, &a.State, &a.Reason, &a.Since)
		a.InStateMS = max(now.Sub(a.Since).Milliseconds(), 0)
		return a, err
	})
	if err != nil {
		return w, fmt.Errorf("wallboard agents: %w", err)
	}
	w.Agents = append(w.Agents, agents...)
	return w, nil
}

// QueueFigures are the agent queue's figures over a period: the wallboard's
// "today" and the call report's queue section, computed by one query so the
// two can never disagree.
type QueueFigures struct {
	// Offered counts calls queued for an agent (distinct calls of call.queued).
	Offered int `json:"offered"`
	// AgentAnswered counts calls an agent answered, each call once (a transfer
	// back to the queue answers it again); AnsweredWithin those whose first
	// answer came within ServiceLevelWait.
	AgentAnswered  int   `json:"agent_answered"`
	AnsweredWithin int   `json:"answered_within_15s"`
	AverageWaitMS  int64 `json:"average_answer_wait_ms"`
	// Abandoned counts calls whose caller hung up in the queue; ShortAbandoned
	// those under the call service's short-abandon threshold.
	Abandoned      int `json:"queue_abandoned"`
	ShortAbandoned int `json:"short_abandoned"`
}

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// queueFigures computes the queue figures of [from, to].
func queueFigures(ctx context.Context, db rowQuerier, from, to time.Time) (QueueFigures, error) {
	var q QueueFigures
	err := db.QueryRow(ctx, `WITH first AS (
			SELECT DISTINCT ON (call_id) call_id, answered_at, wait_ms FROM call_agents
			WHERE answered_at >= $1 AND answered_at <= $2 ORDER BY call_id, answered_at)
		SELECT
			(SELECT count(DISTINCT call_id) FROM events WHERE type = 'call.queued' AND occurred_at >= $1 AND occurred_at <= $2),
			(SELECT count(*) FROM first),
			(SELECT count(*) FROM first WHERE wait_ms <= $3),
			(SELECT COALESCE(avg(wait_ms), 0)::bigint FROM first),
			(SELECT count(DISTINCT call_id) FROM queue_abandons WHERE abandoned_at >= $1 AND abandoned_at <= $2),
			(SELECT count(DISTINCT call_id) FROM queue_abandons WHERE abandoned_at >= $1 AND abandoned_at <= $2 AND short)`,
		from, to, ServiceLevelWait.Milliseconds()).
		Scan(&q.Offered, &q.AgentAnswered, &q.AnsweredWithin, &q.AverageWaitMS, &q.Abandoned, &q.ShortAbandoned)
	if err != nil {
		return q, fmt.Errorf("queue figures: %w", err)
	}
	return q, nil
}

// CaseRecording is an agent call's recording in a case file.
type CaseRecording struct {
	RecordingID string    `json:"recording_id"`
	CallID      string    `json:"call_id"`
	Format      string    `json:"format"`
	DurationMS  int64     `json:"duration_ms"`
	SavedAt     time.Time `json:"saved_at"`
	// URI is where the file is; never sent to browsers.
	URI string `json:"-"`
}

// CaseItem is a voicemail or fax filed on a case.
type CaseItem struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// CaseMedia is what a case file holds to hear and read.
type CaseMedia struct {
	Recordings []CaseRecording `json:"recordings"`
	Voicemails []CaseItem      `json:"voicemails"`
	Faxes      []CaseItem      `json:"faxes"`
}

// Media lists the recordings of the calls linked to caseID, and the
// voicemails and faxes filed on it.
func (b *Boards) Media(ctx context.Context, caseID string) (CaseMedia, error) {
	m := CaseMedia{Recordings: []CaseRecording{}, Voicemails: []CaseItem{}, Faxes: []CaseItem{}}
	rows, err := b.pool.Query(ctx, `SELECT r.recording_id, r.call_id, r.format, r.duration_ms, r.saved_at, r.uri
		FROM call_recordings r WHERE r.call_id IN (SELECT call_id FROM case_calls WHERE case_id = $1)
			OR r.call_id IN (SELECT call_id FROM calls WHERE case_id = $1)
		ORDER BY r.saved_at, r.recording_id`, caseID)
	if err != nil {
		return m, fmt.Errorf("case recordings: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseRecording, error) {
		var c CaseRecording
		return c, r.Scan(&c.RecordingID, &c.CallID, &c.Format, &c.DurationMS, &c.SavedAt, &c.URI)
	})
	if err != nil {
		return m, fmt.Errorf("case recordings: %w", err)
	}
	m.Recordings = append(m.Recordings, recs...)
	for _, q := range []struct {
		dst *[]CaseItem
		sql string
	}{
		{&m.Voicemails, `SELECT id::text, left_at FROM voicemails WHERE case_id = $1 ORDER BY left_at, id`},
		{&m.Faxes, `SELECT id::text, at FROM faxes WHERE case_id = $1 ORDER BY at, id`},
	} {
		rows, err := b.pool.Query(ctx, q.sql, caseID)
		if err != nil {
			return m, fmt.Errorf("case items: %w", err)
		}
		items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseItem, error) {
			var c CaseItem
			return c, r.Scan(&c.ID, &c.At)
		})
		if err != nil {
			return m, fmt.Errorf("case items: %w", err)
		}
		*q.dst = append(*q.dst, items...)
	}
	return m, nil
}
