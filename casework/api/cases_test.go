package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// clock is the test's settable time of actions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute) // every action at a distinct time
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

const selfServiceToken = "svc-test-token-0123456789"

// caseEnv is env (api_test.go) with the case routes mounted on a controllable clock.
type caseEnv struct {
	*env
	pool  *pgxpool.Pool
	cases *store.Cases
	svc   *app.Service
	clock *clock
	// recDir is the recordings directory of MountSupervise.
	recDir string
}

func newCaseEnv(t *testing.T, opts ...func(*api.Config)) *caseEnv {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	units := store.NewUnits(pool, nil)
	if _, err := units.Import(ctx, strings.NewReader(demoUnits)); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	reg := prometheus.NewRegistry()
	cfg := api.Config{Pool: pool, Log: zap.New(core), Registerer: reg}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := policy.Load(policy.Default)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	cases := store.NewCases(pool)
	src := calendar.NewSource(cal)
	svc := app.New(app.Config{Repo: cases, Policy: prof, Calendar: src, Clock: clk.Now,
		Units: func(ctx context.Context, id string) (domain.Unit, error) {
			u, err := units.Get(ctx, id)
			return u.Unit, err
		}})
	srv.MountCases(api.CaseRoutes{Service: svc, Cases: cases, SelfServiceToken: selfServiceToken,
		CodeAttempts: store.NewCodeAttempts(pool), Idempotency: store.NewIdempotencyKeys(pool),
		Assessor: app.Assessor{Feed: cases, Clock: clk.Now}, Reports: cases})
	srv.MountPortal(api.PortalRoutes{Cases: cases, Notifications: store.NewNotifications(pool), Calendar: src, Now: clk.Now})
	recDir := t.TempDir()
	srv.MountSupervise(api.SuperviseRoutes{Service: svc, Boards: store.NewBoards(pool), RecordingsDir: recDir})
	calendars := store.NewCalendars(pool)
	srv.MountCalendar(api.CalendarRoutes{Store: calendars, Source: src, Applied: func() {
		// What the casework service's calendar pass does, synchronously for the test.
		imported, _, err := calendars.InForce(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		embedded, _ := calendar.Embedded()
		c, err := calendar.Build(calendar.Merge(embedded, imported))
		if err != nil {
			t.Error(err)
			return
		}
		src.Set(c)
	}})
	e := &env{t: t, srv: srv, h: srv.Handler(), users: store.NewUsers(pool), audit: store.NewAuditLog(pool),
		logs: logs, reg: reg, token: map[string]string{}, userID: map[string]string{}}
	for name, n := range map[string]store.NewUser{
		"admin":      {Name: "管理员", Role: domain.RoleAdmin},
		"agent":      {Name: "张敏", Role: domain.RoleAgent, Staff: "1001"},
		"supervisor": {Name: "督查", Role: domain.RoleSupervisor},
		"dongcheng":  {Name: "东城区值班", Role: domain.RoleUnit, UnitID: "dongcheng"},
		"andingmen":  {Name: "安定门街道", Role: domain.RoleUnit, UnitID: "dc-andingmen"},
		"xicheng":    {Name: "西城区值班", Role: domain.RoleUnit, UnitID: "xicheng"},
	} {
		u, err := e.users.Create(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := access.IssueToken(ctx, e.users, u.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.token[name], e.userID[name] = secret, u.ID
	}
	return &caseEnv{env: e, pool: pool, cases: cases, svc: svc, clock: clk, recDir: recDir}
}

const registerBody = `{"caller":{"name":"李四","phone":"13900139000","address":"东城区安定门内大街1号"},
	"content":"小区门口道路积水多日无人处理","category":"complaint","region":"110101","urgency":"normal",
	"confidentiality":"none","channel":"phone","handling_mode":"written_transfer","call_id":"node-1.42",
	"callback_consent":true}`

type view struct {
	ID       string `json:"id"`
	Number   string `json:"number"`
	State    string `json:"state"`
	Deadline string `json:"deadline"`
	Caller   struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"caller"`
	CallerRedacted bool     `json:"caller_redacted"`
	QueryCode      string   `json:"query_code"`
	CallIDs        []string `json:"call_ids"`
	Redos          int      `json:"redos"`
	History        []struct {
		Action string `json:"action"`
	} `json:"history"`
}

func (e *caseEnv) register(body string) view {
	e.t.Helper()
	r := e.do("agent", "POST", "/api/v1/cases", body)
	if r.status != 201 {
		e.t.Fatalf("register: %d %s", r.status, r.body)
	}
	var v view
	r.decode(e.t, &v)
	return v
}

// act posts an action and expects status; on 200 it returns the view.
func (e *caseEnv) act(who, id, action, body string, status int) view {
	e.t.Helper()
	r := e.do(who, "POST", "/api/v1/cases/"+id+"/"+action, body)
	if r.status != status {
		e.t.Fatalf("%s %s as %s: %d %s, want %d", action, id, who, r.status, r.body, status)
	}
	var v view
	if status == 200 {
		r.decode(e.t, &v)
	} else {
		r.problem(e.t)
	}
	return v
}

func (e *caseEnv) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestCaseLifecycleThroughTheAPI(t *testing.T) {
	e := newCaseEnv(t)
	c := e.register(registerBody)
	if c.State != "registered" || !strings.HasPrefix(c.Number, "20260302") || len(c.Number) != 12 || c.QueryCode == "" ||
		len(c.CallIDs) != 1 {
		t.Fatalf("registered %+v", c)
	}
	id := c.ID
	v := e.act("agent", id, "transfer", `{"lead":"dongcheng","assisting":["xicheng"],"mode":"written_transfer"}`, 200)
	// 7 working days from Monday 2 March 2026: due at the end of Wednesday 11 March.
	if v.State != "transferred" || !strings.HasPrefix(v.Deadline, "2026-03-12T00:00:00") {
		t.Fatalf("transfer: %+v", v)
	}
	e.act("dongcheng", id, "accept", ``, 200)
	e.act("dongcheng", id, "pass-down", `{"sub_unit":"dc-andingmen","note":"请街道办理"}`, 200)
	e.act("andingmen", id, "accept", `{"note":"已签收"}`, 200)
	e.act("andingmen", id, "progress", `{"text":"已联系排水公司"}`, 200)
	e.act("andingmen", id, "extension-requests", `{"working_days":3,"reason":"需要施工"}`, 200)
	v = e.act("supervisor", id, "extension-requests/approve", ``, 200)
	if !strings.HasPrefix(v.Deadline, "2026-03-17T00:00:00") { // three more working days
		t.Fatalf("extended deadline %s", v.Deadline)
	}
	// 004: one extension only → a second request is refused by the policy cap.
	e.act("andingmen", id, "extension-requests", `{"working_days":1,"reason":"再延"}`, 409)
	e.act("agent", id, "remind", `{"note":"请抓紧"}`, 200)
	e.act("supervisor", id, "supervise", `{"note":"督办"}`, 200)
	e.act("andingmen", id, "reply", `{"text":"已清理积水"}`, 200)
	v = e.act("supervisor", id, "review", `{"result":"return","reason":"未答复群众"}`, 200)
	if v.State != "transferred" || v.Redos != 1 {
		t.Fatalf("returned: %+v", v)
	}
	e.act("andingmen", id, "accept", ``, 200)
	e.act("andingmen", id, "reply", `{"text":"已清理积水并回复群众"}`, 200)
	e.act("supervisor", id, "review", `{"result":"complete"}`, 200)
	// The caller agreed to a callback: the completion asks the call service for one.
	if n := e.count(`SELECT count(*) FROM case_outbox WHERE type = 'case.callback_requested'
		AND envelope->'payload'->>'number' = '13900139000'`); n != 1 {
		t.Fatalf("callback requests in outbox: %d", n)
	}
	v = e.act("agent", id, "callback", `{"satisfaction":"dissatisfied","note":"仍有积水"}`, 200)
	if v.State != "transferred" || v.Redos != 2 {
		t.Fatalf("dissatisfied callback: %+v", v)
	}
	e.act("andingmen", id, "accept", ``, 200)
	e.act("andingmen", id, "materials", `{"kind":"document","ref":"doc-report-1"}`, 200)
	e.act("andingmen", id, "reply", `{"text":"已彻底修复"}`, 200)
	e.act("supervisor", id, "review", `{"result":"complete"}`, 200)
	e.act("agent", id, "callback", `{"satisfaction":"satisfied","call_id":"node-2.7"}`, 200)
	v = e.act("supervisor", id, "archive", ``, 200)
	if v.State != "archived" {
		t.Fatalf("archived: %+v", v)
	}
	// Every history entry is in the outbox as a case.changed event, once.
	if h, o := e.count(`SELECT count(*) FROM case_history WHERE case_id = $1`, id),
		e.count(`SELECT count(*) FROM case_outbox WHERE type = 'case.changed' AND envelope->>'case_id' = $1`, id); h != o || h != len(v.History) {
		t.Fatalf("history %d, outbox %d, view %d", h, o, len(v.History))
	}
	// The file: history, calls, audited read.
	r := e.do("supervisor", "GET", "/api/v1/cases/"+id, "")
	if r.status != 200 {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	var file struct {
		view
		Calls []struct {
			CallID string `json:"call_id"`
		} `json:"calls"`
	}
	r.decode(t, &file)
	if len(file.Calls) != 2 || file.History[0].Action != "register" {
		t.Fatalf("case file calls %v", file.Calls)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE object_type = 'case' AND object_id = $1 AND action = 'read'`, id); n != 1 {
		t.Fatalf("audit entries %d", n)
	}
}

func TestCaseIntakeVariants(t *testing.T) {
	e := newCaseEnv(t)
	// Direct answer closes at intake.
	a := e.register(registerBody)
	if v := e.act("agent", a.ID, "answer", `{"text":"已按政策解答"}`, 200); v.State != "closed" {
		t.Fatalf("answer: %+v", v)
	}
	// Out of scope: referred with advice.
	b := e.register(registerBody)
	if v := e.act("agent", b.ID, "refer", `{"advice":"请向区人民法院反映"}`, 200); v.State != "referred" {
		t.Fatalf("refer: %+v", v)
	}
	// Approval with a leader instruction; then a transfer within the leader's limit.
	c := e.register(registerBody)
	e.act("agent", c.ID, "approval-requests", `{"reason":"涉及多个部门"}`, 200)
	e.act("agent", c.ID, "approve", `{"opinion":"同意"}`, 403) // agents do not approve
	e.act("supervisor", c.ID, "approve", `{"opinion":"请东城区牵头","instruction":{"leader":"王市长","text":"请抓紧办理"}}`, 200)
	v := e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	if v.State != "transferred" || v.Deadline == "" {
		t.Fatalf("instructed transfer: %+v", v)
	}
	e.act("agent", c.ID, "calls", `{"call_id":"node-9.1"}`, 200)
	e.act("agent", c.ID, "repeats", `{"call_id":"node-9.2","note":"群众再次来电"}`, 200)
	e.act("supervisor", c.ID, "findings", `{"unit":"dongcheng","kind":"shirking","facts":"两周未联系群众"}`, 200)
	// From voicemail: the material is filed at registration.
	d := e.register(strings.Replace(registerBody, `"call_id":"node-1.42"`,
		`"materials":[{"kind":"voicemail","ref":"file:///var/spool/hotline/vm/1.wav"}]`, 1))
	if len(d.History) != 2 || d.History[1].Action != "attach_material" {
		t.Fatalf("voicemail intake history %+v", d.History)
	}
}

func TestCaseRefusals(t *testing.T) {
	e := newCaseEnv(t)
	c := e.register(registerBody)
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	tests := []struct {
		name, who, path, body string
		status                int
		problemType           string
	}{
		{"bad JSON", "dongcheng", c.ID + "/accept", `{"note":`, 400, "malformed-request"},
		{"unknown field", "agent", c.ID + "/remind", `{"nope":1}`, 400, "malformed-request"},
		{"unknown case", "agent", "0190f0f0-0000-7000-8000-000000000000/remind", ``, 404, "not-found"},
		{"wrong role", "agent", c.ID + "/accept", ``, 403, "forbidden"},
		{"unit may not supervise", "dongcheng", c.ID + "/supervise", ``, 403, "forbidden"},
		{"wrong unit cannot see it", "xicheng", c.ID + "/accept", ``, 404, "not-found"},
		{"illegal transition", "dongcheng", c.ID + "/reply", `{"text":"已办"}`, 409, "invalid-transition"},
		{"validation", "agent", c.ID + "/calls", `{"call_id":""}`, 422, "validation"},
		{"bad enum", "agent", c.ID + "/callback", `{"satisfaction":"meh"}`, 422, "validation"},
		{"unknown unit", "agent", c.ID + "/transfer", `{"lead":"nowhere"}`, 422, "validation"},
		{"no token", "", c.ID + "/remind", ``, 401, "unauthenticated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.who, "POST", "/api/v1/cases/"+tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if p := r.problem(t); !strings.HasSuffix(p.Type, tc.problemType) {
				t.Fatalf("type %s, want %s", p.Type, tc.problemType)
			}
		})
	}
	for _, tc := range []struct{ name, body string }{
		{"bad JSON", `{"caller":`},
		{"validation", `{"content":"","category":"complaint"}`},
	} {
		r := e.do("agent", "POST", "/api/v1/cases", tc.body)
		if (tc.name == "bad JSON" && r.status != 400) || (tc.name == "validation" && r.status != 422) {
			t.Errorf("register %s: %d %s", tc.name, r.status, r.body)
		}
	}
	if r := e.do("dongcheng", "POST", "/api/v1/cases", registerBody); r.status != 403 {
		t.Errorf("unit registering: %d", r.status)
	}
	if r := e.do("xicheng", "GET", "/api/v1/cases/"+c.ID, ""); r.status != 404 {
		t.Errorf("other unit reading: %d", r.status)
	}
}

