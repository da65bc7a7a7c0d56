package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
)

// RegisterRoutingProjections registers the agent queue's projections with es.
func RegisterRoutingProjections(es *EventStore) {
	for t, p := range RoutingProjectors() {
		es.Project(t, p)
	}
}

// RoutingProjectors are the agent queue's projections (migration 0005), by
// event type. cmd/casework registers them with EventStore.Project; duty-line
// failures have their own (DutyLineFailureProjector).
func RoutingProjectors() map[event.Type]Projector {
	return map[event.Type]Projector{
		event.AgentAnswered:     AgentAnsweredProjector,
		event.CallAbandoned:     CallAbandonedProjector,
		event.RecordingSaved:    RecordingSavedProjector,
		event.AgentStateChanged: ForcedAgentStateProjector,
	}
}

// ForcedAgentStateProjector writes a supervisor's order for an agent (a pause
// or a sign-out forced from the supervisor's screen, routing) to the audit log,
// in the event's transaction: the change is on record once, by whom and why.
// The agent's own changes need no audit entry.
func ForcedAgentStateProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.AgentStatePayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if p.ForcedBy == "" {
		return nil
	}
	action := "force_" + p.State // force_paused, force_logged_out
	return AppendAudit(ctx, tx, AuditEntry{UserID: p.ForcedBy, Role: domain.RoleSupervisor, Action: action,
		ObjectType: "agent", ObjectID: p.StaffNumber + ": " + p.Reason, RequestID: env.ID})
}

// AgentAnsweredProjector records who answered a queued call and after how long.
func AgentAnsweredProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.AgentAnsweredPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if env.CallID == "" || p.StaffNumber == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO call_agents (event_id, call_id, staff_number, answered_at, wait_ms)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, env.ID, env.CallID, p.StaffNumber, env.Time, max(p.WaitMS, 0))
	if err != nil {
		return fmt.Errorf("record agent answer: %w", err)
	}
	return nil
}

// CallAbandonedProjector records a caller who hung up in the queue, with the wait.
func CallAbandonedProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.CallAbandonedPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if env.CallID == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO queue_abandons (event_id, call_id, queue, abandoned_at, wait_ms, short)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, env.ID, env.CallID, p.Queue, env.Time, max(p.WaitMS, 0), p.Short)
	if err != nil {
		return fmt.Errorf("record abandoned call: %w", err)
	}
	return nil
}

// RecordingSavedProjector links an agent call's recording to the call.
func RecordingSavedProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.RecordingSavedPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if env.CallID == "" || p.URI == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO call_recordings (event_id, call_id, recording_id, uri, format, duration_ms, saved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		env.ID, env.CallID, p.RecordingID, p.URI, p.Format, max(p.DurationMS, 0), env.Time)
	if err != nil {
		return fmt.Errorf("record recording: %w", err)
	}
	return nil
}
