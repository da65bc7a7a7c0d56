package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/notify"
)

// Notifications keeps units' notifications, their read marks, the units'
// webhooks and the webhook deliveries (migration 0014). The notifications
// themselves are written by Cases in the case change's transaction.
type Notifications struct{ pool *pgxpool.Pool }

// NewNotifications returns the notification store.
func NewNotifications(pool *pgxpool.Pool) *Notifications { return &Notifications{pool: pool} }

// Notification is one stored notice with the reader's read mark.
type Notification struct {
	ID      int64          `json:"id"`
	Read    bool           `json:"read"`
	ReadAt  *time.Time     `json:"read_at,omitempty"`
	Payload notify.Payload `json:"notification"`
}

// List returns a unit's notifications, newest first, with userID's read marks,
// and how many are unread. afterID > 0 returns only newer ones (the page's
// poll).
func (s *Notifications) List(ctx context.Context, unitID, userID string, unreadOnly bool, afterID int64, limit int) ([]Notification, int, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.payload, r.read_at FROM unit_notifications n
			LEFT JOIN unit_notification_reads r ON r.notification_id = n.id AND r.user_id = $2
		WHERE n.unit_id = $1 AND n.id > $3 AND (NOT $4 OR r.read_at IS NULL)
		ORDER BY n.id DESC LIMIT $5`, unitID, userID, afterID, unreadOnly, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications of %s: %w", unitID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) {
		var n Notification
		var body []byte
		if err := r.Scan(&n.ID, &body, &n.ReadAt); err != nil {
			return n, err
		}
		n.Read = n.ReadAt != nil
		return n, json.Unmarshal(body, &n.Payload)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list notifications of %s: %w", unitID, err)
	}
	var unread int
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM unit_notifications n WHERE n.unit_id = $1 AND NOT EXISTS
		(SELECT 1 FROM unit_notification_reads r WHERE r.notification_id = n.id AND r.user_id = $2)`, unitID, userID).Scan(&unread)
	if err != nil {
		return nil, 0, fmt.Errorf("count unread notifications of %s: %w", unitID, err)
	}
	return out, unread, nil
}

