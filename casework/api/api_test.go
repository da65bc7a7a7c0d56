package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

const demoUnits = `id,name,level,parent_id,duty_line
center,12345中心,1,,
dongcheng,东城区,2,center,PJSIP/8801@dutylines
dc-andingmen,安定门街道办事处,3,dongcheng,PJSIP/8811@dutylines
dc-jiaodaokou,交道口街道办事处,3,dongcheng,
xicheng,西城区,2,center,PJSIP/8802@dutylines
xc-xinjiekou,新街口街道办事处,3,xicheng,
`

// env is a server on its own database with one user (and token) per role.
type env struct {
	t      *testing.T
	srv    *api.Server
	h      http.Handler
	users  *store.Users
	audit  *store.AuditLog
	logs   *observer.ObservedLogs
	reg    *prometheus.Registry
	token  map[string]string // by name: admin, agent, supervisor, dongcheng, xicheng
	userID map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := store.NewUnits(pool, nil).Import(ctx, strings.NewReader(demoUnits)); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	srv, err := api.New(api.Config{Pool: pool, Log: zap.New(core), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, h: srv.Handler(), users: store.NewUsers(pool), audit: store.NewAuditLog(pool),
		logs: logs, reg: reg, token: map[string]string{}, userID: map[string]string{}}
	for name, n := range map[string]store.NewUser{
		"admin":      {Name: "管理员", Role: domain.RoleAdmin},
		"agent":      {Name: "张敏", Role: domain.RoleAgent, Staff: "1001"},
		"supervisor": {Name: "督查", Role: domain.RoleSupervisor},
		"dongcheng":  {Name: "东城区值班", Role: domain.RoleUnit, UnitID: "dongcheng"},
		"xicheng":    {Name: "西城区值班", Role: domain.RoleUnit, UnitID: "xicheng"},
	} {
		e.addUser(ctx, name, n)
	}
	return e
}

// addUser creates a user with a bearer token, known to the test by name.
func (e *env) addUser(ctx context.Context, name string, n store.NewUser) {
	e.t.Helper()
	u, err := e.users.Create(ctx, n)
	if err != nil {
		e.t.Fatal(err)
	}
	_, secret, err := access.IssueToken(ctx, e.users, u.ID, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.token[name], e.userID[name] = secret, u.ID
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) problem(t *testing.T) problem.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q, want problem+json; body %s", ct, r.body)
	}
	var p problem.Problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.body, err)
	}
	if p.Status != r.status || p.Type == "" || p.Title == "" || p.RequestID == "" || p.RequestID != r.header.Get("X-Request-ID") {
		t.Fatalf("problem %+v does not match status %d / request id %q", p, r.status, r.header.Get("X-Request-ID"))
	}
	return p
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request as who ("" for no token); a string body is sent as JSON.
func (e *env) do(who, method, path, body string, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	if who != "" {
		r.Header.Set("Authorization", "Bearer "+e.token[who])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func ids(t *testing.T, r response) []string {
	t.Helper()
	var l api.List[api.Unit]
	r.decode(t, &l)
	var out []string
	for _, u := range l.Items {
		out = append(out, u.ID)
	}
	return out
}

func TestUnitsRead(t *testing.T) {
	e := newEnv(t)
	all := "center,dongcheng,xicheng,dc-andingmen,dc-jiaodaokou,xc-xinjiekou"
	tests := []struct {
		name, who, path string
		status          int
		want            string // comma-separated IDs for lists, or the problem type
	}{
		{"admin lists all", "admin", "/api/v1/units", 200, all},
		{"agent lists all", "agent", "/api/v1/units?format=flat", 200, all},
		{"district sees its subtree", "dongcheng", "/api/v1/units", 200, "dongcheng,dc-andingmen,dc-jiaodaokou"},
		{"other district sees its own", "xicheng", "/api/v1/units", 200, "xicheng,xc-xinjiekou"},
		{"filter by level", "supervisor", "/api/v1/units?level=2", 200, "dongcheng,xicheng"},
		{"filter by parent", "agent", "/api/v1/units?parent_id=dongcheng", 200, "dc-andingmen,dc-jiaodaokou"},
		{"filter stays in scope", "xicheng", "/api/v1/units?parent_id=dongcheng", 200, ""},
		{"filter active", "agent", "/api/v1/units?active=false", 200, ""},
		{"bad level", "agent", "/api/v1/units?level=4", 400, problem.TypeMalformed},
		{"bad active", "agent", "/api/v1/units?active=maybe", 400, problem.TypeMalformed},
		{"unknown parameter", "agent", "/api/v1/units?parent=dongcheng", 400, problem.TypeMalformed},
		{"bad format", "agent", "/api/v1/units?format=xml", 400, problem.TypeMalformed},
		{"tree takes no filters", "agent", "/api/v1/units?format=tree&level=2", 400, problem.TypeMalformed},
		{"no token", "", "/api/v1/units", 401, problem.TypeUnauthenticated},
		{"district gets its sub-unit", "dongcheng", "/api/v1/units/dc-andingmen", 200, ""},
		{"district cannot get a sibling", "dongcheng", "/api/v1/units/xicheng", 404, problem.TypeNotFound},
		{"district cannot get a sibling's sub-unit", "dongcheng", "/api/v1/units/xc-xinjiekou", 404, problem.TypeNotFound},
		{"district cannot get the center", "dongcheng", "/api/v1/units/center", 404, problem.TypeNotFound},
		{"unknown unit", "admin", "/api/v1/units/nope", 404, problem.TypeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, "GET", tt.path, "")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			switch {
			case tt.status >= 400:
				if p := r.problem(t); p.Type != tt.want {
					t.Fatalf("type %s, want %s", p.Type, tt.want)
				}
			case strings.HasSuffix(tt.path, "/dc-andingmen"):
				var u api.Unit
				r.decode(t, &u)
				if u.ID != "dc-andingmen" || u.Level != 3 || u.ParentID != "dongcheng" || u.DutyLine != "PJSIP/8811@dutylines" || !u.Active {
					t.Fatalf("unit %+v", u)
				}
			default:
				if got := strings.Join(ids(t, r), ","); got != tt.want {
					t.Fatalf("ids %s, want %s", got, tt.want)
				}
			}
		})
	}
}

