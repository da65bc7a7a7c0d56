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

// FaxProjector stores call.fax_sent and call.fax_received.
func FaxProjector(ctx context.Context, tx pgx.Tx, env event.Envelope) error {
	var p event.FaxPayload
	if err := env.DecodePayload(&p); err != nil {
		return err
	}
	if p.FaxID == "" {
		return fmt.Errorf("fax event %s without fax ID: %w", env.ID, event.ErrInvalid)
	}
	dir := "sent"
	if env.Type == event.FaxReceived {
		dir = "received"
	}
	// The caller's number comes from the call (call.started is projected first).
	_, err := tx.Exec(ctx, `INSERT INTO faxes (id, event_id, direction, call_id, caller, document_id, pages, status, error, uri, pdf_uri, remote, at, case_id)
		VALUES ($1, $2, $3, $4, (SELECT caller FROM calls WHERE call_id = $4), NULLIF($5, ''), $6, $7, NULLIF($8, ''),
			NULLIF($9, ''), NULLIF($10, ''), NULLIF($11, ''), $12, NULLIF($13, ''))
		ON CONFLICT (id) DO NOTHING`,
		p.FaxID, env.ID, dir, env.CallID, p.DocumentID, p.Pages, p.Status, p.Error, p.URI, p.PDFURI, p.Remote, env.Time, env.CaseID)
	if err != nil {
		return fmt.Errorf("insert fax %s: %w", p.FaxID, err)
	}
	return nil
}

// Fax is one fax as agents see it.
type Fax struct {
	ID         string    `json:"id"`
	Direction  string    `json:"direction"`
	CallID     string    `json:"call_id"`
	Caller     string    `json:"caller,omitempty"`
	DocumentID string    `json:"document_id,omitempty"`
	Pages      int       `json:"pages"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	URI        string    `json:"-"` // TIFF path on the server
	PDFURI     string    `json:"-"` // PDF copy path on the server
	Remote     string    `json:"remote_station,omitempty"`
	At         time.Time `json:"at"`
	CaseID     string    `json:"case_id,omitempty"`
}

// FaxCursor is the keyset position of a fax list.
type FaxCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"id"`
}

// Faxes reads faxes and links received ones to cases.
type Faxes struct{ pool *pgxpool.Pool }

// NewFaxes returns the fax store.
func NewFaxes(pool *pgxpool.Pool) *Faxes { return &Faxes{pool: pool} }

const faxCols = `id::text, direction, call_id, COALESCE(caller, ''), COALESCE(document_id, ''), pages, status, COALESCE(error, ''),
	COALESCE(uri, ''), COALESCE(pdf_uri, ''), COALESCE(remote, ''), at, COALESCE(case_id, '')`

func scanFax(row pgx.Row) (Fax, error) {
	var f Fax
	err := row.Scan(&f.ID, &f.Direction, &f.CallID, &f.Caller, &f.DocumentID, &f.Pages, &f.Status, &f.Error, &f.URI, &f.PDFURI,
		&f.Remote, &f.At, &f.CaseID)
	// The caller comes from calls, whose rows from before withheld markers were
	// dropped may still hold "anonymous".
	f.Caller = event.PresentedNumber(f.Caller)
	return f, err
}

// ListReceivedOpen lists successfully received faxes not yet on a case, oldest first.
func (s *Faxes) ListReceivedOpen(ctx context.Context, after *FaxCursor, limit int) ([]Fax, error) {
	var t time.Time
	id := "00000000-0000-0000-0000-000000000000"
	if after != nil {
		t, id = after.At, after.ID
	}
	rows, err := s.pool.Query(ctx, `SELECT `+faxCols+` FROM faxes
		WHERE direction = 'received' AND status = 'success' AND case_id IS NULL AND (at, id) > ($1, $2::uuid)
		ORDER BY at, id LIMIT $3`, t, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list faxes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Fax, error) { return scanFax(r) })
	if err != nil {
		return nil, fmt.Errorf("list faxes: %w", err)
	}
	return out, nil
}

// Get returns one fax, or domain.ErrNotFound.
func (s *Faxes) Get(ctx context.Context, id string) (Fax, error) {
	if !validUUID(id) {
		return Fax{}, domain.ErrNotFound
	}
	f, err := scanFax(s.pool.QueryRow(ctx, `SELECT `+faxCols+` FROM faxes WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Fax{}, domain.ErrNotFound
	}
	if err != nil {
		return Fax{}, fmt.Errorf("get fax %s: %w", id, err)
	}
	return f, nil
}

// ClaimForCase marks a received fax as being filed on a case by by (ErrAlreadyCase
// if taken). The time lets RecoverStaleClaims tell a claim whose filing died from
// one still in progress.
func (s *Faxes) ClaimForCase(ctx context.Context, id, by string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE faxes SET case_id = '', case_at = $2, case_by = $3
		WHERE id = $1 AND case_id IS NULL AND direction = 'received'`, id, at, by)
	if err != nil {
		return fmt.Errorf("claim fax %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrAlreadyCase
	}
	return nil
}

// Release undoes by's ClaimForCase; a claim that is no longer by's (it went
// stale and another agent claimed the fax) is left alone.
func (s *Faxes) Release(ctx context.Context, id, by string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE faxes SET case_id = NULL, case_at = NULL, case_by = NULL
		WHERE id = $1 AND case_id = '' AND case_by = $2`, id, by); err != nil {
		return fmt.Errorf("release fax %s: %w", id, err)
	}
	return nil
}

// RecoverStaleClaims settles fax claims older than claimedBefore as
// Voicemails.RecoverStaleClaims does. The material reference is the one the API
// files: the PDF copy, or the TIFF when there is none.
func (s *Faxes) RecoverStaleClaims(ctx context.Context, claimedBefore time.Time) (linked, released int, err error) {
	// See Voicemails.RecoverStaleClaims: no sub-select row means release.
	rows, err := s.pool.Query(ctx, `UPDATE faxes f SET (case_id, case_at, case_by) = (
			SELECT m.case_id, f.case_at, f.case_by FROM case_materials m
			WHERE m.ref = COALESCE(NULLIF(f.pdf_uri, ''), f.uri) AND m.kind = 'fax'
			ORDER BY m.added_at DESC, m.case_id LIMIT 1)
		WHERE f.case_id = '' AND f.case_at < $1
		RETURNING f.case_id IS NOT NULL`, claimedBefore)
	if err != nil {
		return 0, 0, fmt.Errorf("recover fax claims: %w", err)
	}
	return countRecovered(rows, "fax")
}
