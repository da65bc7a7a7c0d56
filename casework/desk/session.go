package desk

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/store"
)

// CSRFHeader carries the session's CSRF token on every unsafe request.
const CSRFHeader = "X-CSRF-Token"

// SessionStore keeps passwords and sessions (store.Sessions).
type SessionStore interface {
	ByLogin(ctx context.Context, name string) (store.SignInRecord, error)
	CreateSession(ctx context.Context, n store.NewWebSession) (string, error)
	SessionByHash(ctx context.Context, hash []byte) (store.WebSession, error)
	Touch(ctx context.Context, id string, at time.Time) error
	EndSession(ctx context.Context, id, reason string) error
	EndUserSessions(ctx context.Context, userID, reason string) (int, error)
}

// TokenStore issues the per-session token the call service is reached with
// (store.Users).
type TokenStore interface {
	CreateToken(ctx context.Context, userID string, hash []byte, expires *time.Time) (store.Token, error)
}

// Sessions authenticates browsers by their session cookie.
type Sessions struct {
	store  SessionStore
	tokens TokenStore
	idle   time.Duration
	abs    time.Duration
	secure bool
	now    func() time.Time
	log    *zap.Logger

	// Sign-in attempts per name, for a short lock-out after repeated failures.
	mu       sync.Mutex
	failures map[string]failure
}

type failure struct {
	count int
	last  time.Time
}

// Sign-in throttling: after maxFailures wrong passwords for one name within
// failureWindow, that name is refused for the rest of the window.
const (
	maxFailures   = 5
	failureWindow = 5 * time.Minute
	// touchEvery bounds the writes that keep a session's idle clock: an agent's
	// page polls, and a write per request would be waste.
	touchEvery = 30 * time.Second
	// maxTracked bounds the names with recent failures kept in memory.
	maxTracked = 10000
)

// Session is an authenticated browser's session as handlers use it.
type Session struct {
	store.WebSession
	// Secret is the cookie's value (never stored): the per-session call-service
	// token is derived from it.
	Secret string
}

// Principal is the session's user as the API sees them.
func (s Session) Principal() access.Principal {
	return access.Principal{UserID: s.User.ID, Name: s.User.Name, Role: s.User.Role, UnitID: s.User.UnitID,
		Staff: s.User.Staff, TokenID: "session:" + s.ID}
}

// cookieName is __Host- prefixed when the cookie is Secure (the browser then
// refuses it from any other host or path).
func (m *Sessions) cookieName() string {
	if m.secure {
		return "__Host-hotline_session"
	}
	return "hotline_session"
}

const sessionPrefix = "hs_"

var b64 = base64.RawURLEncoding

func hashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// proxySecret is the call-service token of a session: an HMAC of the cookie
// secret, so it is stored nowhere (only its hash, as every API token) and dies
// with the cookie.
func proxySecret(cookieSecret string) string {
	mac := hmac.New(sha256.New, []byte(cookieSecret))
	mac.Write([]byte("hotline desk -> call service"))
	return "hl_" + b64.EncodeToString(mac.Sum(nil))
}

func randomToken(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return prefix + b64.EncodeToString(b), nil
}

// errSignIn is a refused sign-in; Detail is shown on the page.
type errSignIn struct {
	Status int
	Detail string
	Reason string
}

func (e *errSignIn) Error() string { return "sign-in refused: " + e.Reason }

// SignIn checks the password and creates a session. The returned error is
// *errSignIn for the person's mistakes, anything else for ours.
func (m *Sessions) SignIn(ctx context.Context, login, password, phone, remote string) (Session, error) {
	login = strings.TrimSpace(login)
	now := m.now()
	if !store.ValidLogin(login) || password == "" {
		return Session{}, &errSignIn{Status: http.StatusUnauthorized, Detail: "工号（用户名）或密码错误", Reason: "malformed name or empty password"}
	}
	key := strings.ToLower(login)
	m.mu.Lock()
	f := m.failures[key]
	if now.Sub(f.last) > failureWindow {
		f = failure{}
	}
	locked := f.count >= maxFailures
	m.mu.Unlock()
	if locked {
		return Session{}, &errSignIn{Status: http.StatusTooManyRequests, Detail: "密码错误次数过多，请5分钟后再试", Reason: "too many failures"}
	}
	rec, err := m.store.ByLogin(ctx, login)
	hash := rec.PasswordHash
	switch {
	case errors.Is(err, store.ErrNotFound):
		hash = ""
	case err != nil:
		return Session{}, err
	}
	if hash == "" {
		_, _ = VerifyPassword(dummyHash, password) // same time as a real check
	}
	ok := false
	if hash != "" {
		if ok, err = VerifyPassword(hash, password); err != nil {
			return Session{}, fmt.Errorf("user %s: %w", rec.User.ID, err)
		}
	}
	if !ok {
		m.mu.Lock()
		f.count++
		f.last = now
		if m.failures == nil || len(m.failures) > maxTracked {
			// Names guessed at random must not grow the map without bound:
			// forgetting old failures costs at most a fresh window.
			m.failures = map[string]failure{}
		}
		m.failures[key] = f
		m.mu.Unlock()
		return Session{}, &errSignIn{Status: http.StatusUnauthorized, Detail: "工号（用户名）或密码错误", Reason: "wrong password or unknown name"}
	}
	if rec.User.Disabled {
		return Session{}, &errSignIn{Status: http.StatusForbidden, Detail: "该账号已停用，请联系管理员", Reason: "user disabled"}
	}
	m.mu.Lock()
	delete(m.failures, key)
	m.mu.Unlock()

	secret, err := randomToken(sessionPrefix)
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomToken("")
	if err != nil {
		return Session{}, err
	}
	expires := now.Add(m.abs)
	ps := proxySecret(secret)
	ph := hashSecret(ps)
	tok, err := m.tokens.CreateToken(ctx, rec.User.ID, ph[:], &expires)
	if err != nil {
		return Session{}, fmt.Errorf("session token: %w", err)
	}
	h := hashSecret(secret)
	id, err := m.store.CreateSession(ctx, store.NewWebSession{Hash: h[:], UserID: rec.User.ID, CSRF: csrf, Phone: phone,
		ProxyTokenID: tok.ID, Expires: expires, RemoteAddr: remote, At: now})
	if err != nil {
		return Session{}, err
	}
	return Session{Secret: secret, WebSession: store.WebSession{ID: id, UserID: rec.User.ID, CSRF: csrf, Phone: phone,
		ProxyTokenID: tok.ID, Created: now, LastSeen: now, Expires: expires, User: rec.User}}, nil
}

