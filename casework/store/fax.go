package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	_, err := tx.Exec(ctx, `INSERT INTO faxes (id, event_id, direction, call_id, document_id, pages, status, error, uri, pdf_uri, remote, at, case_id)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, NULLIF($8, ''), NULLIF($9, ''), NULLIF($10, ''), NULLIF($11, ''), $12, NULLIF($13, ''))
		ON CONFLICT (id) DO NOTHING`,
		p.FaxID, env.ID, dir, env.CallID, p.DocumentID, p.Pages, p.Status, p.Error, p.URI, p.PDFURI, p.Remote, env.Time, env.CaseID)
	if err != nil {
		return fmt.Errorf("insert fax %s: %w", p.FaxID, err)
	}
	return nil
}
