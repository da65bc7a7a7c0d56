package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDeskSoftphoneFaultsTakeAgentOut: a browser softphone that cannot ring
// never gets calls: a dropped SIP WebSocket shows a message and pauses a ready
// agent; a denied microphone shows a message and registers nothing.
func TestDeskSoftphoneFaultsTakeAgentOut(t *testing.T) {
	e := startRouting(t)
	const staff = "2004"
	e.addDeskAgent(t, staff, "故障话务员")
	base := "http://" + e.caseHTTP

	b := newBrowser(t, "")
	b.signIn(base, staff, deskPassword, "browser")
	b.waitJS(20*time.Second, "the softphone registered", `document.getElementById('phone-status').textContent === '已注册'`)
	b.run("get ready", chromedp.Click(chromedp.CSS("#btn-ready")))
	eventually(t, 10*time.Second, "agent ready", func() bool { return e.agentStateOf(t, staff) == "ready" })
	// The WebSocket closes under JsSIP, as when the network or the server drops it.
	if _, err := eval[bool](b, `(window.desk.phone().socket._ws.close(), true)`); err != nil {
		t.Fatal(err)
	}
	b.waitJS(10*time.Second, "the dropped-WebSocket message", `!document.getElementById('alert').hidden && document.getElementById('alert').textContent.includes('连接中断')`)
	eventually(t, 10*time.Second, "the agent out of the queue", func() bool { return e.agentStateOf(t, staff) == "paused" })
	t.Logf("dropped WebSocket: %q; agent paused", b.text("alert"))
	b.shot("fault")

	denied := newBrowserMic(t, "", false)
	denied.signIn(base, staff, deskPassword, "browser")
	denied.waitJS(20*time.Second, "the microphone message", `document.getElementById('alert').textContent.includes('麦克风')`)
	if s := denied.text("phone-status"); s != "故障" {
		t.Errorf("phone status %q with the microphone denied, want 故障", s)
	}
	denied.run("try to get ready", chromedp.Click(chromedp.CSS("#btn-ready")))
	denied.waitJS(5*time.Second, "the refusal to get ready", `document.getElementById('alert').textContent.includes('不能就绪')`)
	if s := e.agentStateOf(t, staff); s == "ready" {
		t.Errorf("agent %s is ready with no microphone", staff)
	}
	t.Logf("microphone denied: %q", denied.text("alert"))
}