func TestWhistleblowerIsRedactedForUnits(t *testing.T) {
	e := newCaseEnv(t)
	report := strings.Replace(registerBody, `"category":"complaint"`, `"category":"report"`, 1)
	c := e.register(report)
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	e.act("dongcheng", c.ID, "accept", ``, 200)
	r := e.do("dongcheng", "GET", "/api/v1/cases/"+c.ID, "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	body := string(r.body)
	for _, secret := range []string{"李四", "13900139000", "安定门内大街", "node-1.42", c.QueryCode} {
		if strings.Contains(body, secret) {
			t.Errorf("unit sees %q in %s", secret, body)
		}
	}
	var v view
	r.decode(t, &v)
	if !v.CallerRedacted {
		t.Error("caller_redacted not set")
	}
	// The unit's own action answers are redacted the same way.
	if r := e.do("dongcheng", "POST", "/api/v1/cases/"+c.ID+"/progress", `{"text":"处理中"}`); strings.Contains(string(r.body), "13900139000") {
		t.Errorf("action answer leaks the phone: %s", r.body)
	}
	// The center still sees the caller.
	r = e.do("agent", "GET", "/api/v1/cases/"+c.ID, "")
	r.decode(t, &v)
	if v.Caller.Name != "李四" || v.Caller.Phone != "13900139000" {
		t.Errorf("agent view %+v", v.Caller)
	}
	// Units may not search by the caller's number.
	if r := e.do("dongcheng", "GET", "/api/v1/cases?phone=13900139000", ""); r.status != 403 {
		t.Errorf("unit phone search: %d", r.status)
	}
}

func TestCaseListScopingFiltersAndPages(t *testing.T) {
	e := newCaseEnv(t)
	var dc, xc []string
	for i := range 5 {
		c := e.register(registerBody)
		lead := "dongcheng"
		if i%2 == 1 {
			lead = "xicheng"
		}
		e.act("agent", c.ID, "transfer", `{"lead":"`+lead+`"}`, 200)
		if lead == "dongcheng" {
			dc = append(dc, c.ID)
		} else {
			xc = append(xc, c.ID)
		}
	}
	e.register(strings.Replace(registerBody, `"category":"complaint"`, `"category":"inquiry"`, 1))
	// Pass one dongcheng case down: still dongcheng's (its sub-unit's), and andingmen's.
	e.act("dongcheng", dc[0], "accept", ``, 200)
	e.act("dongcheng", dc[0], "pass-down", `{"sub_unit":"dc-andingmen"}`, 200)

	list := func(who, query string) ([]string, string) {
		t.Helper()
		r := e.do(who, "GET", "/api/v1/cases"+query, "")
		if r.status != 200 {
			t.Fatalf("list %s as %s: %d %s", query, who, r.status, r.body)
		}
		var l api.List[store.CaseRow]
		r.decode(t, &l)
		var ids []string
		for _, row := range l.Items {
			ids = append(ids, row.ID)
		}
		return ids, l.NextCursor
	}
	if ids, _ := list("agent", ""); len(ids) != 6 {
		t.Errorf("agent sees %d", len(ids))
	}
	if ids, _ := list("dongcheng", ""); len(ids) != len(dc) {
		t.Errorf("dongcheng sees %v, want %v", ids, dc)
	}
	if ids, _ := list("andingmen", ""); len(ids) != 1 || ids[0] != dc[0] {
		t.Errorf("andingmen sees %v", ids)
	}
	if ids, _ := list("xicheng", ""); len(ids) != len(xc) {
		t.Errorf("xicheng sees %v, want %v", ids, xc)
	}
	if r := e.do("xicheng", "GET", "/api/v1/cases?unit=dongcheng", ""); r.status != 403 {
		t.Errorf("xicheng asking for dongcheng: %d", r.status)
	}
	if ids, _ := list("agent", "?category=inquiry"); len(ids) != 1 {
		t.Errorf("category filter %v", ids)
	}
	if ids, _ := list("agent", "?state=transferred,accepted&unit=xicheng"); len(ids) != len(xc) {
		t.Errorf("state+unit filter %v", ids)
	}
	if ids, _ := list("agent", "?q=积水"); len(ids) != 6 {
		t.Errorf("text filter %v", ids)
	}
	if ids, _ := list("agent", "?overdue=true"); len(ids) != 0 {
		t.Errorf("overdue filter %v", ids)
	}
	if r := e.do("agent", "GET", "/api/v1/cases?colour=red", ""); r.status != 400 {
		t.Errorf("unknown param: %d", r.status)
	}
	// Pages of 4 then 2, no overlap.
	p1, cur := list("agent", "?limit=4")
	p2, cur2 := list("agent", "?limit=4&cursor="+cur)
	if len(p1) != 4 || len(p2) != 2 || cur == "" || cur2 != "" {
		t.Fatalf("pages %v %v (%q %q)", p1, p2, cur, cur2)
	}
	seen := map[string]bool{}
	for _, id := range append(p1, p2...) {
		if seen[id] {
			t.Fatalf("%s on two pages", id)
		}
		seen[id] = true
	}
}

func TestOpen311(t *testing.T) {
	e := newCaseEnv(t)
	c := e.register(registerBody)
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	closed := e.register(registerBody)
	e.act("agent", closed.ID, "answer", `{"text":"已解答"}`, 200)

	r := e.do("", "GET", "/open311/v2/services.json", "")
	var services []map[string]any
	r.decode(t, &services)
	if r.status != 200 || len(services) != 6 || services[0]["service_code"] != "inquiry" || services[0]["service_name"] != "咨询" {
		t.Fatalf("services: %d %s", r.status, r.body)
	}
	r = e.do("", "GET", "/open311/v2/requests.json", "")
	if r.status != 200 {
		t.Fatalf("requests: %d %s", r.status, r.body)
	}
	var reqs []map[string]any
	r.decode(t, &reqs)
	if len(reqs) != 2 {
		t.Fatalf("requests %s", r.body)
	}
	for _, secret := range []string{"李四", "13900139000", "安定门内大街", "积水", c.ID} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("public output contains %q", secret)
		}
	}
	r = e.do("", "GET", "/open311/v2/requests/"+c.Number+".json", "")
	reqs = nil
	r.decode(t, &reqs)
	want := map[string]any{"service_request_id": c.Number, "status": "open", "service_code": "complaint",
		"service_name": "投诉", "agency_responsible": "东城区", "status_notes": "已转办"}
	if r.status != 200 || len(reqs) != 1 {
		t.Fatalf("request by id: %d %s", r.status, r.body)
	}
	for k, v := range want {
		if reqs[0][k] != v {
			t.Errorf("%s = %v, want %v", k, reqs[0][k], v)
		}
	}
	for _, k := range []string{"requested_datetime", "updated_datetime", "expected_datetime"} {
		if _, err := time.Parse(time.RFC3339, fmt.Sprint(reqs[0][k])); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	r = e.do("", "GET", "/open311/v2/requests.json?status=closed", "")
	reqs = nil
	r.decode(t, &reqs)
	if len(reqs) != 1 || reqs[0]["service_request_id"] != closed.Number || reqs[0]["status"] != "closed" {
		t.Errorf("closed filter %s", r.body)
	}
	if r := e.do("", "GET", "/open311/v2/requests/202603029999.json", ""); r.status != 404 {
		t.Errorf("unknown request: %d", r.status)
	}
}

