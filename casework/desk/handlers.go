package desk

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
)

// Config is what the desktop's server side needs.
type Config struct {
	Store  SessionStore
	Tokens TokenStore
	// Idle and Absolute are the session timeouts.
	Idle, Absolute time.Duration
	// SecureCookie marks the cookie Secure (set it when served over HTTPS).
	SecureCookie bool
	// CallService is the call service's base URL (its agent API).
	CallService *url.URL
	// AsteriskWS is Asterisk's SIP WebSocket (res_pjsip_transport_websocket),
	// e.g. ws://127.0.0.1:8088/ws.
	AsteriskWS *url.URL
	// PauseReasons are the reasons an agent picks from when pausing.
	PauseReasons []string
	// Assets are the page's files (casework/web).
	Assets fs.FS
	Log    *zap.Logger
	Now    func() time.Time
}

// Desk is the desktop's HTTP side.
type Desk struct {
	cfg      Config
	sessions *Sessions
	assets   map[string]asset
	callsvc  *httputil.ReverseProxy
	sipws    *httputil.ReverseProxy
	client   *http.Client
}

type asset struct {
	body, gz []byte
	ctype    string
	etag     string
}

// New builds the desktop's handlers; Register mounts them.
func New(cfg Config) (*Desk, error) {
	switch {
	case cfg.Store == nil || cfg.Tokens == nil:
		return nil, errors.New("desk: Store and Tokens are required")
	case cfg.CallService == nil || cfg.AsteriskWS == nil:
		return nil, errors.New("desk: CallService and AsteriskWS are required")
	case cfg.Idle <= 0 || cfg.Absolute < cfg.Idle:
		return nil, errors.New("desk: want 0 < Idle <= Absolute")
	case cfg.Log == nil || cfg.Assets == nil:
		return nil, errors.New("desk: Log and Assets are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Desk{cfg: cfg, client: &http.Client{Timeout: 5 * time.Second},
		sessions: &Sessions{store: cfg.Store, tokens: cfg.Tokens, idle: cfg.Idle, abs: cfg.Absolute,
			secure: cfg.SecureCookie, now: cfg.Now, log: cfg.Log}}
	if err := d.loadAssets(); err != nil {
		return nil, err
	}
	d.callsvc = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(cfg.CallService)
			pr.Out.URL.Path, pr.Out.URL.RawPath = pr.In.URL.Path, pr.In.URL.RawPath
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del(CSRFHeader)
			pr.SetXForwarded()
		},
		FlushInterval: -1, // screen pops are a server-sent event stream
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Log.Warn("call service unreachable", zap.String("path", r.URL.Path), zap.Error(err))
			problem.Write(w, r, problem.Problem{Type: "about:blank", Status: http.StatusBadGateway,
				Detail: "话务服务暂时不可用（call service unreachable）"})
		},
	}
	wsTarget := *cfg.AsteriskWS
	wsTarget.Scheme = strings.Replace(strings.Replace(wsTarget.Scheme, "wss", "https", 1), "ws", "http", 1)
	d.sipws = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&wsTarget)
			pr.Out.URL.Path = wsTarget.Path
			pr.Out.Header.Del("Cookie")
			pr.Out.Header.Del("Origin")
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Log.Warn("Asterisk SIP WebSocket unreachable", zap.Error(err))
			http.Error(w, "SIP WebSocket unreachable", http.StatusBadGateway)
		},
	}
	return d, nil
}

// Sessions is the session authenticator (for api.Server.UseSessions).
func (d *Desk) Sessions() *Sessions { return d.sessions }

