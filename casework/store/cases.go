package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/notify"
)

// Change is what a use case does to a loaded case inside the store's transaction:
// it mutates c and may return events to publish besides the history entries (for
// example a callback request). consent is whether the caller agreed at
// registration to a satisfaction callback. It must not call the store. An alias,
// so interfaces declared by the store's users can spell it without importing it.
type Change = func(c *domain.Case, consent bool) ([]event.Envelope, error)

// DueFunc tells the store when the next automatic reminder and supervision of a
// case are due (zero: none). The escalation package computes it from the city's
// policy and the calendar; the store only keeps it in the due index.
type DueFunc func(c *domain.Case) (remindAt, superviseAt time.Time)

// Cases is the PostgreSQL case repository. It implements app.Repository (the
// contract suite in casecontract_test.go runs against it and apptest.Memory) and
// owns the transaction of every change: snapshot, history, units, calls,
// materials and outbox rows commit together or not at all.
type Cases struct {
	pool   *pgxpool.Pool
	due    DueFunc
	source string
}

// CasesOption configures Cases.
type CasesOption func(*Cases)

// WithDue sets the escalation due function (default: nothing is ever due).
func WithDue(f DueFunc) CasesOption { return func(s *Cases) { s.due = f } }

// WithSource names the producer written into outbox events (default "casework").
func WithSource(src string) CasesOption { return func(s *Cases) { s.source = src } }

// NewCases returns the case repository.
func NewCases(pool *pgxpool.Pool, opts ...CasesOption) *Cases {
	s := &Cases{pool: pool, source: "casework"}
	for _, o := range opts {
		o(s)
	}
	return s
}

// shanghai is the civil time zone case numbers are dated in.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600) // no DST since 1991, so this is exact
	}
	return loc
}()

// NextNumber allocates the next case number of the Asia/Shanghai day of at. The
// upsert takes the day's row lock, so concurrent registrations never share a
// number; a registration that fails afterwards leaves a gap, which is harmless.
func (s *Cases) NextNumber(ctx context.Context, at time.Time) (domain.CaseNumber, error) {
	day := at.In(shanghai)
	var n int
	err := s.pool.QueryRow(ctx, `INSERT INTO case_number_seq (day, last) VALUES ($1, 1)
		ON CONFLICT (day) DO UPDATE SET last = case_number_seq.last + 1 RETURNING last`,
		day.Format("2006-01-02")).Scan(&n)
	if err != nil {
		return "", fmt.Errorf("allocate case number: %w", err)
	}
	return domain.ParseCaseNumber(fmt.Sprintf("%s%04d", day.Format("20060102"), n))
}

// CreateCase stores a new case, the caller's callback consent, its pending history
// and extra events, in one transaction. ErrConflict if the ID or number exists.
func (s *Cases) CreateCase(ctx context.Context, c *domain.Case, consent bool, extra []event.Envelope, filings ...domain.Filing) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		snap := c.Snapshot()
		remind, supervise := s.dueOf(c)
		body, err := snapshotJSON(snap)
		if err != nil {
			return err
		}
		r := snap.Registration
		now := snap.History[len(snap.History)-1].At
		_, err = tx.Exec(ctx, `INSERT INTO cases (id, number, state, category, region, urgency, confidentiality,
				channel, mode, protected, lead_unit, round, deadline, caller_phone, content, received_at, created_at,
				updated_at, version, callback_consent, remind_at, supervise_at, due_at, snapshot, deadline_provisional)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, $19,
				$20, $21, LEAST($20::timestamptz, $21::timestamptz), $22, $23)`,
			snap.ID, string(r.Number), string(snap.State), string(r.Category), string(r.Region), string(r.Urgency),
			string(r.Confidentiality), string(r.Channel), string(snap.Mode), r.Protected(), leadID(snap),
			snap.Round.Seq, nullTime(snap.Deadline), nullStr(r.Caller.Phone), r.Content, r.ReceivedAt, now,
			c.Version(), consent, nullTime(remind), nullTime(supervise), body, snap.DeadlineProvisional)
		if err != nil {
			if code, _ := pgCode(err); code == pgUniqueViolation {
				return fmt.Errorf("case %s / %s: %w", snap.ID, r.Number, ErrConflict)
			}
			return fmt.Errorf("insert case: %w", err)
		}
		if err := s.writeDerived(ctx, tx, c, snap, extra); err != nil {
			return err
		}
		for _, f := range filings {
			if err := settleFiling(ctx, tx, f, snap.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create case: %w", err)
	}
	c.ClearPending()
	return nil
}

