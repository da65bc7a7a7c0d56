package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotline12345/hotline/casework/domain"
)

// CaseFilter selects cases for lists and searches; zero fields match everything.
type CaseFilter struct {
	States   []domain.State
	Category domain.Category
	Region   domain.Region
	// Unit restricts to cases whose current round names Unit or one of its
	// sub-units as lead or assisting unit (the unit scoping of C14 when the
	// viewer is a unit, or a filter for center users).
	Unit string
	// From and To bound the registration time, [From, To).
	From, To time.Time
	// OverdueAt, when set, keeps cases a unit owes a reply on whose deadline is
	// before it.
	OverdueAt time.Time
	// Number matches the case number exactly (uses its unique index).
	Number string
	// Text matches the case number exactly or the content as a substring.
	Text string
	// CallerPhone matches the caller's number (repeat callers, T15).
	CallerPhone string
	// Unprotected leaves out reports (举报) and confidential cases: the
	// public progress API never shows them, not even that they exist.
	Unprotected bool
	// After is the keyset cursor: the last row of the previous page.
	After *CaseCursor
	// Limit is the page size; 0 means 50, at most 500.
	Limit int
}

// CaseCursor is a position in list order (newest first).
type CaseCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// CaseRow is one case in a list: the queryable columns, never the caller's
// identity, so a list is safe to show to any role that may see the case.
type CaseRow struct {
	ID              string                 `json:"id"`
	Number          domain.CaseNumber      `json:"number"`
	State           domain.State           `json:"state"`
	Category        domain.Category        `json:"category"`
	Region          domain.Region          `json:"region"`
	Urgency         domain.Urgency         `json:"urgency"`
	Confidentiality domain.Confidentiality `json:"confidentiality"`
	Channel         domain.Channel         `json:"channel"`
	Protected       bool                   `json:"protected"`
	LeadUnit        string                 `json:"lead_unit,omitempty"`
	Deadline        time.Time              `json:"deadline,omitzero"`
	ReceivedAt      time.Time              `json:"received_at"`
	CreatedAt       time.Time              `json:"created_at"`
	UpdatedAt       time.Time              `json:"updated_at"`
	Version         int                    `json:"version"`
}

// Cursor is the row's position, for the next page.
func (r CaseRow) Cursor() CaseCursor { return CaseCursor{CreatedAt: r.CreatedAt, ID: r.ID} }

// caseUnitScope matches cases whose current round names the unit $n, a direct
// sub-unit of it (parent_id, recorded at assignment), or any unit below it in
// the directory (for a level-1 unit user).
const caseUnitScope = `EXISTS (SELECT 1 FROM case_units cu WHERE cu.case_id = c.id AND cu.round = c.round
	AND (cu.unit_id = $n OR cu.parent_id = $n OR cu.parent_id IN (SELECT id FROM units WHERE parent_id = $n)))`

// List returns one page of matching cases, newest first, and whether there are
// more.
func (s *Cases) List(ctx context.Context, f CaseFilter) ([]CaseRow, bool, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		where = append(where, "c.state = ANY("+arg(states)+")")
	}
	if f.Category != "" {
		where = append(where, "c.category = "+arg(string(f.Category)))
	}
	if f.Region != "" {
		where = append(where, "c.region = "+arg(string(f.Region)))
	}
	if f.Unit != "" {
		where = append(where, strings.ReplaceAll(caseUnitScope, "$n", arg(f.Unit)))
	}
	if !f.From.IsZero() {
		where = append(where, "c.created_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "c.created_at < "+arg(f.To))
	}
	if !f.OverdueAt.IsZero() {
		where = append(where, "c.state IN ('transferred', 'accepted') AND c.deadline < "+arg(f.OverdueAt))
	}
	if f.Number != "" {
		where = append(where, "c.number = "+arg(f.Number))
	}
	if f.Text != "" {
		p := arg(f.Text)
		where = append(where, "(c.number = "+p+" OR strpos(c.content, "+p+") > 0)")
	}
	if f.CallerPhone != "" {
		where = append(where, "c.caller_phone = "+arg(f.CallerPhone))
	}
	if f.Unprotected {
		where = append(where, "NOT c.protected")
	}
	if f.After != nil {
		where = append(where, "(c.created_at, c.id) < ("+arg(f.After.CreatedAt)+", "+arg(f.After.ID)+")")
	}
	sql := `SELECT ` + caseRowColumns + ` FROM cases c`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY c.created_at DESC, c.id DESC LIMIT " + arg(limit+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list cases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseRow, error) {
		var c CaseRow
		err := scanCaseRow(r, &c)
		return c, err
	})
	if err != nil {
		return nil, false, fmt.Errorf("list cases: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// caseRowColumns are the columns scanCaseRow reads, in its order (table alias c).
const caseRowColumns = `c.id, c.number, c.state, c.category, c.region, c.urgency, c.confidentiality, c.channel, c.protected,
	COALESCE(c.lead_unit, ''), c.deadline, c.received_at, c.created_at, c.updated_at, c.version`

// scanCaseRow reads caseRowColumns into c, then any further columns into extra.
func scanCaseRow(r pgx.CollectableRow, c *CaseRow, extra ...any) error {
	var number, state, cat, region, urg, conf, ch string
	var deadline *time.Time
	err := r.Scan(append([]any{&c.ID, &number, &state, &cat, &region, &urg, &conf, &ch, &c.Protected, &c.LeadUnit,
		&deadline, &c.ReceivedAt, &c.CreatedAt, &c.UpdatedAt, &c.Version}, extra...)...)
	c.Number, c.State, c.Category, c.Region = domain.CaseNumber(number), domain.State(state), domain.Category(cat), domain.Region(region)
	c.Urgency, c.Confidentiality, c.Channel = domain.Urgency(urg), domain.Confidentiality(conf), domain.Channel(ch)
	if deadline != nil {
		c.Deadline = *deadline
	}
	return err
}

// CountOverdue counts cases a unit owes a reply on past their deadline at now.
func (s *Cases) CountOverdue(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE state IN ('transferred', 'accepted') AND deadline < $1`, now).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count overdue cases: %w", err)
	}
	return n, nil
}

// CaseCall is a call linked to a case, with what the call projection knows of it.
type CaseCall struct {
	CallID     string    `json:"call_id"`
	LinkedAt   time.Time `json:"linked_at"`
	Direction  string    `json:"direction,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	DurationMS int64     `json:"duration_ms,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
}

// Calls lists the calls linked to a case, oldest first. The caller's number is
// left out on purpose: the case view decides who sees identity.
func (s *Cases) Calls(ctx context.Context, caseID string) ([]CaseCall, error) {
	rows, err := s.pool.Query(ctx, `SELECT cc.call_id, cc.linked_at, COALESCE(k.direction, ''), k.started_at, k.ended_at,
			COALESCE(k.duration_ms, 0), COALESCE(k.outcome, '')
		FROM case_calls cc LEFT JOIN calls k ON k.call_id = cc.call_id
		WHERE cc.case_id = $1 ORDER BY cc.linked_at, cc.call_id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("calls of case %s: %w", caseID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CaseCall, error) {
		var c CaseCall
		var st, en *time.Time
		err := r.Scan(&c.CallID, &c.LinkedAt, &c.Direction, &st, &en, &c.DurationMS, &c.Outcome)
		if st != nil {
			c.StartedAt = *st
		}
		if en != nil {
			c.EndedAt = *en
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("calls of case %s: %w", caseID, err)
	}
	return out, nil
}