// Register mounts the desktop on mux:
//
//	GET  /                      redirect to /desk/
//	GET  /desk/{file...}        the page (embedded)
//	GET  /portal/               the units' portal (portal.html; its files under /desk/)
//	GET  /supervise/            the supervisor screens (supervise.html; files under /desk/)
//	POST /desk/api/signin       {"login","password","phone":"browser|sip"}
//	GET  /desk/api/session      who is signed in, CSRF token, settings
//	POST /desk/api/signout      {"everywhere": bool}
//	GET  /desk/sip              the softphone's SIP WebSocket (to Asterisk)
//	     /api/v1/agent[/...]    the call service's agent API, as the session's agent
//	     /api/v1/agents[/...]   the agents' list and a supervisor's pause/sign-out orders
func (d *Desk) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/desk/", http.StatusFound)
	})
	mux.HandleFunc("GET /desk/", d.static)
	mux.HandleFunc("GET /portal/{$}", func(w http.ResponseWriter, r *http.Request) { d.serveAsset(w, r, "portal.html") })
	mux.HandleFunc("GET /supervise/{$}", func(w http.ResponseWriter, r *http.Request) { d.serveAsset(w, r, "supervise.html") })
	mux.HandleFunc("POST /desk/api/signin", d.signIn)
	mux.HandleFunc("GET /desk/api/session", d.session)
	mux.HandleFunc("POST /desk/api/signout", d.signOut)
	mux.HandleFunc("GET /desk/sip", d.sipWebSocket)
	mux.HandleFunc("/api/v1/agent", d.agentProxy)
	mux.HandleFunc("/api/v1/agent/", d.agentProxy)
	// The agents' list and a supervisor's orders for an agent (the call
	// service checks the role behind the session).
	mux.HandleFunc("/api/v1/agents", d.agentProxy)
	mux.HandleFunc("/api/v1/agents/", d.agentProxy)
}

func (d *Desk) loadAssets() error {
	d.assets = map[string]asset{}
	return fs.WalkDir(d.cfg.Assets, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(d.cfg.Assets, p)
		if err != nil {
			return fmt.Errorf("desk asset %s: %w", p, err)
		}
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		d.assets[p] = asset{body: b, gz: gz.Bytes(), ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
}

// securityHeaders: the page loads nothing from elsewhere and is never framed.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"media-src 'self' blob:; connect-src 'self'; frame-src 'self'; object-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
}

func (d *Desk) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/desk/")
	if name == "" {
		name = "index.html"
	}
	d.serveAsset(w, r, name)
}

func (d *Desk) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := d.assets[name]
	if !ok || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache") // revalidate: one 304 per file instead of stale code after an upgrade
	h.Set("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		_, _ = w.Write(a.gz)
		return
	}
	_, _ = w.Write(a.body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type signInRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	Phone    string `json:"phone"`
}

func (d *Desk) signIn(w http.ResponseWriter, r *http.Request) {
	// A JSON body cannot be posted across sites without a CORS preflight, and a
	// foreign Origin is refused: no login CSRF.
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		problem.Write(w, r, problem.Problem{Type: "about:blank", Status: http.StatusUnsupportedMediaType, Detail: "请以 JSON 提交登录信息"})
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
		problem.Forbidden(w, r, "跨站登录被拒绝")
		return
	}
	var in signInRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		problem.BadRequest(w, r, "登录信息格式错误: "+err.Error())
		return
	}
	switch in.Phone {
	case "browser", "sip":
	case "":
		in.Phone = "browser"
	default:
		problem.BadRequest(w, r, "phone: 请选择 browser（网页软电话）或 sip（SIP 软电话）", problem.Field("phone", "want browser or sip"))
		return
	}
	s, err := d.sessions.SignIn(r.Context(), in.Login, in.Password, in.Phone, remoteIP(r))
	var se *errSignIn
	switch {
	case errors.As(err, &se):
		d.cfg.Log.Info("sign-in refused", zap.String("login", in.Login), zap.String("reason", se.Reason), zap.String("remote", remoteIP(r)))
		problem.Write(w, r, problem.Problem{Type: "about:blank", Status: se.Status, Detail: se.Detail})
		return
	case err != nil:
		problem.Internal(w, r, err)
		return
	}
	if s.User.Role != domain.RoleAgent {
		in.Phone = "none"
	}
	d.cfg.Log.Info("signed in", zap.String("user_id", s.User.ID), zap.String("staff", s.User.Staff),
		zap.String("session_id", s.ID), zap.String("phone", s.Phone))
	d.sessions.SetCookie(w, s)
	writeJSON(w, http.StatusOK, d.sessionView(s))
}

