package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func TestConfigRefusesUnknownPolicyAndWeakToken(t *testing.T) {
	base := map[string]string{"HOTLINE_NATS_USER": "casework", "HOTLINE_NATS_PASSWORD": "nats-secret-for-tests", "HOTLINE_DATABASE_URL": "postgres://x/y"}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOTLINE_POLICY": "atlantis"}, "HOTLINE_POLICY"},
		{map[string]string{"HOTLINE_CASEWORK_TOKEN": "short"}, "at least 16"},
		{map[string]string{"HOTLINE_CASEWORK_TOKEN": "hotline-demo"}, "demo value"},
	} {
		_, err := loadConfig(func(k string) string {
			if v, ok := tc.env[k]; ok {
				return v
			}
			return base[k]
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error about %s", tc.env, err, tc.want)
		}
	}
	cfg, err := loadConfig(func(k string) string { return base[k] })
	if err != nil || cfg.Policy != "shijiazhuang" || cfg.EscalationInterval != time.Minute {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
}

// TestServiceServesCaseAPI starts the whole binary's wiring on a fresh database
// and stream: public Open311, the authenticated case API refusing anonymous
// callers, the self-service token, and the escalation and outbox metrics.
// NATS is a private server with the production rules (eventbus access.go):
// casework runs as its user, and a call event from the call service's user
// is stored, and the calendar it publishes reaches the call service's watch.
func TestServiceServesCaseAPI(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	bus := natstest.Config(t, natstest.URL())
	scope := eventbus.DefaultScope()
	scope.Stream, scope.SubjectRoot, scope.PopSubject = bus.Stream, bus.SubjectRoot, bus.SubjectRoot+"_agents"
	nsrv := natstest.StartAuthServer(t, scope, "")
	bus.URL = nsrv.URL
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{
		"HOTLINE_NATS_USER": "casework", "HOTLINE_NATS_PASSWORD": nsrv.Passwords[eventbus.UserCasework], "HOTLINE_DATABASE_URL": dsn, "HOTLINE_NATS_URL": bus.URL, "HOTLINE_STREAM": bus.Stream,
		"HOTLINE_SUBJECT_ROOT": bus.SubjectRoot, "HOTLINE_CASEWORK_HTTP_ADDR": addr,
		"HOTLINE_CASEWORK_TOKEN": "selfservice-token-for-tests", "HOTLINE_LOG_LEVEL": "warn",
		"HOTLINE_ESCALATION_INTERVAL": "200ms",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s, _ := get("/readyz", ""); s == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("service not ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The call service's side, with its own user: a call event is stored,
	// the calendar casework published at start reaches its watch.
	csCfg := nsrv.As(bus, eventbus.UserCallService)
	opts, err := eventbus.DialOptions(csCfg)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(bus.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	env1, _ := event.New(event.CallStarted, "test", "call-acl-1", event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
	data, _ := json.Marshal(env1)
	if _, err := js.Publish(context.Background(), event.Subject(bus.SubjectRoot, event.CallStarted), data, jetstream.WithMsgID(env1.ID)); err != nil {
		t.Fatalf("call service publishes: %v", err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	got := make(chan eventbus.CalendarSnapshot, 1)
	go func() {
		_ = eventbus.WatchCalendar(wctx, js, eventbus.CalendarBucket(bus.Stream), 200*time.Millisecond, zap.NewNop(),
			func(s eventbus.CalendarSnapshot) {
				select {
				case got <- s:
				default:
				}
			})
	}()
	select {
	case <-got:
	case <-wctx.Done():
		t.Error("the call service's watch got no calendar from casework")
	}
	wcancel()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	stored := false
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end) && !stored; time.Sleep(100 * time.Millisecond) {
		_ = pool.QueryRow(context.Background(), `SELECT count(*) = 1 FROM events WHERE call_id = 'call-acl-1'`).Scan(&stored)
	}
	if !stored {
		t.Error("casework did not store the call service's event")
	}

	s, body := get("/open311/v2/services.json", "")
	var services []map[string]any
	if s != 200 || json.Unmarshal([]byte(body), &services) != nil || len(services) != 6 {
		t.Errorf("services.json: %d %s", s, body)
	}
	if s, body := get("/api/v1/cases", ""); s != 401 {
		t.Errorf("anonymous case list: %d %s", s, body)
	}
	if s, body := get("/api/v1/selfservice/cases/202603020001", "selfservice-token-for-tests"); s != 404 {
		t.Errorf("self-service unknown case: %d %s", s, body)
	}
	time.Sleep(500 * time.Millisecond) // at least one escalation pass
	s, body = get("/metrics", "")
	for _, m := range []string{"hotline_cases_overdue 0", "hotline_calendar_days_until_provisional_year", "hotline_cases_provisional_deadline", "hotline_case_outbox_depth",
		"hotline_escalation_scan_seconds_count"} {
		if !strings.Contains(body, m) {
			t.Errorf("metrics lack %s (status %d)", m, s)
		}
	}
}

// TestConfigRegions: HOTLINE_REGIONS names the city's region list, checked at
// start; without it the embedded list of the demo city is used.
func TestConfigRegions(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.csv"), filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(good, []byte("code,name\n130102,长安区\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("code,name\nxyz,某区\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, known, want string // want: part of the error; "" for none
	}{
		{"", "110101", ""},
		{good, "130102", ""},
		{bad, "", "HOTLINE_REGIONS"},
		{filepath.Join(dir, "missing.csv"), "", "HOTLINE_REGIONS"},
	} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"HOTLINE_NATS_USER": "casework", "HOTLINE_NATS_PASSWORD": "nats-secret-for-tests", "HOTLINE_DATABASE_URL": "postgres://x/y", "HOTLINE_REGIONS": tc.path}[k]
		})
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("HOTLINE_REGIONS=%s: %v, want an error about %s", tc.path, err, tc.want)
			}
			continue
		}
		if err != nil || cfg.Regions == nil || cfg.Regions.Check(domain.Region(tc.known)) != nil {
			t.Errorf("HOTLINE_REGIONS=%s: %v, want %s known", tc.path, err, tc.known)
		}
	}
}
