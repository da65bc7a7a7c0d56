package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/event"
)

// TestCallIsGreetedAndStored: the carrier calls 12345, the caller hears the Mandarin
// greeting as real audio, hangs up, and the call is in PostgreSQL with its caller
// number, times, duration, who hung up and its events.
func TestCallIsGreetedAndStored(t *testing.T) {
	h := startHotline(t)
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800138000"
	r := waitSIPp(t, carrierCall(t, caller, rtp, 7*time.Second), 60*time.Second)
	if r.err != nil {
		t.Fatalf("carrier call failed: %v\n%s", r.err, r.output)
	}
	packets, secs, loud := rtp.audioStats()
	t.Logf("caller received %d RTP packets, %.1fs of audio, %d non-silent 20 ms frames", packets, secs, loud)
	if loud < 50 { // at least a second of speech
		t.Fatalf("the greeting was not heard: %d non-silent frames in %.1fs", loud, secs)
	}

	ctx := context.Background()
	var (
		gotCaller, hangupBy, outcome string
		started, ended               time.Time
		durationMS                   int64
		events                       int
	)
	eventually(t, 20*time.Second, "the call row with its end", func() bool {
		err := h.pool.QueryRow(ctx, `SELECT c.caller, c.started_at, c.ended_at, c.duration_ms, c.hangup_by, c.outcome,
				(SELECT count(*) FROM events e WHERE e.call_id = c.call_id)
			FROM calls c WHERE c.caller = $1 AND c.ended_at IS NOT NULL`, caller).
			Scan(&gotCaller, &started, &ended, &durationMS, &hangupBy, &outcome, &events)
		return err == nil
	})
	if hangupBy != "caller" {
		t.Errorf("hangup_by = %q, want caller", hangupBy)
	}
	if durationMS < 6000 || durationMS > 20000 {
		t.Errorf("duration = %d ms, want about 7 s", durationMS)
	}
	if !ended.After(started) {
		t.Errorf("ended %v not after started %v", ended, started)
	}
	if events < 2 {
		t.Errorf("events for the call = %d, want call.started and call.ended", events)
	}
	t.Logf("stored: caller %s, %d ms, hung up by %s, outcome %s, %d events", gotCaller, durationMS, hangupBy, outcome, events)
}

// TestFallbackAnswersWithoutCallService: with no call service connected, a call to
// 12345 is still answered and the caller hears the apology (then voicemail).
func TestFallbackAnswersWithoutCallService(t *testing.T) {
	rtp := newRTPPeer(t, carrierIP)
	r := waitSIPp(t, carrierCall(t, "13900139000", rtp, 8*time.Second), 60*time.Second)
	if r.err != nil {
		t.Fatalf("carrier call failed (no answer from the fallback?): %v\n%s", r.err, r.output)
	}
	packets, secs, loud := rtp.audioStats()
	t.Logf("fallback: %d RTP packets, %.1fs of audio, %d non-silent frames", packets, secs, loud)
	if loud < 50 {
		t.Fatalf("the apology was not heard: %d non-silent frames", loud)
	}
	if !fallbackLogged(t, "13900139000") {
		t.Fatal("Asterisk's log has no fallback for the caller: something else answered")
	}
}

// fallbackLogged tells whether the dialplan's fallback (apology + native
// voicemail) handled a call from caller on the test instance.
func fallbackLogged(t *testing.T, caller string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(st.dataDir, "asterisk", st.instance, "log", "messages.log"))
	if err != nil {
		t.Fatalf("read Asterisk log: %v", err)
	}
	log := string(b)
	if strings.Contains(log, caller) {
		t.Errorf("Asterisk's log shows the caller's number %s unmasked", caller)
	}
	return strings.Contains(log, "fallback voicemail for "+event.MaskNumber(caller)+" ")
}
