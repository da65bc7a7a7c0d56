package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
)

// Voicemail is one voice message (留言) as agents see it.
type Voicemail struct {
	ID         string     `json:"id"`
	CallID     string     `json:"call_id"`
	Caller     string     `json:"caller,omitempty"`
	URI        string     `json:"-"` // a server path: clients use the audio endpoint
	Format     string     `json:"format"`
	DurationMS int64      `json:"duration_ms"`
	EndedBy    string     `json:"ended_by,omitempty"`
	LeftAt     time.Time  `json:"left_at"`
	HeardAt    *time.Time `json:"heard_at,omitempty"`
	HeardBy    string     `json:"heard_by,omitempty"`
	CaseID     string     `json:"case_id,omitempty"`
}

// VoicemailCursor is the keyset position of a voicemail list.
type VoicemailCursor struct {
	LeftAt time.Time `json:"t"`
	ID     string    `json:"id"`
}

// Voicemails reads and updates voice messages.
type Voicemails struct{ pool *pgxpool.Pool }

// NewVoicemails returns the voicemail store.
func NewVoicemails(pool *pgxpool.Pool) *Voicemails { return &Voicemails{pool: pool} }

// RegisterVoiceProjections adds the projections of voicemail and fax events to s.
func RegisterVoiceProjections(s *EventStore) {
	s.Project(event.VoicemailLeft, VoicemailProjector)
	s.Project(event.FaxSent, FaxProjector)
	s.Project(event.FaxReceived, FaxProjector)
}

// VoicemailProjector stores a call.voicemail_left as a new message; a withheld
// number (older producers sent the carrier's marker) is stored as none.
func VoicemailProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.VoicemailPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if p.MessageID == "" || p.URI == "" {
		return fmt.Errorf("voicemail event %s without message ID or URI: %w", env.ID, event.ErrInvalid)
	}
	_, err := tx.Exec(ctx, `INSERT INTO voicemails (id, event_id, call_id, caller, uri, format, duration_ms, ended_by, left_at, case_id)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5, COALESCE(NULLIF($6, ''), 'wav'), $7, $8, $9, NULLIF($10, ''))
		ON CONFLICT (id) DO NOTHING`,
		p.MessageID, env.ID, env.CallID, event.PresentedNumber(p.Caller), p.URI, p.Format, p.DurationMS, p.Reason, env.Time, env.CaseID)
	if err != nil {
		return fmt.Errorf("insert voicemail %s: %w", p.MessageID, err)
	}
	return nil
}

const voicemailCols = `id::text, call_id, COALESCE(caller, ''), uri, format, duration_ms, ended_by, left_at, heard_at,
	COALESCE(heard_by, ''), COALESCE(case_id, '')`

func scanVoicemail(row pgx.Row) (Voicemail, error) {
	var v Voicemail
	err := row.Scan(&v.ID, &v.CallID, &v.Caller, &v.URI, &v.Format, &v.DurationMS, &v.EndedBy, &v.LeftAt, &v.HeardAt,
		&v.HeardBy, &v.CaseID)
	// Rows projected before withheld markers were dropped still hold "anonymous".
	v.Caller = event.PresentedNumber(v.Caller)
	return v, err
}

// ListOpen lists messages not yet turned into a case, oldest first, after the
// cursor (nil: from the start), at most limit.
func (s *Voicemails) ListOpen(ctx context.Context, after *VoicemailCursor, limit int) ([]Voicemail, error) {
	var t time.Time
	id := "00000000-0000-0000-0000-000000000000"
	if after != nil {
		t, id = after.LeftAt, after.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+voicemailCols+` FROM voicemails
		WHERE case_id IS NULL AND (left_at, id) > ($1, $2::uuid) ORDER BY left_at, id LIMIT $3`, t, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list voicemails: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Voicemail, error) { return scanVoicemail(r) })
	if err != nil {
		return nil, fmt.Errorf("list voicemails: %w", err)
	}
	return out, nil
}