// MarkRead marks the unit's notifications ids (all of them when ids is nil)
// read by userID and returns how many were newly marked. IDs of other units'
// notifications are ignored.
func (s *Notifications) MarkRead(ctx context.Context, unitID, userID string, ids []int64) (int, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO unit_notification_reads (notification_id, user_id)
		SELECT n.id, $2 FROM unit_notifications n WHERE n.unit_id = $1 AND ($3::bigint[] IS NULL OR n.id = ANY($3))
		ON CONFLICT DO NOTHING`, unitID, userID, ids)
	if err != nil {
		return 0, fmt.Errorf("mark notifications of %s read: %w", unitID, err)
	}
	return int(tag.RowsAffected()), nil
}

// Webhook is a unit's outbound webhook as shown (never with its secret).
type Webhook struct {
	UnitID    string    `json:"unit_id"`
	URL       string    `json:"url"`
	Enabled   bool      `json:"enabled"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// SetWebhook sets (or replaces) a unit's webhook. ErrNotFound for an unknown unit.
func (s *Notifications) SetWebhook(ctx context.Context, unitID, url, secret string, enabled bool, by string) (Webhook, error) {
	var w Webhook
	err := s.pool.QueryRow(ctx, `INSERT INTO unit_webhooks (unit_id, url, secret, enabled, updated_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (unit_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, enabled = EXCLUDED.enabled,
			updated_at = now(), updated_by = EXCLUDED.updated_by
		RETURNING unit_id, url, enabled, updated_at, updated_by`, unitID, url, secret, enabled, by).
		Scan(&w.UnitID, &w.URL, &w.Enabled, &w.UpdatedAt, &w.UpdatedBy)
	if err != nil {
		if code, constraint := pgCode(err); code == "23503" || strings.Contains(constraint, "unit_id_fkey") {
			return w, fmt.Errorf("webhook of unit %q: %w", unitID, ErrNotFound)
		}
		return w, fmt.Errorf("set webhook of unit %q: %w", unitID, err)
	}
	return w, nil
}

// Webhook returns a unit's webhook; ErrNotFound if it has none.
func (s *Notifications) Webhook(ctx context.Context, unitID string) (Webhook, error) {
	var w Webhook
	err := s.pool.QueryRow(ctx, `SELECT unit_id, url, enabled, updated_at, updated_by FROM unit_webhooks WHERE unit_id = $1`, unitID).
		Scan(&w.UnitID, &w.URL, &w.Enabled, &w.UpdatedAt, &w.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return w, fmt.Errorf("webhook of unit %q: %w", unitID, ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("webhook of unit %q: %w", unitID, err)
	}
	return w, nil
}

// DeleteWebhook removes a unit's webhook; deliveries already made stay listed,
// pending ones still go out to the URL they were made for.
func (s *Notifications) DeleteWebhook(ctx context.Context, unitID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM unit_webhooks WHERE unit_id = $1`, unitID)
	if err != nil {
		return fmt.Errorf("delete webhook of unit %q: %w", unitID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook of unit %q: %w", unitID, ErrNotFound)
	}
	return nil
}

// Delivery is one webhook delivery with its attempts.
type Delivery struct {
	ID             string     `json:"id"`
	NotificationID int64      `json:"notification_id"`
	UnitID         string     `json:"unit_id"`
	URL            string     `json:"url"`
	Kind           string     `json:"kind"`
	CaseNumber     string     `json:"case_number"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
	LastStatus     *int       `json:"last_status,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Deliveries lists a unit's webhook deliveries, newest first.
func (s *Notifications) Deliveries(ctx context.Context, unitID string, limit int) ([]Delivery, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id::text, d.notification_id, d.unit_id, d.url, n.kind, n.payload->>'case_number',
			d.status, d.attempts, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END, d.last_attempt_at, d.last_status,
			COALESCE(d.last_error, ''), d.created_at, d.delivered_at
		FROM webhook_deliveries d JOIN unit_notifications n ON n.id = d.notification_id
		WHERE d.unit_id = $1 ORDER BY d.created_at DESC, d.notification_id DESC LIMIT $2`, unitID, limit)
	if err != nil {
		return nil, fmt.Errorf("deliveries of unit %q: %w", unitID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		err := r.Scan(&d.ID, &d.NotificationID, &d.UnitID, &d.URL, &d.Kind, &d.CaseNumber, &d.Status, &d.Attempts,
			&d.NextAttemptAt, &d.LastAttemptAt, &d.LastStatus, &d.LastError, &d.CreatedAt, &d.DeliveredAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("deliveries of unit %q: %w", unitID, err)
	}
	return out, nil
}

// DueDelivery is a delivery claimed for an attempt.
type DueDelivery struct {
	ID       string
	URL      string
	Secret   string
	Kind     string
	Payload  []byte
	Attempts int // including this one
}

// ClaimDue takes up to limit pending deliveries due at now for one attempt
// each: their attempt is counted and they are leased until now+lease, so
// another dispatcher (another instance) does not send them meanwhile, and one
// whose dispatcher died is retried when the lease ends. The secret is the
// unit's current one (a rotated secret signs the retries).
func (s *Notifications) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]DueDelivery, error) {
	rows, err := s.pool.Query(ctx, `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, last_attempt_at = $1,
			next_attempt_at = $1::timestamptz + $2::interval
		FROM unit_notifications n, unit_webhooks w
		WHERE d.id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
				ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
			AND n.id = d.notification_id AND w.unit_id = d.unit_id
		RETURNING d.id::text, d.url, w.secret, n.kind, n.payload::text, d.attempts`, now, lease, limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DueDelivery, error) {
		var d DueDelivery
		var body string
		err := r.Scan(&d.ID, &d.URL, &d.Secret, &d.Kind, &body, &d.Attempts)
		d.Payload = []byte(body)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	return out, nil
}

// Attempted records an attempt's outcome: delivered, or retried at next, or
// (next zero) failed for good.
func (s *Notifications) Attempted(ctx context.Context, id string, delivered bool, status int, errText string, next time.Time) error {
	var st *int
	if status > 0 {
		st = &status
	}
	var q string
	var args []any
	switch {
	case delivered:
		q, args = `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = $2, last_error = NULL WHERE id = $1`, []any{id, st}
	case next.IsZero():
		q, args = `UPDATE webhook_deliveries SET status = 'failed', last_status = $2, last_error = $3 WHERE id = $1`, []any{id, st, errText}
	default:
		q, args = `UPDATE webhook_deliveries SET next_attempt_at = $4, last_status = $2, last_error = $3 WHERE id = $1`, []any{id, st, errText, next}
	}
	if _, err := s.pool.Exec(ctx, q, args...); err != nil {
		return fmt.Errorf("record webhook delivery %s: %w", id, err)
	}
	return nil
}

// InboxRow is one case in a unit's inbox.
type InboxRow struct {
	CaseRow
	DeadlineProvisional bool `json:"deadline_provisional"`
}

// Inbox lists the cases of unitID and its sub-units (C14) that the unit still
// works on (transferred, accepted, replied) — all states with all — earliest
// deadline first.
func (s *Cases) Inbox(ctx context.Context, unitID string, all bool, limit int) ([]InboxRow, error) {
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	states := []string{string(domain.StateTransferred), string(domain.StateAccepted), string(domain.StateReplied)}
	rows, err := s.pool.Query(ctx, `SELECT `+caseRowColumns+`, c.deadline_provisional
		FROM cases c WHERE `+strings.ReplaceAll(caseUnitScope, "$n", "$1")+` AND ($2 OR c.state = ANY($3))
		ORDER BY c.deadline ASC NULLS LAST, c.created_at, c.id LIMIT $4`, unitID, all, states, limit)
	if err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", unitID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboxRow, error) {
		var c InboxRow
		err := scanCaseRow(r, &c.CaseRow, &c.DeadlineProvisional)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("inbox of %s: %w", unitID, err)
	}
	return out, nil
}
