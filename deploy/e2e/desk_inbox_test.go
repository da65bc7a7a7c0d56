package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// TestDeskVoicemailPlayedAndFiled: a message left off-hours is in the agent's
// inbox on the desktop; the page plays it (the audio element reaches ended),
// which marks it heard by the agent, and files it as a case from the form.
func TestDeskVoicemailPlayedAndFiled(t *testing.T) {
	ensureRecordingDir(t)
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_VOICEMAIL_DIR="+t.TempDir()),
		beforeCallService(func(h *hotline) { h.env = append(h.env, "HOTLINE_CASEWORK_URL=http://"+h.caseHTTP) }))
	const staff, caller = "2003", "13800000231"
	h.addDeskAgent(t, staff, "留言话务员")
	if _, err := store.NewUnits(h.pool, nil).Create(context.Background(),
		store.Unit{Unit: domain.Unit{ID: "vm-center", Name: "12345热线中心", Level: 1}, Active: true}); err != nil {
		t.Fatal(err)
	}

	vm := leaveVoicemail(t, h, caller)
	id := fmt.Sprint(vm["message_id"])

	b := newBrowser(t, "")
	b.signIn("http://"+h.caseHTTP, staff, deskPassword, "sip")
	sel := fmt.Sprintf(`document.querySelector('#vm-list li[data-id=%q]')`, id)
	b.waitJS(20*time.Second, "the message in the inbox", sel+` !== null`)
	b.shot("inbox")
	start := time.Now()
	b.waitJS(5*time.Second, "playback started", `(() => { const a = `+sel+`.querySelector('audio'); window.desk.vmEnded = false;
		a.addEventListener('ended', () => { window.desk.vmEnded = true; }); return a.play().then(() => true); })()`)
	b.waitJS(60*time.Second, "the audio element reaching ended", `window.desk.vmEnded === true`)
	dur, _ := eval[float64](b, sel+`.querySelector('audio').duration`)
	t.Logf("played message %s in the page: %.1f s of audio, ended after %s", id, dur, time.Since(start).Round(100*time.Millisecond))
	var heardBy string
	if err := h.pool.QueryRow(context.Background(), `SELECT COALESCE(heard_by, '') FROM voicemails WHERE id = $1`, id).Scan(&heardBy); err != nil {
		t.Fatal(err)
	}
	if heardBy != staff {
		t.Errorf("message heard by %q, want %s (listening in the page marks it)", heardBy, staff)
	}

	// The button is clicked from the page itself: the inbox pane scrolls on
	// its own, and a mouse click waits for layout that a list refresh moves.
	if _, err := eval[bool](b, sel+`.querySelector('.vm-file').click() === undefined`); err != nil {
		t.Fatalf("file as a case: %v", err)
	}
	b.waitJS(5*time.Second, "the form pre-filled", fmt.Sprintf(`document.getElementById('f-phone').value === %q`, caller))
	b.run("fill the case form",
		chromedp.SetValue(chromedp.CSS("#f-content"), "留言反映：小区路灯不亮"),
		chromedp.Click(chromedp.CSS(`input[name=action][value=answer]`)),
		chromedp.SetValue(chromedp.CSS("#f-text"), "已告知市民报修电话，路灯所将于三日内维修"),
		chromedp.Click(chromedp.CSS("#btn-register")))
	b.waitJS(20*time.Second, "the case registered from the message", `document.getElementById('case-result').textContent.includes('已直接答复')`)
	t.Logf("page: %s", b.text("case-result"))
	var caseID, state string
	if err := h.pool.QueryRow(context.Background(), `SELECT v.case_id, c.state FROM voicemails v JOIN cases c ON c.id = v.case_id WHERE v.id = $1`, id).Scan(&caseID, &state); err != nil {
		t.Fatalf("the message's case: %v", err)
	}
	t.Logf("message %s filed on case %s (%s)", id, caseID, state)
	b.waitJS(10*time.Second, "the message gone from the inbox", sel+` === null`)
}
