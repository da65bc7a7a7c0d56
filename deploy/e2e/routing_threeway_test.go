package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRoutingThreeWayAgentLeavesUnitStays: the agent (screen popped with the
// caller's number) joins a unit's duty line from the directory; citizen, agent
// and unit talk; the agent leaves and citizen and unit stay connected, still
// recorded. The caller is treated as confidential (the default): the caller's
// number appears in no SIP message to the duty line. Units outside the
// directory, or without a duty line, are refused without dialling.
func TestRoutingThreeWayAgentLeavesUnitStays(t *testing.T) {
	if rtDutyPort == 0 {
		t.Skip("duty-line port not set by this package (DUTYLINE_PORT given from outside)")
	}
	e := startRouting(t)
	_, rtpU, dutyDir := e.threeWayParties(t)
	pops := e.screenPops(t, "1001")

	const caller = "13700137101"
	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, citizenTone)
	res, hangUp := rtCitizen(t, caller, rtp)
	e.waitEventOf(t, caller, "call.agent_answered")

	// Screen pop: the caller's number and earlier cases (none yet).
	select {
	case p := <-pops:
		if p["caller"] != caller || p["staff_number"] != "1001" {
			t.Errorf("screen pop %v, want caller %s for 1001", p, caller)
		}
		t.Logf("screen pop: %v", p)
	case <-time.After(20 * time.Second):
		t.Error("no screen pop on the agent's SSE stream")
	}

	// Refused without dialling: unknown unit, unit without duty line.
	for _, unit := range []string{"no-such-unit", rtUnitNoDuty} {
		code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway", map[string]any{"unit_id": unit})
		if code != http.StatusUnprocessableEntity {
			t.Errorf("three-way to %s: %d %v, want 422 refused", unit, code, out)
		}
	}
	// The agent registers the citizen's report (举报) and links the call to it:
	// the caller is then confidential even if the agent asks otherwise.
	caseID := e.registerCase(t, "1001", caller, "report")
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/case", map[string]any{"case_id": caseID}); code != http.StatusOK {
		t.Fatalf("link call to case: %d %v", code, out)
	}
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway", map[string]any{"unit_id": rtUnitAnswers, "confidential": false}); code != http.StatusOK {
		t.Fatalf("three-way join: %d %v", code, out)
	}
	joined := e.waitEventOf(t, caller, "call.threeway_joined")
	if joined.Payload["unit_id"] != rtUnitAnswers || joined.Payload["confidential"] != true {
		t.Errorf("threeway_joined = %v", joined.Payload)
	}
	eventually(t, 30*time.Second, "citizen, agent and unit to hear each other", func() bool {
		cu, _ := toneFrames(rtp.received(), unitTone)
		uc, _ := toneFrames(rtpU.received(), citizenTone)
		ua, _ := toneFrames(rtpU.received(), agentTone)
		return cu >= 50 && uc >= 50 && ua >= 50
	})

	// The agent drops the unit, then joins it again.
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway/drop", nil); code != http.StatusOK {
		t.Fatalf("drop: %d %v", code, out)
	}
	dropped := e.waitEventOf(t, caller, "call.threeway_left")
	if dropped.Payload["staff_number"] != nil || dropped.Payload["unit_id"] != rtUnitAnswers {
		t.Errorf("unit dropped: threeway_left = %v, want the unit leaving", dropped.Payload)
	}
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway/leave", nil); code != http.StatusConflict {
		t.Errorf("leave without a unit: %d %v, want 409", code, out)
	}
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway", map[string]any{"unit_id": rtUnitAnswers}); code != http.StatusOK {
		t.Fatalf("three-way join again: %d %v", code, out)
	}
	eventually(t, 30*time.Second, "the unit to be back", func() bool {
		n := 0
		for _, ev := range e.events(t, caller) {
			if ev.Type == "call.threeway_joined" {
				n++
			}
		}
		return n == 2
	})

	// The agent leaves: citizen and unit go on talking.
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway/leave", nil); code != http.StatusOK {
		t.Fatalf("leave: %d %v", code, out)
	}
	eventually(t, 30*time.Second, "threeway_left of the agent", func() bool {
		for _, ev := range e.events(t, caller) {
			if ev.Type == "call.threeway_left" && ev.Payload["staff_number"] == "1001" {
				return true
			}
		}
		return false
	})
	cu0, _ := toneFrames(rtp.received(), unitTone)
	uc0, _ := toneFrames(rtpU.received(), citizenTone)
	eventually(t, 30*time.Second, "citizen and unit still talking after the agent left", func() bool {
		cu, _ := toneFrames(rtp.received(), unitTone)
		uc, _ := toneFrames(rtpU.received(), citizenTone)
		return cu >= cu0+100 && uc >= uc0+100
	})
	if s := e.agentState(t, "1001"); s["state"] == "on_call" {
		t.Errorf("1001 still on call after leaving: %v", s)
	}
	hangUp()
	if r := waitSIPp(t, res, 30*time.Second); r.err != nil {
		t.Fatalf("citizen: %v\n%s", r.err, r.output)
	}

	// The recording followed the caller into the three-way call.
	rec := e.waitEventOf(t, caller, "call.recording_saved")
	samples := readWAV(t, rec.Payload["uri"].(string))
	nc, _ := toneFrames(samples, citizenTone)
	na, _ := toneFrames(samples, agentTone)
	nu, _ := toneFrames(samples, unitTone)
	t.Logf("recording: %.1f s; citizen %d, agent %d, unit %d frames", float64(len(samples))/8000, nc, na, nu)
	if nc < 50 || na < 20 || nu < 100 {
		t.Errorf("recording does not hold all parties: citizen %d, agent %d, unit %d", nc, na, nu)
	}

	// The recording is in the case file (the call was linked to the case).
	eventually(t, 20*time.Second, "the recording in the case file", func() bool {
		_, body := e.caseworkGet(t, "1001", "/api/v1/cases/"+caseID)
		return strings.Contains(body, rec.Payload["uri"].(string))
	})

	// T13: the caller's number never reached the duty line.
	msgs, err := os.ReadFile(filepath.Join(dutyDir, "messages.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msgs), "INVITE sip:8801@") {
		t.Fatalf("no INVITE to 8801 in the duty line's trace:\n%s", tail(msgs, 2000))
	}
	if strings.Contains(string(msgs), caller) {
		t.Errorf("the confidential caller's number %s appears in SIP to the duty line:\n%s", caller, tail(msgs, 4000))
	}
	from := ""
	for _, line := range strings.Split(string(msgs), "\n") {
		if strings.HasPrefix(line, "From:") && from == "" {
			from = strings.TrimSpace(line)
		}
	}
	t.Logf("duty line saw %s", from)
	if !strings.Contains(from, "12345") {
		t.Errorf("duty line's From %q is not the hotline's number", from)
	}
}

