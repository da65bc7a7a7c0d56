package routing

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

type fakeVerifier map[string]Identity

func (f fakeVerifier) Verify(_ context.Context, token string) (Identity, error) {
	id, ok := f[token]
	if !ok {
		return Identity{}, ErrUnauthorized
	}
	return id, nil
}

func TestAPI(t *testing.T) {
	s := New(Config{}, Deps{}, NewMetrics(prometheus.NewRegistry()), zap.NewNop())
	mux := http.NewServeMux()
	s.Routes(mux, fakeVerifier{
		"agent":   {Role: "agent", StaffNumber: "1001"},
		"sup":     {Role: "supervisor"},
		"nostaff": {Role: "agent"},
	})
	tests := []struct {
		name, token, method, path, body string
		want                            int
		contains                        string
	}{
		{"no token", "", "POST", "/api/v1/agent/login", "", 401, "bearer token"},
		{"unknown token", "nope", "GET", "/api/v1/agent", "", 401, ""},
		{"supervisor is not an agent", "sup", "POST", "/api/v1/agent/login", "", 403, ""},
		{"agent without staff number", "nostaff", "POST", "/api/v1/agent/login", "", 403, ""},
		{"ready before login", "agent", "POST", "/api/v1/agent/ready", "", 409, "logged_out"},
		{"login", "agent", "POST", "/api/v1/agent/login", "", 200, `"state":"paused"`},
		{"malformed pause", "agent", "POST", "/api/v1/agent/pause", "{", 400, "malformed JSON"},
		{"pause with reason", "agent", "POST", "/api/v1/agent/pause", `{"reason":"training"}`, 200, `"reason":"training"`},
		{"ready", "agent", "POST", "/api/v1/agent/ready", "", 200, `"state":"ready"`},
		{"three-way without a call", "agent", "POST", "/api/v1/agent/call/threeway", `{"unit_id":"x"}`, 409, "not on a call"},
		{"transfer to a bad staff number", "agent", "POST", "/api/v1/agent/call/transfer", `{"to":"PJSIP/1002"}`, 400, "not a staff number"},
		{"list needs a supervisor", "agent", "GET", "/api/v1/agents", "", 403, ""},
		{"list", "sup", "GET", "/api/v1/agents", "", 200, `"staff_number":"1001"`},
		{"logout", "agent", "POST", "/api/v1/agent/logout", "", 200, `"state":"logged_out"`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		if tt.body == "" {
			req.ContentLength = 0
		}
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.contains) {
			t.Errorf("%s: %d %s; want %d containing %q", tt.name, rec.Code, rec.Body, tt.want, tt.contains)
		}
		if rec.Code >= 400 {
			checkProblem(t, tt.name, rec)
		}
	}
}

// checkProblem: errors are the problem+json of casework's API, with the same
// problem type URNs, so a client (the agent desktop uses both services) handles
// one format.
func checkProblem(t *testing.T, name string, rec *httptest.ResponseRecorder) {
	t.Helper()
	var p struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: content type %q", name, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	if !strings.HasPrefix(p.Type, "urn:hotline12345:problem:") || p.Status != rec.Code || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: problem %+v, want a urn:hotline12345:problem: type with status %d", name, p, rec.Code)
	}
}
