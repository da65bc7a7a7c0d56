package store

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
)

// Unit is one entry of the unit directory: the domain's unit plus whether it is
// still a member of the network. Inactive units stay in the table because cases
// and assessments keep pointing at them.
type Unit struct {
	domain.Unit
	Active    bool
	UpdatedAt time.Time
}

// DefaultDutyLineTrunk is the PJSIP trunk endpoint to the units' duty-line PBX in
// asterisk-conf/pjsip.conf.
const DefaultDutyLineTrunk = "dutylines"

// dutyLinePattern is deliberately narrower than what Asterisk accepts: the unit
// directory is the only source of numbers the call service dials into a citizen's
// call, so a duty line is a phone number through a named trunk and nothing else —
// no dial options, no second channel (&), no Local/ channels into the dialplan, no
// bare endpoint (agents' softphones are endpoints named by digits; a trunk's name
// starts with a letter). The migration has the same pattern as a CHECK.
var dutyLinePattern = regexp.MustCompile(`^PJSIP/\+?[0-9]{1,20}@([A-Za-z][0-9A-Za-z_-]{0,39})$`)

// unitIDPattern is the domain's unit ID rule, repeated here because the store
// reports every bad field at once rather than the domain's first one.
var unitIDPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$`)

const maxUnitName = 100 // runes, as in the domain

// CheckDutyLine reports whether s is an acceptable duty line: a number dialled as
// PJSIP/<number>@<trunk> through one of trunks. An empty s is acceptable (a unit
// without a duty phone cannot be joined into a call, which is recorded as such).
func CheckDutyLine(s string, trunks []string) error {
	if s == "" {
		return nil
	}
	m := dutyLinePattern.FindStringSubmatch(s)
	if m == nil {
		return invalidField("duty_line", s, "want PJSIP/<phone number>@<trunk>, e.g. PJSIP/8801@"+DefaultDutyLineTrunk)
	}
	if !slices.Contains(trunks, m[1]) {
		return invalidField("duty_line", s, fmt.Sprintf("trunk %q is not a duty-line trunk (allowed: %s)", m[1], strings.Join(trunks, ", ")))
	}
	return nil
}

func invalidField(field, value, reason string) *domain.ValidationError {
	return &domain.ValidationError{Field: field, Value: value, Reason: reason}
}

// Units is the unit directory in PostgreSQL.
type Units struct {
	pool   *pgxpool.Pool
	trunks []string
}

// NewUnits returns the directory. trunks lists the PJSIP endpoints duty lines may
// be dialled through; nil means DefaultDutyLineTrunk only.
func NewUnits(pool *pgxpool.Pool, trunks []string) *Units {
	if len(trunks) == 0 {
		trunks = []string{DefaultDutyLineTrunk}
	}
	return &Units{pool: pool, trunks: slices.Clone(trunks)}
}

// Validate checks what can be checked without the other units and returns every
// problem, joined; each is a *domain.ValidationError whose Field is the JSON / CSV
// column name, and errors.Is(err, domain.ErrInvalid) holds.
func (s *Units) Validate(u Unit) error {
	var errs []error
	if !unitIDPattern.MatchString(u.ID) {
		errs = append(errs, invalidField("id", u.ID, "want 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"))
	}
	switch {
	case !utf8.ValidString(u.Name):
		errs = append(errs, invalidField("name", "", "not valid UTF-8"))
	case strings.TrimSpace(u.Name) == "":
		errs = append(errs, invalidField("name", "", "missing"))
	case utf8.RuneCountInString(u.Name) > maxUnitName:
		errs = append(errs, invalidField("name", "", fmt.Sprintf("at most %d characters", maxUnitName)))
	}
	if !u.Level.Valid() {
		errs = append(errs, invalidField("level", fmt.Sprint(int(u.Level)), "want 1 (center), 2 (district or department) or 3 (sub-unit)"))
	}
	switch {
	case u.Level == domain.LevelCenter && u.ParentID != "":
		errs = append(errs, invalidField("parent_id", u.ParentID, "the center has no parent"))
	case u.Level.Valid() && u.Level != domain.LevelCenter && u.ParentID == "":
		errs = append(errs, invalidField("parent_id", "", fmt.Sprintf("a level-%d unit needs a parent", u.Level)))
	case u.ParentID != "" && u.ParentID == u.ID:
		errs = append(errs, invalidField("parent_id", u.ParentID, "a unit cannot be its own parent"))
	case u.ParentID != "" && !unitIDPattern.MatchString(u.ParentID):
		errs = append(errs, invalidField("parent_id", u.ParentID, "malformed unit ID"))
	}
	if err := CheckDutyLine(u.DutyLine, s.trunks); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		// The domain has the last word on what a unit is; if its rules ever get
		// stricter than the ones above, they still apply.
		if err := u.Unit.Validate(); err != nil {
			var ve *domain.ValidationError
			if errors.As(err, &ve) {
				ve.Field = strings.TrimPrefix(ve.Field, "unit.")
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

const unitColumns = `id, name, level, COALESCE(parent_id, ''), COALESCE(duty_line, ''), active, updated_at`

func scanUnit(row pgx.Row) (Unit, error) {
	var u Unit
	var level int16
	err := row.Scan(&u.ID, &u.Name, &level, &u.ParentID, &u.DutyLine, &u.Active, &u.UpdatedAt)
	u.Level = domain.Level(level)
	return u, err
}

// Get returns the unit with that ID, or ErrNotFound.
func (s *Units) Get(ctx context.Context, id string) (Unit, error) {
	u, err := scanUnit(s.pool.QueryRow(ctx, `SELECT `+unitColumns+` FROM units WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Unit{}, fmt.Errorf("unit %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Unit{}, fmt.Errorf("get unit %q: %w", id, err)
	}
	return u, nil
}

