package api

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

func (s *Server) userRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/me", s.me)
	mux.HandleFunc("POST "+Prefix+"/users", s.createUser)
	mux.HandleFunc("GET "+Prefix+"/users/{id}", s.getUser)
	mux.HandleFunc("POST "+Prefix+"/users/{id}/tokens", s.createToken)
	mux.HandleFunc("DELETE "+Prefix+"/tokens/{id}", s.revokeToken)
}

// principal returns the authenticated caller; every route behind Mount has one.
func principal(w http.ResponseWriter, r *http.Request) (access.Principal, bool) {
	p, ok := access.PrincipalFrom(r.Context())
	if !ok {
		problem.Unauthorized(w, r, "missing bearer token")
	}
	return p, ok
}

// audit records an administrative change after it committed. A failure is logged
// as an error but does not turn the answer into a 500: the change has been made,
// and a client told otherwise would repeat it.
// auditOrFail records a read of data about citizens before it is served: an
// unrecorded read is what the audit log exists to prevent, so no log, no data
// (500).
func (s *Server) auditOrFail(w http.ResponseWriter, r *http.Request, action, objectType, objectID string) bool {
	if err := s.auditor.Audit(r.Context(), action, objectType, objectID); err != nil {
		problem.Internal(w, r, fmt.Errorf("audit %s %s: %w", action, objectType, err))
		return false
	}
	return true
}

// auditQuery is a list's query for the audit log, bounded.
func auditQuery(r *http.Request) string {
	q := r.URL.RawQuery
	if len(q) > 500 {
		q = q[:500]
	}
	return q
}

func (s *Server) audit(r *http.Request, action, objectType, objectID string) {
	if err := s.auditor.Audit(r.Context(), action, objectType, objectID); err != nil {
		reqctx.Logger(r.Context()).Error("audit log write failed", zap.Error(err),
			zap.String("action", action), zap.String("object_type", objectType), zap.String("object_id", objectID))
	}
}

// Me is the caller as GET /me shows it.
type Me struct {
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	UnitID      string `json:"unit_id,omitempty"`
	StaffNumber string `json:"staff_number,omitempty"`
	// ActorID is how case histories name this user (agents: the staff number).
	ActorID string `json:"actor_id"`
	TokenID string `json:"token_id"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	WriteJSON(w, r, http.StatusOK, Me{UserID: p.UserID, Name: p.Name, Role: string(p.Role), UnitID: p.UnitID,
		StaffNumber: p.Staff, ActorID: p.Actor().ID, TokenID: p.TokenID})
}

// User is a user as the API shows it.
type User struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	UnitID      string    `json:"unit_id,omitempty"`
	StaffNumber string    `json:"staff_number,omitempty"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

func userOut(u store.User) User {
	return User{ID: u.ID, Name: u.Name, Role: string(u.Role), UnitID: u.UnitID, StaffNumber: u.Staff,
		Disabled: u.Disabled, CreatedAt: u.Created}
}

type userIn struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	UnitID      string `json:"unit_id"`
	StaffNumber string `json:"staff_number"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
		return
	}
	var in userIn
	if !DecodeJSON(w, r, &in) {
		return
	}
	// The role is parsed here rather than by json so that a bad one is a 422
	// naming the field, reported together with the other bad fields by the
	// store's validation. ParseRole also takes the Chinese labels (话务员, ...).
	role, err := domain.ParseRole(in.Role)
	if err != nil {
		role = domain.Role(in.Role)
	}
	u, err := s.users.Create(r.Context(), store.NewUser{Name: in.Name, Role: role, UnitID: in.UnitID, Staff: in.StaffNumber})
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	s.audit(r, access.ActionCreate, "user", u.ID)
	w.Header().Set("Location", Prefix+"/users/"+u.ID)
	WriteJSON(w, r, http.StatusCreated, userOut(u))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
		return
	}
	u, err := s.users.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, userOut(u))
}

// Token is a token's metadata; Token (the secret) is present only in the answer
// to its creation.
type Token struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Token     string     `json:"token,omitempty"`
}

func tokenOut(t store.Token) Token {
	return Token{ID: t.ID, UserID: t.UserID, CreatedAt: t.Created, ExpiresAt: t.Expires, RevokedAt: t.Revoked}
}

// tokenIn: without expires_at a token lives access.DefaultTokenLifetime;
// no_expiry asks for one that never expires (machines).
type tokenIn struct {
	ExpiresAt *time.Time `json:"expires_at"`
	NoExpiry  bool       `json:"no_expiry"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
		return
	}
	var in tokenIn
	if !DecodeOptionalJSON(w, r, &in) {
		return
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.now()) {
		problem.Unprocessable(w, r, "", problem.Field("expires_at", "must be in the future"))
		return
	}
	switch {
	case in.NoExpiry && in.ExpiresAt != nil:
		problem.Unprocessable(w, r, "", problem.Field("no_expiry", "give expires_at or no_expiry, not both"))
		return
	case !in.NoExpiry && in.ExpiresAt == nil:
		t := s.now().Add(access.DefaultTokenLifetime)
		in.ExpiresAt = &t
	}
	t, secret, err := access.IssueToken(r.Context(), s.users, r.PathValue("id"), in.ExpiresAt)
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	s.audit(r, access.ActionCreate, "token", t.ID)
	out := tokenOut(t)
	out.Token = secret
	// The secret must not linger in caches between here and the administrator.
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, r, http.StatusCreated, out)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
		return
	}
	t, err := s.users.RevokeToken(r.Context(), r.PathValue("id"))
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	s.audit(r, access.ActionRevoke, "token", t.ID)
	w.WriteHeader(http.StatusNoContent)
}
