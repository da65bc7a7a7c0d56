package routecheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const spec = `openapi: 3.1.0
paths:
  /things:
    get:
      summary: list
    post:
      summary: add
  /things/{id}:
    delete:
      summary: remove
components:
  schemas: {}
`

const src = `package x

func routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/things", list)
	mux.HandleFunc("POST "+Prefix+"/things", add)
	mux.HandleFunc("DELETE "+Prefix+"/things/{thing}", remove)
	mux.Handle("/static/", files)
	// mux.HandleFunc("GET /commented", nothing)
}
`

func TestDocumented(t *testing.T) {
	want := []string{"DELETE /things/{id}", "GET /things", "POST /things"}
	if got := Documented([]byte(spec)); !slices.Equal(got, want) {
		t.Fatalf("Documented = %v, want %v", got, want)
	}
}

func TestUncovered(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "routes.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	regs, err := Registrations(map[string]string{"Prefix": "/api"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 4 {
		t.Fatalf("%d registrations, want 4 (the commented one left out): %v", len(regs), regs)
	}
	docs := []string{"GET /api/things", "POST /api/things", "DELETE /api/things/{id}"}
	full := []string{"GET /api/things", "POST /api/things", "DELETE /api/things/{x}", "ANY /static/"}
	tests := []struct {
		name string
		rows []string
		want []string // a substring of each problem, in order
	}{
		{"every route has a row", full, nil},
		{"a documented and registered route without a row", full[1:], []string{"GET /api/things (openapi.yaml) has no row", `routes.go: "GET "+Prefix+"/things" registers a route with no row`}},
		{"a registered route only, without a row", full[:3], []string{`routes.go: "/static/" registers a route with no row`}},
		{"a row of nothing", append(slices.Clone(full), "PUT /api/things"), []string{"row PUT /api/things is neither documented nor registered"}},
		{"a row twice", append(slices.Clone(full), "GET /api/things"), []string{"row GET /api/things twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Uncovered(tt.rows, docs, regs)
			if len(got) != len(tt.want) {
				t.Fatalf("Uncovered = %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q, want it to say %q", i, got[i], tt.want[i])
				}
			}
		})
	}
}
