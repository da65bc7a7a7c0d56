package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tones the test parties speak with, so each side is recognisable in what the
// others hear and in the recording.
const (
	citizenTone = 600.0
	agentTone   = 1400.0
	unitTone    = 1000.0
)

// TestRoutingLongestIdleRingTimeoutPromptRecording: three agents are ready in the
// order 1002, 1003, 1001. 1002 (idle longest) rings but never answers: after the
// ring timeout the offer moves to 1003, the next longest idle. The caller hears
// "1003号话务员为您服务" before the agent, caller and agent hear each other, and
// the recording of the call holds both sides.
func TestRoutingLongestIdleRingTimeoutPromptRecording(t *testing.T) {
	e := startRouting(t)
	a1, a2, a3 := rtAgentByStaff(t, "1001"), rtAgentByStaff(t, "1002"), rtAgentByStaff(t, "1003")
	rtp1, rtp2, rtp3 := newRTPPeer(t, a1.ip), newRTPPeer(t, a2.ip), newRTPPeer(t, a3.ip)
	talk(t, rtp1, agentTone)
	talk(t, rtp3, agentTone)
	rtUAS(t, "routing_uas_answer.xml", a1.ip, a1.port, rtp1)
	dir2 := rtUAS(t, "routing_uas_noanswer.xml", a2.ip, a2.port, rtp2)
	rtUAS(t, "routing_uas_answer.xml", a3.ip, a3.port, rtp3)
	e.ready(t, "1002", "1003", "1001")

	const caller = "13800138101"
	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, citizenTone)
	res, hangUp := rtCitizen(t, caller, rtp)

	ans := e.waitEventOf(t, caller, "call.agent_answered")
	if got := ans.Payload["staff_number"]; got != "1003" {
		t.Fatalf("answered by %v, want 1003 (1002 idle longest but does not answer; 1003 next)", got)
	}
	// Caller and agent hear each other.
	eventually(t, 30*time.Second, "caller and agent to hear each other for 2 s", func() bool {
		heardAgent, _ := toneFrames(rtp.received(), agentTone)
		heardCaller, _ := toneFrames(rtp3.received(), citizenTone)
		return heardAgent >= 100 && heardCaller >= 100
	})
	hangUp()
	if r := waitSIPp(t, res, 30*time.Second); r.err != nil {
		t.Fatalf("citizen call failed: %v\n%s", r.err, r.output)
	}

	// The staff-number announcement came right before the agent's voice.
	heard := rtp.received()
	_, firstAgent := toneFrames(heard, agentTone)
	intro := readWAV(t, filepath.Join(st.dataDir, "sounds", "hotline", "agent-intro.wav"))
	from := max(0, firstAgent-8*8000)
	corr, end := bestMatch(heard[from:firstAgent], intro)
	gap := time.Duration(firstAgent-(from+end)) * time.Second / 8000
	t.Logf("caller heard agent-intro (\"号话务员为您服务\") with envelope correlation %.2f, ending %s before the agent's voice", corr, gap)
	if corr < 0.7 || gap > 1500*time.Millisecond {
		t.Errorf("staff-number prompt not heard right before the agent: correlation %.2f, gap %s", corr, gap)
	}

	// Ring timeout: 1002 was rung and cancelled, counted one missed offer, and
	// stays ready (HOTLINE_AGENT_MAX_MISSED=2).
	msgs, _ := os.ReadFile(filepath.Join(dir2, "messages.log"))
	if !strings.Contains(string(msgs), "CANCEL sip:") {
		t.Errorf("1002 was not rung and cancelled:\n%s", tail(msgs, 2000))
	}
	if s := e.agentState(t, "1002"); fmt.Sprint(s["missed_offers"]) != "1" || s["state"] != "ready" {
		t.Errorf("1002 after the ring timeout = %v, want ready with 1 missed offer", s)
	}

	// The recording follows the caller and holds both sides.
	rec := e.waitEventOf(t, caller, "call.recording_saved")
	path, _ := rec.Payload["uri"].(string)
	if !strings.HasPrefix(path, filepath.Join(st.dataDir, "recordings")+"/") {
		t.Fatalf("recording at %q, want under %s/recordings", path, st.dataDir)
	}
	samples := readWAV(t, path)
	nc, _ := toneFrames(samples, citizenTone)
	na, _ := toneFrames(samples, agentTone)
	t.Logf("recording %s: %.1f s, citizen audible in %d and agent in %d 20 ms frames", path, float64(len(samples))/8000, nc, na)
	if nc < 50 || na < 50 {
		t.Errorf("recording lacks a side: citizen %d frames, agent %d frames", nc, na)
	}
	if d, _ := rec.Payload["duration_ms"].(float64); d < 1000 {
		t.Errorf("recording_saved duration_ms = %v", rec.Payload["duration_ms"])
	}
	// Casework links the recording and the answering agent to the call.
	eventually(t, 20*time.Second, "casework to link recording and agent to the call", func() bool {
		var recs, agents int
		err := e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM call_recordings r JOIN calls c USING (call_id) WHERE c.caller = $1),
			(SELECT count(*) FROM call_agents a JOIN calls c USING (call_id) WHERE c.caller = $1 AND a.staff_number = '1003')`, caller).Scan(&recs, &agents)
		return err == nil && recs == 1 && agents == 1
	})
	// Wrap-up, then ready again.
	eventually(t, 20*time.Second, "1003 ready again after wrap-up", func() bool { return e.agentState(t, "1003")["state"] == "ready" })

	// The agent's states are in the event stream for the staff report.
	eventually(t, 20*time.Second, "1003's state changes in casework's event store", func() bool {
		rows, err := e.pool.Query(context.Background(), `SELECT payload->>'state' FROM events
			WHERE type = 'agent.state_changed' AND payload->>'staff_number' = '1003' ORDER BY occurred_at, id`)
		if err != nil {
			return false
		}
		defer rows.Close()
		var states []string
		for rows.Next() {
			var st string
			_ = rows.Scan(&st)
			states = append(states, st)
		}
		return strings.Join(states, ",") == "paused,ready,on_call,wrap_up,ready"
	})

	// A second citizen: 1002 is still idle longest and rings out again — its
	// second missed offer in a row sets it not ready (paused, no_answer); then
	// 1001 (idle since before 1003's call ended) answers, not 1003.
	const caller2 = "13800138102"
	rtpB := newRTPPeer(t, carrierIP)
	talk(t, rtpB, citizenTone)
	res2, hangUp2 := rtCitizen(t, caller2, rtpB)
	ans2 := e.waitEventOf(t, caller2, "call.agent_answered")
	if got := ans2.Payload["staff_number"]; got != "1001" {
		t.Errorf("second call answered by %v, want 1001", got)
	}
	if s := e.agentState(t, "1002"); s["state"] != "paused" || s["reason"] != "no_answer" {
		t.Errorf("1002 after two missed offers = %v, want paused (no_answer)", s)
	}
	hangUp2()
	waitSIPp(t, res2, 30*time.Second)

	metrics := e.metrics(t)
	for _, want := range []string{`hotline_agent_offers_total{result="answered"} 2`, `hotline_agent_offers_total{result="no_answer"} 2`,
		`hotline_queue_answered_total{within_15s="true"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestRoutingNoAgentReadyAnnouncementsAbandonOverflow: with an agent logged in
// but paused, two callers queue; the second hears its position announced; the
// first hangs up and is counted abandoned with its wait; the second is sent back
// to the front door's menu (voicemail offer) at the maximum wait.
func TestRoutingNoAgentReadyAnnouncementsAbandonOverflow(t *testing.T) {
	e := startRouting(t, "HOTLINE_QUEUE_MAX_WAIT=20s")
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/login", nil); code != http.StatusOK {
		t.Fatalf("login: %d %v", code, out)
	}
	const c1, c2 = "13900139101", "13900139102"
	rtpA, rtpB := newRTPPeer(t, carrierIP), newRTPPeer(t, carrierIP)
	resA, hangA := rtCitizen(t, c1, rtpA)
	qa := e.waitEventOf(t, c1, "call.queued")
	resB, hangB := rtCitizen(t, c2, rtpB)
	qb := e.waitEventOf(t, c2, "call.queued")
	if qa.Payload["position"] != 1.0 || qb.Payload["position"] != 2.0 {
		t.Fatalf("queued positions %v and %v, want 1 and 2", qa.Payload["position"], qb.Payload["position"])
	}
	// The second caller hears "您前面还有…位来电正在等待" (position announcement).
	before := readWAV(t, filepath.Join(st.dataDir, "sounds", "hotline", "queue-position-before.wav"))
	eventually(t, 30*time.Second, "caller 2 to hear the position announcement", func() bool {
		corr, _ := bestMatch(rtpB.received(), before)
		return corr > 0.75
	})
	hangA()
	if r := waitSIPp(t, resA, 30*time.Second); r.err != nil {
		t.Fatalf("caller 1: %v\n%s", r.err, r.output)
	}
	// Waiting is never silence: music between the announcements.
	gap := longestSilence(rtpA.received())
	t.Logf("caller 1's longest silence while greeted and waiting: %s", gap)
	// Prompts have short pauses at their ends (up to about 1.6 s measured); without
	// music the 8 s between announcements would leave 5 s of silence.
	if gap > 2500*time.Millisecond {
		t.Errorf("caller 1 heard %s of silence: no music on hold?", gap)
	}
	ab := e.waitEventOf(t, c1, "call.abandoned")
	waitMS, _ := ab.Payload["wait_ms"].(float64)
	between := ab.At.Sub(qa.At)
	t.Logf("caller 1 abandoned after %d ms in the queue (events %s apart), short=%v", int64(waitMS), between, ab.Payload["short"])
	if d := time.Duration(waitMS)*time.Millisecond - between; d < -time.Second || d > time.Second {
		t.Errorf("abandoned wait %v ms does not match queued→abandoned %s", waitMS, between)
	}
	if ab.Payload["short"] != false {
		t.Errorf("abandon after %v ms counted short (threshold 3s)", waitMS)
	}
	// Caller 2 reaches the maximum wait and goes back to the front door's menu,
	// which offers voicemail (key 2).
	e.waitEventOf(t, c2, "call.menu_choice")
	hangB()
	if r := waitSIPp(t, resB, 30*time.Second); r.err != nil {
		t.Logf("caller 2 ended: %v", r.err)
	}
	m := e.metrics(t)
	for _, want := range []string{"hotline_queue_overflow_total 1", `hotline_queue_abandoned_total{short="false"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// metrics returns the call service's /metrics text.
func (e *rtEnv) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + e.callHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// longestSilence is the longest run of silent 20 ms frames in samples.
func longestSilence(samples []int16) time.Duration {
	longest, run := 0, 0
	for i := 0; i+160 <= len(samples); i += 160 {
		if rms(samples[i:i+160]) > 180 {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	return time.Duration(longest) * 20 * time.Millisecond
}