func TestUnitsTree(t *testing.T) {
	e := newEnv(t)
	r := e.do("dongcheng", "GET", "/api/v1/units?format=tree", "")
	var l api.List[api.Unit]
	r.decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != "dongcheng" || len(l.Items[0].Children) != 2 ||
		l.Items[0].Children[0].ID != "dc-andingmen" || l.NextCursor != "" {
		t.Fatalf("district tree %s", r.body)
	}
	r = e.do("admin", "GET", "/api/v1/units?format=tree", "")
	l = api.List[api.Unit]{}
	r.decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].ID != "center" || len(l.Items[0].Children) != 2 || len(l.Items[0].Children[1].Children) != 1 {
		t.Fatalf("full tree %s", r.body)
	}
}

func TestUnitsPagination(t *testing.T) {
	e := newEnv(t)
	var got []string
	path := "/api/v1/units?limit=4"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := e.do("admin", "GET", path, "")
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var l api.List[api.Unit]
		r.decode(t, &l)
		for _, u := range l.Items {
			got = append(got, u.ID)
		}
		if l.NextCursor == "" {
			break
		}
		path = "/api/v1/units?limit=4&cursor=" + l.NextCursor
	}
	if strings.Join(got, ",") != "center,dongcheng,xicheng,dc-andingmen,dc-jiaodaokou,xc-xinjiekou" {
		t.Fatalf("pages gave %v", got)
	}
	// Exactly one full page: no cursor to an empty page.
	var l api.List[api.Unit]
	e.do("admin", "GET", "/api/v1/units?limit=6", "").decode(t, &l)
	if len(l.Items) != 6 || l.NextCursor != "" {
		t.Fatalf("limit=6: %d items, cursor %q", len(l.Items), l.NextCursor)
	}
	for _, bad := range []string{"limit=0", "limit=201", "limit=x", "cursor=%21%21", "cursor=eyJ4IjoxfQ"} {
		r := e.do("admin", "GET", "/api/v1/units?"+bad, "")
		if r.status != 400 {
			t.Errorf("%s: status %d", bad, r.status)
			continue
		}
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Parameter == "" {
			t.Errorf("%s: errors %+v", bad, p.Errors)
		}
	}
}

