package routing

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/api/routecheck"
)

// The call service's half of the role × endpoint matrix (issue 14; casework's
// is casework/api matrix_test.go): every route of the agent API with who may
// call it. Routes come from openapi.yaml and from the mux registrations in
// this package's source; one without a row fails the test.
//
// The token check is casework's (GET /api/v1/me, the Casework verifier); here
// a verifier maps tokens to the identities casework answers for each role,
// which is all an authorization test of this API needs.

var routingPrincipals = map[string]Identity{
	"agent":      {UserID: "u-agent", Role: "agent", StaffNumber: "1001"},
	"nostaff":    {UserID: "u-nostaff", Role: "agent"}, // an agent record without a staff number
	"supervisor": {UserID: "u-sup", Role: "supervisor"},
	"unit":       {UserID: "u-unit", Role: "unit"},
	"admin":      {UserID: "u-admin", Role: "admin"},
}

var routingMatrix = []struct {
	op      string // METHOD path; {staff} is agent 1001
	allowed string // principals allowed; every other one is refused (401/403)
}{
	{"GET /api/v1/agent", "agent"},
	{"POST /api/v1/agent/login", "agent"},
	{"POST /api/v1/agent/ready", "agent"},
	{"POST /api/v1/agent/pause", "agent"},
	{"GET /api/v1/agent/screenpops", "agent"},
	{"POST /api/v1/agent/call/threeway", "agent"},
	{"POST /api/v1/agent/call/threeway/leave", "agent"},
	{"POST /api/v1/agent/call/threeway/drop", "agent"},
	{"POST /api/v1/agent/call/polite-ending", "agent"},
	{"POST /api/v1/agent/call/transfer", "agent"},
	{"POST /api/v1/agent/call/case", "agent"},
	{"POST /api/v1/agent/softphone", "agent"},
	{"DELETE /api/v1/agent/softphone", "agent"},
	{"GET /api/v1/agents", "supervisor admin"},
	{"POST /api/v1/agents/{staff}/pause", "supervisor"},
	// Last: signs the agent out (the supervisor's order above needs a
	// logged-in agent to be allowed rather than refused as a state error).
	{"POST /api/v1/agents/{staff}/logout", "supervisor"},
	{"POST /api/v1/agent/logout", "agent"},
}

// TestRoutingMatrixCoversEveryRoute: every operation of routing/openapi.yaml
// and every mux pattern of this package has a row, and every row is one of
// them.
func TestRoutingMatrixCoversEveryRoute(t *testing.T) {
	var rows []string
	for _, r := range routingMatrix {
		rows = append(rows, r.op)
	}
	spec, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	regs, err := routecheck.Registrations(nil, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) < 14 {
		t.Fatalf("found only %d mux registrations; the scan is broken", len(regs))
	}
	for _, problem := range routecheck.Uncovered(rows, routecheck.Documented(spec), regs) {
		t.Error(problem)
	}
}

// nopSIPConfig takes the browser softphone's PJSIP objects.
type nopSIPConfig struct{}

func (nopSIPConfig) Put(context.Context, string, string, string, []ari.Field) error { return nil }
func (nopSIPConfig) Delete(context.Context, string, string, string) error           { return nil }

// TestRoutingRoleEndpointMatrix: every route as no token, an unknown token and
// every role; allowed means not 401/403, refused means 401 (no or unknown
// token) or 403.
func TestRoutingRoleEndpointMatrix(t *testing.T) {
	verifier := fakeVerifier{}
	for name, id := range routingPrincipals {
		verifier[name] = id
	}
	s := New(Config{}, Deps{}, NewMetrics(prometheus.NewRegistry()), zap.NewNop())
	mux := http.NewServeMux()
	s.Routes(mux, verifier)
	s.SoftphoneRoutes(mux, verifier, NewSoftphones(nopSIPConfig{}, verifier, s, time.Hour, zap.NewNop()))
	bodies := map[string]string{
		"/api/v1/agent/pause": `{"reason":"休息"}`, "/api/v1/agent/call/threeway": `{"unit_id":"dongcheng"}`,
		"/api/v1/agent/call/transfer": `{"to":"1002"}`, "/api/v1/agent/call/case": `{"case_id":"x"}`,
		"/api/v1/agent/softphone": `{"kind":"sip"}`, "/api/v1/agents/1001/pause": `{"reason":"培训"}`,
		"/api/v1/agents/1001/logout": `{"reason":"下班"}`,
	}
	// The agent is logged in, so the supervisor's orders are allowed (not a
	// state error).
	if _, err := s.pool.Apply("1001", ActLogin, ""); err != nil {
		t.Fatal(err)
	}
	for _, row := range routingMatrix {
		method, path, _ := strings.Cut(row.op, " ")
		path = strings.ReplaceAll(path, "{staff}", "1001")
		for _, who := range []string{"", "forged", "agent", "nostaff", "supervisor", "unit", "admin"} {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond) // ends the SSE stream
			req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(bodies[path]))
			if bodies[path] == "" {
				req.ContentLength = 0
			}
			if who != "" {
				req.Header.Set("Authorization", "Bearer "+who)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			cancel()
			want := who != "" && strings.Contains(" "+row.allowed+" ", " "+who+" ")
			refused := rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden
			switch {
			case want && refused:
				t.Errorf("%s as %q: %d, want allowed: %s", row.op, who, rec.Code, rec.Body)
			case !want && !refused:
				t.Errorf("%s as %q: %d, want refused (401/403): %s", row.op, who, rec.Code, rec.Body)
			case (who == "" || who == "forged") && rec.Code != http.StatusUnauthorized:
				t.Errorf("%s as %q: %d, want 401", row.op, who, rec.Code)
			}
		}
	}
}
