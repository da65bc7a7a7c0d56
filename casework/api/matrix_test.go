package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/api/routecheck"
	"github.com/hotline12345/hotline/casework/desk"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
)

// The role × endpoint matrix (issue 14): every route the casework service
// serves — the API, Open311, the desktop's session routes and the pages — with
// who may call it. A route is found from two sources of truth, openapi.yaml
// and the mux registrations in this package's and casework/desk's source; a
// route found in either without a row fails the test, so a new endpoint cannot
// ship without someone deciding who may call it.
//
// Principals: anon (nothing), agent, supervisor, unit (东城区, whose case the
// objects are), unit2 (西城区, another unit), admin,
// callsvc (the call service's self-service token), and desk sessions of the
// agent (browser softphone), supervisor, unit and admin (s-agent, s-supervisor,
// s-unit, s-admin). On the API a session must get exactly what its user's
// bearer token gets: that is asserted for every API row.

var principals = []string{"anon", "agent", "supervisor", "unit", "unit2", "admin", "callsvc"}

// sessionOf maps a session principal to the bearer principal it must match.
var sessionOf = map[string]string{"s-agent": "agent", "s-supervisor": "supervisor", "s-unit": "unit", "s-admin": "admin"}

// matrixRow is one route: who is allowed (space-separated principals; "all"
// for everyone, "sessions" for every desk session); everyone else must be
// refused (401/403) or, for a unit on another unit's object, not find it (404).
// exists: the target object exists, so an allowed caller must not get 404
// either (which would be a refusal in disguise).
type matrixRow struct {
	op      string // METHOD /full/path as served
	allowed string
	exists  bool
	body    string // sent with POST/PUT ("{}" when empty)
}

