package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/event"
)

// Projector updates read models from one newly stored event, inside the transaction
// that stores it: the event and everything derived from it commit together.
type Projector func(ctx context.Context, tx pgx.Tx, env event.Envelope) error

// EventStore stores each event once and runs the projections of new events. It is
// the handler of the casework service's stream consumer.
type EventStore struct {
	pool       *pgxpool.Pool
	projectors map[event.Type][]Projector
}

// NewEventStore returns a store with the call projections registered.
func NewEventStore(pool *pgxpool.Pool) *EventStore {
	s := &EventStore{pool: pool, projectors: map[event.Type][]Projector{}}
	s.Project(event.CallStarted, projectCallStarted)
	s.Project(event.CallEnded, projectCallEnded)
	return s
}

// Project registers p to run for every new event of type t.
func (s *EventStore) Project(t event.Type, p Projector) {
	s.projectors[t] = append(s.projectors[t], p)
}

// Handle stores env and runs its projections, all or nothing. An event already
// stored (a JetStream redelivery, or a republish after the duplicate window) is a
// no-op, so projections run exactly once per event.
func (s *EventStore) Handle(ctx context.Context, env event.Envelope) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO events (id, version, type, occurred_at, source, call_id, case_id, payload)
			VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''), $8)
			ON CONFLICT (id) DO NOTHING`,
			env.ID, env.Version, string(env.Type), env.Time, env.Source, env.CallID, env.CaseID, []byte(env.Payload))
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		for _, p := range s.projectors[env.Type] {
			if err := p(ctx, tx, env); err != nil {
				return fmt.Errorf("project %s: %w", env.Type, err)
			}
		}
		if err := fillCallCase(ctx, tx, env); err != nil {
			return fmt.Errorf("case of call %s: %w", env.CallID, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store event %s (%s): %w", env.ID, env.Type, err)
	}
	return nil
}

// fillCallCase gives the call's row the case it became part of, on any event of
// the call: the case ID the event carries (the call service puts it on the
// call's events once an agent links the call: recording, call.ended), or else a
// case that linked the call before this row existed (case_calls; rows that exist
// at link time are filled by the case store, writeDerived). A call keeps its
// first case: later links of other cases (repeat reports) are in case_calls. The
// row is written, and locked, only while its case is missing.
func fillCallCase(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	if env.CallID == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE calls SET case_id = COALESCE(NULLIF($2, ''),
			(SELECT cc.case_id FROM case_calls cc WHERE cc.call_id = $1 ORDER BY cc.linked_at, cc.case_id LIMIT 1)),
			updated_at = now()
		WHERE call_id = $1 AND case_id IS NULL
			AND (NULLIF($2, '') IS NOT NULL OR EXISTS (SELECT 1 FROM case_calls cc WHERE cc.call_id = $1))`,
		env.CallID, env.CaseID)
	return err
}

// HandleInvalid keeps a message that broke the contract in dead_events.
func (s *EventStore) HandleInvalid(ctx context.Context, subject string, data []byte, cause error) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO dead_events (subject, data, error) VALUES ($1, $2, $3)`,
		subject, data, cause.Error()); err != nil {
		return fmt.Errorf("park invalid event on %s: %w", subject, err)
	}
	return nil
}

// projectCallStarted stores the call. A withheld number is stored as no number
// (NULL, anonymous): older producers sent the carrier's marker ("anonymous") as
// the caller, which is not a number to file, search or call back.
func projectCallStarted(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.CallStartedPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO calls (call_id, direction, caller, caller_name, anonymous, called, channel, node, staffed, started_at, case_id)
		VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), $5, $6, $7, $8, $9, $10, NULLIF($11, ''))
		ON CONFLICT (call_id) DO UPDATE SET
			direction = EXCLUDED.direction, caller = EXCLUDED.caller, caller_name = EXCLUDED.caller_name,
			anonymous = EXCLUDED.anonymous, called = EXCLUDED.called, channel = EXCLUDED.channel,
			node = EXCLUDED.node, staffed = EXCLUDED.staffed,
			started_at = COALESCE(calls.started_at, EXCLUDED.started_at),
			case_id = COALESCE(calls.case_id, EXCLUDED.case_id), updated_at = now()`,
		env.CallID, p.Direction, event.PresentedNumber(p.Caller), p.CallerName, p.Anonymous || event.WithheldNumber(p.Caller), p.Called, p.Channel, p.Node, p.Staffed, env.Time, env.CaseID)
	return err
}

func projectCallEnded(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.CallEndedPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	var answered *time.Time // NULL when the hotline never answered
	if !p.AnsweredAt.IsZero() {
		answered = &p.AnsweredAt
	}
	_, err := tx.Exec(ctx, `INSERT INTO calls (call_id, started_at, answered_at, ended_at, duration_ms, hangup_by, hangup_cause, hangup_cause_text, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (call_id) DO UPDATE SET
			started_at = COALESCE(calls.started_at, EXCLUDED.started_at),
			answered_at = COALESCE(calls.answered_at, EXCLUDED.answered_at),
			ended_at = EXCLUDED.ended_at, duration_ms = EXCLUDED.duration_ms, hangup_by = EXCLUDED.hangup_by,
			hangup_cause = EXCLUDED.hangup_cause, hangup_cause_text = EXCLUDED.hangup_cause_text,
			outcome = EXCLUDED.outcome, updated_at = now()`,
		env.CallID, p.StartedAt, answered, p.EndedAt, p.DurationMS, p.HangupBy, p.HangupCause, p.HangupCauseText, p.Outcome)
	return err
}
