package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

// FuzzRegisterDecode: any body sent to POST /cases (and the action bodies)
// either decodes or is answered with a 4xx problem, never a panic or a 5xx; a
// decoded registration is either a valid case or a *domain.ValidationError the
// API answers with 422 — never another error that would be a 500.
func FuzzRegisterDecode(f *testing.F) {
	f.Add([]byte(`{"caller":{"name":"李四","phone":"13900139000"},"content":"道路积水","category":"complaint","region":"110101","urgency":"normal","confidentiality":"none","channel":"phone","handling_mode":"written_transfer"}`))
	f.Add([]byte(`{"caller":{"phone":"0"},"category":"举报","received_at":"2999-01-01T00:00:00Z","materials":[{"kind":"x","ref":"../../etc/passwd"}]}`))
	f.Add([]byte(`{"lead":"dongcheng","working_days":-1,"hours":1e99}`))
	f.Add([]byte(`{"a":1}{"b":2}`))
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	agent := domain.Actor{ID: "1001", Role: domain.RoleAgent}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/cases", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		var in registerRequest
		if !DecodeJSON(w, r, &in) {
			if w.Code < 400 || w.Code >= 500 {
				t.Fatalf("refused body answered %d", w.Code)
			}
			return
		}
		_, err := domain.NewCase("fuzz-case", domain.Registration{
			Number: "202612010001", Caller: in.Caller, ReceivedAt: at, Content: in.Content, Category: in.Category,
			Region: in.Region, Urgency: in.Urgency, Confidentiality: in.Confidentiality, Channel: in.Channel,
			HandlingMode: in.HandlingMode, QueryCode: "123456",
		}, agent, at)
		var ve *domain.ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("registration error %v is not a validation error (would be a 500)", err)
		}
		for _, target := range []any{&transferRequest{}, &reviewRequest{}, &callbackRequest{}} {
			r := httptest.NewRequest("POST", "/api/v1/cases/x/y", bytes.NewReader(body))
			w := httptest.NewRecorder()
			if !DecodeJSON(w, r, target) && w.Code >= http.StatusInternalServerError {
				t.Fatalf("action body answered %d", w.Code)
			}
		}
	})
}