func mustGet(t *testing.T, get func(path, token string) (int, map[string]any), path string) map[string]any {
	t.Helper()
	s, m := get(path, selfServiceToken)
	if s != 200 {
		t.Fatalf("GET %s: %d %v", path, s, m)
	}
	return m
}

// Wrong query codes are bounded per case and per calling number a day: after
// five, no code is checked (not even the right one) and the answer says so.
func TestSelfServiceCodeAttempts(t *testing.T) {
	e := newCaseEnv(t)
	c := e.register(registerBody)
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	other := e.register(registerBody)
	get := func(path, token string) (int, map[string]any) {
		r := e.do("", "GET", path, "", "Authorization", "Bearer "+token)
		var m map[string]any
		_ = json.Unmarshal(r.body, &m)
		return r.status, m
	}
	wrong := "000000"
	if c.QueryCode == wrong {
		wrong = "000001"
	}
	base := "/api/v1/selfservice/cases/" + c.Number
	for i := 1; i <= 5; i++ {
		m := mustGet(t, get, base+"?caller=13700137000&code="+wrong)
		if m["detailed"] != false || (m["code_locked"] == true) != (i == 5) {
			t.Fatalf("wrong code %d: %v", i, m)
		}
	}
	// The case is locked for today, from any number, even with the right code.
	if m := mustGet(t, get, base+"?caller=13600136000&code="+c.QueryCode); m["detailed"] != false || m["code_locked"] != true {
		t.Errorf("right code after five wrong ones: %v", m)
	}
	// The guessing number is locked for other cases too.
	if m := mustGet(t, get, "/api/v1/selfservice/cases/"+other.Number+"?caller=13700137000&code="+other.QueryCode); m["code_locked"] != true {
		t.Errorf("the guessing number on another case: %v", m)
	}
	// Another number, another case: unaffected. Tomorrow the case opens again.
	if m := mustGet(t, get, "/api/v1/selfservice/cases/"+other.Number+"?caller=13600136000&code="+other.QueryCode); m["detailed"] != true {
		t.Errorf("another number and case: %v", m)
	}
	e.clock.Set(e.clock.Now().Add(24 * time.Hour))
	if m := mustGet(t, get, base+"?caller=13600136000&code="+c.QueryCode); m["detailed"] != true {
		t.Errorf("the next day: %v", m)
	}
}

