package e2e

// Durable files (issue 11): a full disk loses no message and the caller hears
// an apology; damaged spool files do not keep the call service from starting.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smallTmpfs mounts a tmpfs of size (e.g. "256k") at a fresh directory and
// fills it up; it is unmounted when the test ends.
func fullTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break // ENOSPC: full
		}
	}
	f.Close()
	return dir
}

// TestDiskFullVoicemailKeepsAsteriskCopy: the voicemail store is a full
// tmpfs. A caller leaves a message: it cannot be stored, so Asterisk's
// recording is kept (nothing lost), the caller hears the apology, the
// failure is counted for the alert and the call ends normally.
func TestDiskFullVoicemailKeepsAsteriskCopy(t *testing.T) {
	ensureRecordingDir(t)
	vmDir := fullTmpfs(t, "256k")
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+vmDir))

	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000077"
	res, _ := voiceCall(t, caller, rtp, 90*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	before := existingRecordings()
	mic.keys("2")
	waitRecordingStarted(t, before)
	mark := len(rtp.received())
	mic.say(speechSamples(t, "fallback-apology"))
	mic.keys("#")
	ev := h.waitEvent(caller, "call.voicemail_discarded", map[string]any{"reason": "store_failed"})
	id := fmt.Sprint(ev["message_id"])
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("sipp: %v\n%s", r.err, r.output)
	}
	if code := ariGet(t, "/recordings/stored/vm-"+id); code != http.StatusOK {
		t.Errorf("Asterisk's copy of the unstorable message: GET stored recording = %d, want 200 (kept)", code)
	}
	t.Cleanup(func() { _ = os.Remove(filepath.Join(recordingDir(), "vm-"+id+".wav")) })

	busy := readWAV(t, filepath.Join(st.dataDir, "sounds", "hotline", "system-busy.wav"))
	corr, _ := bestMatch(rtp.received()[mark:], busy)
	t.Logf("caller heard the apology with envelope correlation %.2f", corr)
	if corr < 0.7 {
		t.Errorf("the caller did not hear the apology (correlation %.2f)", corr)
	}
	resp, err := http.Get("http://" + h.callHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `hotline_store_failures_total{what="voicemail"} 1`) {
		t.Errorf("store failure not counted:\n%s", grepLines(string(b), "hotline_store_failures_total"))
	}
	var n int
	eventually(t, 20*time.Second, "the call's end", func() bool {
		_ = h.pool.QueryRow(t.Context(), `SELECT count(*) FROM calls WHERE caller = $1 AND ended_at IS NOT NULL`, caller).Scan(&n)
		return n == 1
	})
}

// TestDamagedSpoolFilesDoNotStopTheService: a truncated call record, callback
// request and spooled event (a crash or a full disk while writing) are moved
// aside as .bad and counted; the call service starts and takes calls.
func TestDamagedSpoolFilesDoNotStopTheService(t *testing.T) {
	base := t.TempDir()
	calls, callbacks, spool := filepath.Join(base, "calls"), filepath.Join(base, "callbacks"), filepath.Join(base, "spool")
	damaged := map[string]string{
		filepath.Join(calls, "vm-e2e-1.1.json"):                               `{"call_id":"vm-e2e-1.1","phase":"me`,
		filepath.Join(callbacks, "01a22c1e-6fec-78d2-8ba7-7156daea863a.json"): `{"event_id":"01a2`,
		filepath.Join(spool, "01a22c1e-6fec-78d2-8ba7-7156daea8640.json"):     `{"id":"01a22c1e-6fec-78d2`,
	}
	for path, body := range damaged {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	h := startHotline(t, withEnv("HOTLINE_CALLS_DIR="+calls, "HOTLINE_CALLBACK_SPOOL_DIR="+callbacks, "HOTLINE_SPOOL_DIR="+spool))
	eventually(t, 10*time.Second, "every damaged file moved aside", func() bool {
		for path := range damaged {
			if _, err := os.Stat(path + ".bad"); err != nil {
				return false
			}
		}
		return true
	})
	resp, err := http.Get("http://" + h.callHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"hotline_call_journal_quarantined_total 1",
		`hotline_spool_files_quarantined_total{spool="callbacks"} 1`,
		"hotline_event_spool_quarantined_total 1",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// And it takes calls.
	rtp := newRTPPeer(t, carrierIP)
	r := waitSIPp(t, carrierCall(t, "13800000078", rtp, 5*time.Second), 60*time.Second)
	if r.err != nil || rtp.loudFrameCount() < 50 {
		t.Fatalf("call after start with damaged spool files: %v (%d loud frames)\n%s", r.err, rtp.loudFrameCount(), r.output)
	}
}

// TestDiskFullEventSpoolLosesNoCall: the event spool is a full tmpfs. A call
// still gets its greeting (the citizen comes first); the events that cannot be
// spooled are counted; the call's record keeps its call.started and call.ended,
// and once there is room again the next start sends them: the call is stored
// with exactly one of each.
func TestDiskFullEventSpoolLosesNoCall(t *testing.T) {
	spool := fullTmpfs(t, "64k")
	h := startHotline(t, withEnv("HOTLINE_SPOOL_DIR="+spool, "HOTLINE_CALLS_DIR="+filepath.Join(t.TempDir(), "calls")))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000079"
	r := waitSIPp(t, carrierCall(t, caller, rtp, 6*time.Second), 60*time.Second)
	if r.err != nil || rtp.loudFrameCount() < 50 {
		t.Fatalf("call with a full spool: %v (%d loud frames)\n%s", r.err, rtp.loudFrameCount(), r.output)
	}
	var failures string
	eventually(t, 10*time.Second, "spool failures counted", func() bool {
		resp, err := http.Get("http://" + h.callHTTP + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		failures = grepLines(string(b), "hotline_event_spool_failures_total ")
		return failures != "" && !strings.HasSuffix(failures, " 0")
	})
	t.Logf("with the spool full: %s", failures)
	var n int
	_ = h.pool.QueryRow(t.Context(), `SELECT count(*) FROM calls WHERE caller = $1`, caller).Scan(&n)
	if n != 0 {
		t.Fatalf("the call reached casework although nothing could be spooled (%d rows)", n)
	}

	// Room again; the next start sends what the call's record kept.
	if err := os.Remove(filepath.Join(spool, "filler")); err != nil {
		t.Fatal(err)
	}
	h.callsvc.stop(t)
	h.callsvc = h.start("callsvc", "http://"+h.callHTTP+"/readyz")
	var started, ended int
	eventually(t, 30*time.Second, "the call stored from its record", func() bool {
		_ = h.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE type = 'call.started'), count(*) FILTER (WHERE type = 'call.ended')
			FROM events WHERE call_id IN (SELECT call_id FROM calls WHERE caller = $1)`, caller).Scan(&started, &ended)
		return started >= 1 && ended >= 1
	})
	var by string
	_ = h.pool.QueryRow(t.Context(), `SELECT hangup_by FROM calls WHERE caller = $1`, caller).Scan(&by)
	t.Logf("after the restart: %d call.started, %d call.ended, hangup_by %s", started, ended, by)
	if started != 1 || ended != 1 || by != "caller" {
		t.Errorf("call stored with %d call.started and %d call.ended, hangup_by %q; want one each, by the caller", started, ended, by)
	}
}