// Get loads a case; ErrNotFound if there is none.
func (s *Cases) Get(ctx context.Context, id string) (*domain.Case, error) {
	c, _, err := s.load(ctx, s.pool, id, false)
	return c, err
}

// GetWithConsent loads a case and whether its caller agreed to a callback.
func (s *Cases) GetWithConsent(ctx context.Context, id string) (*domain.Case, bool, error) {
	return s.load(ctx, s.pool, id, false)
}

// IDByNumber resolves a case number to the case ID.
func (s *Cases) IDByNumber(ctx context.Context, number string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id FROM cases WHERE number = $1`, number).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("case number %q: %w", number, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("look up case number %q: %w", number, err)
	}
	return id, nil
}

// UpdateCase loads and locks the case, runs fn on it with the caller's callback
// consent and, if fn returns nil, saves the state, inserts c.Pending() with
// their events and fn's extra events, in one transaction. fn's error comes back
// unwrapped, so callers match domain errors with errors.Is and errors.As.
func (s *Cases) UpdateCase(ctx context.Context, id string, fn Change) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.updateTx(ctx, tx, id, fn)
	})
}

// UpdateInTx is UpdateCase inside a transaction someone else owns: an event
// projection that changes a case commits with the event that caused it. A
// refusal by fn is rolled back to a savepoint, so the caller's transaction stays
// usable and can decide to skip the change.
func (s *Cases) UpdateInTx(ctx context.Context, tx pgx.Tx, id string, fn Change) error {
	return pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return s.updateTx(ctx, sp, id, fn) })
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *Cases) load(ctx context.Context, q querier, id string, lock bool) (*domain.Case, bool, error) {
	sql := `SELECT snapshot, callback_consent FROM cases WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	var body []byte
	var consent bool
	err := q.QueryRow(ctx, sql, id).Scan(&body, &consent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, fmt.Errorf("case %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, false, fmt.Errorf("load case %q: %w", id, err)
	}
	var snap domain.Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		return nil, false, fmt.Errorf("decode case %q: %w", id, err)
	}
	snap.History, err = loadHistory(ctx, q, id)
	if err != nil {
		return nil, false, err
	}
	c, err := domain.RestoreCase(snap)
	if err != nil {
		return nil, false, fmt.Errorf("load case %q: %w", id, err)
	}
	return c, consent, nil
}

