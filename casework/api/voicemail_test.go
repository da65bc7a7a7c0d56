package api_test

import (
	"slices"
	"testing"
)

// TestOpenAPIDocumentsVoicemailRoutes: every voicemail and fax route is in openapi.yaml.
// (The routes themselves are exercised end to end in deploy/e2e
// TestVoiceVoicemailToCase, with a real message.)
func TestOpenAPIDocumentsVoicemailRoutes(t *testing.T) {
	got := documented(t)
	for _, op := range []string{
		"GET /voicemails",
		"GET /voicemails/{id}",
		"GET /voicemails/{id}/audio",
		"POST /voicemails/{id}/case",
		"GET /faxes",
		"GET /faxes/{id}",
		"GET /faxes/{id}/pdf",
		"POST /faxes/{id}/case",
	} {
		if !slices.Contains(got, op) {
			t.Errorf("%s is routed but not in openapi.yaml", op)
		}
	}
}