// Get returns one message, or domain.ErrNotFound.
func (s *Voicemails) Get(ctx context.Context, id string) (Voicemail, error) {
	if !validUUID(id) {
		return Voicemail{}, domain.ErrNotFound
	}
	v, err := scanVoicemail(s.pool.QueryRow(ctx, `SELECT `+voicemailCols+` FROM voicemails WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Voicemail{}, domain.ErrNotFound
	}
	if err != nil {
		return Voicemail{}, fmt.Errorf("get voicemail %s: %w", id, err)
	}
	return v, nil
}

// MarkHeard records the first listener; later listens keep the first.
func (s *Voicemails) MarkHeard(ctx context.Context, id, by string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE voicemails SET heard_at = $2, heard_by = $3 WHERE id = $1 AND heard_at IS NULL`, id, at, by)
	if err != nil {
		return fmt.Errorf("mark voicemail %s heard: %w", id, err)
	}
	return nil
}

// ErrAlreadyCase means the message was turned into a case before.
var ErrAlreadyCase = errors.New("voicemail already turned into a case")

// ClaimForCase marks the message as being turned into a case by by, so that two
// agents cannot make two cases of one message. It returns ErrAlreadyCase if it is
// taken; Release undoes a claim whose case could not be registered.
func (s *Voicemails) ClaimForCase(ctx context.Context, id, by string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE voicemails SET case_id = '', case_at = $2, case_by = $3
		WHERE id = $1 AND case_id IS NULL`, id, at, by)
	if err != nil {
		return fmt.Errorf("claim voicemail %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrAlreadyCase
	}
	return nil
}

// Release undoes by's ClaimForCase; a claim that is no longer by's (it went
// stale and another agent claimed the message) is left alone.
func (s *Voicemails) Release(ctx context.Context, id, by string) error {
	_, err := s.pool.Exec(ctx, `UPDATE voicemails SET case_id = NULL, case_at = NULL, case_by = NULL
		WHERE id = $1 AND case_id = '' AND case_by = $2`, id, by)
	if err != nil {
		return fmt.Errorf("release voicemail %s: %w", id, err)
	}
	return nil
}

// RecoverStaleClaims settles claims older than claimedBefore, left behind by a
// process that died between ClaimForCase and the case's registration (which
// marks the message filed in its own transaction, Cases.CreateCase). A message
// whose URI is a voicemail material of a case was registered but never linked
// (by a version that linked in a separate step): it is linked to that case.
// Any other stale claim is released and the message is listed as new again.
// Claims at or after claimedBefore may be registrations still in progress and
// are left alone.
func (s *Voicemails) RecoverStaleClaims(ctx context.Context, claimedBefore time.Time) (linked, released int, err error) {
	// One statement, so each claim is settled atomically against a concurrent
	// registration, Release or recovery pass on another instance: the row lock and the
	// re-checked WHERE skip a claim settled meanwhile. The row sub-select yields the
	// case (keeping the claim's time and actor) or no row, which sets all three
	// columns to NULL: the release. If the URI is on several cases, the latest
	// filing is taken as this claim's.
	rows, err := s.pool.Query(ctx, `UPDATE voicemails v SET (case_id, case_at, case_by) = (
			SELECT m.case_id, v.case_at, v.case_by FROM case_materials m
			WHERE m.ref = v.uri AND m.kind = 'voicemail'
			ORDER BY m.added_at DESC, m.case_id LIMIT 1)
		WHERE v.case_id = '' AND v.case_at < $1
		RETURNING v.case_id IS NOT NULL`, claimedBefore)
	if err != nil {
		return 0, 0, fmt.Errorf("recover voicemail claims: %w", err)
	}
	return countRecovered(rows, "voicemail")
}

// countRecovered counts the rows of a recovery UPDATE returning whether each
// claim was linked (true) or released (false).
func countRecovered(rows pgx.Rows, kind string) (linked, released int, err error) {
	outcomes, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return 0, 0, fmt.Errorf("recover %s claims: %w", kind, err)
	}
	for _, l := range outcomes {
		if l {
			linked++
		} else {
			released++
		}
	}
	return linked, released, nil
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}
