package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// caseworkAPI calls the casework API with token.
func (h *hotline) caseworkAPI(token, method, path string, body any) (int, http.Header, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+h.caseHTTP+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// newUserToken creates a user with role (agents get staff number staff) and
// returns a bearer token.
func (h *hotline) newUserToken(name string, role domain.Role, staff string) string {
	return h.newUserTokenIn(name, role, staff, "")
}

func (h *hotline) newUserTokenIn(name string, role domain.Role, staff, unitID string) string {
	h.t.Helper()
	ctx := context.Background()
	users := store.NewUsers(h.pool)
	u, err := users.Create(ctx, store.NewUser{Name: name, Role: role, Staff: staff, UnitID: unitID})
	if err != nil {
		h.t.Fatal(err)
	}
	_, secret, err := access.IssueToken(ctx, users, u.ID, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// TestVoiceVoicemailToCase: a message left off-hours reaches casework: an agent
// lists it as new, listens to it over the API (audio/wav, the stored bytes; the
// message is then marked heard by that agent with the time) and turns it into a
// case in one step; the case has the message as material and the message leaves
// the list. A second attempt is refused.
func TestVoiceVoicemailToCase(t *testing.T) {
	ensureRecordingDir(t)
	vmDir := t.TempDir()
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+vmDir))
	agent := h.newUserToken("话务员", domain.RoleAgent, "1009")
	if _, err := store.NewUnits(h.pool, nil).Create(context.Background(),
		store.Unit{Unit: domain.Unit{ID: "vm-center", Name: "12345热线中心", Level: 1}, Active: true}); err != nil {
		t.Fatal(err)
	}
	unit := h.newUserTokenIn("单位", domain.RoleUnit, "", "vm-center")

	const caller = "13800000031"
	vm := leaveVoicemail(t, h, caller)
	id := fmt.Sprint(vm["message_id"])

	type item struct {
		ID         string `json:"id"`
		Caller     string `json:"caller"`
		DurationMS int64  `json:"duration_ms"`
		HeardBy    string `json:"heard_by"`
		HeardAt    string `json:"heard_at"`
		CaseID     string `json:"case_id"`
	}
	var list struct{ Items []item }
	eventually(t, 20*time.Second, "the message in GET /voicemails", func() bool {
		code, _, body := h.caseworkAPI(agent, "GET", "/api/v1/voicemails", nil)
		if code != http.StatusOK {
			t.Fatalf("GET /voicemails: %d %s", code, body)
		}
		_ = json.Unmarshal(body, &list)
		return len(list.Items) == 1
	})
	if got := list.Items[0]; got.ID != id || got.Caller != caller || got.DurationMS < 3000 || got.HeardAt != "" {
		t.Fatalf("listed %+v, want message %s from %s, >= 3 s, not heard", got, id, caller)
	}
	if code, _, _ := h.caseworkAPI(unit, "GET", "/api/v1/voicemails", nil); code != http.StatusForbidden {
		t.Errorf("a unit listing voicemails got %d, want 403", code)
	}

	code, hdr, audio := h.caseworkAPI(agent, "GET", "/api/v1/voicemails/"+id+"/audio", nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "audio/wav" {
		t.Fatalf("audio: %d %s", code, hdr.Get("Content-Type"))
	}
	stored, _ := os.ReadFile(fmt.Sprint(vm["uri"]))
	if !bytes.Equal(audio, stored) || !bytes.HasPrefix(audio, []byte("RIFF")) {
		t.Fatalf("streamed %d bytes, stored %d bytes: not the same WAV", len(audio), len(stored))
	}
	t.Logf("streamed message %s: %d bytes of audio/wav", id, len(audio))
	var one item
	_, _, body := h.caseworkAPI(agent, "GET", "/api/v1/voicemails/"+id, nil)
	_ = json.Unmarshal(body, &one)
	if one.HeardBy != "1009" || one.HeardAt == "" {
		t.Errorf("after listening: heard_by %q at %q, want agent 1009 with a time", one.HeardBy, one.HeardAt)
	}

	reg := map[string]any{"caller": map[string]any{"name": "留言市民"}, "content": "留言反映：小区路灯不亮",
		"category": "complaint", "region": "110101", "urgency": "normal", "confidentiality": "none",
		"handling_mode": "written_transfer"}
	code, _, body = h.caseworkAPI(agent, "POST", "/api/v1/voicemails/"+id+"/case", reg)
	if code != http.StatusCreated {
		t.Fatalf("voicemail to case: %d %s", code, body)
	}
	var c map[string]any
	_ = json.Unmarshal(body, &c)
	if !strings.Contains(string(body), fmt.Sprint(vm["uri"])) || !strings.Contains(string(body), caller) {
		t.Errorf("case lacks the message as material or the caller's number: %s", body)
	}
	t.Logf("case %v (%v) registered from message %s", c["number"], c["id"], id)
	if code, _, _ := h.caseworkAPI(agent, "POST", "/api/v1/voicemails/"+id+"/case", reg); code != http.StatusConflict {
		t.Errorf("second case from the same message: %d, want 409", code)
	}
	_, _, body = h.caseworkAPI(agent, "GET", "/api/v1/voicemails", nil)
	list.Items = nil
	_ = json.Unmarshal(body, &list)
	if len(list.Items) != 0 {
		t.Errorf("message still listed as new after becoming a case: %s", body)
	}
}