func TestSelfService(t *testing.T) {
	e := newCaseEnv(t)
	c := e.register(registerBody)
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	get := func(path, token string) (int, map[string]any) {
		r := e.do("", "GET", path, "", "Authorization", "Bearer "+token)
		var m map[string]any
		_ = json.Unmarshal(r.body, &m)
		return r.status, m
	}
	base := "/api/v1/selfservice/cases/" + c.Number
	if s, _ := get(base, "wrong"); s != 401 {
		t.Errorf("wrong token: %d", s)
	}
	if s, _ := get(base, e.token["agent"]); s != 401 {
		t.Errorf("a user token: %d", s)
	}
	stranger, _ := json.Marshal(mustGet(t, get, base+"?caller=13800000000"))
	owner, _ := json.Marshal(mustGet(t, get, base+"?caller=%2B86%20139-0013-9000"))
	// The case's own number learns no more than any other: the answer must not
	// confirm who filed a case (a caller ID can be spoofed).
	if string(stranger) != string(owner) || strings.Contains(string(owner), "东城区") || strings.Contains(string(owner), "deadline") {
		t.Errorf("stranger %s, owner %s: want the same status-only answer", stranger, owner)
	}
	if s, m := get(base+"?caller=13800000000&code="+c.QueryCode, selfServiceToken); s != 200 || m["detailed"] != true ||
		m["unit_name"] != "东城区" || m["deadline"] == nil {
		t.Errorf("code: %d %v", s, m)
	}
	if s, m := get("/api/v1/selfservice/cases/202603029999", selfServiceToken); s != 404 || m["type"] == nil {
		t.Errorf("unknown: %d %v", s, m)
	}
}

