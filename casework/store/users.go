package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
)

// User is someone (or something) that calls the HTTP API.
type User struct {
	ID       string // UUID
	Name     string
	Role     domain.Role
	UnitID   string // unit users only
	Staff    string // agents only: staff number (工号)
	Disabled bool
	Created  time.Time
}

// NewUser is what an administrator supplies to create a user.
type NewUser struct {
	Name   string
	Role   domain.Role
	UnitID string
	Staff  string
}

// staffPattern: staff numbers are digits because they are also the agents' PJSIP
// endpoint names and are spoken digit by digit ("1001号话务员为您服务", T5).
var staffPattern = regexp.MustCompile(`^[0-9]{1,10}$`)

// Validate returns every bad field, joined (see Units.Validate).
func (n NewUser) Validate() error {
	var errs []error
	switch {
	case !utf8.ValidString(n.Name):
		errs = append(errs, invalidField("name", "", "not valid UTF-8"))
	case strings.TrimSpace(n.Name) == "":
		errs = append(errs, invalidField("name", "", "missing"))
	case utf8.RuneCountInString(n.Name) > 100:
		errs = append(errs, invalidField("name", "", "at most 100 characters"))
	}
	switch n.Role {
	case domain.RoleAgent, domain.RoleSupervisor, domain.RoleUnit, domain.RoleAdmin:
	case domain.RoleSystem:
		// System actors are jobs inside the services; they never hold tokens.
		errs = append(errs, invalidField("role", string(n.Role), "system is not a user role; want agent, supervisor, unit or admin"))
	default:
		errs = append(errs, invalidField("role", string(n.Role), "want agent, supervisor, unit or admin"))
	}
	if n.Role == domain.RoleUnit {
		if !unitIDPattern.MatchString(n.UnitID) {
			errs = append(errs, invalidField("unit_id", n.UnitID, "a unit user needs the ID of their unit"))
		}
	} else if n.UnitID != "" {
		// A center user with a unit would be ambiguous about which access rules apply.
		errs = append(errs, invalidField("unit_id", n.UnitID, "only unit users belong to a unit"))
	}
	if n.Role == domain.RoleAgent {
		if !staffPattern.MatchString(n.Staff) {
			errs = append(errs, invalidField("staff_number", n.Staff, "an agent needs a staff number of 1-10 digits"))
		}
	} else if n.Staff != "" {
		errs = append(errs, invalidField("staff_number", n.Staff, "only agents have a staff number"))
	}
	return errors.Join(errs...)
}

// Token is an API token's metadata; the secret itself is never stored.
type Token struct {
	ID      string
	UserID  string
	Created time.Time
	Expires *time.Time // nil: does not expire
	Revoked *time.Time // nil: not revoked
}

// Credential is a token together with its user, as authentication needs them.
type Credential struct {
	Token Token
	User  User
}

// Users keeps users and their API tokens.
type Users struct {
	pool *pgxpool.Pool
}

// NewUsers returns the user store.
func NewUsers(pool *pgxpool.Pool) *Users { return &Users{pool: pool} }

const userColumns = `u.id::text, u.name, u.role, COALESCE(u.unit_id, ''), COALESCE(u.staff_number, ''), u.disabled, u.created_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	var role string
	err := row.Scan(&u.ID, &u.Name, &role, &u.UnitID, &u.Staff, &u.Disabled, &u.Created)
	u.Role = domain.Role(role)
	return u, err
}

// Create adds a user. An unknown unit is a validation error on unit_id; a staff
// number already taken is ErrConflict.
func (s *Users) Create(ctx context.Context, n NewUser) (User, error) {
	if err := n.Validate(); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	var out User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if n.UnitID != "" {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM units WHERE id = $1)`, n.UnitID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return invalidField("unit_id", n.UnitID, "no such unit")
			}
		}
		if n.Staff != "" {
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE staff_number = $1)`, n.Staff).Scan(&taken); err != nil {
				return err
			}
			if taken {
				return fmt.Errorf("staff number %s is taken: %w", n.Staff, ErrConflict)
			}
		}
		var err error
		out, err = scanUser(tx.QueryRow(ctx, `INSERT INTO users AS u (id, name, role, unit_id, staff_number)
			VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''))
			RETURNING `+userColumns,
			uuid.New(), n.Name, string(n.Role), n.UnitID, n.Staff))
		if code, _ := pgCode(err); code == pgUniqueViolation || code == pgForeignKeyViolation {
			return fmt.Errorf("%w: %w", ErrConflict, err)
		}
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user %q: %w", n.Name, err)
	}
	return out, nil
}

// Get returns the user, or ErrNotFound (also for an ID that is not a UUID).
func (s *Users) Get(ctx context.Context, id string) (User, error) {
	if _, err := uuid.Parse(id); err != nil {
		return User{}, fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %q: %w", id, err)
	}
	return u, nil
}

// List returns every user, oldest first.
func (s *Users) List(ctx context.Context) ([]User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.created_at, u.id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// SetDisabled disables or re-enables a user. A disabled user's tokens stop working
// at once without being revoked, so re-enabling restores them.
func (s *Users) SetDisabled(ctx context.Context, id string, disabled bool) error {
	if _, err := uuid.Parse(id); err != nil {
		return fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE users SET disabled = $2 WHERE id = $1`, id, disabled)
	if err != nil {
		return fmt.Errorf("disable user %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	return nil
}

const tokenColumns = `t.id::text, t.user_id::text, t.created_at, t.expires_at, t.revoked_at`

func scanToken(row pgx.Row) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.UserID, &t.Created, &t.Expires, &t.Revoked)
	return t, err
}