// SetCookie hands the session's cookie to the browser.
func (m *Sessions) SetCookie(w http.ResponseWriter, s Session) {
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: s.Secret, Path: "/", HttpOnly: true, Secure: m.secure,
		SameSite: http.SameSiteStrictMode, Expires: s.Expires})
}

// ClearCookie removes it.
func (m *Sessions) ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: "", Path: "/", HttpOnly: true, Secure: m.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// HasSession tells whether the request carries a session cookie (valid or not).
func (m *Sessions) HasSession(r *http.Request) bool {
	c, err := r.Cookie(m.cookieName())
	return err == nil && c.Value != ""
}

// authError is a refused session; Detail is for the page.
type authError struct {
	status int
	detail string
	reason string
}

func (e *authError) Error() string { return "session refused: " + e.reason }

// Authenticate finds the request's live session. Unsafe methods must carry the
// session's CSRF token and, when the browser sends one, an Origin of this host.
func (m *Sessions) Authenticate(r *http.Request) (Session, error) {
	c, err := r.Cookie(m.cookieName())
	if err != nil || !strings.HasPrefix(c.Value, sessionPrefix) || len(c.Value) > 64 {
		return Session{}, &authError{http.StatusUnauthorized, "请先登录", "no session cookie"}
	}
	h := hashSecret(c.Value)
	ws, err := m.store.SessionByHash(r.Context(), h[:])
	if errors.Is(err, store.ErrNotFound) {
		return Session{}, &authError{http.StatusUnauthorized, "会话无效，请重新登录", "unknown session"}
	}
	if err != nil {
		return Session{}, err
	}
	now := m.now()
	end := func(reason, detail string) (Session, error) {
		if ws.Ended == nil {
			if err := m.store.EndSession(context.WithoutCancel(r.Context()), ws.ID, reason); err != nil {
				m.log.Warn("ending a timed-out session", zap.String("session_id", ws.ID), zap.Error(err))
			}
		}
		return Session{}, &authError{http.StatusUnauthorized, detail, reason}
	}
	switch {
	case ws.Ended != nil:
		return Session{}, &authError{http.StatusUnauthorized, "已退出登录，请重新登录", "session ended"}
	case !now.Before(ws.Expires):
		return end("expired", "登录已超过最长时限，请重新登录")
	case now.Sub(ws.LastSeen) > m.idle:
		return end("idle", "长时间未操作，已自动退出，请重新登录")
	case ws.User.Disabled:
		return end("user_disabled", "该账号已停用")
	}
	if !safeMethod(r.Method) {
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
			return Session{}, &authError{http.StatusForbidden, "跨站请求被拒绝", "foreign origin " + o}
		}
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ws.CSRF)) != 1 {
			return Session{}, &authError{http.StatusForbidden, "请求校验失败（CSRF），请刷新页面", "CSRF token missing or wrong"}
		}
	}
	if now.Sub(ws.LastSeen) > touchEvery {
		if err := m.store.Touch(r.Context(), ws.ID, now); err != nil {
			return Session{}, err
		}
	}
	return Session{WebSession: ws, Secret: c.Value}, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == host && (u.Scheme == "http" || u.Scheme == "https")
}

// writeAuthError answers a refused session (problem+json) or an internal error.
func (m *Sessions) writeAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *authError
	if !errors.As(err, &ae) {
		problem.Internal(w, r, err)
		return
	}
	reqctx.Logger(r.Context()).Info("session refused", zap.String("reason", ae.reason))
	if ae.status == http.StatusUnauthorized {
		m.ClearCookie(w)
		problem.Unauthorized(w, r, ae.detail)
		return
	}
	problem.Forbidden(w, r, ae.detail)
}

// Middleware authenticates API requests by session (api.Server.UseSessions):
// the handler sees the session's user as the request's principal.
func (m *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Authenticate(r)
		if err != nil {
			m.writeAuthError(w, r, err)
			return
		}
		p := s.Principal()
		reqctx.Annotate(r.Context(), zap.String("user_id", p.UserID), zap.String("role", string(p.Role)), zap.String("session_id", s.ID))
		next.ServeHTTP(w, r.WithContext(access.WithPrincipal(r.Context(), p)))
	})
}
