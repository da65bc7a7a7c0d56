package problem_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
)

func TestErrorMapping(t *testing.T) {
	ve := func(f string) error { return &domain.ValidationError{Field: f, Reason: "bad"} }
	tests := []struct {
		name     string
		err      error
		status   int
		typ      string
		pointers []string
	}{
		{"one field", fmt.Errorf("create: %w", ve("duty_line")), 422, problem.TypeValidation, []string{"#/duty_line"}},
		{"joined fields", fmt.Errorf("create: %w", errors.Join(ve("id"), ve("caller.phone"))), 422, problem.TypeValidation, []string{"#/id", "#/caller/phone"}},
		{"not found", fmt.Errorf("case 1: %w", domain.ErrNotFound), 404, problem.TypeNotFound, nil},
		{"forbidden", &domain.ForbiddenError{Actor: domain.Actor{ID: "u", Role: domain.RoleUnit}, Action: "close", Reason: "not yours"}, 403, problem.TypeForbidden, nil},
		{"transition", &domain.TransitionError{From: "archived", Action: "close"}, 409, problem.TypeInvalidTransition, nil},
		{"conflict", fmt.Errorf("x: %w", domain.ErrConflict), 409, problem.TypeConflict, nil},
		{"too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 1}), 413, problem.TypeTooLarge, nil},
		{"anything else", errors.New("pq: connection refused to 10.0.0.5"), 500, problem.TypeInternal, nil},
	}
	for _, tt := range tests {
		core, logs := observer.New(zap.InfoLevel)
		r := httptest.NewRequest("GET", "/api/v1/cases/1", nil)
		r = r.WithContext(reqctx.Start(context.Background(), "req-9", zap.New(core)))
		w := httptest.NewRecorder()
		problem.Error(w, r, tt.err)
		var p problem.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if w.Code != tt.status || p.Status != tt.status || p.Type != tt.typ || p.Instance != "/api/v1/cases/1" || p.RequestID != "req-9" {
			t.Errorf("%s: %d %+v", tt.name, w.Code, p)
		}
		var ptrs []string
		for _, e := range p.Errors {
			ptrs = append(ptrs, e.Pointer)
		}
		if fmt.Sprint(ptrs) != fmt.Sprint(tt.pointers) {
			t.Errorf("%s: pointers %v, want %v", tt.name, ptrs, tt.pointers)
		}
		if tt.status == 500 {
			if p.Detail == "" || strings.Contains(w.Body.String(), "10.0.0.5") {
				t.Errorf("%s: 500 leaks the error: %s", tt.name, w.Body)
			}
			if logs.FilterMessage("request failed").FilterField(zap.String("request_id", "req-9")).Len() != 1 {
				t.Errorf("%s: not logged with the request id", tt.name)
			}
		}
	}
}
