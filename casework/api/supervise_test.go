package api_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
)

// TestSupervisorRoutes: who may read the wallboard and hear a case's
// recordings, ranges served, every listening audited, and a recording whose
// path leads out of the recordings directory refused.
func TestSupervisorRoutes(t *testing.T) {
	e := newCaseEnv(t)
	for who, want := range map[string]int{"supervisor": 200, "admin": 200, "agent": 403, "dongcheng": 403} {
		if r := e.do(who, "GET", "/api/v1/wallboard", ""); r.status != want {
			t.Errorf("wallboard as %s: %d, want %d", who, r.status, want)
		}
	}
	var b store.Wallboard
	r := e.do("supervisor", "GET", "/api/v1/wallboard", "")
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	if b.Waiting != 0 || b.Offered != 0 || b.AnswerRate24h != nil || b.AnswerRateGoal != 0.95 || b.ServiceLevelSec != 15 {
		t.Errorf("empty board: %s", r.body)
	}

	c := e.register(registerBody) // links call node-1.42
	wav := filepath.Join(e.recDir, "2026", "11", "30", "rec-1.wav")
	if err := os.MkdirAll(filepath.Dir(wav), 0o755); err != nil {
		t.Fatal(err)
	}
	audio := make([]byte, 4044)
	copy(audio, "RIFF")
	if err := os.WriteFile(wav, audio, 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.wav")
	if err := os.WriteFile(outside, audio, 0o644); err != nil {
		t.Fatal(err)
	}
	es := store.NewEventStore(e.pool)
	store.RegisterRoutingProjections(es)
	for id, uri := range map[string]string{"rec-1": wav, "rec-out": outside, "rec-up": e.recDir + "/../secret.wav"} {
		env, err := event.New(event.RecordingSaved, "test", "node-1.42", event.RecordingSavedPayload{RecordingID: id, URI: uri, DurationMS: 250, Format: "wav"})
		if err != nil {
			t.Fatal(err)
		}
		env.Time = time.Now()
		if err := es.Handle(context.Background(), env); err != nil {
			t.Fatal(err)
		}
	}
	for who, want := range map[string]int{"supervisor": 200, "agent": 200, "admin": 403, "dongcheng": 403} {
		if r := e.do(who, "GET", "/api/v1/cases/"+c.ID+"/media", ""); r.status != want {
			t.Errorf("media as %s: %d, want %d", who, r.status, want)
		}
	}
	var m store.CaseMedia
	if err := json.Unmarshal(e.do("supervisor", "GET", "/api/v1/cases/"+c.ID+"/media", "").body, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Recordings) != 3 {
		t.Fatalf("media lists %d recordings, want 3", len(m.Recordings))
	}
	before := e.count(`SELECT count(*) FROM audit_log WHERE object_type = 'recording' AND object_id = $1 AND role = 'supervisor'`, c.ID+"/rec-1")
	r = e.do("supervisor", "GET", "/api/v1/cases/"+c.ID+"/recordings/rec-1/audio", "", "Range", "bytes=0-99")
	if r.status != 206 || len(r.body) != 100 || r.header.Get("Content-Type") != "audio/wav" {
		t.Errorf("range of the recording: %d, %d bytes, %q", r.status, len(r.body), r.header.Get("Content-Type"))
	}
	if after := e.count(`SELECT count(*) FROM audit_log WHERE object_type = 'recording' AND object_id = $1 AND role = 'supervisor'`, c.ID+"/rec-1"); after != before+1 {
		t.Errorf("listening audited %d times, want %d", after, before+1)
	}
	for _, rid := range []string{"rec-out", "rec-up", "no-such"} {
		if r := e.do("supervisor", "GET", "/api/v1/cases/"+c.ID+"/recordings/"+rid+"/audio", ""); r.status != 404 {
			t.Errorf("recording %s: %d, want 404", rid, r.status)
		}
	}
	if r := e.do("dongcheng", "GET", "/api/v1/cases/"+c.ID+"/recordings/rec-1/audio", ""); r.status != 403 {
		t.Errorf("a unit hears the recording: %d", r.status)
	}
	if r := e.do("supervisor", "GET", "/api/v1/cases?due_before=2026-12-01&overdue=true", ""); r.status != 400 {
		t.Errorf("due_before with overdue: %d, want 400", r.status)
	}
}