// TestAssessmentEndpoint builds a quarter through the API: dongcheng replies
// late without reason three times (ground 三), xicheng on time.
func TestAssessmentEndpoint(t *testing.T) {
	e := newCaseEnv(t)
	cst := time.FixedZone("CST", 8*3600)
	e.clock.Set(time.Date(2026, 1, 5, 9, 0, 0, 0, cst))
	var late []string
	for range 3 {
		c := e.register(registerBody)
		e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
		e.act("dongcheng", c.ID, "accept", ``, 200)
		late = append(late, c.ID)
	}
	x := e.register(registerBody)
	e.act("agent", x.ID, "transfer", `{"lead":"xicheng"}`, 200)
	e.act("xicheng", x.ID, "accept", ``, 200)
	e.act("xicheng", x.ID, "reply", `{"text":"已办"}`, 200)
	e.act("supervisor", x.ID, "review", `{"result":"complete"}`, 200)
	e.clock.Set(time.Date(2026, 2, 2, 9, 0, 0, 0, cst)) // weeks after the 7 working days
	for _, id := range late {
		e.act("dongcheng", id, "reply", `{"text":"已办"}`, 200)
	}
	// xicheng's duty line did not answer a three-way call (ground 七).
	es := store.NewEventStore(e.pool)
	es.Project(event.ThreeWayFailed, store.DutyLineFailureProjector)
	failed, err := event.New(event.ThreeWayFailed, "callservice", "node-7.1",
		event.ThreeWayPayload{UnitID: "xicheng", DutyLine: "PJSIP/8802@dutylines", Reason: "no_answer"})
	if err != nil {
		t.Fatal(err)
	}
	failed.Time = time.Date(2026, 2, 3, 22, 0, 0, 0, cst)
	if err := es.Handle(context.Background(), failed); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, cst))

	if r := e.do("dongcheng", "GET", "/api/v1/assessment?year=2026&quarter=1", ""); r.status != 403 {
		t.Errorf("unit reading the assessment: %d", r.status)
	}
	if r := e.do("supervisor", "GET", "/api/v1/assessment?year=2026&quarter=5", ""); r.status != 400 {
		t.Errorf("quarter 5: %d", r.status)
	}
	r := e.do("supervisor", "GET", "/api/v1/assessment?year=2026&quarter=1", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var rep struct {
		Units []struct {
			UnitID  string `json:"unit_id"`
			Rank    int    `json:"rank"`
			Due     int    `json:"due"`
			OnTime  int    `json:"on_time"`
			Grounds []struct {
				Ground string `json:"ground"`
				Count  int    `json:"count"`
			} `json:"grounds"`
		} `json:"units"`
		Definitions []any `json:"ground_definitions"`
	}
	r.decode(t, &rep)
	if len(rep.Definitions) != 7 || len(rep.Units) < 2 {
		t.Fatalf("report %s", r.body)
	}
	// Both have one ground; xicheng's on-time rate ranks it first.
	if u := rep.Units[0]; u.UnitID != "xicheng" || u.Rank != 1 || u.Due != 1 || u.OnTime != 1 ||
		len(u.Grounds) != 1 || u.Grounds[0].Ground != "duty_line_unanswered" {
		t.Errorf("first %+v", u)
	}
	if u := rep.Units[1]; u.UnitID != "dongcheng" || u.Rank != 2 || u.Due != 3 || u.OnTime != 0 ||
		len(u.Grounds) != 1 || u.Grounds[0].Ground != "late_without_reason" || u.Grounds[0].Count != 3 {
		t.Errorf("second %+v (%s)", u, r.body)
	}
}

