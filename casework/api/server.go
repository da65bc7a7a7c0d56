// Package api is the casework service's HTTP API under /api/v1 (SPEC §4): the
// server scaffolding every endpoint shares (request IDs, access log, panic
// recovery, bearer authentication, problem+json errors, JSON decoding,
// pagination) and the unit directory, user and token endpoints. openapi.yaml in
// this directory documents all of it.
//
// Other route groups (cases, reports, ...) live in their own packages and are
// added with Mount (authenticated) or MountPublic; the casework binary then serves
// Handler under /api/v1/ next to /metrics, /healthz and /readyz.
package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/store"
)

// Prefix is where the binary mounts Handler; route patterns include it.
const Prefix = "/api/v1"

// DefaultMaxBodyBytes bounds request bodies: the API takes forms, not uploads.
const DefaultMaxBodyBytes = 1 << 20

// Config is what New needs. Pool and Log are required.
type Config struct {
	Pool *pgxpool.Pool
	Log  *zap.Logger
	// Registerer receives the HTTP metrics; nil registers none.
	Registerer prometheus.Registerer
	// DutyLineTrunks are the PJSIP endpoints duty lines may be dialled through;
	// nil means store.DefaultDutyLineTrunk.
	DutyLineTrunks []string
	// MaxBodyBytes bounds every request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// DirectoryTTL: see access.Directory; 0 means access.DefaultDirectoryTTL.
	DirectoryTTL time.Duration
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// PublicRate and PublicBurst bound requests per client address to the
	// public routes (Open311); 0 means DefaultPublicRate, DefaultPublicBurst.
	PublicRate  float64
	PublicBurst int
	// UserRate and UserBurst bound requests per signed-in user; 0 means
	// DefaultUserRate, DefaultUserBurst.
	UserRate  float64
	UserBurst int
}

// Defaults of the per-user limit: far above a person at a desk or a unit's
// system polling its inbox, far below a leaked token dumping the case file.
const (
	DefaultUserRate  = 20.0
	DefaultUserBurst = 100
)

// Defaults of the public routes' rate limit: a person browsing, or a portal
// refreshing a few cases, stays far below; walking the case numbers does not.
const (
	DefaultPublicRate  = 2.0
	DefaultPublicBurst = 20
)

// Server is the /api/v1 HTTP API.
type Server struct {
	log     *zap.Logger
	maxBody int64
	now     func() time.Time
	metrics *httpMetrics

	units    *store.Units
	users    *store.Users
	auth     *access.Authenticator
	dir      *access.Directory
	auditor  *access.Auditor
	authed   *http.ServeMux // routes behind bearer authentication
	public   *http.ServeMux // routes anyone may call
	authWrap http.Handler
	publicRL *clientLimiter
	userRL   *clientLimiter
	// sessions lets browsers call the API with a session cookie (UseSessions).
	sessions    SessionAuth
	sessionWrap http.Handler
}

// SessionAuth authenticates browsers by session cookie (casework/desk): its
// middleware puts the session's user in the request's context as the bearer
// middleware does, and refuses unsafe requests without the CSRF token.
type SessionAuth interface {
	HasSession(r *http.Request) bool
	Middleware(next http.Handler) http.Handler
}

// UseSessions accepts session cookies on the authenticated routes for requests
// without an Authorization header (machines keep using bearer tokens).
func (s *Server) UseSessions(a SessionAuth) {
	s.sessions = a
	s.sessionWrap = a.Middleware(s.userRL.perUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveMux(s.authed, w, r)
	})))
}

