package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestDeskTransferAndPoliteEnding: call controls from the page. The page's
// agent answers a citizen and blind-transfers the call to agent 1003 (a SIP
// phone), who answers; on a second call the page's agent ends the call
// politely with the keyboard (F9): the citizen hears the closing prompt and the
// hotline hangs up.
func TestDeskTransferAndPoliteEnding(t *testing.T) {
	e := startRouting(t)
	const staff = "2005"
	e.addDeskAgent(t, staff, "转接话务员")
	a3 := rtAgentByStaff(t, "1003")
	rtp3 := newRTPPeer(t, a3.ip)
	talk(t, rtp3, unitTone)
	rtUAS(t, "routing_uas_answer.xml", a3.ip, a3.port, rtp3)
	if code, out := e.agentAPI(t, "1003", "POST", "/api/v1/agent/login", nil); code != http.StatusOK {
		t.Fatalf("login 1003: %d %v", code, out)
	}

	b := newBrowser(t, micWAV(t, agentTone))
	b.signIn("http://"+e.caseHTTP, staff, deskPassword, "browser")
	b.waitJS(20*time.Second, "the softphone registered", `document.getElementById('phone-status').textContent === '已注册'`)
	b.run("get ready", chromedp.Click(chromedp.CSS("#btn-ready")))
	eventually(t, 10*time.Second, "2005 ready", func() bool { return e.agentStateOf(t, staff) == "ready" })

	// Call 1: answered in the page, transferred to 1003 from the page.
	const caller1, caller2 = "13600136201", "13600136202"
	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, citizenTone)
	res1, hangUp1 := rtCitizen(t, caller1, rtp)
	b.waitJS(60*time.Second, "the page ringing", `!document.getElementById('incoming').hidden`)
	b.run("answer with F2", chromedp.KeyEvent(kb.F2))
	e.waitEventOf(t, caller1, "call.agent_answered")
	if code, out := e.agentAPI(t, "1003", "POST", "/api/v1/agent/ready", nil); code != http.StatusOK {
		t.Fatalf("ready 1003: %d %v", code, out)
	}
	b.run("transfer to 1003", chromedp.SetValue(chromedp.CSS("#transfer-to"), "1003"), chromedp.Click(chromedp.CSS("#btn-transfer")))
	eventually(t, 30*time.Second, "1003 answering the transferred call", func() bool {
		for _, ev := range e.events(t, caller1) {
			if ev.Type == "call.agent_answered" && ev.Payload["staff_number"] == "1003" {
				return true
			}
		}
		return false
	})
	eventually(t, 30*time.Second, "citizen and 1003 talking", func() bool {
		n, _ := toneFrames(rtp.received(), unitTone)
		return n >= 50
	})
	t.Logf("page: %s", b.text("case-result"))
	hangUp1()
	waitSIPp(t, res1, 30*time.Second)

	// Call 2: 1003 paused; the page's agent (ready again after wrap-up) takes it
	// and ends it politely with F9.
	if code, out := e.agentAPI(t, "1003", "POST", "/api/v1/agent/pause", map[string]any{"reason": "休息"}); code != http.StatusOK {
		t.Fatalf("pause 1003: %d %v", code, out)
	}
	eventually(t, 20*time.Second, "2005 ready again", func() bool {
		if e.agentStateOf(t, staff) == "paused" || e.agentStateOf(t, staff) == "wrap_up" {
			_, _ = eval[bool](b, `(document.getElementById('btn-ready').click(), true)`)
		}
		return e.agentStateOf(t, staff) == "ready"
	})
	rtp2 := newRTPPeer(t, carrierIP)
	talk(t, rtp2, citizenTone)
	res2, _ := rtCitizen(t, caller2, rtp2)
	b.waitJS(60*time.Second, "the page ringing again", `!document.getElementById('incoming').hidden`)
	b.run("answer", chromedp.Click(chromedp.CSS("#btn-answer")))
	e.waitEventOf(t, caller2, "call.agent_answered")
	eventually(t, 30*time.Second, "the citizen hearing the agent", func() bool {
		n, _ := toneFrames(rtp2.received(), agentTone)
		return n >= 20
	})
	b.run("polite ending with F9", chromedp.KeyEvent(kb.F9))
	if r := waitSIPp(t, res2, 60*time.Second); r.err != nil {
		t.Fatalf("the hotline did not end the call: %v\n%s", r.err, r.output)
	}
	pe := e.waitEventOf(t, caller2, "call.polite_ending")
	if pe.Payload["staff_number"] != staff {
		t.Errorf("polite_ending = %v, want by %s", pe.Payload, staff)
	}
	t.Logf("polite ending by %v", pe.Payload["staff_number"])
}