// UnitKey is the position of a unit in list order (level, then ID).
type UnitKey struct {
	Level domain.Level `json:"l"`
	ID    string       `json:"i"`
}

// Key is the unit's position in list order.
func (u Unit) Key() UnitKey { return UnitKey{Level: u.Level, ID: u.ID} }

// UnitFilter selects units for List. Zero values select everything.
type UnitFilter struct {
	Level    domain.Level // only this level
	ParentID string       // only direct sub-units of this unit
	// Under restricts to the subtree rooted at this unit, the root included:
	// what a unit user may see (C14).
	Under  string
	Active *bool
	After  *UnitKey // start after this position (pagination)
	Limit  int      // at most this many; 0 means no limit
}

// List returns the units matching f ordered by level, then ID.
func (s *Units) List(ctx context.Context, f UnitFilter) ([]Unit, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Level != 0 {
		where = append(where, "level = "+arg(int16(f.Level)))
	}
	if f.ParentID != "" {
		where = append(where, "parent_id = "+arg(f.ParentID))
	}
	if f.Under != "" {
		// Three levels at most: the root, its children, their children.
		p := arg(f.Under)
		where = append(where, fmt.Sprintf("(id = %[1]s OR parent_id = %[1]s OR parent_id IN (SELECT id FROM units WHERE parent_id = %[1]s))", p))
	}
	if f.Active != nil {
		where = append(where, "active = "+arg(*f.Active))
	}
	if f.After != nil {
		where = append(where, fmt.Sprintf("(level, id) > (%s, %s)", arg(int16(f.After.Level)), arg(f.After.ID)))
	}
	q := `SELECT ` + unitColumns + ` FROM units`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY level, id"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Unit, error) { return scanUnit(r) })
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return out, nil
}

// All returns the whole directory, inactive units included.
func (s *Units) All(ctx context.Context) ([]Unit, error) { return s.List(ctx, UnitFilter{}) }

// Create adds a unit. A duplicate ID is ErrConflict; a bad field or a parent that
// is missing or not one level up is a validation error.
func (s *Units) Create(ctx context.Context, u Unit) (Unit, error) {
	if err := s.Validate(u); err != nil {
		return Unit{}, fmt.Errorf("create unit: %w", err)
	}
	var out Unit
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkParent(ctx, tx, u.Unit, nil); err != nil {
			return err
		}
		var err error
		out, err = scanUnit(tx.QueryRow(ctx, `INSERT INTO units (id, name, level, parent_id, duty_line, active)
			VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6)
			ON CONFLICT (id) DO NOTHING
			RETURNING `+unitColumns,
			u.ID, u.Name, int16(u.Level), u.ParentID, u.DutyLine, u.Active))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("unit %q already exists: %w", u.ID, ErrConflict)
		}
		return translateUnitError(err)
	})
	if err != nil {
		return Unit{}, fmt.Errorf("create unit %q: %w", u.ID, err)
	}
	return out, nil
}