// New builds the server with the unit, user and token routes registered.
func New(cfg Config) (*Server, error) {
	if cfg.Pool == nil {
		return nil, errors.New("api: Config.Pool is required")
	}
	if cfg.Log == nil {
		return nil, errors.New("api: Config.Log is required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PublicRate <= 0 {
		cfg.PublicRate = DefaultPublicRate
	}
	if cfg.PublicBurst <= 0 {
		cfg.PublicBurst = DefaultPublicBurst
	}
	if cfg.UserRate <= 0 {
		cfg.UserRate = DefaultUserRate
	}
	if cfg.UserBurst <= 0 {
		cfg.UserBurst = DefaultUserBurst
	}
	users := store.NewUsers(cfg.Pool)
	units := store.NewUnits(cfg.Pool, cfg.DutyLineTrunks)
	s := &Server{
		log:     cfg.Log,
		maxBody: cfg.MaxBodyBytes,
		now:     cfg.Now,
		units:   units,
		users:   users,
		auth:    access.NewAuthenticator(users, cfg.Now),
		dir:     access.NewDirectory(units, cfg.DirectoryTTL),
		auditor: access.NewAuditor(store.NewAuditLog(cfg.Pool)),
		authed:  http.NewServeMux(),
		public:  http.NewServeMux(),
	}
	s.publicRL = newClientLimiter(cfg.PublicRate, cfg.PublicBurst, cfg.Now)
	s.userRL = newClientLimiter(cfg.UserRate, cfg.UserBurst, cfg.Now)
	if cfg.Registerer != nil {
		m, err := newHTTPMetrics(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		s.metrics = m
	}
	s.authWrap = s.auth.Middleware(s.userRL.perUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveMux(s.authed, w, r)
	})))
	s.Mount(s.unitRoutes)
	s.Mount(s.userRoutes)
	s.MountPublic(func(mux *http.ServeMux) {
		mux.HandleFunc("GET "+Prefix+"/openapi.yaml", serveOpenAPI)
	})
	return s, nil
}

// Mount lets register add routes that require a valid bearer token. Patterns use
// Go 1.22 method syntax and include Prefix:
//
//	srv.Mount(func(mux *http.ServeMux) {
//		mux.HandleFunc("GET /api/v1/cases/{id}", h.getCase)
//	})
//
// Handlers read the caller with access.PrincipalFrom(r.Context()), refuse roles
// with access.Check, answer errors with the problem package, and decode bodies
// with DecodeJSON.
func (s *Server) Mount(register func(mux *http.ServeMux)) { register(s.authed) }

// MountPublic is Mount for routes without authentication (the public progress
// API, C12). A public pattern shadows an authenticated one it matches.
func (s *Server) MountPublic(register func(mux *http.ServeMux)) { register(s.public) }

// Auditor records case-file reads and other audited actions.
func (s *Server) Auditor() *access.Auditor { return s.auditor }

// Directory answers unit scoping questions (access.Directory.CanSeeUnit).
func (s *Server) Directory() *access.Directory { return s.dir }

// Units is the unit directory store the server uses.
func (s *Server) Units() *store.Units { return s.units }

// Handler is the whole API: serve it under Prefix+"/".
func (s *Server) Handler() http.Handler {
	return s.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		if _, pattern := s.public.Handler(r); pattern != "" {
			if pattern == "GET "+Prefix+"/openapi.yaml" {
				serveMux(s.public, w, r) // documentation, not data
				return
			}
			s.publicRL.limited(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				serveMux(s.public, w, r)
			})).ServeHTTP(w, r)
			return
		}
		if _, pattern := s.authed.Handler(r); pattern != "" {
			reqctx.SetRoute(r.Context(), pattern) // so that refused requests count per route too
		}
		if s.sessions != nil && r.Header.Get("Authorization") == "" && s.sessions.HasSession(r) {
			s.sessionWrap.ServeHTTP(w, r)
			return
		}
		s.authWrap.ServeHTTP(w, r)
	}))
}

// serveMux serves r from mux, answering the mux's own 404 and 405 as problem+json
// so that clients see one error format.
func serveMux(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	h, pattern := mux.Handler(r)
	if pattern != "" {
		reqctx.SetRoute(r.Context(), pattern)
		mux.ServeHTTP(w, r)
		return
	}
	cw := &captureWriter{header: http.Header{}}
	h.ServeHTTP(cw, r)
	switch {
	case cw.status == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", cw.header.Get("Allow"))
		problem.Write(w, r, problem.Problem{Type: problem.TypeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
			Detail: "method " + r.Method + " not allowed here; allowed: " + cw.header.Get("Allow")})
	case cw.status >= 300 && cw.status < 400:
		mux.ServeHTTP(w, r) // path cleaning redirects
	default:
		problem.NotFound(w, r, "no such endpoint")
	}
}

// captureWriter records what the mux's fallback handler would answer.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
}