func TestUnitsWrite(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, who, method, path, body string
		header                        []string
		status                        int
		ptype                         string
		pointer                       string // expected first field error
	}{
		{"create", "admin", "POST", "/api/v1/units", `{"id":"zhujian","name":"市住建局","level":2,"parent_id":"center","duty_line":"PJSIP/8803@dutylines"}`, nil, 201, "", ""},
		{"create sub-unit", "admin", "POST", "/api/v1/units", `{"id":"zj-1","name":"市住建局物业科","level":3,"parent_id":"zhujian"}`, nil, 201, "", ""},
		{"agent may not create", "agent", "POST", "/api/v1/units", `{"id":"x","name":"x","level":2,"parent_id":"center"}`, nil, 403, problem.TypeForbidden, ""},
		{"unit user may not create", "dongcheng", "POST", "/api/v1/units", `{"id":"x","name":"x","level":3,"parent_id":"dongcheng"}`, nil, 403, problem.TypeForbidden, ""},
		{"no token", "", "POST", "/api/v1/units", `{}`, nil, 401, problem.TypeUnauthenticated, ""},
		{"malformed JSON", "admin", "POST", "/api/v1/units", `{"id":"x",`, nil, 400, problem.TypeMalformed, ""},
		{"syntax error", "admin", "POST", "/api/v1/units", `{"id" "x"}`, nil, 400, problem.TypeMalformed, ""},
		{"unknown field", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":2,"parent_id":"center","colour":"red"}`, nil, 400, problem.TypeMalformed, "#/colour"},
		{"wrong type", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":"2","parent_id":"center"}`, nil, 400, problem.TypeMalformed, "#/level"},
		{"array body", "admin", "POST", "/api/v1/units", `[1]`, nil, 400, problem.TypeMalformed, ""},
		{"two values", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":2,"parent_id":"center"} {}`, nil, 400, problem.TypeMalformed, ""},
		{"empty body", "admin", "POST", "/api/v1/units", ``, nil, 400, problem.TypeMalformed, ""},
		{"not JSON", "admin", "POST", "/api/v1/units", `id=x`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, problem.TypeUnsupportedMedia, ""},
		{"too large", "admin", "POST", "/api/v1/units", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, problem.TypeTooLarge, ""},
		{"invalid duty line", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":2,"parent_id":"center","duty_line":"Local/8801@default"}`, nil, 422, problem.TypeValidation, "#/duty_line"},
		{"duty line on another trunk", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":2,"parent_id":"center","duty_line":"PJSIP/95588@carrier"}`, nil, 422, problem.TypeValidation, "#/duty_line"},
		{"several bad fields", "admin", "POST", "/api/v1/units", `{"id":"bad id","name":"","level":2,"parent_id":"center"}`, nil, 422, problem.TypeValidation, "#/id"},
		{"parent two levels up", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":3,"parent_id":"center"}`, nil, 422, problem.TypeValidation, "#/parent_id"},
		{"unknown parent", "admin", "POST", "/api/v1/units", `{"id":"x","name":"x","level":2,"parent_id":"nope"}`, nil, 422, problem.TypeValidation, "#/parent_id"},
		{"duplicate", "admin", "POST", "/api/v1/units", `{"id":"dongcheng","name":"东城区","level":2,"parent_id":"center"}`, nil, 409, problem.TypeConflict, ""},
		{"update", "admin", "PUT", "/api/v1/units/xicheng", `{"name":"西城区人民政府","level":2,"parent_id":"center","duty_line":"PJSIP/8812@dutylines"}`, nil, 200, "", ""},
		{"deactivate", "admin", "PUT", "/api/v1/units/xc-xinjiekou", `{"id":"xc-xinjiekou","name":"新街口街道","level":3,"parent_id":"xicheng","active":false}`, nil, 200, "", ""},
		{"update unknown", "admin", "PUT", "/api/v1/units/nope", `{"name":"x","level":2,"parent_id":"center"}`, nil, 404, problem.TypeNotFound, ""},
		{"update changes id", "admin", "PUT", "/api/v1/units/xicheng", `{"id":"westside","name":"x","level":2,"parent_id":"center"}`, nil, 422, problem.TypeValidation, "#/id"},
		{"update strands sub-units", "admin", "PUT", "/api/v1/units/dongcheng", `{"name":"东城区","level":1}`, nil, 409, problem.TypeConflict, ""},
		{"update invalid duty line", "admin", "PUT", "/api/v1/units/xicheng", `{"name":"x","level":2,"parent_id":"center","duty_line":"PJSIP/8801@dutylines&PJSIP/9999@dutylines"}`, nil, 422, problem.TypeValidation, "#/duty_line"},
		{"supervisor may not update", "supervisor", "PUT", "/api/v1/units/xicheng", `{"name":"x","level":2,"parent_id":"center"}`, nil, 403, problem.TypeForbidden, ""},
		{"method not allowed", "admin", "DELETE", "/api/v1/units/xicheng", ``, nil, 405, problem.TypeMethodNotAllowed, ""},
		{"no such endpoint", "admin", "GET", "/api/v1/nothing", ``, nil, 404, problem.TypeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, tt.method, tt.path, tt.body, tt.header...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status >= 400 {
				p := r.problem(t)
				if p.Type != tt.ptype {
					t.Fatalf("type %s, want %s (%s)", p.Type, tt.ptype, r.body)
				}
				if tt.pointer != "" && (len(p.Errors) == 0 || p.Errors[0].Pointer != tt.pointer) {
					t.Fatalf("errors %+v, want first at %s", p.Errors, tt.pointer)
				}
				if tt.status == 405 && r.header.Get("Allow") == "" {
					t.Fatal("405 without Allow")
				}
				return
			}
			var u api.Unit
			r.decode(t, &u)
			if tt.status == 201 && r.header.Get("Location") != "/api/v1/units/"+u.ID {
				t.Fatalf("Location %q", r.header.Get("Location"))
			}
		})
	}
	// The writes are visible, and the directory used for scoping followed them.
	var u api.Unit
	e.do("xicheng", "GET", "/api/v1/units/xicheng", "").decode(t, &u)
	if u.Name != "西城区人民政府" || u.DutyLine != "PJSIP/8812@dutylines" {
		t.Fatalf("updated unit %+v", u)
	}
	e.do("xicheng", "GET", "/api/v1/units/xc-xinjiekou", "").decode(t, &u)
	if u.Active {
		t.Fatal("deactivation lost")
	}
	if r := e.do("admin", "GET", "/api/v1/units/zj-1", ""); r.status != 200 {
		t.Fatalf("created sub-unit: %d", r.status)
	}
	// Every change is in the audit log.
	entries, err := e.audit.List(context.Background(), store.AuditFilter{ObjectType: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 { // 2 creates, 2 updates
		t.Fatalf("%d unit audit entries, want 4: %+v", len(entries), entries)
	}
	for _, a := range entries {
		if a.UserID != e.userID["admin"] || a.Role != domain.RoleAdmin || a.RequestID == "" {
			t.Errorf("audit entry %+v", a)
		}
	}
}

func TestUsersAndTokens(t *testing.T) {
	e := newEnv(t)

	// An administrator creates an agent and a token for them.
	r := e.do("admin", "POST", "/api/v1/users", `{"name":"李伟","role":"agent","staff_number":"1002"}`)
	if r.status != 201 {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	var u api.User
	r.decode(t, &u)
	if u.Role != "agent" || u.StaffNumber != "1002" || r.header.Get("Location") != "/api/v1/users/"+u.ID {
		t.Fatalf("user %+v", u)
	}
	r = e.do("admin", "POST", "/api/v1/users/"+u.ID+"/tokens", ``)
	if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create token: %d %v %s", r.status, r.header, r.body)
	}
	var tok api.Token
	r.decode(t, &tok)
	if tok.Token == "" || tok.UserID != u.ID || tok.ExpiresAt == nil { // 90 days by default
		t.Fatalf("token %+v", tok)
	}
	e.token["li"] = tok.Token

	// The token works...
	var me api.Me
	r = e.do("li", "GET", "/api/v1/me", "")
	r.decode(t, &me)
	if me.UserID != u.ID || me.Role != "agent" || me.ActorID != "1002" || me.TokenID != tok.ID {
		t.Fatalf("me %+v", me)
	}
	// ...until it is revoked.
	if r := e.do("admin", "DELETE", "/api/v1/tokens/"+tok.ID, ""); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do("li", "GET", "/api/v1/me", ""); r.status != 401 {
		t.Fatalf("revoked token: %d", r.status)
	}

	// A token with an expiry.
	r = e.do("admin", "POST", "/api/v1/users/"+u.ID+"/tokens", `{"expires_at":"2999-01-01T00:00:00Z"}`)
	r.decode(t, &tok)
	if r.status != 201 || tok.ExpiresAt == nil || tok.ExpiresAt.Year() != 2999 {
		t.Fatalf("token with expiry: %d %s", r.status, r.body)
	}
	// Without one it expires by default (90 days); never only when asked.
	tok = api.Token{}
	r = e.do("admin", "POST", "/api/v1/users/"+u.ID+"/tokens", "")
	r.decode(t, &tok)
	if d := time.Until(deref(tok.ExpiresAt)); r.status != 201 || d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Fatalf("token without expires_at: %d %s, want 90 days", r.status, r.body)
	}
	tok = api.Token{}
	r = e.do("admin", "POST", "/api/v1/users/"+u.ID+"/tokens", `{"no_expiry":true}`)
	r.decode(t, &tok)
	if r.status != 201 || tok.ExpiresAt != nil {
		t.Fatalf("token with no_expiry: %d %s", r.status, r.body)
	}
	if r := e.do("admin", "POST", "/api/v1/users/"+u.ID+"/tokens", `{"no_expiry":true,"expires_at":"2999-01-01T00:00:00Z"}`); r.status != 422 {
		t.Fatalf("no_expiry with expires_at: %d", r.status)
	}

	if err := e.users.SetDisabled(context.Background(), e.userID["xicheng"], true); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name, who, method, path, body string
		status                        int
		pointer                       string
	}{
		{"unknown role", "admin", "POST", "/api/v1/users", `{"name":"x","role":"mayor"}`, 422, "#/role"},
		{"system role", "admin", "POST", "/api/v1/users", `{"name":"x","role":"system"}`, 422, "#/role"},
		{"agent without staff number", "admin", "POST", "/api/v1/users", `{"name":"x","role":"agent"}`, 422, "#/staff_number"},
		{"unit user without unit", "admin", "POST", "/api/v1/users", `{"name":"x","role":"unit"}`, 422, "#/unit_id"},
		{"unit user of unknown unit", "admin", "POST", "/api/v1/users", `{"name":"x","role":"unit","unit_id":"nope"}`, 422, "#/unit_id"},
		{"staff number taken", "admin", "POST", "/api/v1/users", `{"name":"x","role":"agent","staff_number":"1001"}`, 409, ""},
		{"unknown field", "admin", "POST", "/api/v1/users", `{"name":"x","role":"admin","password":"x"}`, 400, "#/password"},
		{"supervisor may not create users", "supervisor", "POST", "/api/v1/users", `{"name":"x","role":"admin"}`, 403, ""},
		{"unit user may not create tokens", "dongcheng", "POST", "/api/v1/users/" + e.userID["dongcheng"] + "/tokens", ``, 403, ""},
		{"token for unknown user", "admin", "POST", "/api/v1/users/7d7b5b8e-0000-4000-8000-000000000000/tokens", ``, 404, ""},
		{"token for malformed user id", "admin", "POST", "/api/v1/users/nope/tokens", ``, 404, ""},
		{"token for disabled user", "admin", "POST", "/api/v1/users/" + e.userID["xicheng"] + "/tokens", ``, 409, ""},
		{"token expiring in the past", "admin", "POST", "/api/v1/users/" + u.ID + "/tokens", `{"expires_at":"2001-01-01T00:00:00Z"}`, 422, "#/expires_at"},
		{"revoke unknown token", "admin", "DELETE", "/api/v1/tokens/7d7b5b8e-0000-4000-8000-000000000000", ``, 404, ""},
		{"agent may not revoke", "agent", "DELETE", "/api/v1/tokens/" + tok.ID, ``, 403, ""},
		{"disabled user's token", "xicheng", "GET", "/api/v1/me", ``, 401, ""},
		{"get unknown user", "admin", "GET", "/api/v1/users/7d7b5b8e-0000-4000-8000-000000000000", ``, 404, ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, tt.method, tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			p := r.problem(t)
			if tt.pointer != "" && (len(p.Errors) == 0 || p.Errors[0].Pointer != tt.pointer) {
				t.Fatalf("errors %+v, want %s", p.Errors, tt.pointer)
			}
		})
	}

	var got api.User
	e.do("admin", "GET", "/api/v1/users/"+u.ID, "").decode(t, &got)
	if got.ID != u.ID || got.Name != "李伟" {
		t.Fatalf("get user %+v", got)
	}
	entries, err := e.audit.List(context.Background(), store.AuditFilter{UserID: e.userID["admin"]})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i := len(entries) - 1; i >= 0; i-- {
		actions = append(actions, entries[i].Action+" "+entries[i].ObjectType)
	}
	if strings.Join(actions, ",") != "create user,create token,revoke token,create token,create token,create token" {
		t.Fatalf("audit trail %v", actions)
	}
}

func TestMe(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		who, role, unit, actor string
	}{
		{"admin", "admin", "", e.userID["admin"]},
		{"agent", "agent", "", "1001"},
		{"dongcheng", "unit", "dongcheng", e.userID["dongcheng"]},
	}
	for _, tt := range tests {
		var me api.Me
		e.do(tt.who, "GET", "/api/v1/me", "").decode(t, &me)
		if me.Role != tt.role || me.UnitID != tt.unit || me.ActorID != tt.actor || me.UserID != e.userID[tt.who] {
			t.Errorf("%s: %+v", tt.who, me)
		}
	}
}

func TestRequestIDLoggingAndRecovery(t *testing.T) {
	e := newEnv(t)
	e.srv.Mount(func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/v1/boom", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
		mux.HandleFunc("GET /api/v1/fail", func(w http.ResponseWriter, r *http.Request) {
			problem.Error(w, r, io.ErrUnexpectedEOF) // an unexpected error: 500, detail hidden
		})
	})
	e.srv.MountPublic(func(mux *http.ServeMux) {
		mux.HandleFunc("GET /api/v1/public/ping", func(w http.ResponseWriter, r *http.Request) {
			api.WriteJSON(w, r, 200, map[string]string{"pong": "yes"})
		})
	})

	r := e.do("agent", "GET", "/api/v1/me", "", "X-Request-ID", "abc-123")
	if r.header.Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id not echoed: %q", r.header.Get("X-Request-ID"))
	}
	r = e.do("agent", "GET", "/api/v1/me", "", "X-Request-ID", "bad id\nwith newline")
	if id := r.header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe request id kept: %q", id)
	}

	r = e.do("agent", "GET", "/api/v1/boom", "", "X-Request-ID", "req-boom")
	if r.status != 500 {
		t.Fatalf("panic: status %d", r.status)
	}
	if p := r.problem(t); p.Type != problem.TypeInternal || strings.Contains(string(r.body), "kaboom") {
		t.Fatalf("panic problem %s", r.body)
	}
	r = e.do("agent", "GET", "/api/v1/fail", "", "X-Request-ID", "req-fail")
	if r.status != 500 || strings.Contains(string(r.body), "unexpected EOF") {
		t.Fatalf("500 leaks the error: %s", r.body)
	}
	if r := e.do("", "GET", "/api/v1/public/ping", ""); r.status != 200 {
		t.Fatalf("public route: %d %s", r.status, r.body)
	}

	// The error and access lines carry the request ID and the user.
	for _, c := range []struct{ msg, id string }{
		{"panic serving request", "req-boom"}, {"request failed", "req-fail"}, {"http request", "req-fail"},
	} {
		found := false
		for _, l := range e.logs.FilterMessage(c.msg).All() {
			m := l.ContextMap()
			if m["request_id"] == c.id && m["user_id"] == e.userID["agent"] && m["role"] == "agent" {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q log line with request_id %s and the user", c.msg, c.id)
		}
	}
	access := e.logs.FilterMessage("http request").FilterField(zap.String("request_id", "req-fail")).All()
	if len(access) != 1 || access[0].ContextMap()["status"] != int64(500) {
		t.Fatalf("access log %+v", access)
	}

	// Metrics are labelled by route pattern.
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "hotline_api_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == "GET /api/v1/boom" && labels["code"] == "500" && m.GetCounter().GetValue() == 1 {
				found = true
			}
		}
	}
	if !found {
		t.Error("no request counter for GET /api/v1/boom 500")
	}
}

func TestDecodeJSONBodyLimitIsPerServer(t *testing.T) {
	pool := pgtest.NewPool(t)
	srv, err := api.New(api.Config{Pool: pool, Log: zap.NewNop(), MaxBodyBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	srv.MountPublic(func(mux *http.ServeMux) {
		mux.HandleFunc("POST /api/v1/echo", func(w http.ResponseWriter, r *http.Request) {
			var v map[string]string
			if api.DecodeJSON(w, r, &v) {
				api.WriteJSON(w, r, 200, v)
			}
		})
	})
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"a":"b"}`, 200},
		{`{"a":"` + strings.Repeat("b", 100) + `"}`, 413},
	} {
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/echo", bytes.NewBufferString(tc.body)))
		if w.Code != tc.status {
			t.Errorf("body of %d bytes: %d, want %d", len(tc.body), w.Code, tc.status)
		}
	}
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
