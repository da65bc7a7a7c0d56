package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestVoiceMenuOffHoursVoicemail: outside staffed hours (mode closed) the caller
// hears the greeting, "non-staffed hours" and the menu, keys 2, records a
// spoken message after the beep and ends it with #. The message is stored with
// non-silent audio, call.menu_choice and call.voicemail_left are in PostgreSQL,
// and the hotline thanks the caller and hangs up.
func TestVoiceMenuOffHoursVoicemail(t *testing.T) {
	ensureRecordingDir(t)
	vmDir := t.TempDir()
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+vmDir))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000021"
	res, _ := voiceCall(t, caller, rtp, 90*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	before := existingRecordings()
	keyAt := time.Now()
	mic.keys("2") // typed ahead during the greeting: the menu takes it at once
	waitRecordingStarted(t, before)
	t.Logf("key 2 to recording started: %v (greeting rest + instructions + beep)", time.Since(keyAt).Round(10*time.Millisecond))
	speech := speechSamples(t, "greeting")
	mic.say(speech)
	mic.keys("#")

	vm := h.waitEvent(caller, "call.voicemail_left", map[string]any{"reason": "dtmf"})
	uri := fmt.Sprint(vm["uri"])
	dur, voiced, err := wavVoiced(uri)
	if err != nil {
		t.Fatalf("stored message %s: %v", uri, err)
	}
	fi, _ := os.Stat(uri)
	t.Logf("message %s: %v long, %v voiced, %d bytes (caller spoke %v)", uri, dur, voiced, fi.Size(),
		time.Duration(len(speech))*time.Second/8000)
	if voiced < 2*time.Second {
		t.Errorf("stored message has only %v of sound", voiced)
	}
	if _, err := os.Stat(uri[:len(uri)-len(".wav")] + ".json"); err != nil {
		t.Errorf("metadata beside the message: %v", err)
	}
	r := waitSIPp(t, res, 60*time.Second)
	if r.err != nil {
		t.Fatalf("call did not end with the hotline's BYE: %v\n%s", r.err, r.output)
	}
	if got := h.menuChoices(caller); !slices.Equal(got, []string{"voicemail"}) {
		t.Errorf("menu choices = %v, want [voicemail]", got)
	}
	started := h.waitEvent(caller, "call.started", nil)
	if started["staffed"] != false {
		t.Errorf("call.started staffed = %v, want false (mode closed)", started["staffed"])
	}
	var outcome, by string
	eventually(t, 20*time.Second, "the call's end", func() bool {
		return h.pool.QueryRow(context.Background(), `SELECT outcome, hangup_by FROM calls WHERE caller=$1 AND ended_at IS NOT NULL`,
			caller).Scan(&outcome, &by) == nil
	})
	if outcome != "voicemail" || by != "system" {
		t.Errorf("call outcome %q hung up by %q, want voicemail by system", outcome, by)
	}
	resp, err := http.Get("http://" + h.callHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, series := range []string{
		`hotline_menu_choices_total{choice="voicemail",menu="main"} 1`,
		`hotline_voicemails_total{reason="dtmf",result="left"} 1`,
		`hotline_voicemail_length_seconds_count 1`,
	} {
		if !strings.Contains(string(metrics), series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}

// TestVoiceMenuTimeoutsDefaultAndSilenceDiscarded: a caller who presses nothing
// hears "no input" and the menu again up to the retry limit, then "too many
// errors" and the default route, voicemail; the message is pure line noise and
// is discarded with reason "silence"; the hotline hangs up.
func TestVoiceMenuTimeoutsDefaultAndSilenceDiscarded(t *testing.T) {
	ensureRecordingDir(t)
	vmDir := t.TempDir()
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+vmDir,
		"HOTLINE_MENU_FIRST_TIMEOUT=2s", "HOTLINE_VOICEMAIL_MAX_SILENCE=2s"))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000022"
	res, _ := voiceCall(t, caller, rtp, 120*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	rtp.startLine(t)
	d := h.waitEvent(caller, "call.voicemail_discarded", nil)
	if d["reason"] != "silence" {
		t.Errorf("discard reason = %v, want silence", d["reason"])
	}
	r := waitSIPp(t, res, 60*time.Second)
	if r.err != nil {
		t.Fatalf("call did not end with the hotline's BYE: %v\n%s", r.err, r.output)
	}
	want := []string{"timeout", "timeout", "timeout", "default"}
	if got := h.menuChoices(caller); !slices.Equal(got, want) {
		t.Errorf("menu choices = %v, want %v", got, want)
	}
	for _, ev := range h.eventsOfCaller(caller) {
		if ev.Type == "call.voicemail_left" {
			t.Errorf("silence was kept as a message: %v", ev.Payload)
		}
	}
	_, secs, loud := rtp.audioStats()
	t.Logf("caller heard %d non-silent frames in %.1fs", loud, secs)
	// greeting, closed hours, 3 menus, 2 "no input", "too many errors",
	// instructions, "not heard", goodbye: well over 20 s of speech.
	if loud < 1000 {
		t.Errorf("the prompts were not heard: %d non-silent frames", loud)
	}
	entries, _ := os.ReadDir(vmDir)
	for _, e := range entries {
		if e.Name() != "tmp" {
			t.Errorf("discarded message left %s in the store", e.Name())
		}
	}
}

// TestVoiceMenuInvalidKeyThenHangupMidMessage: an invalid key gets the short
// re-prompt and the menu again; then 2, and the caller hangs up while speaking:
// what was said is kept (reason hangup).
func TestVoiceMenuInvalidKeyThenHangupMidMessage(t *testing.T) {
	ensureRecordingDir(t)
	vmDir := t.TempDir()
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+vmDir))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000023"
	res, hangUp := voiceCall(t, caller, rtp, 120*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	mic.keys("7")
	h.waitEvent(caller, "call.menu_choice", map[string]any{"choice": "invalid", "key": "7"})
	heard := rtp.loudFrameCount()
	waitHeard(t, rtp, heard+50, "the re-prompt after the invalid key")
	before := existingRecordings()
	mic.keys("2")
	keyAt := time.Now()
	h.waitEvent(caller, "call.menu_choice", map[string]any{"choice": "voicemail", "attempt": 2})
	t.Logf("key 2 to call.menu_choice stored in PostgreSQL: %v", time.Since(keyAt).Round(time.Millisecond))
	waitRecordingStarted(t, before)
	mic.say(speechSamples(t, "voicemail-instructions"))
	hangUp()
	vm := h.waitEvent(caller, "call.voicemail_left", nil)
	if vm["reason"] != "hangup" {
		t.Errorf("reason = %v, want hangup", vm["reason"])
	}
	_, voiced, err := wavVoiced(fmt.Sprint(vm["uri"]))
	if err != nil || voiced < 2*time.Second {
		t.Errorf("kept message: %v voiced, err %v", voiced, err)
	}
	t.Logf("kept after hang-up: %v", vm)
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("sipp: %v\n%s", r.err, r.output)
	}
	if got := h.menuChoices(caller); !slices.Equal(got, []string{"invalid", "voicemail"}) {
		t.Errorf("menu choices = %v, want [invalid voicemail]", got)
	}
}

