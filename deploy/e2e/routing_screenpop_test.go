package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestRoutingScreenPopWithEarlierCases: a repeat caller's earlier case is on the
// agent's screen pop when the agent answers, both on the agent's NATS subject
// and on the SSE stream; a withheld number pops as anonymous with no lookup.
func TestRoutingScreenPopWithEarlierCases(t *testing.T) {
	e := startRouting(t)
	a := rtAgentByStaff(t, "1001")
	rtpA := newRTPPeer(t, a.ip)
	talk(t, rtpA, agentTone)
	rtUAS(t, "routing_uas_answer.xml", a.ip, a.port, rtpA)
	e.ready(t, "1001")

	const caller = "13500135101"
	// An earlier case of this caller, registered by the agent.
	req, _ := http.NewRequest("POST", "http://"+e.caseHTTP+"/api/v1/cases", strings.NewReader(`{"caller":{"name":"王五","phone":"`+caller+`","address":"东城区1号"},
		"content":"路灯不亮","category":"complaint","region":"110101","urgency":"normal","confidentiality":"none",
		"channel":"phone","handling_mode":"written_transfer","callback_consent":true}`))
	req.Header.Set("Authorization", "Bearer "+e.tokens["1001"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("register earlier case: %s %v", resp.Status, created)
	}
	number, _ := created["number"].(string)

	var natsURL, root string
	for _, kv := range e.env {
		if v, ok := strings.CutPrefix(kv, "HOTLINE_NATS_URL="); ok {
			natsURL = v
		}
		if v, ok := strings.CutPrefix(kv, "HOTLINE_SUBJECT_ROOT="); ok {
			root = v
		}
	}
	// Screen pops are readable only by the service that serves the agents:
	// the test reads them as the call service.
	nc := natsAs(t, natsURL, serviceUser("callsvc"))
	defer nc.Close()
	msgs := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe(root+"_agents.1001.screenpop", msgs)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	sse := e.screenPops(t, "1001")

	rtp := newRTPPeer(t, carrierIP)
	res, hangUp := rtCitizen(t, caller, rtp)
	e.waitEventOf(t, caller, "call.agent_answered")
	var pop map[string]any
	select {
	case m := <-msgs:
		if err := json.Unmarshal(m.Data, &pop); err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no screen pop on NATS")
	}
	cases, _ := pop["cases"].([]any)
	t.Logf("NATS screen pop on %s: caller %v, %d earlier case(s)", root+"_agents.1001.screenpop", pop["caller"], len(cases))
	if pop["caller"] != caller || len(cases) != 1 || !strings.Contains(string(mustMarshal(cases)), number) {
		t.Errorf("screen pop %v, want caller %s with earlier case %s", pop, caller, number)
	}
	select {
	case p := <-sse:
		if p["call_id"] != pop["call_id"] {
			t.Errorf("SSE pop %v differs from NATS pop %v", p, pop)
		}
	case <-time.After(10 * time.Second):
		t.Error("no screen pop on SSE")
	}
	hangUp()
	waitSIPp(t, res, 30*time.Second)

	// A withheld number: anonymous, nothing looked up.
	eventually(t, 20*time.Second, "1001 ready again", func() bool { return e.agentState(t, "1001")["state"] == "ready" })
	rtp2 := newRTPPeer(t, carrierIP)
	res2, hangUp2 := rtCitizen(t, "anonymous", rtp2)
	select {
	case m := <-msgs:
		var p map[string]any
		_ = json.Unmarshal(m.Data, &p)
		if p["anonymous"] != true || p["caller"] != nil {
			t.Errorf("screen pop of a withheld number: %v", p)
		}
	case <-time.After(60 * time.Second):
		t.Error("no screen pop for the anonymous caller")
	}
	hangUp2()
	waitSIPp(t, res2, 30*time.Second)
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
