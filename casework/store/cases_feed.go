package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/casework/assessment"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
)

// ScanResult is what one escalation scan did.
type ScanResult struct {
	// Locked counts the due cases this scan held (others were skipped because
	// another instance held them).
	Locked int
	// Changed counts the cases fn changed.
	Changed int
	// Failed maps case IDs to fn's errors; those cases are retried after
	// RetryFailedAfter instead of blocking the front of the due index.
	Failed map[string]error
}

// RetryFailedAfter is how long a case whose escalation failed waits before the
// next attempt.
const RetryFailedAfter = time.Hour

// ScanDue applies fn to up to limit cases whose escalation is due at now, in one
// transaction. Rows are locked with FOR UPDATE SKIP LOCKED, so two scheduler
// instances never handle the same case at once; fn sees the locked, current case,
// so a second instance that gets it later finds the reminder already recorded and
// changes nothing. That re-check, not timing, is what makes each reminder and
// supervision fire exactly once.
func (s *Cases) ScanDue(ctx context.Context, now time.Time, limit int, fn Change) (ScanResult, error) {
	res := ScanResult{Failed: map[string]error{}}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM cases WHERE due_at <= $1 ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return fmt.Errorf("scan due cases: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("scan due cases: %w", err)
		}
		res.Locked = len(ids)
		for _, id := range ids {
			changed := false
			err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
				return s.updateTx(ctx, sp, id, func(c *domain.Case, consent bool) ([]event.Envelope, error) {
					extra, err := fn(c, consent)
					changed = err == nil && (len(c.Pending()) > 0 || len(extra) > 0)
					return extra, err
				})
			})
			if err != nil {
				res.Failed[id] = err
			}
			if changed {
				res.Changed++
				continue
			}
			// Nothing fired although the index said due (a failure, or a policy that
			// changed): push the entry back so it does not hold the front forever.
			if _, err := tx.Exec(ctx, `UPDATE cases SET due_at = $2 WHERE id = $1 AND due_at <= $3`,
				id, now.Add(RetryFailedAfter), now); err != nil {
				return fmt.Errorf("postpone case %s: %w", id, err)
			}
		}
		return nil
	})
	return res, err
}

// CallEventFunc decides what a call event does to a case: the case (by ID or by
// number) and the change to apply. ok false means the event concerns no case.
type CallEventFunc func(env event.Envelope) (ref string, change Change, ok bool, err error)

// SkipFunc is told about a case change from an event that was skipped because the
// case does not exist or refused it (illegal in its state, invalid data). Such an
// event is still stored; retrying it would only fail again.
type SkipFunc func(env event.Envelope, err error)

