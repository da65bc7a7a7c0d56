package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/calendar"
)

// Calendars keeps the holiday notices operators import at run time
// (calendar_notices, migration 0007). Imports are append-only: the newest
// import of a year is in force, the older ones stay as the record of which
// calendar decided earlier deadlines.
type Calendars struct {
	pool *pgxpool.Pool
}

// NewCalendars returns the notice store.
func NewCalendars(pool *pgxpool.Pool) *Calendars { return &Calendars{pool: pool} }

// CalendarImport is one stored import.
type CalendarImport struct {
	ID         int64           `json:"id"`
	Year       int             `json:"year"`
	Format     string          `json:"format"`
	FileName   string          `json:"file_name"`
	SHA256     string          `json:"sha256"`
	ImportedBy string          `json:"imported_by"`
	ImportedAt time.Time       `json:"imported_at"`
	Notice     calendar.Notice `json:"notice"`
}

// ImportInput is what an operator imports: the parsed notice and where it came from.
type ImportInput struct {
	Notice   calendar.Notice
	Format   string // "holiday-cn" or "list"
	FileName string
	Raw      []byte // the file as given, for its checksum
	By       string
}

// Import stores a notice after checking that the calendar in force with it
// still builds (no contradiction with a neighbouring year's notice). It returns
// the stored import.
func (s *Calendars) Import(ctx context.Context, in ImportInput) (CalendarImport, error) {
	if in.By == "" {
		return CalendarImport{}, errors.New("calendar import: who imports it is required")
	}
	if err := in.Notice.Validate(); err != nil {
		return CalendarImport{}, fmt.Errorf("calendar import: %w", err)
	}
	body, err := json.Marshal(in.Notice)
	if err != nil {
		return CalendarImport{}, fmt.Errorf("calendar import: encode: %w", err)
	}
	sum := sha256.Sum256(in.Raw)
	out := CalendarImport{Year: in.Notice.Year, Format: in.Format, FileName: in.FileName,
		SHA256: hex.EncodeToString(sum[:]), ImportedBy: in.By, Notice: in.Notice}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One import at a time, so the check below sees every notice in force (an
		// advisory lock: the runtime role may not lock the append-only table).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, calendarImportLockKey); err != nil {
			return fmt.Errorf("lock calendar notices: %w", err)
		}
		current, _, err := inForce(ctx, tx)
		if err != nil {
			return err
		}
		embedded, err := calendar.Embedded()
		if err != nil {
			return err
		}
		imported := []calendar.Notice{in.Notice}
		for _, n := range current {
			if n.Year != in.Notice.Year {
				imported = append(imported, n)
			}
		}
		if _, err := calendar.Build(calendar.Merge(embedded, imported)); err != nil {
			return &ImportConflictError{Err: err}
		}
		return tx.QueryRow(ctx, `INSERT INTO calendar_notices (year, notice, format, file_name, sha256, imported_by)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, imported_at`,
			in.Notice.Year, body, in.Format, in.FileName, out.SHA256, in.By).Scan(&out.ID, &out.ImportedAt)
	})
	if err != nil {
		return CalendarImport{}, fmt.Errorf("calendar import %d: %w", in.Notice.Year, err)
	}
	return out, nil
}

// calendarImportLockKey serialises imports across casework instances and hotlinectl.
const calendarImportLockKey = 12345_0007

// ImportConflictError: the notice contradicts a neighbouring year's notice in
// force (a New Year bridge listed differently); nothing was stored.
type ImportConflictError struct{ Err error }

func (e *ImportConflictError) Error() string { return e.Err.Error() }
func (e *ImportConflictError) Unwrap() error { return e.Err }

// InForce returns the newest import of every year and the revision of the
// set: the highest import ID (0 when nothing was ever imported). A watcher
// compares revisions to know when to rebuild its calendar.
func (s *Calendars) InForce(ctx context.Context) ([]calendar.Notice, int64, error) {
	return inForce(ctx, s.pool)
}

func inForce(ctx context.Context, q querier) ([]calendar.Notice, int64, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT ON (year) id, notice FROM calendar_notices ORDER BY year, id DESC`)
	if err != nil {
		return nil, 0, fmt.Errorf("calendar notices in force: %w", err)
	}
	var rev int64
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (calendar.Notice, error) {
		var id int64
		var n calendar.Notice
		if err := r.Scan(&id, &n); err != nil {
			return n, err
		}
		rev = max(rev, id)
		return n, nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("calendar notices in force: %w", err)
	}
	return out, rev, nil
}

// Revision is the highest import ID, cheap enough to poll.
func (s *Calendars) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM calendar_notices`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("calendar revision: %w", err)
	}
	return rev, nil
}

// Imports lists the imports of a year, newest first.
func (s *Calendars) Imports(ctx context.Context, year int) ([]CalendarImport, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, year, format, file_name, sha256, imported_by, imported_at, notice
		FROM calendar_notices WHERE year = $1 ORDER BY id DESC`, year)
	if err != nil {
		return nil, fmt.Errorf("calendar imports of %d: %w", year, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CalendarImport, error) {
		var c CalendarImport
		err := r.Scan(&c.ID, &c.Year, &c.Format, &c.FileName, &c.SHA256, &c.ImportedBy, &c.ImportedAt, &c.Notice)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("calendar imports of %d: %w", year, err)
	}
	return out, nil
}

// ProvisionalCaseIDs lists open cases (a unit owes the reply) whose deadline is
// provisional, after the ID after (keyset paging), at most limit.
func (s *Cases) ProvisionalCaseIDs(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM cases
		WHERE deadline_provisional AND state IN ('transferred', 'accepted') AND id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("provisional cases: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("provisional cases: %w", err)
	}
	return ids, nil
}

// CountProvisional counts open cases on provisional deadlines.
func (s *Cases) CountProvisional(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM cases
		WHERE deadline_provisional AND state IN ('transferred', 'accepted')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count provisional cases: %w", err)
	}
	return n, nil
}
