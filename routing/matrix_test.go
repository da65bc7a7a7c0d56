package routing

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
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

// routingDocumented lists "METHOD /path" of routing/openapi.yaml (paths at two
// spaces, methods at four).
func routingDocumented(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pathRe := regexp.MustCompile(`^  (/\S*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|put|post|delete|patch):`)
	var out []string
	in, path := false, ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			in = true
		case in && line != "" && !strings.HasPrefix(line, " "):
			in = false
		case in && pathRe.MatchString(line):
			path = pathRe.FindStringSubmatch(line)[1]
		case in && methodRe.MatchString(line):
			out = append(out, strings.ToUpper(methodRe.FindStringSubmatch(line)[1])+" "+path)
		}
	}
	return out
}

// routingRegistrations reads the mux patterns of this package's non-test
// files as regular expressions (string(act) and the like are wildcards).
func routingRegistrations(t *testing.T) map[string]*regexp.Regexp {
	t.Helper()
	call := regexp.MustCompile(`\bmux\.Handle(?:Func)?\(([^,]+),`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*regexp.Regexp{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			m := call.FindStringSubmatch(line)
			if m == nil || strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			var re strings.Builder
			for _, part := range strings.Split(m[1], "+") {
				if part = strings.TrimSpace(part); strings.HasPrefix(part, `"`) {
					re.WriteString(regexp.QuoteMeta(strings.Trim(part, `"`)))
				} else {
					re.WriteString(`[^/]+`)
				}
			}
			out[f+": "+m[1]] = regexp.MustCompile("^" + re.String() + "$")
		}
	}
	return out
}

func TestRoutingMatrixCoversEveryRoute(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range routingMatrix {
		rows[r.op] = true
	}
	known := map[string]bool{}
	for _, op := range routingDocumented(t) {
		known[op] = true
		if !rows[op] {
			t.Errorf("%s (routing/openapi.yaml) has no row in the role × endpoint matrix", op)
		}
	}
	regs := routingRegistrations(t)
	if len(regs) < 14 {
		t.Fatalf("found only %d mux registrations; the scan is broken", len(regs))
	}
	for where, re := range regs {
		n := 0
		for op := range rows {
			if re.MatchString(op) {
				known[op] = true
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s registers a route with no row in the role × endpoint matrix (%s)", where, re)
		}
	}
	for op := range rows {
		if !known[op] {
			t.Errorf("row %s is neither documented nor registered", op)
		}
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
