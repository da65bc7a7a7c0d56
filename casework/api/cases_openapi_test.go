package api_test

import (
	"slices"
	"strings"
	"testing"
)

// caseRoutes are the operations MountCases adds, as openapi.yaml writes them
// (paths relative to /api/v1, Open311 ones absolute).
var caseRoutes = []string{
	"GET /assessment",
	"GET /cases",
	"GET /cases/{id}",
	"GET /open311/v2/requests.json",
	"GET /reports/business",
	"GET /reports/calls",
	"GET /reports/staff",
	"GET /open311/v2/requests/{service_request_id}.json",
	"GET /open311/v2/services.json",
	"GET /selfservice/cases/{number}",
	"POST /cases",
	"POST /cases/{id}/accept",
	"POST /cases/{id}/answer",
	"POST /cases/{id}/approval-requests",
	"POST /cases/{id}/approve",
	"POST /cases/{id}/archive",
	"POST /cases/{id}/callback",
	"POST /cases/{id}/calls",
	"POST /cases/{id}/close",
	"POST /cases/{id}/extension-requests",
	"POST /cases/{id}/extension-requests/approve",
	"POST /cases/{id}/extension-requests/refuse",
	"POST /cases/{id}/findings",
	"POST /cases/{id}/materials",
	"POST /cases/{id}/pass-down",
	"POST /cases/{id}/progress",
	"POST /cases/{id}/remind",
	"POST /cases/{id}/repeats",
	"POST /cases/{id}/reply",
	"POST /cases/{id}/review",
	"POST /cases/{id}/supervise",
	"POST /cases/{id}/transfer",
	// MountPortal (issue 13)
	"GET /portal/inbox",
	"GET /notifications",
	"POST /notifications/read",
	"GET /units/{id}/webhook",
	"PUT /units/{id}/webhook",
	"DELETE /units/{id}/webhook",
	"GET /units/{id}/webhook/deliveries",
	// MountSupervise (issue 13)
	"GET /wallboard",
	"GET /cases/{id}/media",
	"GET /cases/{id}/recordings/{rid}/audio",
}

func TestOpenAPIDocumentsEveryCaseRoute(t *testing.T) {
	got := documented(t)
	for _, op := range caseRoutes {
		if !slices.Contains(got, op) {
			t.Errorf("%s is routed but not in openapi.yaml", op)
		}
	}
	// And each is routed: a handler answers, not the mux's 404/405.
	e := newCaseEnv(t)
	for _, op := range caseRoutes {
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{id}", "x", "{rid}", "r", "{number}", "202603020001", "{service_request_id}", "202603020001").Replace(path)
		if !strings.HasPrefix(path, "/open311/") {
			path = "/api/v1" + path
		}
		r := e.do("supervisor", method, path, "")
		if r.status == 405 || (r.status == 404 && strings.Contains(string(r.body), "no such endpoint")) {
			t.Errorf("%s is documented but not routed: %d %s", op, r.status, r.body)
		}
	}
}