// casework rows. Paths are the served ones; {id} and friends are filled in
// with the fixture's objects by fill.
var caseworkMatrix = []matrixRow{
	{op: "GET /api/v1/openapi.yaml", allowed: "all"},
	{op: "GET /api/v1/me", allowed: "agent supervisor unit unit2 admin"},
	{op: "GET /api/v1/units", allowed: "agent supervisor unit unit2 admin"},
	{op: "GET /api/v1/units/{unit}", allowed: "agent supervisor unit admin", exists: true},
	{op: "POST /api/v1/units", allowed: "admin"},
	{op: "PUT /api/v1/units/{unit}", allowed: "admin", exists: true},
	{op: "POST /api/v1/users", allowed: "admin"},
	{op: "GET /api/v1/users/{user}", allowed: "admin", exists: true},
	{op: "POST /api/v1/users/{user}/tokens", allowed: "admin", exists: true},
	{op: "DELETE /api/v1/tokens/{token}", allowed: "admin"},

	{op: "POST /api/v1/cases", allowed: "agent supervisor"},
	{op: "GET /api/v1/cases", allowed: "agent supervisor unit unit2 admin"},
	{op: "GET /api/v1/cases/{case}", allowed: "agent supervisor unit admin", exists: true},
	{op: "POST /api/v1/cases/{case}/answer", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/refer", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/approval-requests", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/approve", allowed: "supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/transfer", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/accept", allowed: "unit", exists: true},
	{op: "POST /api/v1/cases/{case}/pass-down", allowed: "unit", exists: true},
	{op: "POST /api/v1/cases/{case}/progress", allowed: "unit", exists: true},
	{op: "POST /api/v1/cases/{case}/extension-requests", allowed: "unit", exists: true},
	{op: "POST /api/v1/cases/{case}/extension-requests/approve", allowed: "supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/extension-requests/refuse", allowed: "supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/remind", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/supervise", allowed: "supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/reply", allowed: "unit", exists: true},
	{op: "POST /api/v1/cases/{case}/review", allowed: "supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/callback", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/close", allowed: "supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/archive", allowed: "supervisor admin", exists: true},
	{op: "POST /api/v1/cases/{case}/materials", allowed: "agent supervisor unit", exists: true},
	{op: "POST /api/v1/cases/{case}/calls", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/repeats", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/cases/{case}/findings", allowed: "supervisor", exists: true},
	{op: "GET /api/v1/assessment", allowed: "supervisor admin"},
	{op: "GET /api/v1/reports/business", allowed: "supervisor admin"},
	{op: "GET /api/v1/reports/calls", allowed: "supervisor admin"},
	{op: "GET /api/v1/reports/staff", allowed: "supervisor admin"},
	// Recordings: agents and supervisors; administrators see protected cases
	// redacted, so they do not hear them; units never.
	{op: "GET /api/v1/wallboard", allowed: "supervisor admin"},
	{op: "GET /api/v1/cases/{case}/media", allowed: "agent supervisor", exists: true},
	{op: "GET /api/v1/cases/{case}/recordings/{recording}/audio", allowed: "agent supervisor", exists: true},
	// The voice self-service is the call service's, by its own token.
	{op: "GET /api/v1/selfservice/cases/{number}", allowed: "callsvc", exists: true},
	// Open311 is public (reports and confidential cases are absent from it).
	{op: "GET /open311/v2/services.json", allowed: "all"},
	{op: "GET /open311/v2/requests.json", allowed: "all"},
	{op: "GET /open311/v2/requests/{number}.json", allowed: "all", exists: true},
	// Voicemails and faxes carry callers' numbers and voices: the center's
	// agents and supervisors only (not IT, not units, not machines).
	{op: "GET /api/v1/voicemails", allowed: "agent supervisor"},
	{op: "GET /api/v1/voicemails/{voicemail}", allowed: "agent supervisor", exists: true},
	{op: "GET /api/v1/voicemails/{voicemail}/audio", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/voicemails/{voicemail}/case", allowed: "agent supervisor", exists: true},
	{op: "GET /api/v1/faxes", allowed: "agent supervisor"},
	{op: "GET /api/v1/faxes/{fax}", allowed: "agent supervisor", exists: true},
	{op: "GET /api/v1/faxes/{fax}/pdf", allowed: "agent supervisor", exists: true},
	{op: "POST /api/v1/faxes/{fax}/case", allowed: "agent supervisor", exists: true},
	{op: "GET /api/v1/calendar/{year}", allowed: "agent supervisor unit unit2 admin", exists: true},
	{op: "POST /api/v1/calendar/notices", allowed: "admin"},
	{op: "GET /api/v1/portal/inbox", allowed: "unit unit2"},
	{op: "GET /api/v1/notifications", allowed: "unit unit2"},
	{op: "POST /api/v1/notifications/read", allowed: "unit unit2"},
	{op: "GET /api/v1/units/{unit}/webhook", allowed: "admin"},
	{op: "PUT /api/v1/units/{unit}/webhook", allowed: "admin", exists: true},
	{op: "DELETE /api/v1/units/{unit}/webhook", allowed: "admin"},
	{op: "GET /api/v1/units/{unit}/webhook/deliveries", allowed: "unit admin", exists: true},

	// The desktop (casework/desk): sign-in is for anyone with a password; the
	// rest needs a session; the SIP WebSocket only an agent's with the browser
	// softphone. The call service's agent API behind this origin takes
	// sessions only (bearer tokens go to the call service itself, which
	// checks the role: routing's matrix).
	{op: "POST /desk/api/signin", allowed: "all"},
	{op: "GET /desk/api/session", allowed: "sessions"},
	{op: "GET /desk/sip", allowed: "s-agent"},
	{op: "ANY /api/v1/agent", allowed: "sessions"},
	{op: "ANY /api/v1/agent/", allowed: "sessions"},
	{op: "ANY /api/v1/agents", allowed: "sessions"},
	{op: "ANY /api/v1/agents/", allowed: "sessions"},
	// Pages: static files; everything on them comes through the API.
	{op: "GET /", allowed: "all"},
	{op: "GET /desk/", allowed: "all"},
	{op: "GET /portal/", allowed: "all"},
	{op: "GET /supervise/", allowed: "all"},
	// Last: it ends the sessions.
	{op: "POST /desk/api/signout", allowed: "sessions"},
}

// servedPath is openapi.yaml's path as served: the API under /api/v1, Open311
// and the desktop at their own roots.
func servedPath(p string) string {
	if strings.HasPrefix(p, "/open311/") || strings.HasPrefix(p, "/desk/") {
		return p
	}
	return api.Prefix + p
}

// TestMatrixCoversEveryRoute: every documented operation and every registered
// pattern has a row, and every row is a documented or registered route.
func TestMatrixCoversEveryRoute(t *testing.T) {
	var rows, docs []string
	for _, r := range caseworkMatrix {
		rows = append(rows, r.op)
	}
	for _, op := range documented(t) {
		method, path, _ := strings.Cut(op, " ")
		docs = append(docs, method+" "+servedPath(path))
	}
	regs, err := routecheck.Registrations(map[string]string{"Prefix": api.Prefix, "Open311Prefix": api.Open311Prefix}, ".", "../desk")
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) < 70 {
		t.Fatalf("found only %d mux registrations in the source; the scan is broken", len(regs))
	}
	for _, problem := range routecheck.Uncovered(rows, docs, regs) {
		t.Error(problem)
	}
}

// matrixEnv is the casework service's HTTP surface as cmd/casework wires it,
// on its own database, with a fixture object of every kind.
type matrixEnv struct {
	*caseEnv
	h      http.Handler
	obj    map[string]string // {case}, {unit}, ... -> value
	cookie map[string]*http.Cookie
	csrf   map[string]string
}

func newMatrixEnv(t *testing.T) *matrixEnv {
	t.Helper()
	ctx := context.Background()
	// Every principal calls every route: far above the per-user budget.
	e := newCaseEnv(t, func(c *api.Config) { c.UserBurst, c.PublicBurst = 100000, 100000 })
	// Voicemail and fax inboxes, with a message and a fax on disk.
	vmDir, faxDir := t.TempDir(), t.TempDir()
	e.srv.MountVoicemails(api.VoicemailRoutes{Service: e.svc, Voicemails: store.NewVoicemails(e.pool), Dir: vmDir})
	e.srv.MountFaxes(api.FaxRoutes{Service: e.svc, Faxes: store.NewFaxes(e.pool), Dir: faxDir})
	for _, f := range []string{filepath.Join(vmDir, "vm-1.wav"), filepath.Join(faxDir, "fax-1.pdf"), filepath.Join(e.recDir, "rec-1.wav")} {
		if err := os.WriteFile(f, []byte("RIFF0000WAVEfmt %PDF-1.4"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A case transferred to 东城区, with a recording of its call.
	c := e.register(registerBody)
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng","mode":"written_transfer"}`, 200)
	es := store.NewEventStore(e.pool)
	store.RegisterRoutingProjections(es)
	store.RegisterVoiceProjections(es)
	for _, ev := range []struct {
		typ     event.Type
		call    string
		payload any
	}{
		{event.RecordingSaved, "node-1.42", event.RecordingSavedPayload{RecordingID: "rec-1", URI: filepath.Join(e.recDir, "rec-1.wav"), DurationMS: 250, Format: "wav"}},
		{event.CallStarted, "node-1.77", event.CallStartedPayload{Caller: "13912345678", Direction: "inbound", Called: "12345"}},
		{event.VoicemailLeft, "node-1.77", event.VoicemailPayload{MessageID: "00000000-0000-4000-8000-000000000001", Caller: "13912345678",
			URI: filepath.Join(vmDir, "vm-1.wav"), DurationMS: 3000, Reason: "hangup"}},
		{event.CallStarted, "node-1.78", event.CallStartedPayload{Caller: "01065550000", Direction: "inbound", Called: "12345"}},
		{event.FaxReceived, "node-1.78", event.FaxPayload{FaxID: "00000000-0000-4000-8000-000000000002", Pages: 1, Status: "success",
			URI: filepath.Join(faxDir, "fax-1.tif"), PDFURI: filepath.Join(faxDir, "fax-1.pdf")}},
	} {
		env, err := event.New(ev.typ, "test", ev.call, ev.payload)
		if err != nil {
			t.Fatal(err)
		}
		env.Time = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		if err := es.Handle(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	// The self-service token; a spare user with a token to revoke. (The
	// system role is not a user role: store.NewUser refuses it, so no token
	// carries it and it has no column.)
	e.token["callsvc"] = selfServiceToken
	e.addUser(ctx, "spare", store.NewUser{Name: "备用", Role: domain.RoleAgent, Staff: "1009"})
	e.token["unit"], e.token["unit2"] = e.token["dongcheng"], e.token["xicheng"]
	tok, _, err := access.IssueToken(ctx, e.users, e.userID["spare"], nil)
	if err != nil {
		t.Fatal(err)
	}

	// The desktop in front, as mountDesk does, with the call service's agent
	// API stood in for by a server that answers whatever reaches it (its own
	// role checks are routing's matrix).
	callsvc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"proxied":true}`)
	}))
	t.Cleanup(callsvc.Close)
	cs, _ := url.Parse(callsvc.URL)
	ws, _ := url.Parse("ws://127.0.0.1:1/ws")
	sessions := store.NewSessions(e.pool)
	d, err := desk.New(desk.Config{Store: sessions, Tokens: e.users, Idle: 30 * time.Minute, Absolute: 12 * time.Hour,
		CallService: cs, AsteriskWS: ws, PauseReasons: []string{"休息"}, Log: zap.NewNop(),
		Assets: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "portal.html": {Data: []byte("<!doctype html>")},
			"supervise.html": {Data: []byte("<!doctype html>")}}})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.UseSessions(d.Sessions())
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", e.srv.Handler())
	mux.Handle(api.Open311Prefix+"/", e.srv.Handler())
	d.Register(mux)

	m := &matrixEnv{caseEnv: e, h: mux, cookie: map[string]*http.Cookie{}, csrf: map[string]string{}}
	hash, err := desk.HashPassword("matrix password 1")
	if err != nil {
		t.Fatal(err)
	}
	for s, who := range sessionOf {
		name := map[string]string{"agent": "agent", "supervisor": "supervisor", "unit": "dongcheng", "admin": "admin"}[who]
		if err := sessions.SetPassword(ctx, e.userID[name], "login-"+name, hash); err != nil {
			t.Fatal(err)
		}
		r := m.send(mustRequest(t, "POST", "/desk/api/signin", `{"login":"login-`+name+`","password":"matrix password 1","phone":"browser"}`))
		if r.status != 200 {
			t.Fatalf("sign in %s: %d %s", s, r.status, r.body)
		}
		m.cookie[s] = r.cookies[0]
		var v struct {
			CSRF string `json:"csrf_token"`
		}
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		m.csrf[s] = v.CSRF
	}
	// Sign-in needs a password (the row's "anyone" is anyone who has one).
	if err := sessions.SetPassword(ctx, e.userID["spare"], "login-spare", hash); err != nil {
		t.Fatal(err)
	}
	m.obj = map[string]string{"{case}": c.ID, "{number}": c.Number, "{unit}": "dongcheng", "{user}": e.userID["spare"],
		"{token}": tok.ID, "{recording}": "rec-1", "{voicemail}": "00000000-0000-4000-8000-000000000001",
		"{fax}": "00000000-0000-4000-8000-000000000002", "{year}": "2026"}
	return m
}

type matrixResponse struct {
	status  int
	body    []byte
	cookies []*http.Cookie
}

func mustRequest(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "http://casework.test"+path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func (m *matrixEnv) send(r *http.Request) matrixResponse {
	w := httptest.NewRecorder()
	m.h.ServeHTTP(w, r)
	return matrixResponse{status: w.Code, body: w.Body.Bytes(), cookies: w.Result().Cookies()}
}

// call sends the row's request as who.
func (m *matrixEnv) call(t *testing.T, row matrixRow, who string) matrixResponse {
	t.Helper()
	method, path, _ := strings.Cut(row.op, " ")
	if method == "ANY" {
		method = "GET"
	}
	for k, v := range m.obj {
		path = strings.ReplaceAll(path, k, v)
	}
	body := row.body
	if body == "" && (method == "POST" || method == "PUT") {
		body = "{}"
	}
	if row.op == "POST /desk/api/signin" {
		body = `{"login":"login-spare","password":"matrix password 1","phone":"sip"}`
	}
	r := mustRequest(t, method, path, body)
	if row.op == "GET /desk/sip" {
		r.Header.Set("Origin", "http://casework.test")
	}
	switch {
	case who == "anon":
	case strings.HasPrefix(who, "s-"):
		r.AddCookie(m.cookie[who])
		r.Header.Set("X-CSRF-Token", m.csrf[who])
	default:
		r.Header.Set("Authorization", "Bearer "+m.token[who])
	}
	return m.send(r)
}

func allowedFor(row matrixRow, who string) bool {
	for _, a := range strings.Fields(row.allowed) {
		if a == who || a == "all" || (a == "sessions" && strings.HasPrefix(who, "s-")) {
			return true
		}
	}
	return false
}

// class is what a status means for authorization.
func class(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "refused"
	case http.StatusNotFound:
		return "not found"
	}
	return "allowed"
}

// TestRoleEndpointMatrix calls every route as every principal and asserts
// allowed (not 401/403, nor 404 on an object that exists) or refused (401/403;
// 404 for a unit on another unit's object, which must not learn it exists).
// On the API a desk session gets exactly what its user's token gets.
func TestRoleEndpointMatrix(t *testing.T) {
	m := newMatrixEnv(t)
	who := append(slices.Clone(principals), "s-agent", "s-supervisor", "s-unit", "s-admin")
	for _, row := range caseworkMatrix {
		t.Run(row.op, func(t *testing.T) {
			for _, p := range who {
				if strings.HasPrefix(p, "s-") && strings.HasPrefix(row.op, "GET /api/v1/selfservice") {
					continue // a service token, not a user's
				}
				want := allowedFor(row, p)
				if !want && strings.HasPrefix(p, "s-") && strings.Contains(row.op, " /api/v1/") && !strings.Contains(row.op, "/agent") {
					want = allowedFor(row, sessionOf[p]) // the session is its user on the API
				}
				r := m.call(t, row, p)
				got := class(r.status)
				switch {
				case want && got == "refused":
					t.Errorf("%s as %s: %d, want allowed: %s", row.op, p, r.status, r.body)
				case want && got == "not found" && row.exists:
					t.Errorf("%s as %s: 404 on an existing object, want allowed: %s", row.op, p, r.body)
				case !want && got == "allowed":
					t.Errorf("%s as %s: %d, want refused (401/403): %s", row.op, p, r.status, r.body)
				case !want && got == "not found" && p != "unit" && p != "unit2" && p != "s-unit":
					t.Errorf("%s as %s: 404, want refused (401/403): %s", row.op, p, r.body)
				}
				if p == "anon" && !want && r.status != http.StatusUnauthorized {
					t.Errorf("%s without credentials: %d, want 401", row.op, r.status)
				}
			}
		})
	}
}