// TestDeadlineOverridesOutOfRange: a time limit the center sets for one case
// that the policy cannot count is the client's mistake, answered 422 at the
// field, not a 500 from the deadline computation.
func TestDeadlineOverridesOutOfRange(t *testing.T) {
	e := newCaseEnv(t)
	urgentBody := strings.Replace(registerBody, `"urgency":"normal"`, `"urgency":"urgent"`, 1)
	replied := e.register(registerBody)
	e.act("agent", replied.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	e.act("dongcheng", replied.ID, "accept", ``, 200)
	e.act("dongcheng", replied.ID, "reply", `{"text":"已办"}`, 200)
	tests := []struct {
		name, body, action, field string
		urgent                    bool // the case is urgent (else a fresh normal case)
		replied                   bool // the replied case above
	}{
		{name: "negative working days", action: "transfer", body: `{"lead":"dongcheng","working_days":-1}`, field: "#/working_days"},
		{name: "hours on a normal case", action: "transfer", body: `{"lead":"dongcheng","hours":5}`, field: "#/hours"},
		{name: "working days beyond the policy's total", action: "transfer", body: `{"lead":"dongcheng","working_days":31}`, field: "#/working_days"},
		{name: "negative hours on an urgent case", action: "transfer", body: `{"lead":"dongcheng","hours":-1}`, field: "#/hours", urgent: true},
		{name: "working days on an urgent case", action: "transfer", body: `{"lead":"dongcheng","working_days":3}`, field: "#/working_days", urgent: true},
		{name: "absurd hours on an urgent case", action: "transfer", body: `{"lead":"dongcheng","hours":100000000}`, field: "#/hours", urgent: true},
		{name: "negative redo limit", action: "review", body: `{"result":"return","reason":"x","working_days":-2}`, field: "#/working_days", replied: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := replied.ID
			if !tc.replied {
				body := registerBody
				if tc.urgent {
					body = urgentBody
				}
				id = e.register(body).ID
			}
			r := e.do("agent", "POST", "/api/v1/cases/"+id+"/"+tc.action, tc.body)
			if tc.action == "review" {
				r = e.do("supervisor", "POST", "/api/v1/cases/"+id+"/"+tc.action, tc.body)
			}
			if r.status != 422 {
				t.Fatalf("%d %s, want 422", r.status, r.body)
			}
			p := r.problem(t)
			if !strings.HasSuffix(p.Type, "validation") || len(p.Errors) != 1 || p.Errors[0].Pointer != tc.field {
				t.Fatalf("problem %+v, want one error at %s", p, tc.field)
			}
		})
	}
	// The refusals changed nothing: the replied case can still be returned.
	if v := e.act("supervisor", replied.ID, "review", `{"result":"return","reason":"x","working_days":2}`, 200); v.State != "transferred" {
		t.Fatalf("return after refusals: %+v", v)
	}
}