func loadHistory(ctx context.Context, q querier, id string) ([]domain.HistoryEntry, error) {
	rows, err := q.Query(ctx, `SELECT seq, at, actor_id, actor_role, COALESCE(actor_unit, ''), action,
			COALESCE(from_state, ''), to_state, COALESCE(lead_unit, ''), deadline, deadline_provisional, details, COALESCE(note, '')
		FROM case_history WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("load history of %q: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.HistoryEntry, error) {
		e := domain.HistoryEntry{CaseID: id}
		var role, action, from, to string
		var deadline *time.Time
		var details []byte
		err := r.Scan(&e.Seq, &e.At, &e.Actor.ID, &role, &e.Actor.UnitID, &action, &from, &to, &e.Lead,
			&deadline, &e.DeadlineProvisional, &details, &e.Note)
		if err != nil {
			return e, err
		}
		e.Actor.Role, e.Action, e.From, e.To = domain.Role(role), domain.Action(action), domain.State(from), domain.State(to)
		if deadline != nil {
			e.Deadline = *deadline
		}
		if len(details) > 0 {
			if err := json.Unmarshal(details, &e.Details); err != nil {
				return e, err
			}
		}
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("load history of %q: %w", id, err)
	}
	return out, nil
}

func (s *Cases) updateTx(ctx context.Context, tx pgx.Tx, id string, fn Change) error {
	c, consent, err := s.load(ctx, tx, id, true)
	if err != nil {
		return err
	}
	loaded := c.Version()
	extra, err := fn(c, consent)
	if err != nil {
		return err // unwrapped: callers match domain errors with errors.Is/As
	}
	if len(c.Pending()) == 0 && len(extra) == 0 {
		return nil // idempotent no-op (a link already made, nothing due)
	}
	snap := c.Snapshot()
	body, err := snapshotJSON(snap)
	if err != nil {
		return err
	}
	remind, supervise := s.dueOf(c)
	tag, err := tx.Exec(ctx, `UPDATE cases SET state = $2, mode = $3, lead_unit = $4, round = $5, deadline = $6,
			updated_at = $7, version = $8, remind_at = $9, supervise_at = $10, due_at = LEAST($9::timestamptz, $10::timestamptz), snapshot = $11,
			deadline_provisional = $13
		WHERE id = $1 AND version = $12`,
		id, string(snap.State), string(snap.Mode), leadID(snap), snap.Round.Seq, nullTime(snap.Deadline),
		snap.History[len(snap.History)-1].At, c.Version(), nullTime(remind), nullTime(supervise), body, loaded,
		snap.DeadlineProvisional)
	if err != nil {
		return fmt.Errorf("save case %q: %w", id, err)
	}
	if tag.RowsAffected() != 1 {
		// Cannot happen under FOR UPDATE; kept so a store bug cannot lose a write.
		return fmt.Errorf("save case %q: version %d changed meanwhile: %w", id, loaded, ErrConflict)
	}
	if err := s.writeDerived(ctx, tx, c, snap, extra); err != nil {
		return err
	}
	c.ClearPending()
	return nil
}

// writeDerived inserts the pending history entries, their outbox events, the
// extra events and the case's units, calls and materials.
func (s *Cases) writeDerived(ctx context.Context, tx pgx.Tx, c *domain.Case, snap domain.Snapshot, extra []event.Envelope) error {
	batch := &pgx.Batch{}
	for _, e := range c.Pending() {
		var details []byte
		if len(e.Details) > 0 {
			details, _ = json.Marshal(e.Details)
		}
		batch.Queue(`INSERT INTO case_history (case_id, seq, at, actor_id, actor_role, actor_unit, action, from_state,
				to_state, lead_unit, deadline, details, note, deadline_provisional)
			VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), $7, NULLIF($8, ''), $9, NULLIF($10, ''), $11, $12, NULLIF($13, ''), $14)`,
			e.CaseID, e.Seq, e.At, e.Actor.ID, string(e.Actor.Role), e.Actor.UnitID, string(e.Action), string(e.From),
			string(e.To), e.Lead, nullTime(e.Deadline), details, e.Note, e.DeadlineProvisional)
		env, err := CaseChangedEvent(s.source, string(snap.Registration.Number), e)
		if err != nil {
			return err
		}
		queueOutbox(batch, env)
		// The units' notices commit with the entry that causes them: exactly
		// one per entry and unit (unique key), and a webhook delivery for a
		// unit that has a webhook.
		for _, n := range notify.For(e, snap) {
			body, _ := json.Marshal(n.Payload) // a Payload always marshals
			batch.Queue(`WITH n AS (
					INSERT INTO unit_notifications (unit_id, case_id, seq, kind, payload, created_at)
					VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ON CONSTRAINT unit_notifications_once DO NOTHING
					RETURNING id, unit_id, created_at)
				INSERT INTO webhook_deliveries (id, notification_id, unit_id, url, next_attempt_at, created_at)
				SELECT gen_random_uuid(), n.id, n.unit_id, w.url, now(), now()
				FROM n JOIN unit_webhooks w ON w.unit_id = n.unit_id AND w.enabled
				ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING`,
				n.UnitID, e.CaseID, e.Seq, string(n.Kind), body, e.At)
		}
	}
	for _, env := range extra {
		queueOutbox(batch, env)
	}
	if snap.Lead != nil {
		batch.Queue(`INSERT INTO case_units (case_id, round, unit_id, parent_id, role) VALUES ($1, $2, $3, NULLIF($4, ''), 'lead')
			ON CONFLICT (case_id, round, unit_id) DO UPDATE SET role = 'lead'`,
			snap.ID, snap.Round.Seq, snap.Lead.ID, snap.Lead.ParentID)
	}
	for _, u := range snap.Assisting {
		batch.Queue(`INSERT INTO case_units (case_id, round, unit_id, parent_id, role) VALUES ($1, $2, $3, NULLIF($4, ''), 'assisting')
			ON CONFLICT (case_id, round, unit_id) DO NOTHING`, snap.ID, snap.Round.Seq, u.ID, u.ParentID)
	}
	for _, id := range snap.CallIDs {
		batch.Queue(`INSERT INTO case_calls (case_id, call_id, linked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			snap.ID, id, snap.History[len(snap.History)-1].At)
	}
	if len(snap.CallIDs) > 0 {
		// A call linked after its events were stored (voicemail filed as a case, an
		// agent linking the call) gets the case in its row here; one whose events
		// come later gets it from case_calls (fillCallCase). Rows that have a case
		// are not touched, so only the first link locks a call's row.
		batch.Queue(`UPDATE calls SET case_id = $1, updated_at = now() WHERE call_id = ANY($2) AND case_id IS NULL`,
			snap.ID, snap.CallIDs)
	}
	for _, m := range snap.Materials {
		batch.Queue(`INSERT INTO case_materials (case_id, ref, kind, added_at, added_by, added_by_role)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			snap.ID, m.Ref, string(m.Kind), m.AddedAt, m.AddedBy.ID, string(m.AddedBy.Role))
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		if code, _ := pgCode(err); code == pgUniqueViolation {
			return fmt.Errorf("write history of %s: %w", snap.ID, ErrConflict)
		}
		return fmt.Errorf("write history of %s: %w", snap.ID, err)
	}
	return nil
}

func queueOutbox(b *pgx.Batch, env event.Envelope) {
	body, _ := json.Marshal(env) // an Envelope always marshals
	b.Queue(`INSERT INTO case_outbox (event_id, type, envelope) VALUES ($1, $2, $3) ON CONFLICT (event_id) DO NOTHING`,
		env.ID, string(env.Type), body)
}

// CaseChangedEvent is the event of one history entry. Its ID is derived from the
// case ID and Seq, so a retried transaction or a re-relayed outbox row produces
// the same ID and JetStream (Nats-Msg-Id) and the events table store it once.
func CaseChangedEvent(source, number string, e domain.HistoryEntry) (event.Envelope, error) {
	payload, err := json.Marshal(event.CaseChangedPayload{
		CaseNumber: number, Seq: e.Seq, Action: string(e.Action), From: string(e.From), To: string(e.To),
		ActorID: e.Actor.ID, ActorRole: string(e.Actor.Role), At: e.At, Note: e.Note,
		Deadline: e.Deadline, DeadlineProvisional: e.DeadlineProvisional,
	})
	if err != nil {
		return event.Envelope{}, fmt.Errorf("encode case event: %w", err)
	}
	return event.Envelope{
		ID: DerivedEventID(e.CaseID+"/"+strconv.Itoa(e.Seq), e.At), Version: event.Version,
		Type: event.CaseChanged, Time: e.At, Source: source, CaseID: e.CaseID, Payload: payload,
	}, nil
}

// DerivedEventID is a deterministic UUIDv7: the time bits are at (so IDs still sort
// by time, as the contract promises), the random bits a hash of key. The same key
// and time always give the same ID.
func DerivedEventID(key string, at time.Time) string {
	h := sha256.Sum256([]byte(key))
	var u uuid.UUID
	ms := uint64(at.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	copy(u[6:], h[:10])
	u[6] = (u[6] & 0x0f) | 0x70 // version 7
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u.String()
}

func (s *Cases) dueOf(c *domain.Case) (time.Time, time.Time) {
	if s.due == nil {
		return time.Time{}, time.Time{}
	}
	return s.due(c)
}

// snapshotJSON encodes the snapshot without its history, which case_history keeps
// once; load puts the two back together.
func snapshotJSON(s domain.Snapshot) ([]byte, error) {
	s.History = nil
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode case %s: %w", s.ID, err)
	}
	return b, nil
}

func leadID(s domain.Snapshot) *string {
	if s.Lead == nil {
		return nil
	}
	return &s.Lead.ID
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// settleFiling marks the claimed inbox item f as filed on caseID, inside the
// case's transaction; domain.ErrFilingLost if f.ClaimedBy no longer holds the
// claim (the transaction, and with it the case, is then rolled back).
func settleFiling(ctx context.Context, tx pgx.Tx, f domain.Filing, caseID string) error {
	var q string
	switch f.Kind {
	case domain.MaterialVoicemail:
		q = `UPDATE voicemails SET case_id = $2 WHERE id = $1 AND case_id = '' AND case_by = $3`
	case domain.MaterialFax:
		q = `UPDATE faxes SET case_id = $2 WHERE id = $1 AND case_id = '' AND case_by = $3 AND direction = 'received'`
	default:
		return fmt.Errorf("file %s %s on a case: %w", f.Kind, f.ID, domain.ErrInvalid)
	}
	tag, err := tx.Exec(ctx, q, f.ID, caseID, f.ClaimedBy)
	if err != nil {
		return fmt.Errorf("file %s %s on case %s: %w", f.Kind, f.ID, caseID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("file %s %s on case %s: %w", f.Kind, f.ID, caseID, domain.ErrFilingLost)
	}
	return nil
}
