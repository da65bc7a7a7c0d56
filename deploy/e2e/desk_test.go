package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDeskBrowserSoftphoneCall: an agent created with one hotlinectl command
// signs in on the desktop in a real Chromium with a password (a wrong one is
// refused with a message first), chooses the browser softphone and gets ready.
// A citizen calls 12345 in staffed hours; the page rings, the test clicks
// answer; the citizen hears the staff-number prompt and then the agent (the
// page's microphone is a 1400 Hz tone), and the page hears the citizen (WebRTC
// inbound audio energy). The screen pop shows the caller's earlier case. The
// agent registers the case from the form and transfers it to a unit: it is in
// PostgreSQL with the call linked and the recording in its file. Then the agent
// dials the unit's duty line into a three-way call from the page and leaves:
// citizen and unit still talk.
func TestDeskBrowserSoftphoneCall(t *testing.T) {
	if rtDutyPort == 0 {
		t.Skip("duty-line port not set by this package (DUTYLINE_PORT given from outside)")
	}
	start := time.Now()
	e := startRouting(t)
	const staff, caller = "2001", "13900139201"
	e.addDeskAgent(t, staff, "网页话务员")
	base := "http://" + e.caseHTTP
	files, weight := pageWeight(t, base, "/desk/", "/desk/app.css", "/desk/common.js", "/desk/app.js", "/desk/phone.js", "/desk/vendor/jssip.min.js")
	t.Logf("first page load: %d files, %.1f KB on the wire (gzip)", files, float64(weight)/1024)

	// The duty line answers and talks with its tone; the citizen with theirs.
	rtpU := newRTPPeer(t, rtDutyIP)
	talk(t, rtpU, unitTone)
	rtUAS(t, "routing_uas_answer.xml", rtDutyIP, rtDutyPort, rtpU)
	// An earlier case of this caller, for the screen pop.
	earlier := e.registerCase(t, "1001", caller, "complaint")
	_, earlierBody := e.caseworkGet(t, "1001", "/api/v1/cases/"+earlier)
	var ec struct{ Number string }
	_ = json.Unmarshal([]byte(earlierBody), &ec)

	b := newBrowser(t, micWAV(t, agentTone))
	b.signIn(base, staff, "wrong-password-1", "browser")
	b.waitJS(10*time.Second, "the wrong-password message", `document.getElementById('signin-error').textContent.includes('密码错误')`)
	t.Logf("wrong password: %q", b.text("signin-error"))
	b.signIn(base, staff, deskPassword, "browser")
	b.waitJS(20*time.Second, "the softphone registered", `document.getElementById('phone-status').textContent === '已注册'`)
	b.run("get ready", chromedp.Click(chromedp.CSS("#btn-ready")))
	b.waitJS(10*time.Second, "state ready", `document.body.dataset.agentState === 'ready'`)
	b.shot("idle")

	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, citizenTone)
	res, hangUp := rtCitizen(t, caller, rtp)
	b.waitJS(60*time.Second, "the page ringing", `!document.getElementById('incoming').hidden`)
	b.shot("ringing")
	queued := e.waitEventOf(t, caller, "call.queued")
	invite, _ := eval[float64](b, `window.desk.timing.invite`)
	painted, _ := eval[float64](b, `window.desk.timing.ringPainted || 0`)
	ringAt := time.UnixMilli(int64(invite))
	t.Logf("queued → INVITE at the page: %s; INVITE → ringing painted: %d ms", ringAt.Sub(queued.At).Round(time.Millisecond), int64(painted-invite))
	if from := b.text("ring-from"); !strings.Contains(from, caller) {
		t.Errorf("ringing shows %q, want the caller %s", from, caller)
	}

	clicked := time.Now()
	b.run("answer", chromedp.Click(chromedp.CSS("#btn-answer")))
	answered := e.waitEventOf(t, caller, "call.agent_answered")
	// ICE gathering, DTLS and the 200 OK: what the agent waits after clicking.
	t.Logf("answer click → call.agent_answered: %s", answered.At.Sub(clicked).Round(time.Millisecond))
	if answered.Payload["staff_number"] != staff {
		t.Errorf("agent_answered = %v, want staff %s", answered.Payload, staff)
	}
	// The citizen hears the staff-number prompt, then the agent's voice.
	eventually(t, 30*time.Second, "the agent's voice at the citizen", func() bool {
		n, _ := toneFrames(rtp.received(), agentTone)
		return n >= 50
	})
	_, firstAgent := toneFrames(rtp.received(), agentTone)
	t.Logf("citizen heard the agent from %.1f s of its received audio", float64(firstAgent)/8000)
	b.waitJS(20*time.Second, "the citizen's audio in the page", `window.desk.phone().inboundEnergy().then(e => e > 0.01)`)
	energy, _ := eval[float64](b, `window.desk.phone().inboundEnergy()`)
	t.Logf("page inbound audio energy %.3f", energy)

	// Screen pop: number, repeat-caller mark, the earlier case.
	b.waitJS(20*time.Second, "the screen pop", fmt.Sprintf(`document.getElementById('pop-caller').textContent === %q`, caller))
	b.waitJS(5*time.Second, "the earlier case", fmt.Sprintf(`!document.getElementById('pop-repeat').hidden && document.getElementById('pop-cases').textContent.includes(%q)`, ec.Number))
	if got, _ := eval[string](b, `document.getElementById('f-phone').value`); got != caller {
		t.Errorf("case form phone %q, want %s pre-filled", got, caller)
	}
	b.shot("on-call")

	// The case form: register and transfer to the unit.
	b.run("fill the case form",
		chromedp.SetValue(chromedp.CSS("#f-name"), "赵六"),
		chromedp.SetValue(chromedp.CSS("#f-content"), "小区门口道路破损，雨天积水"),
		chromedp.SetValue(chromedp.CSS("#f-category"), "complaint"),
		chromedp.SetValue(chromedp.CSS("#f-region"), "110101"),
		chromedp.SetValue(chromedp.CSS("#f-lead"), rtUnitAnswers))
	b.shot("case-form")
	b.run("register", chromedp.Click(chromedp.CSS("#btn-register")))
	b.waitJS(20*time.Second, "the case registered and transferred", `document.getElementById('case-result').textContent.includes('已登记并转办')`)
	t.Logf("page: %s", b.text("case-result"))
	caseID, _ := eval[string](b, `window.desk.lastCase.id`)

	// Three-way call from the page: find the unit, join, leave.
	b.run("search the unit", chromedp.SetValue(chromedp.CSS("#unit-search"), "住建"))
	_, _ = eval[bool](b, `document.getElementById('unit-search').dispatchEvent(new Event('input'))`)
	b.waitJS(5*time.Second, "the unit found", fmt.Sprintf(`document.getElementById('unit-select').value === %q`, rtUnitAnswers))
	b.run("join the unit", chromedp.Click(chromedp.CSS("#btn-threeway")))
	joined := e.waitEventOf(t, caller, "call.threeway_joined")
	if joined.Payload["unit_id"] != rtUnitAnswers {
		t.Errorf("threeway_joined = %v", joined.Payload)
	}
	var cu, uc, ua int
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cu, _ = toneFrames(rtp.received(), unitTone)
		uc, _ = toneFrames(rtpU.received(), citizenTone)
		ua, _ = toneFrames(rtpU.received(), agentTone)
		if cu >= 50 && uc >= 50 && ua >= 20 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("three-way: citizen heard the unit %d frames, the unit heard the citizen %d and the agent %d", cu, uc, ua)
	if cu < 50 || uc < 50 || ua < 20 {
		t.Fatal("citizen, agent and unit do not all hear each other")
	}
	b.run("leave", chromedp.Click(chromedp.CSS("#btn-threeway-leave")))
	b.waitJS(20*time.Second, "the page saying the agent left", `document.getElementById('case-result').textContent.includes('您已退出')`)
	cu0, _ := toneFrames(rtp.received(), unitTone)
	uc0, _ := toneFrames(rtpU.received(), citizenTone)
	eventually(t, 30*time.Second, "citizen and unit still talking after the agent left", func() bool {
		cu, _ := toneFrames(rtp.received(), unitTone)
		uc, _ := toneFrames(rtpU.received(), citizenTone)
		return cu >= cu0+100 && uc >= uc0+100
	})
	hangUp()
	if r := waitSIPp(t, res, 30*time.Second); r.err != nil {
		t.Fatalf("citizen: %v\n%s", r.err, r.output)
	}

	// The case in PostgreSQL: transferred to the unit, the call linked, the
	// recording (with the agent's voice) in its file.
	rec := e.waitEventOf(t, caller, "call.recording_saved")
	uri := fmt.Sprint(rec.Payload["uri"])
	var state, lead, callID string
	if err := e.pool.QueryRow(context.Background(), `SELECT c.state, COALESCE(c.lead_unit, ''),
		COALESCE((SELECT string_agg(call_id, ',') FROM case_calls k WHERE k.case_id = c.id), '')
		FROM cases c WHERE c.id = $1`, caseID).Scan(&state, &lead, &callID); err != nil {
		t.Fatalf("case %s in PostgreSQL: %v", caseID, err)
	}
	var theCall string
	if err := e.pool.QueryRow(context.Background(), `SELECT call_id FROM calls WHERE caller = $1`, caller).Scan(&theCall); err != nil {
		t.Fatal(err)
	}
	if state != "transferred" || lead != rtUnitAnswers || callID != theCall {
		t.Errorf("case %s: state %s, lead %s, calls %q; want transferred to %s with call %s", caseID, state, lead, callID, rtUnitAnswers, theCall)
	}
	eventually(t, 20*time.Second, "the recording in the case file", func() bool {
		_, body := e.caseworkGet(t, "1001", "/api/v1/cases/"+caseID)
		return strings.Contains(body, uri)
	})
	na, _ := toneFrames(readWAV(t, uri), agentTone)
	nc, _ := toneFrames(readWAV(t, uri), citizenTone)
	if na < 50 || nc < 50 {
		t.Errorf("recording %s: agent %d, citizen %d frames", uri, na, nc)
	}
	t.Logf("case %s: %s, lead %s, call %s, recording %s (agent %d, citizen %d frames); test took %s",
		caseID, state, lead, callID, uri, na, nc, time.Since(start).Round(time.Second))
}