// CaseProjector returns an event store projector that applies decide's changes to
// cases in the event's transaction, so the event and its effect on the case
// commit together and a redelivered event (stored once) never applies twice.
func (s *Cases) CaseProjector(decide CallEventFunc, skip SkipFunc) Projector {
	return func(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
		ref, change, ok, err := decide(env)
		if err != nil {
			skip(env, err)
			return nil
		}
		if !ok {
			return nil
		}
		id := ref
		if domain.CaseNumber(ref).Valid() {
			err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE number = $1`, ref).Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				skip(env, fmt.Errorf("case number %q: %w", ref, ErrNotFound))
				return nil
			}
			if err != nil {
				return fmt.Errorf("look up case number %q: %w", ref, err)
			}
		}
		err = s.UpdateInTx(ctx, tx, id, change)
		if isRefusal(err) {
			skip(env, err)
			return nil
		}
		return err
	}
}

// isRefusal reports a domain answer that a retry cannot change.
func isRefusal(err error) bool {
	return err != nil && (errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrInvalidTransition) ||
		errors.Is(err, domain.ErrInvalid) || errors.Is(err, domain.ErrForbidden) ||
		errors.Is(err, domain.ErrExtensionLimit))
}

// DutyLineFailureProjector records call.threeway_failed events against the unit
// (ground (七) of 002 三). Failures on the hotline's side (error) are kept too,
// with their reason, and left out by the assessment query.
func DutyLineFailureProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.ThreeWayPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if p.UnitID == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO duty_line_failures (event_id, unit_id, call_id, at, reason)
		VALUES ($1, $2, NULLIF($3, ''), $4, $5) ON CONFLICT DO NOTHING`, env.ID, p.UnitID, env.CallID, env.Time, p.Reason)
	if err != nil {
		return fmt.Errorf("record duty line failure: %w", err)
	}
	return nil
}

// DutyLineFailures lists the failures in [from, to) that count against the unit:
// the line was not answered, busy or refused; an error of the hotline's own
// equipment is not the unit's fault.
func (s *Cases) DutyLineFailures(ctx context.Context, from, to time.Time) ([]assessment.DutyLineFailure, error) {
	rows, err := s.pool.Query(ctx, `SELECT unit_id, at, COALESCE(call_id, '') FROM duty_line_failures
		WHERE at >= $1 AND at < $2 AND reason NOT IN ('error', 'congestion') ORDER BY at`, from, to)
	if err != nil {
		return nil, fmt.Errorf("duty line failures: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (assessment.DutyLineFailure, error) {
		var f assessment.DutyLineFailure
		return f, r.Scan(&f.UnitID, &f.At, &f.CallID)
	})
	if err != nil {
		return nil, fmt.Errorf("duty line failures: %w", err)
	}
	return out, nil
}

// Histories streams the full history of every case that can matter for a period
// [from, to): any activity in it, or a deadline in it (a round that fell due
// without any action). fn gets one case at a time, in case ID order, so memory
// stays flat however many cases the quarter has.
func (s *Cases) Histories(ctx context.Context, from, to time.Time, fn func(caseID string, h []domain.HistoryEntry) error) error {
	rows, err := s.pool.Query(ctx, `SELECT h.case_id, h.seq, h.at, h.actor_id, h.actor_role, COALESCE(h.actor_unit, ''),
			h.action, COALESCE(h.from_state, ''), h.to_state, COALESCE(h.lead_unit, ''), h.deadline, h.details, COALESCE(h.note, '')
		FROM case_history h
		WHERE h.case_id IN (SELECT id FROM cases WHERE (updated_at >= $1 AND created_at < $2) OR (deadline >= $1 AND deadline < $2))
		ORDER BY h.case_id, h.seq`, from, to)
	if err != nil {
		return fmt.Errorf("histories: %w", err)
	}
	defer rows.Close()
	var cur string
	var batch []domain.HistoryEntry
	for rows.Next() {
		var e domain.HistoryEntry
		var role, action, fromSt, toSt string
		var deadline *time.Time
		var details []byte
		if err := rows.Scan(&e.CaseID, &e.Seq, &e.At, &e.Actor.ID, &role, &e.Actor.UnitID, &action, &fromSt, &toSt,
			&e.Lead, &deadline, &details, &e.Note); err != nil {
			return fmt.Errorf("histories: %w", err)
		}
		e.Actor.Role, e.Action, e.From, e.To = domain.Role(role), domain.Action(action), domain.State(fromSt), domain.State(toSt)
		if deadline != nil {
			e.Deadline = *deadline
		}
		if len(details) > 0 {
			if err := json.Unmarshal(details, &e.Details); err != nil {
				return fmt.Errorf("histories: case %s seq %d: %w", e.CaseID, e.Seq, err)
			}
		}
		if e.CaseID != cur && len(batch) > 0 {
			if err := fn(cur, batch); err != nil {
				return err
			}
			batch = batch[:0:0]
		}
		cur = e.CaseID
		batch = append(batch, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("histories: %w", err)
	}
	if len(batch) > 0 {
		return fn(cur, batch)
	}
	return nil
}

// AssessmentHistories is Histories trimmed to what assessment.Summarize reads
// (action, time, lead unit, deadline, and the details of transfers, callbacks
// and findings). At a million cases a quarter, streaming whole entries costs
// more than assessing them; this keeps the stream lean.
func (s *Cases) AssessmentHistories(ctx context.Context, from, to time.Time, fn func(caseID string, h []domain.HistoryEntry) error) error {
	rows, err := s.pool.Query(ctx, `SELECT h.case_id, h.seq, h.at, h.action, COALESCE(h.lead_unit, ''), h.deadline,
			CASE WHEN h.action IN ('transfer', 'callback', 'callback_reopen', 'record_finding') THEN h.details END
		FROM case_history h
		WHERE h.case_id IN (SELECT id FROM cases WHERE (updated_at >= $1 AND created_at < $2) OR (deadline >= $1 AND deadline < $2))
		ORDER BY h.case_id, h.seq`, from, to)
	if err != nil {
		return fmt.Errorf("assessment histories: %w", err)
	}
	defer rows.Close()
	var cur string
	var batch []domain.HistoryEntry
	var caseID, action, lead string
	var seq int
	var at time.Time
	var deadline *time.Time
	var details []byte
	for rows.Next() {
		if err := rows.Scan(&caseID, &seq, &at, &action, &lead, &deadline, &details); err != nil {
			return fmt.Errorf("assessment histories: %w", err)
		}
		e := domain.HistoryEntry{CaseID: caseID, Seq: seq, At: at, Action: domain.Action(action), Lead: lead}
		if deadline != nil {
			e.Deadline = *deadline
		}
		if len(details) > 0 {
			if err := json.Unmarshal(details, &e.Details); err != nil {
				return fmt.Errorf("assessment histories: case %s seq %d: %w", caseID, seq, err)
			}
		}
		if caseID != cur && len(batch) > 0 {
			if err := fn(cur, batch); err != nil {
				return err
			}
			batch = batch[:0:0]
		}
		cur = caseID
		batch = append(batch, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("assessment histories: %w", err)
	}
	if len(batch) > 0 {
		return fn(cur, batch)
	}
	return nil
}