// CreateToken stores the SHA-256 hash of a new token for the user. ErrNotFound for
// an unknown user, ErrConflict for a disabled one; an expiry not after the
// creation time is a validation error.
func (s *Users) CreateToken(ctx context.Context, userID string, hash []byte, expires *time.Time) (Token, error) {
	if len(hash) != 32 {
		return Token{}, fmt.Errorf("create token: hash is %d bytes, want a SHA-256", len(hash))
	}
	if _, err := uuid.Parse(userID); err != nil {
		return Token{}, fmt.Errorf("user %q: %w", userID, ErrNotFound)
	}
	var out Token
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var disabled bool
		err := tx.QueryRow(ctx, `SELECT disabled FROM users WHERE id = $1 FOR SHARE`, userID).Scan(&disabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user %q: %w", userID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if disabled {
			return fmt.Errorf("user %q is disabled: %w", userID, ErrConflict)
		}
		out, err = scanToken(tx.QueryRow(ctx, `INSERT INTO api_tokens AS t (id, user_id, hash, expires_at)
			VALUES ($1, $2, $3, $4) RETURNING `+tokenColumns,
			uuid.New(), userID, hash, expires))
		switch code, _ := pgCode(err); code {
		case pgCheckViolation:
			return invalidField("expires_at", expires.Format(time.RFC3339), "must be in the future")
		case pgUniqueViolation:
			// Two random 32-byte tokens do not collide; the caller reused a hash.
			return fmt.Errorf("token hash already stored: %w", ErrConflict)
		}
		return err
	})
	if err != nil {
		return Token{}, fmt.Errorf("create token for user %q: %w", userID, err)
	}
	return out, nil
}

// RevokeToken revokes the token and returns it; revoking twice keeps the first
// revocation time. ErrNotFound if there is no such token.
func (s *Users) RevokeToken(ctx context.Context, id string) (Token, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Token{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `UPDATE api_tokens AS t SET revoked_at = COALESCE(t.revoked_at, now())
		WHERE t.id = $1 RETURNING `+tokenColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, fmt.Errorf("token %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %q: %w", id, err)
	}
	return t, nil
}

// Tokens lists a user's tokens, newest first.
func (s *Users) Tokens(ctx context.Context, userID string) ([]Token, error) {
	if _, err := uuid.Parse(userID); err != nil {
		return nil, fmt.Errorf("user %q: %w", userID, ErrNotFound)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.created_at DESC, t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", userID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list tokens of %q: %w", userID, err)
	}
	return out, nil
}

// CredentialByHash finds the token with that hash and its user, whatever their
// state: the caller decides what revoked, expired and disabled mean, and says why
// in its log. ErrNotFound if no token has that hash.
func (s *Users) CredentialByHash(ctx context.Context, hash []byte) (Credential, error) {
	var c Credential
	var role string
	err := s.pool.QueryRow(ctx, `SELECT `+tokenColumns+`, `+userColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash).Scan(
		&c.Token.ID, &c.Token.UserID, &c.Token.Created, &c.Token.Expires, &c.Token.Revoked,
		&c.User.ID, &c.User.Name, &role, &c.User.UnitID, &c.User.Staff, &c.User.Disabled, &c.User.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return Credential{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return Credential{}, fmt.Errorf("look up token: %w", err)
	}
	c.User.Role = domain.Role(role)
	return c, nil
}