// TestRegionMustBeOneOfTheCity: the region is an area code of the city's list
// (reports group by it); an unknown code is refused at the field.
func TestRegionMustBeOneOfTheCity(t *testing.T) {
	e := newCaseEnv(t)
	for _, tc := range []struct {
		region string
		status int
	}{
		{"110101", 201}, // 东城区
		{"110102", 201}, // 西城区
		{"110000", 201}, // the city as a whole
		{"xyz", 422},
		{"370102", 422}, // a real code, of another city
		{"110199", 422},
		{"东城", 422}, // malformed
	} {
		t.Run(tc.region, func(t *testing.T) {
			body := strings.Replace(registerBody, `"region":"110101"`, `"region":"`+tc.region+`"`, 1)
			r := e.do("agent", "POST", "/api/v1/cases", body)
			if r.status != tc.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status == 422 {
				if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Pointer != "#/region" {
					t.Fatalf("problem %+v, want one error at #/region", p)
				}
			}
		})
	}
}

// Reports and confidential cases are absent from the public progress API (a
// listing with category, unit and time of receipt would confirm who filed a
// report); lookups are bounded and the routes rate-limited per client.
func TestOpen311LeavesOutWhistleblowers(t *testing.T) {
	e := newCaseEnv(t)
	open := e.register(registerBody)
	report := e.register(strings.Replace(registerBody, `"category":"complaint"`, `"category":"report"`, 1))
	confidential := e.register(strings.Replace(registerBody, `"confidentiality":"none"`, `"confidentiality":"confidential"`, 1))
	for _, c := range []view{open, report, confidential} {
		e.act("agent", c.ID, "transfer", `{"lead":"dongcheng"}`, 200)
	}
	r := e.do("", "GET", "/open311/v2/requests.json", "")
	var reqs []map[string]any
	r.decode(t, &reqs)
	if r.status != 200 || len(reqs) != 1 || reqs[0]["service_request_id"] != open.Number {
		t.Fatalf("public list: %d %s, want only %s", r.status, r.body, open.Number)
	}
	for _, c := range []view{report, confidential} {
		if r := e.do("", "GET", "/open311/v2/requests/"+c.Number+".json", ""); r.status != 404 {
			t.Errorf("protected case %s by number: %d %s, want 404 like an unknown number", c.Number, r.status, r.body)
		}
		if strings.Contains(string(r.body), c.Number) {
			t.Errorf("protected case %s listed", c.Number)
		}
	}
	r = e.do("", "GET", "/open311/v2/requests.json?service_request_id="+report.Number+","+open.Number, "")
	reqs = nil
	r.decode(t, &reqs)
	if len(reqs) != 1 || reqs[0]["service_request_id"] != open.Number {
		t.Errorf("lookup by numbers: %s", r.body)
	}
	many := strings.TrimSuffix(strings.Repeat(open.Number+",", 21), ",")
	if r := e.do("", "GET", "/open311/v2/requests.json?service_request_id="+many, ""); r.status != 400 {
		t.Errorf("21 numbers: %d, want 400", r.status)
	}
	// The burst is 20 a client; this test already used a few.
	limited := 0
	for range 30 {
		r := e.do("", "GET", "/open311/v2/services.json", "")
		if r.status == 429 {
			limited++
			if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "rate-limited") {
				t.Fatalf("429 without Retry-After or problem type: %s", r.body)
			}
		}
	}
	if limited == 0 {
		t.Error("30 public requests at once were never limited")
	}
	// The OpenAPI document is not limited, and authenticated routes are not.
	if r := e.do("", "GET", "/api/v1/openapi.yaml", ""); r.status != 200 {
		t.Errorf("openapi.yaml after the burst: %d", r.status)
	}
	if r := e.do("agent", "GET", "/api/v1/cases/"+open.ID, ""); r.status != 200 {
		t.Errorf("agent after the public burst: %d", r.status)
	}
}

