package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// ErrUnauthenticated is the kind of every authentication failure; the wrapped
// text says why (for the log, not the client).
var ErrUnauthenticated = errors.New("unauthenticated")

// AuthError is an authentication failure. Detail is safe to show the client;
// Reason is for the log.
type AuthError struct {
	Detail  string
	Reason  string
	TokenID string // when the token was found
}

func (e *AuthError) Error() string { return "unauthenticated: " + e.Reason }

// Is makes errors.Is(err, ErrUnauthenticated) true.
func (e *AuthError) Is(target error) bool { return target == ErrUnauthenticated }

// Credentials finds a token and its user by the token's hash (store.Users).
type Credentials interface {
	CredentialByHash(ctx context.Context, hash []byte) (store.Credential, error)
}

// Authenticator turns an Authorization header into a Principal.
type Authenticator struct {
	creds Credentials
	now   func() time.Time
}

// NewAuthenticator returns an authenticator reading tokens from creds. now is the
// clock expiry is judged by; nil means time.Now.
func NewAuthenticator(creds Credentials, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{creds: creds, now: now}
}

// Authenticate checks an Authorization header value. Failures are *AuthError;
// any other error (the database is down) is not the caller's fault.
func (a *Authenticator) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	if authorization == "" {
		return Principal{}, &AuthError{Detail: "missing bearer token", Reason: "no Authorization header"}
	}
	scheme, secret, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return Principal{}, &AuthError{Detail: "the Authorization header must be 'Bearer <token>'", Reason: "not a bearer credential"}
	}
	hash, ok := HashToken(strings.TrimSpace(secret))
	if !ok {
		return Principal{}, &AuthError{Detail: "invalid token", Reason: "malformed token"}
	}
	c, err := a.creds.CredentialByHash(ctx, hash[:])
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, &AuthError{Detail: "invalid token", Reason: "unknown token"}
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	fail := func(detail, reason string) (Principal, error) {
		return Principal{}, &AuthError{Detail: detail, Reason: reason, TokenID: c.Token.ID}
	}
	switch {
	case c.Token.Revoked != nil:
		return fail("invalid token", "token revoked")
	case c.Token.Expires != nil && !a.now().Before(*c.Token.Expires):
		return fail("token expired", "token expired")
	case c.User.Disabled:
		return fail("invalid token", "user disabled")
	}
	return Principal{
		UserID: c.User.ID, Name: c.User.Name, Role: c.User.Role,
		UnitID: c.User.UnitID, Staff: c.User.Staff, TokenID: c.Token.ID,
	}, nil
}

// Middleware authenticates every request, answers 401 problem+json when that
// fails, and otherwise hands on a context carrying the Principal (and annotates
// the request's log lines with the user).
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r.Context(), r.Header.Get("Authorization"))
		var ae *AuthError
		switch {
		case errors.As(err, &ae):
			reqctx.Logger(r.Context()).Info("authentication refused",
				zap.String("reason", ae.Reason), zap.String("token_id", ae.TokenID))
			problem.Unauthorized(w, r, ae.Detail)
			return
		case err != nil:
			problem.Internal(w, r, err)
			return
		}
		fields := []zap.Field{zap.String("user_id", p.UserID), zap.String("role", string(p.Role))}
		if p.UnitID != "" {
			fields = append(fields, zap.String("unit_id", p.UnitID))
		}
		reqctx.Annotate(r.Context(), fields...)
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Check answers 401 or 403 and returns false unless the request's principal has
// one of roles; handlers call it first:
//
//	p, ok := access.Check(w, r, domain.RoleAdmin)
//	if !ok {
//		return
//	}
func Check(w http.ResponseWriter, r *http.Request, roles ...domain.Role) (Principal, bool) {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		// The route was mounted without the middleware: refuse rather than guess.
		problem.Unauthorized(w, r, "missing bearer token")
		return Principal{}, false
	}
	if !p.Has(roles...) {
		problem.Forbidden(w, r, fmt.Sprintf("role %s may not do this; requires %s", p.Role, roleList(roles)))
		return Principal{}, false
	}
	return p, true
}

// Require wraps a handler so that only the given roles reach it.
func Require(roles ...domain.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := Check(w, r, roles...); ok {
				next.ServeHTTP(w, r)
			}
		})
	}
}

func roleList(roles []domain.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