// Update replaces the unit's name, level, parent, duty line and active flag.
// ErrNotFound if there is no such unit; ErrConflict if the level would change
// while it has sub-units.
func (s *Units) Update(ctx context.Context, u Unit) (Unit, error) {
	if err := s.Validate(u); err != nil {
		return Unit{}, fmt.Errorf("update unit: %w", err)
	}
	var out Unit
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var oldLevel int16
		err := tx.QueryRow(ctx, `SELECT level FROM units WHERE id = $1 FOR UPDATE`, u.ID).Scan(&oldLevel)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("unit %q: %w", u.ID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := checkParent(ctx, tx, u.Unit, nil); err != nil {
			return err
		}
		if domain.Level(oldLevel) != u.Level {
			var children int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM units WHERE parent_id = $1`, u.ID).Scan(&children); err != nil {
				return err
			}
			if children > 0 {
				return fmt.Errorf("unit %q has %d sub-units, so its level cannot change from %d to %d: %w",
					u.ID, children, oldLevel, u.Level, ErrConflict)
			}
		}
		out, err = scanUnit(tx.QueryRow(ctx, `UPDATE units SET name = $2, level = $3, parent_id = NULLIF($4, ''),
				duty_line = NULLIF($5, ''), active = $6, updated_at = now()
			WHERE id = $1 RETURNING `+unitColumns,
			u.ID, u.Name, int16(u.Level), u.ParentID, u.DutyLine, u.Active))
		return translateUnitError(err)
	})
	if err != nil {
		return Unit{}, fmt.Errorf("update unit %q: %w", u.ID, err)
	}
	return out, nil
}

// checkParent verifies that u's parent exists one level up. pending holds units
// about to be written in the same transaction (an import), which take precedence
// over the stored ones.
func checkParent(ctx context.Context, tx pgx.Tx, u domain.Unit, pending map[string]domain.Unit) error {
	if u.ParentID == "" {
		return nil
	}
	var level domain.Level
	if p, ok := pending[u.ParentID]; ok {
		level = p.Level
	} else {
		var l int16
		err := tx.QueryRow(ctx, `SELECT level FROM units WHERE id = $1`, u.ParentID).Scan(&l)
		if errors.Is(err, pgx.ErrNoRows) {
			return invalidField("parent_id", u.ParentID, "no such unit")
		}
		if err != nil {
			return fmt.Errorf("look up parent %q: %w", u.ParentID, err)
		}
		level = domain.Level(l)
	}
	if level != u.Level-1 {
		return invalidField("parent_id", u.ParentID,
			fmt.Sprintf("is a level-%d unit; a level-%d unit needs a level-%d parent", level, u.Level, u.Level-1))
	}
	return nil
}

// translateUnitError turns the schema's backstop constraints into the store's
// sentinels for the rare write that passed the checks above and then lost a race.
func translateUnitError(err error) error {
	if err == nil {
		return nil
	}
	switch code, _ := pgCode(err); code {
	case pgUniqueViolation, pgForeignKeyViolation, pgCheckViolation:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// ImportResult counts what an import did.
type ImportResult struct {
	Inserted, Updated, Unchanged int
}

// LineError is one bad row of an import file.
type LineError struct {
	Line int // 1-based line of the file
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// ImportError lists every bad row of a file; nothing was written. It matches
// domain.ErrInvalid.
type ImportError struct {
	Lines []LineError
}

// maxReportedLines bounds the message; Lines keeps them all.
const maxReportedLines = 20

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad row(s), nothing imported", len(e.Lines))
	for i, l := range e.Lines {
		if i == maxReportedLines {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Lines)-i)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(l.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, domain.ErrInvalid) true.
func (e *ImportError) Is(target error) bool { return target == domain.ErrInvalid }

// importColumns is the file layout; a header row naming them is optional.
var importColumns = []string{"id", "name", "level", "parent_id", "duty_line"}

type importRow struct {
	line int
	unit domain.Unit
}

// Import reads a unit directory CSV (id,name,level,parent_id,duty_line; optional
// header; '#' starts a comment line; a UTF-8 byte-order mark, as spreadsheet
// programs write it, is ignored) and upserts every row as an active unit, in one
// transaction: either the whole file is applied or, with an *ImportError naming
// every bad line, nothing. Importing the same file again changes nothing. Units
// that are not in the file are left as they are.
func (s *Units) Import(ctx context.Context, r io.Reader) (ImportResult, error) {
	rows, bad := s.parseImport(r)
	var res ImportResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Parents are checked against the file first and the database second, and
		// only once the file parsed: a row's parent may be defined further down.
		pending := make(map[string]domain.Unit, len(rows))
		for _, row := range rows {
			pending[row.unit.ID] = row.unit
		}
		for _, row := range rows {
			if err := checkParent(ctx, tx, row.unit, pending); err != nil {
				var ve *domain.ValidationError
				if !errors.As(err, &ve) {
					return err
				}
				bad = append(bad, LineError{Line: row.line, Err: err})
			}
		}
		if len(bad) > 0 {
			slices.SortStableFunc(bad, func(a, b LineError) int { return a.Line - b.Line })
			return &ImportError{Lines: bad}
		}
		// Parents before children, so every foreign key and level check sees
		// its parent already written.
		slices.SortStableFunc(rows, func(a, b importRow) int { return int(a.unit.Level - b.unit.Level) })
		for _, row := range rows {
			u := row.unit
			var inserted bool
			err := tx.QueryRow(ctx, `INSERT INTO units (id, name, level, parent_id, duty_line, active)
				VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), true)
				ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, level = EXCLUDED.level,
					parent_id = EXCLUDED.parent_id, duty_line = EXCLUDED.duty_line, active = true, updated_at = now()
				WHERE (units.name, units.level, units.parent_id, units.duty_line, units.active)
					IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_id, EXCLUDED.duty_line, true)
				RETURNING xmax = 0`,
				u.ID, u.Name, int16(u.Level), u.ParentID, u.DutyLine).Scan(&inserted)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				res.Unchanged++
			case err != nil:
				// A constraint the file cannot see, e.g. a stored sub-unit of a
				// unit whose level the file changes. The transaction is dead, so
				// this is the only line reported.
				if code, _ := pgCode(err); strings.HasPrefix(code, "23") { // integrity constraint violation
					return &ImportError{Lines: []LineError{{Line: row.line, Err: err}}}
				}
				return fmt.Errorf("line %d: %w", row.line, err)
			case inserted:
				res.Inserted++
			default:
				res.Updated++
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("import units: %w", err)
	}
	return res, nil
}

// parseImport reads and validates every row on its own, collecting all problems.
func (s *Units) parseImport(r io.Reader) ([]importRow, []LineError) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1 // counted below, to report the line instead of stopping
	cr.TrimLeadingSpace = true

	var rows []importRow
	var bad []LineError
	seen := map[string]int{}
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A quoting error leaves the reader unsure where rows start; stop.
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			bad = append(bad, LineError{Line: line, Err: err})
			break
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		if first {
			first = false
			if strings.EqualFold(rec[0], "id") {
				if !slices.EqualFunc(rec, importColumns, strings.EqualFold) {
					bad = append(bad, LineError{Line: line, Err: fmt.Errorf("header %q: want %s", strings.Join(rec, ","), strings.Join(importColumns, ","))})
				}
				continue
			}
		}
		if len(rec) != len(importColumns) {
			bad = append(bad, LineError{Line: line, Err: fmt.Errorf("%d fields, want %d (%s)", len(rec), len(importColumns), strings.Join(importColumns, ","))})
			continue
		}
		level, err := strconv.Atoi(rec[2])
		if err != nil {
			bad = append(bad, LineError{Line: line, Err: invalidField("level", rec[2], "want 1, 2 or 3")})
			continue
		}
		u := Unit{Unit: domain.Unit{ID: rec[0], Name: rec[1], Level: domain.Level(level), ParentID: rec[3], DutyLine: rec[4]}, Active: true}
		if err := s.Validate(u); err != nil {
			for _, e := range flatten(err) {
				bad = append(bad, LineError{Line: line, Err: e})
			}
			continue
		}
		if prev, dup := seen[u.ID]; dup {
			bad = append(bad, LineError{Line: line, Err: fmt.Errorf("unit %q is already on line %d", u.ID, prev)})
			continue
		}
		seen[u.ID] = line
		rows = append(rows, importRow{line: line, unit: u.Unit})
	}
	return rows, bad
}

// flatten lists the leaves of an errors.Join tree.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
