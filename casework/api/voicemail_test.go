package api_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
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

// TestWithheldCallerVoicemailBecomesACase: a message from a caller who withheld
// the number is listed without a caller (as openapi.yaml documents) and files on
// a case without a phone: the carrier's "anonymous" marker is not a number.
func TestWithheldCallerVoicemailBecomesACase(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	vms := store.NewVoicemails(e.pool)
	e.srv.MountVoicemails(api.VoicemailRoutes{Service: e.svc, Voicemails: vms})
	es := store.NewEventStore(e.pool)
	store.RegisterVoiceProjections(es)
	for _, marker := range []string{"anonymous", "Anonymous", "unknown", "restricted"} {
		t.Run(marker, func(t *testing.T) {
			callID := "node-1." + marker
			start, err := event.New(event.CallStarted, "test", callID, event.CallStartedPayload{
				Caller: marker, Anonymous: true, Direction: "inbound", Called: "12345"})
			if err != nil {
				t.Fatal(err)
			}
			id := uuid.NewString()
			left, err := event.New(event.VoicemailLeft, "test", callID, event.VoicemailPayload{
				MessageID: id, Caller: marker, URI: "/var/lib/hotline12345/voicemail/" + id + ".wav", DurationMS: 3000, Reason: "hangup"})
			if err != nil {
				t.Fatal(err)
			}
			for _, env := range []event.Envelope{start, left} {
				env.Time = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // before the test clock's actions

				if err := es.Handle(ctx, env); err != nil {
					t.Fatal(err)
				}
			}
			r := e.do("agent", "GET", "/api/v1/voicemails/"+id, "")
			var listed map[string]any
			r.decode(t, &listed)
			if r.status != 200 || listed["caller"] != nil {
				t.Fatalf("voicemail: %d %s, want no caller", r.status, r.body)
			}
			r = e.do("agent", "POST", "/api/v1/voicemails/"+id+"/case", `{"content":"留言反映路灯不亮","category":"help",
				"region":"110101","urgency":"normal","confidentiality":"none","handling_mode":"written_transfer"}`)
			if r.status != 201 {
				t.Fatalf("file withheld caller's message: %d %s", r.status, r.body)
			}
			var v view
			r.decode(t, &v)
			if v.Caller.Phone != "" {
				t.Fatalf("case phone %q, want none", v.Caller.Phone)
			}
			var caller *string
			if err := e.pool.QueryRow(ctx, `SELECT caller FROM calls WHERE call_id = $1`, callID).Scan(&caller); err != nil || caller != nil {
				t.Fatalf("calls.caller %v (%v), want NULL", caller, err)
			}
		})
	}
}

// Every list view, search by phone and voicemail or fax metadata read is in
// the audit log, with who and what (T13: who looked for which caller).
func TestListsSearchesAndMetadataReadsAreAudited(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	vms := store.NewVoicemails(e.pool)
	e.srv.MountVoicemails(api.VoicemailRoutes{Service: e.svc, Voicemails: vms})
	e.srv.MountFaxes(api.FaxRoutes{Service: e.svc, Faxes: store.NewFaxes(e.pool)})
	es := store.NewEventStore(e.pool)
	store.RegisterVoiceProjections(es)
	id := uuid.NewString()
	left, err := event.New(event.VoicemailLeft, "test", "node-9.1", event.VoicemailPayload{
		MessageID: id, Caller: "13900139001", URI: "/var/lib/hotline12345/voicemail/" + id + ".wav", DurationMS: 3000, Reason: "hangup"})
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Handle(ctx, left); err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ who, path string }{
		{"agent", "/api/v1/cases?phone=13900139000"},
		{"supervisor", "/api/v1/cases?state=transferred"},
		{"agent", "/api/v1/voicemails"},
		{"agent", "/api/v1/voicemails/" + id},
		{"agent", "/api/v1/faxes"},
	} {
		if r := e.do(req.who, "GET", req.path, ""); r.status != 200 {
			t.Fatalf("GET %s: %d %s", req.path, r.status, r.body)
		}
	}
	for _, want := range []struct {
		user, action, typ, id string
	}{
		{"agent", "list", "cases", "phone=13900139000"},
		{"supervisor", "list", "cases", "state=transferred"},
		{"agent", "list", "voicemails", ""},
		{"agent", "read", "voicemail_metadata", id},
		{"agent", "list", "faxes", ""},
	} {
		if n := e.count(`SELECT count(*) FROM audit_log WHERE user_id = $1 AND action = $2 AND object_type = $3 AND object_id = $4`,
			e.userID[want.user], want.action, want.typ, want.id); n != 1 {
			t.Errorf("audit entries for %s %s %s %q: %d, want 1", want.user, want.action, want.typ, want.id, n)
		}
	}
}

// A voicemail_left event can be forged by anyone who can publish to NATS: its
// URI is never opened on trust. Audio is served only from inside the
// configured voicemail directory, not through "..", not through a symbolic
// link out of it; the refusal is logged.
func TestVoicemailAudioOnlyFromItsDirectory(t *testing.T) {
	ctx := context.Background()
	e := newCaseEnv(t)
	dir := t.TempDir()
	vms := store.NewVoicemails(e.pool)
	e.srv.MountVoicemails(api.VoicemailRoutes{Service: e.svc, Voicemails: vms, Dir: dir})
	es := store.NewEventStore(e.pool)
	store.RegisterVoiceProjections(es)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 28)...)
	if err := os.WriteFile(filepath.Join(dir, "good.wav"), wav, 0o600); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("HOTLINE_ARI_PASSWORD=secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.wav")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, uri string
		status    int
	}{
		{"inside", filepath.Join(dir, "good.wav"), 200},
		{"forged absolute path", "/proc/self/environ", 404},
		{"dot-dot out of the directory", filepath.Join(dir, "..", filepath.Base(filepath.Dir(outside)), "secret.txt"), 404},
		{"symbolic link out of the directory", filepath.Join(dir, "link.wav"), 404},
		{"removed", filepath.Join(dir, "gone.wav"), 410},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := uuid.NewString()
			left, err := event.New(event.VoicemailLeft, "forger", "node-6."+id[:8], event.VoicemailPayload{
				MessageID: id, Caller: "13900139002", URI: tc.uri, DurationMS: 1000, Reason: "hangup"})
			if err != nil {
				t.Fatal(err)
			}
			if err := es.Handle(ctx, left); err != nil {
				t.Fatal(err)
			}
			r := e.do("agent", "GET", "/api/v1/voicemails/"+id+"/audio", "")
			if r.status != tc.status || strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "HOTLINE_") {
				t.Fatalf("audio of %s: %d %q, want %d", tc.uri, r.status, r.body, tc.status)
			}
		})
	}
	if e.logs.FilterMessage("refused to serve a stored path outside its directory (forged event?)").Len() != 3 {
		t.Errorf("refusals logged %d times, want 3", e.logs.FilterMessage("refused to serve a stored path outside its directory (forged event?)").Len())
	}
}
