package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// TestVoiceSelfService: voice self-service against the real casework endpoint.
// A case is registered and transferred through the casework API. Its caller keys
// 1 and the case number with # and hears the status only, like anyone (the
// calling number must not confirm who filed a case), then the query code and
// hears unit and deadline (spoken through the TTS cache); another number keys
// an unknown number and is told so and asked again, then the case's number and
// query code and hears the details.
func TestVoiceSelfService(t *testing.T) {
	svcToken := "svc-" + randomHex(16)
	var agent string
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed", "HOTLINE_CASEWORK_TOKEN="+svcToken),
		beforeCallService(func(h *hotline) {
			h.env = append(h.env, "HOTLINE_CASEWORK_URL=http://"+h.caseHTTP)
			agent = h.newUserToken("话务员", domain.RoleAgent, "1011")
		}))
	if _, err := store.NewUnits(h.pool, nil).Create(context.Background(), store.Unit{
		Unit: domain.Unit{ID: "ss-center", Name: "12345热线中心", Level: 1}, Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.NewUnits(h.pool, nil).Create(context.Background(), store.Unit{
		Unit: domain.Unit{ID: "ss-zhujian", Name: "市住建局", Level: 2, ParentID: "ss-center"}, Active: true}); err != nil {
		t.Fatal(err)
	}
	const owner, other = "13800000041", "13800000042"
	code, _, body := h.caseworkAPI(agent, "POST", "/api/v1/cases", map[string]any{
		"caller": map[string]any{"name": "王五", "phone": owner}, "content": "小区门口道路积水",
		"category": "complaint", "region": "110101", "urgency": "normal", "confidentiality": "none",
		"channel": "phone", "handling_mode": "written_transfer"})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	var c struct {
		ID        string `json:"id"`
		Number    string `json:"number"`
		QueryCode string `json:"query_code"`
	}
	_ = json.Unmarshal(body, &c)
	if code, _, body := h.caseworkAPI(agent, "POST", "/api/v1/cases/"+c.ID+"/transfer",
		map[string]any{"lead": "ss-zhujian"}); code != http.StatusOK {
		t.Fatalf("transfer: %d %s", code, body)
	}
	if c.QueryCode == "" {
		t.Fatalf("the case view has no query code: %s", body)
	}
	t.Logf("case %s, query code %s", c.Number, c.QueryCode)

	// The case's own caller hears what anyone hears (the calling number proves
	// nothing and must not confirm who filed a case); the query code gives the
	// details.
	rtp := newRTPPeer(t, carrierIP)
	res, hangUp := voiceCall(t, owner, rtp, 120*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	mic.keys("1")
	h.waitEvent(owner, "call.menu_choice", map[string]any{"choice": "selfservice"})
	mic.keys(c.Number + "#")
	keyed := time.Now()
	h.waitEvent(owner, "call.selfservice_lookup", map[string]any{"case_number": c.Number, "found": true, "detailed": false})
	heard := rtp.loudFrameCount()
	waitHeard(t, rtp, heard+100, "the status and the question for the query code")
	t.Logf("owner: # to 2 s of spoken status heard: %v", time.Since(keyed).Round(10*time.Millisecond))
	mic.keys(c.QueryCode + "#")
	h.waitEvent(owner, "call.selfservice_lookup", map[string]any{"case_number": c.Number, "found": true, "detailed": true})
	heard = rtp.loudFrameCount()
	waitHeard(t, rtp, heard+150, "the spoken status with unit and deadline (3 s of speech)")
	hangUp()
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("sipp: %v\n%s", r.err, r.output)
	}

	// Another number: status only; an unknown number; then the query code.
	rtp2 := newRTPPeer(t, carrierIP)
	res2, hangUp2 := voiceCall(t, other, rtp2, 180*time.Second)
	waitHeard(t, rtp2, 25, "the greeting")
	mic2 := rtp2.startLine(t)
	mic2.keys("1")
	h.waitEvent(other, "call.menu_choice", map[string]any{"choice": "selfservice"})
	unknown := c.Number[:8] + "9999"
	mic2.keys(unknown + "#")
	h.waitEvent(other, "call.selfservice_lookup", map[string]any{"case_number": unknown, "found": false})
	heard = rtp2.loudFrameCount()
	waitHeard(t, rtp2, heard+100, `"no such case" and the prompt to try again`)
	mic2.keys(c.Number + "#")
	h.waitEvent(other, "call.selfservice_lookup", map[string]any{"case_number": c.Number, "found": true, "detailed": false})
	heard = rtp2.loudFrameCount()
	waitHeard(t, rtp2, heard+100, "the status and the question for the query code")
	mic2.keys(c.QueryCode + "#")
	eventually(t, 60*time.Second, "a detailed lookup with the query code", func() bool {
		n := 0
		for _, ev := range h.eventsOfCaller(other) {
			if ev.Type == "call.selfservice_lookup" && ev.Payload["detailed"] == true {
				n++
			}
		}
		return n == 1
	})
	heard = rtp2.loudFrameCount()
	waitHeard(t, rtp2, heard+150, "the details after the query code")
	hangUp2()
	if r := waitSIPp(t, res2, 60*time.Second); r.err != nil {
		t.Fatalf("sipp: %v\n%s", r.err, r.output)
	}
	var lookups []string
	for _, ev := range h.eventsOfCaller(other) {
		if ev.Type == "call.selfservice_lookup" {
			lookups = append(lookups, fmt.Sprintf("%v/%v/%v", ev.Payload["case_number"], ev.Payload["found"], ev.Payload["detailed"]))
		}
	}
	t.Logf("other number's lookups: %v", lookups)
}
