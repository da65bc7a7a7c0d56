package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/api/routecheck"
)

// documented lists "METHOD /path" for every operation in openapi.yaml.
func documented(t *testing.T) []string {
	t.Helper()
	return routecheck.Documented(api.OpenAPI)
}

// TestOpenAPIDocumentsEveryRoute checks the routes New registers; route groups
// mounted elsewhere (cases, ...) check their own in the same way.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	routes := []string{
		"DELETE /tokens/{id}",
		"GET /me",
		"GET /openapi.yaml",
		"GET /units",
		"GET /units/{id}",
		"GET /users/{id}",
		"POST /units",
		"POST /users",
		"POST /users/{id}/tokens",
		"PUT /units/{id}",
	}
	docs := documented(t)
	for _, op := range routes {
		if !slices.Contains(docs, op) {
			t.Errorf("%s is not in openapi.yaml (it documents %v)", op, docs)
		}
	}
	// And each is routed: a handler answers, not the mux's fallback.
	e := newEnv(t)
	for _, op := range routes {
		method, path, _ := strings.Cut(op, " ")
		path = strings.NewReplacer("{id}", "x").Replace(path)
		r := e.do("admin", method, "/api/v1"+path, "")
		if r.status == 405 || (r.status == 404 && strings.Contains(string(r.body), "no such endpoint")) {
			t.Errorf("%s is documented but not routed: %d %s", op, r.status, r.body)
		}
	}
	if r := e.do("", "GET", "/api/v1/openapi.yaml", ""); r.status != 200 || !strings.HasPrefix(string(r.body), "openapi: 3.1") {
		t.Errorf("openapi.yaml not served: %d", r.status)
	}
}