type sessionView struct {
	User struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Role  string `json:"role"`
		Staff string `json:"staff_number,omitempty"`
	} `json:"user"`
	CSRF         string    `json:"csrf_token"`
	Phone        string    `json:"phone"`
	ExpiresAt    time.Time `json:"expires_at"`
	IdleSeconds  int       `json:"idle_timeout_s"`
	PauseReasons []string  `json:"pause_reasons"`
	SIPWebSocket string    `json:"sip_websocket"`
}

func (d *Desk) sessionView(s Session) sessionView {
	var v sessionView
	v.User.ID, v.User.Name, v.User.Role, v.User.Staff = s.User.ID, s.User.Name, string(s.User.Role), s.User.Staff
	v.CSRF, v.Phone, v.ExpiresAt = s.CSRF, s.Phone, s.Expires
	v.IdleSeconds = int(d.cfg.Idle.Seconds())
	v.PauseReasons = d.cfg.PauseReasons
	v.SIPWebSocket = "/desk/sip"
	return v
}

func (d *Desk) session(w http.ResponseWriter, r *http.Request) {
	s, err := d.sessions.Authenticate(r)
	if err != nil {
		d.sessions.writeAuthError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d.sessionView(s))
}

func (d *Desk) signOut(w http.ResponseWriter, r *http.Request) {
	s, err := d.sessions.Authenticate(r)
	if err != nil {
		d.sessions.writeAuthError(w, r, err)
		return
	}
	var in struct {
		Everywhere bool `json:"everywhere"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&in); err != nil {
			problem.BadRequest(w, r, "malformed JSON: "+err.Error())
			return
		}
	}
	if s.User.Role == domain.RoleAgent {
		// Out of the queue and the page's SIP account gone before the token
		// that does it is revoked. Best effort: the call service also drops
		// softphones whose token stops working.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		d.callAsAgent(ctx, s, http.MethodPost, "/api/v1/agent/logout")
		d.callAsAgent(ctx, s, http.MethodDelete, "/api/v1/agent/softphone")
		cancel()
	}
	n := 1
	if in.Everywhere {
		n, err = d.sessions.store.EndUserSessions(r.Context(), s.UserID, "signed_out_everywhere")
	} else {
		err = d.sessions.store.EndSession(r.Context(), s.ID, "signed_out")
	}
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	d.cfg.Log.Info("signed out", zap.String("user_id", s.UserID), zap.String("session_id", s.ID), zap.Bool("everywhere", in.Everywhere), zap.Int("sessions", n))
	d.sessions.ClearCookie(w)
	writeJSON(w, http.StatusOK, map[string]any{"ended_sessions": n})
}

func (d *Desk) callAsAgent(ctx context.Context, s Session, method, p string) {
	u := *d.cfg.CallService
	u.Path = p
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+proxySecret(s.Secret))
	resp, err := d.client.Do(req)
	if err != nil {
		d.cfg.Log.Warn("sign-out: call service", zap.String("path", p), zap.Error(err))
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// agentProxy passes the page's agent requests to the call service as the
// session's agent (the session's own token; cookies and CSRF tokens stay here).
func (d *Desk) agentProxy(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		problem.Unauthorized(w, r, "bearer tokens call the call service's agent API directly; this origin takes sessions")
		return
	}
	s, err := d.sessions.Authenticate(r)
	if err != nil {
		d.sessions.writeAuthError(w, r, err)
		return
	}
	r.Header.Set("Authorization", "Bearer "+proxySecret(s.Secret))
	d.callsvc.ServeHTTP(w, r)
}

// sipWebSocket connects the page's softphone to Asterisk's SIP WebSocket: only
// a signed-in agent who chose the browser softphone, from this origin (a
// WebSocket is not bound by the same-origin policy, so Origin is checked).
func (d *Desk) sipWebSocket(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o == "" || !sameOrigin(o, r.Host) {
		http.Error(w, "cross-origin WebSocket refused", http.StatusForbidden)
		return
	}
	s, err := d.sessions.Authenticate(r)
	if err != nil {
		d.sessions.writeAuthError(w, r, err)
		return
	}
	if s.User.Role != domain.RoleAgent || s.Phone != "browser" {
		problem.Forbidden(w, r, "网页软电话仅供选择了网页软电话的话务员使用")
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		problem.BadRequest(w, r, "WebSocket upgrade expected")
		return
	}
	d.sipws.ServeHTTP(w, r)
}
