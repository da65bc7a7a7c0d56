package e2e

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// TestRoutingTransferAndPoliteEnding: agent 1001 blind-transfers the caller to
// 1003, who is announced and answers; the recording goes on across the
// transfer; 1003 then ends the call with the polite closing prompt, which the
// caller hears before the hotline hangs up.
func TestRoutingTransferAndPoliteEnding(t *testing.T) {
	e := startRouting(t)
	a1, a3 := rtAgentByStaff(t, "1001"), rtAgentByStaff(t, "1003")
	rtp1, rtp3 := newRTPPeer(t, a1.ip), newRTPPeer(t, a3.ip)
	talk(t, rtp1, agentTone)
	talk(t, rtp3, unitTone) // a different voice for the second agent
	rtUAS(t, "routing_uas_answer.xml", a1.ip, a1.port, rtp1)
	rtUAS(t, "routing_uas_answer.xml", a3.ip, a3.port, rtp3)
	e.ready(t, "1001")
	if code, out := e.agentAPI(t, "1003", "POST", "/api/v1/agent/login", nil); code != http.StatusOK {
		t.Fatalf("login 1003: %d %v", code, out)
	}

	const caller = "13600136101"
	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, citizenTone)
	res, _ := rtCitizen(t, caller, rtp)
	e.waitEventOf(t, caller, "call.agent_answered")
	eventually(t, 30*time.Second, "caller and 1001 to talk", func() bool {
		n, _ := toneFrames(rtp1.received(), citizenTone)
		return n >= 50
	})
	// 1003 is paused: the transfer is refused until they are logged in and ready
	// (a paused agent is logged in, so the transfer waits for them).
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/transfer", map[string]any{"to": "1002"}); code != http.StatusConflict {
		t.Errorf("transfer to logged-out 1002: %d %v, want 409", code, out)
	}
	if code, out := e.agentAPI(t, "1003", "POST", "/api/v1/agent/ready", nil); code != http.StatusOK {
		t.Fatalf("ready 1003: %d %v", code, out)
	}
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/transfer", map[string]any{"to": "1003"}); code != http.StatusOK {
		t.Fatalf("transfer to 1003: %d %v", code, out)
	}
	eventually(t, 30*time.Second, "1003 to answer the transferred call", func() bool {
		n := 0
		for _, ev := range e.events(t, caller) {
			if ev.Type == "call.agent_answered" && ev.Payload["staff_number"] == "1003" {
				n++
			}
		}
		return n == 1
	})
	eventually(t, 30*time.Second, "caller and 1003 to talk for 3 s", func() bool {
		n, _ := toneFrames(rtp3.received(), citizenTone)
		m, _ := toneFrames(rtp.received(), unitTone)
		return n >= 150 && m >= 150
	})
	if s := e.agentState(t, "1001"); s["state"] == "on_call" {
		t.Errorf("1001 still on call after the transfer: %v", s)
	}

	// Polite ending by 1003.
	heardBefore := len(rtp.received())
	if code, out := e.agentAPI(t, "1003", "POST", "/api/v1/agent/call/polite-ending", nil); code != http.StatusOK {
		t.Fatalf("polite ending: %d %v", code, out)
	}
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("the hotline did not end the call: %v\n%s", r.err, r.output)
	}
	ending := readWAV(t, filepath.Join(st.dataDir, "sounds", "hotline", "abusive-call-end.wav"))
	corr, _ := bestMatch(rtp.received()[heardBefore:], ending)
	t.Logf("caller heard the polite ending with envelope correlation %.2f", corr)
	if corr < 0.7 {
		t.Errorf("polite closing prompt not heard (correlation %.2f)", corr)
	}
	pe := e.waitEventOf(t, caller, "call.polite_ending")
	if pe.Payload["staff_number"] != "1003" {
		t.Errorf("polite_ending = %v", pe.Payload)
	}
	rec := e.waitEventOf(t, caller, "call.recording_saved")
	samples := readWAV(t, rec.Payload["uri"].(string))
	n1, _ := toneFrames(samples, agentTone)
	n3, _ := toneFrames(samples, unitTone)
	t.Logf("one recording across the transfer: %.1f s, 1001 in %d frames, 1003 in %d frames", float64(len(samples))/8000, n1, n3)
	if n1 < 50 || n3 < 50 {
		t.Errorf("recording does not span the transfer: 1001 %d frames, 1003 %d frames", n1, n3)
	}
}