// A registration retried with the same Idempotency-Key (a client that timed
// out) answers with the first case instead of filing a second; the same key
// with another body is refused; without a key every POST files a case.
func TestRegistrationIdempotencyKey(t *testing.T) {
	e := newCaseEnv(t)
	key := []string{"Idempotency-Key", "desk-7f3a-0001"}
	r1 := e.do("agent", "POST", "/api/v1/cases", registerBody, key...)
	r2 := e.do("agent", "POST", "/api/v1/cases", registerBody, key...)
	if r1.status != 201 || r2.status != 201 {
		t.Fatalf("register twice with a key: %d, %d %s", r1.status, r2.status, r2.body)
	}
	var v1, v2 view
	r1.decode(t, &v1)
	r2.decode(t, &v2)
	if v1.ID != v2.ID || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry made case %s, first %s (replayed header %q)", v2.ID, v1.ID, r2.header.Get("Idempotent-Replayed"))
	}
	if n := e.count(`SELECT count(*) FROM cases`); n != 1 {
		t.Fatalf("%d cases after a retried registration, want 1", n)
	}
	other := strings.Replace(registerBody, "积水", "漏水", 1)
	if r := e.do("agent", "POST", "/api/v1/cases", other, key...); r.status != 422 {
		t.Errorf("same key, other body: %d %s, want 422", r.status, r.body)
	}
	// Keys are per user: another agent's same key is another registration.
	if r := e.do("supervisor", "POST", "/api/v1/cases", registerBody, key...); r.status != 201 {
		t.Errorf("another user's same key: %d", r.status)
	}
	// A failed registration frees its key for the corrected retry.
	bad := strings.Replace(registerBody, `"region":"110101"`, `"region":"999999"`, 1)
	k2 := []string{"Idempotency-Key", "desk-7f3a-0002"}
	if r := e.do("agent", "POST", "/api/v1/cases", bad, k2...); r.status != 422 {
		t.Fatalf("bad region: %d", r.status)
	}
	if r := e.do("agent", "POST", "/api/v1/cases", registerBody, k2...); r.status != 201 || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("retry after a refused registration with the same key: %d %s", r.status, r.body)
	}
	if r := e.do("agent", "POST", "/api/v1/cases", registerBody, "Idempotency-Key", "bad key with spaces"); r.status != 400 {
		t.Errorf("malformed key: %d", r.status)
	}
	if n := e.count(`SELECT count(*) FROM cases`); n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
}

// Administrators (IT) see every case but a whistleblower's identity only by an
// audited reveal; nobody else can ask for one.
func TestAdminRevealsProtectedCallerOnRecord(t *testing.T) {
	e := newCaseEnv(t)
	report := e.register(strings.Replace(registerBody, `"category":"complaint"`, `"category":"report"`, 1))
	r := e.do("admin", "GET", "/api/v1/cases/"+report.ID, "")
	if r.status != 200 || strings.Contains(string(r.body), "李四") || strings.Contains(string(r.body), "13900139000") {
		t.Fatalf("admin's plain view of a report: %d %s", r.status, r.body)
	}
	r = e.do("admin", "GET", "/api/v1/cases/"+report.ID+"?reveal=true", "")
	if r.status != 200 || !strings.Contains(string(r.body), "13900139000") {
		t.Fatalf("admin's reveal: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'reveal' AND object_id = $1 AND user_id = $2`,
		report.ID, e.userID["admin"]); n != 1 {
		t.Errorf("reveal audited %d times, want 1", n)
	}
	for _, who := range []string{"dongcheng", "agent"} {
		if r := e.do(who, "GET", "/api/v1/cases/"+report.ID+"?reveal=true", ""); r.status != 403 && r.status != 404 {
			t.Errorf("%s asking to reveal: %d, want refused", who, r.status)
		}
	}
	if r := e.do("agent", "GET", "/api/v1/cases/"+report.ID, ""); r.status != 200 || !strings.Contains(string(r.body), "13900139000") {
		t.Errorf("the agent's view lost the caller: %d", r.status)
	}
}

// Each signed-in user has a request budget of their own (a leaked token or a
// runaway script slows down; the others do not notice).
func TestPerUserRateLimit(t *testing.T) {
	e := newCaseEnv(t)
	limited := 0
	for range 150 {
		if r := e.do("agent", "GET", "/api/v1/me", ""); r.status == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("150 requests at once were never limited")
	}
	if r := e.do("supervisor", "GET", "/api/v1/me", ""); r.status != 200 {
		t.Errorf("another user after the agent's burst: %d", r.status)
	}
}