// TestRoutingThreeWayDutyLineNoAnswer: a duty line that rings out produces
// call.threeway_failed (no_answer), which casework records against the unit
// (seed 002 三(七)); the conversation goes on.
func TestRoutingThreeWayDutyLineNoAnswer(t *testing.T) {
	if rtDutyPort == 0 {
		t.Skip("duty-line port not set by this package")
	}
	e := startRouting(t)
	a := rtAgentByStaff(t, "1001")
	rtpA, rtpU := newRTPPeer(t, a.ip), newRTPPeer(t, rtDutyIP)
	talk(t, rtpA, agentTone)
	rtUAS(t, "routing_uas_answer.xml", a.ip, a.port, rtpA)
	rtUAS(t, "routing_uas_noanswer.xml", rtDutyIP, rtDutyPort, rtpU)
	e.ready(t, "1001")

	const caller = "13700137102"
	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, citizenTone)
	res, hangUp := rtCitizen(t, caller, rtp)
	e.waitEventOf(t, caller, "call.agent_answered")
	// The call is linked to no case, so nobody knows it is not a report: the
	// service presents the hotline's number whatever the agent asks (T13).
	code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway",
		map[string]any{"unit_id": rtUnitAnswers, "confidential": false})
	if code != http.StatusBadGateway || out["result"] != "no_answer" {
		t.Errorf("three-way to an unanswered duty line: %d %v, want 502 no_answer", code, out)
	}
	failed := e.waitEventOf(t, caller, "call.threeway_failed")
	if failed.Payload["unit_id"] != rtUnitAnswers || failed.Payload["reason"] != "no_answer" || failed.Payload["confidential"] != true {
		t.Errorf("threeway_failed = %v, want the unlinked caller confidential", failed.Payload)
	}
	var n int
	eventually(t, 30*time.Second, "casework to record the unanswered duty line against the unit", func() bool {
		err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM duty_line_failures WHERE unit_id = $1`, rtUnitAnswers).Scan(&n)
		return err == nil && n == 1
	})
	// Caller and agent are still talking.
	h0, _ := toneFrames(rtp.received(), agentTone)
	eventually(t, 20*time.Second, "the conversation to go on", func() bool {
		h, _ := toneFrames(rtp.received(), agentTone)
		return h >= h0+50
	})
	hangUp()
	waitSIPp(t, res, 30*time.Second)
	if m := e.metrics(t); !strings.Contains(m, `hotline_threeway_total{outcome="no_answer"} 1`) {
		t.Error("metrics lack the three-way no_answer outcome")
	}
}

// TestRoutingOutsideDirectoryRefused: a number that is not a unit's duty line is
// refused by the service (the API takes unit IDs and dials only their directory
// entry) and by the dialplan (an agent's softphone dialling 8801 directly gets
// 404; no INVITE reaches the duty line).
func TestRoutingOutsideDirectoryRefused(t *testing.T) {
	if rtDutyPort == 0 {
		t.Skip("duty-line port not set by this package")
	}
	e := startRouting(t)
	a := rtAgentByStaff(t, "1001")
	rtpA, rtpU := newRTPPeer(t, a.ip), newRTPPeer(t, rtDutyIP)
	talk(t, rtpA, agentTone)
	rtUAS(t, "routing_uas_answer.xml", a.ip, a.port, rtpA)
	dutyDir := rtUAS(t, "routing_uas_answer.xml", rtDutyIP, rtDutyPort, rtpU)
	e.ready(t, "1001")
	const caller = "13700137103"
	rtp := newRTPPeer(t, carrierIP)
	res, hangUp := rtCitizen(t, caller, rtp)
	e.waitEventOf(t, caller, "call.agent_answered")
	for _, body := range []map[string]any{{"unit_id": "PJSIP/8801@dutylines"}, {"unit_id": "8801"}, {"unit_id": "../units/" + rtUnitAnswers}, {}} {
		code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway", body)
		if code != http.StatusUnprocessableEntity {
			t.Errorf("three-way %v: %d %v, want 422", body, code, out)
		}
	}
	hangUp()
	waitSIPp(t, res, 30*time.Second)

	// The dialplan: the agent's own phone dials the duty number.
	port, _ := freePort("udp")
	r := waitSIPp(t, runSIPp(t, t.TempDir(), 60*time.Second,
		"-sf", filepath.Join(st.repo, "deploy/e2e/sipp/routing_agent_dials.xml"), "-s", "8801",
		"-i", a.ip, "-p", fmt.Sprint(port), "-key", "staff", "1001",
		"-au", "1001", "-ap", "e2e-agent-1001-pass", "-m", "1", "-l", "1", "-recv_timeout", "10000",
		fmt.Sprintf("127.0.0.1:%d", st.sipPort)), 60*time.Second)
	if r.err != nil {
		t.Errorf("agent dialling 8801 directly was not refused with 404: %v\n%s", r.err, r.output)
	}
	if msgs, _ := os.ReadFile(filepath.Join(dutyDir, "messages.log")); strings.Contains(string(msgs), "INVITE sip:") {
		t.Errorf("an INVITE reached the duty line:\n%s", tail(msgs, 2000))
	}
}

// threeWayParties: agent 1001 and the unit's duty line answer (SIPp UASs)
// and talk with their tones, and the agent is ready. It returns their RTP
// peers and the duty line's SIPp directory (its message trace).
func (e *rtEnv) threeWayParties(t *testing.T) (rtpA, rtpU *rtpPeer, dutyDir string) {
	t.Helper()
	a := rtAgentByStaff(t, "1001")
	rtpA, rtpU = newRTPPeer(t, a.ip), newRTPPeer(t, rtDutyIP)
	talk(t, rtpA, agentTone)
	talk(t, rtpU, unitTone)
	rtUAS(t, "routing_uas_answer.xml", a.ip, a.port, rtpA)
	dutyDir = rtUAS(t, "routing_uas_answer.xml", rtDutyIP, rtDutyPort, rtpU)
	e.ready(t, "1001")
	return rtpA, rtpU, dutyDir
}

// screenPops subscribes to the agent's SSE stream of screen pops.
func (e *rtEnv) screenPops(t *testing.T, staff string) <-chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+e.callHTTP+"/api/v1/agent/screenpops", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[staff])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("screen pops: %s", resp.Status)
	}
	out := make(chan map[string]any, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var m map[string]any
				if json.Unmarshal([]byte(data), &m) == nil {
					out <- m
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return out
}

// registerCase registers a case for phone as the agent and returns its ID.
func (e *rtEnv) registerCase(t *testing.T, staff, phone, category string) string {
	t.Helper()
	body := `{"caller":{"name":"王五","phone":"` + phone + `","address":"东城区1号"},"content":"反映问题","category":"` + category +
		`","region":"110101","urgency":"normal","confidentiality":"none","channel":"phone","handling_mode":"written_transfer","callback_consent":false}`
	req, _ := http.NewRequest("POST", "http://"+e.caseHTTP+"/api/v1/cases", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.tokens[staff])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	id, _ := out["id"].(string)
	if resp.StatusCode/100 != 2 || id == "" {
		t.Fatalf("register case: %s %v", resp.Status, out)
	}
	return id
}

// caseworkGet reads a casework API path as the agent.
func (e *rtEnv) caseworkGet(t *testing.T, staff, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.caseHTTP+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens[staff])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
