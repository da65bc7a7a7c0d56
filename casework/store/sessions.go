package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
)

// loginPattern is a sign-in name: short and plain, since it is typed on a
// page and written to the log.
var loginPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.@-]{0,63}$`)

// ValidLogin tells whether s can be a sign-in name.
func ValidLogin(s string) bool { return loginPattern.MatchString(s) }

// SignInRecord is a user as sign-in needs it.
type SignInRecord struct {
	User         User
	PasswordHash string // empty: no password set, cannot sign in
}

// Sessions keeps people's sign-in data: passwords and web sessions.
type Sessions struct {
	pool *pgxpool.Pool
}

// NewSessions returns the session store.
func NewSessions(pool *pgxpool.Pool) *Sessions { return &Sessions{pool: pool} }

// SetPassword stores the user's password hash (and sign-in name when login is
// not empty; agents sign in with their staff number without one). It ends
// every web session of the user: a new password is how one locks out a thief.
func (s *Sessions) SetPassword(ctx context.Context, userID, login, hash string) error {
	if _, err := uuid.Parse(userID); err != nil {
		return fmt.Errorf("user %q: %w", userID, ErrNotFound)
	}
	if login != "" && !ValidLogin(login) {
		return invalidField("login", login, "1-64 letters, digits or . _ @ -, starting with a letter or digit")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, password_changed_at = now(),
			login = COALESCE(NULLIF($3, ''), login) WHERE id = $1`, userID, hash, login)
		if code, _ := pgCode(err); code == pgUniqueViolation {
			return fmt.Errorf("sign-in name %q is taken: %w", login, ErrConflict)
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("user %q: %w", userID, ErrNotFound)
		}
		return endSessionsTx(ctx, tx, userID, "password_changed")
	})
	if err != nil {
		return fmt.Errorf("set password of %q: %w", userID, err)
	}
	return nil
}

// ByLogin finds the user signing in as name: their sign-in name, or for agents
// their staff number. ErrNotFound when there is none.
func (s *Sessions) ByLogin(ctx context.Context, name string) (SignInRecord, error) {
	var rec SignInRecord
	var role string
	err := s.pool.QueryRow(ctx, `SELECT `+userColumns+`, COALESCE(u.password_hash, '')
		FROM users u WHERE lower(u.login) = lower($1) OR u.staff_number = $1
		ORDER BY (lower(u.login) = lower($1)) DESC NULLS LAST LIMIT 1`, name).Scan(
		&rec.User.ID, &rec.User.Name, &role, &rec.User.UnitID, &rec.User.Staff, &rec.User.Disabled, &rec.User.Created,
		&rec.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return SignInRecord{}, fmt.Errorf("sign-in name %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return SignInRecord{}, fmt.Errorf("look up sign-in name: %w", err)
	}
	rec.User.Role = domain.Role(role)
	return rec, nil
}

// WebSession is a signed-in browser.
type WebSession struct {
	ID           string
	UserID       string
	CSRF         string
	Phone        string
	ProxyTokenID string
	Created      time.Time
	LastSeen     time.Time
	Expires      time.Time // absolute end
	Ended        *time.Time
	User         User
}

// NewWebSession is what sign-in stores.
type NewWebSession struct {
	Hash         []byte
	UserID       string
	CSRF         string
	Phone        string
	ProxyTokenID string
	Expires      time.Time
	RemoteAddr   string
	// At is the sign-in time by the caller's clock, which also judges the
	// timeouts (zero: the database's now()).
	At time.Time
}

// CreateSession stores a session and returns its ID.
func (s *Sessions) CreateSession(ctx context.Context, n NewWebSession) (string, error) {
	if len(n.Hash) != 32 {
		return "", fmt.Errorf("create session: hash is %d bytes, want a SHA-256", len(n.Hash))
	}
	id := uuid.New()
	var at *time.Time
	if !n.At.IsZero() {
		at = &n.At
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO web_sessions (id, hash, user_id, csrf, phone, proxy_token_id, expires_at, remote_addr,
			created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::uuid, $7, NULLIF($8, ''), COALESCE($9, now()), COALESCE($9, now()))`,
		id, n.Hash, n.UserID, n.CSRF, n.Phone, n.ProxyTokenID, n.Expires, n.RemoteAddr, at)
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return id.String(), nil
}

// SessionByHash finds a session (ended or not) with its user. ErrNotFound if
// no session has that hash.
func (s *Sessions) SessionByHash(ctx context.Context, hash []byte) (WebSession, error) {
	var ws WebSession
	var role string
	err := s.pool.QueryRow(ctx, `SELECT w.id::text, w.user_id::text, w.csrf, w.phone, COALESCE(w.proxy_token_id::text, ''),
		w.created_at, w.last_seen_at, w.expires_at, w.ended_at, `+userColumns+`
		FROM web_sessions w JOIN users u ON u.id = w.user_id WHERE w.hash = $1`, hash).Scan(
		&ws.ID, &ws.UserID, &ws.CSRF, &ws.Phone, &ws.ProxyTokenID, &ws.Created, &ws.LastSeen, &ws.Expires, &ws.Ended,
		&ws.User.ID, &ws.User.Name, &role, &ws.User.UnitID, &ws.User.Staff, &ws.User.Disabled, &ws.User.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return WebSession{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return WebSession{}, fmt.Errorf("look up session: %w", err)
	}
	ws.User.Role = domain.Role(role)
	return ws, nil
}

// Touch records activity on a live session (idle timeout).
func (s *Sessions) Touch(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE web_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL`, id, at)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// EndSession ends one session and revokes its proxy token.
func (s *Sessions) EndSession(ctx context.Context, id, reason string) error {
	_, err := s.pool.Exec(ctx, `WITH e AS (
			UPDATE web_sessions SET ended_at = COALESCE(ended_at, now()), end_reason = COALESCE(end_reason, $2)
			WHERE id = $1 RETURNING proxy_token_id)
		UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id IN (SELECT proxy_token_id FROM e)`, id, reason)
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndUserSessions ends every live session of the user (sign-out everywhere)
// and returns how many there were.
func (s *Sessions) EndUserSessions(ctx context.Context, userID, reason string) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM web_sessions WHERE user_id = $1 AND ended_at IS NULL`, userID).Scan(&n); err != nil {
			return err
		}
		return endSessionsTx(ctx, tx, userID, reason)
	})
	if err != nil {
		return 0, fmt.Errorf("end sessions of %q: %w", userID, err)
	}
	return n, nil
}

func endSessionsTx(ctx context.Context, tx pgx.Tx, userID, reason string) error {
	_, err := tx.Exec(ctx, `WITH e AS (
			UPDATE web_sessions SET ended_at = now(), end_reason = $2
			WHERE user_id = $1 AND ended_at IS NULL RETURNING proxy_token_id)
		UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id IN (SELECT proxy_token_id FROM e)`, userID, reason)
	return err
}