// TestVoiceInHoursWithoutAgents documents the in-hours path when no agent can
// take the call (no queue configured, or human service declines with
// ErrNoAgent): the caller hears the recording notice, "all agents busy" and the
// menu, and the call is marked staffed.
func TestVoiceInHoursWithoutAgents(t *testing.T) {
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=open"))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000024"
	res, hangUp := voiceCall(t, caller, rtp, 120*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	// Let the greeting, the notice and "all agents busy" play: more than 8 s
	// of speech, then repeat the menu.
	waitHeard(t, rtp, 400, "the recording notice and the menu")
	mic.keys("0")
	h.waitEvent(caller, "call.menu_choice", map[string]any{"choice": "repeat", "key": "0"})
	hangUp()
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("sipp: %v\n%s", r.err, r.output)
	}
	started := h.waitEvent(caller, "call.started", nil)
	if started["staffed"] != true {
		t.Errorf("call.started staffed = %v, want true (mode open)", started["staffed"])
	}
}

// TestVoiceMenuKeyBurstCountsOnce: a burst of invalid keys ("*#*#9", about
// 260 ms apart, as a caller mashing the keypad) while the menu plays is one
// error: the caller hears the re-prompt and the menu again, and the next valid
// key is taken. Before the fix each key of the burst interrupted the re-prompt
// and counted, so the caller (already one error down) was sent to voicemail
// by "too many errors" without hearing a re-prompt.
func TestVoiceMenuKeyBurstCountsOnce(t *testing.T) {
	ensureRecordingDir(t)
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+t.TempDir()))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13800000031"
	res, hangUp := voiceCall(t, caller, rtp, 120*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	// Keys typed during the greeting wait for the menu: one wrong key first, so
	// the burst comes while the hotline is talking again.
	mic.keys("7")
	h.waitEvent(caller, "call.menu_choice", map[string]any{"choice": "invalid", "key": "7"})
	heard := rtp.loudFrameCount()
	waitHeard(t, rtp, heard+50, "the re-prompt after the wrong key")
	mic.keys("*#*#9")
	heard = rtp.loudFrameCount()
	waitHeard(t, rtp, heard+100, "the re-prompt and the menu after the burst")
	mic.keys("2")
	h.waitEvent(caller, "call.menu_choice", map[string]any{"choice": "voicemail"})
	hangUp()
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("sipp: %v\n%s", r.err, r.output)
	}
	got := h.menuChoices(caller)
	invalid := 0
	for _, c := range got {
		if c == "invalid" {
			invalid++
		}
	}
	// The burst counts once, or not at all when it fell into the re-prompt
	// (keys typed before the caller heard the menu again are dropped).
	if slices.Contains(got, "default") || invalid < 1 || invalid > 2 || got[len(got)-1] != "voicemail" {
		t.Errorf("menu choices = %v, want 1-2 invalid then voicemail by key: the burst counted more than once", got)
	}
	t.Logf("menu choices %v", got)
}
