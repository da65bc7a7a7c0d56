package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hotline12345/hotline/casework/eventbus/natstest"

	"github.com/hotline12345/hotline/casework/domain"
)

// The whistleblower of TestWhistleblowerJourneyLeaksNothing: a number and a
// name no other test uses, so that finding either anywhere is this test's.
const (
	wbNumber = "13912340014"
	wbMasked = "139****0014"
	wbName   = "欧阳秘举"
)

// TestWhistleblowerJourneyLeaksNothing (issue 14): a citizen leaves a message,
// an agent files it as a report (举报), the citizen calls again, the agent
// links the call to the case and brings the unit's duty line into a
// three-way call, the case is transferred to the unit, which accepts and
// replies, the center completes it and the satisfaction callback rings the
// citizen. Then the whistleblower's number and name are looked for in
// everything outside the center: every answer the unit's user gets, the
// webhook deliveries to the unit's system, the duty line's SIP, Open311, the
// log files of both services and Asterisk, the metrics of both services and
// of Asterisk, and the NATS subjects outside the center's own (units have no
// NATS account: what is checked is that only call events, the callback order
// and the agents' screen pops carry the number, and nothing carries the name).
// The center does see both (the positive control: the search is not blind).
func TestWhistleblowerJourneyLeaksNothing(t *testing.T) {
	if rtDutyPort == 0 {
		t.Skip("duty-line port not set by this package")
	}
	ensureRecordingDir(t)
	start := time.Now()
	uasPort, _ := freePort("udp")
	e := startRouting(t,
		"HOTLINE_VOICEMAIL_DIR="+t.TempDir(),
		fmt.Sprintf("HOTLINE_CALLBACK_DIAL=PJSIP/carrier/sip:{number}@%s:%d", carrierIP, uasPort),
		"HOTLINE_CALLBACK_HOURS=00:00-24:00", "HOTLINE_CALLBACK_DAYS=every", "HOTLINE_CALLBACK_RING_TIMEOUT=5s",
		"HOTLINE_CALLBACK_RETRY_DELAY=1s", "HOTLINE_CALLBACK_ATTEMPTS=1",
		"HOTLINE_CALLBACK_SPOOL_DIR="+filepath.Join(t.TempDir(), "callbacks"),
		"HOTLINE_WEBHOOK_INTERVAL=300ms")
	unit := e.newUserTokenIn("住建局值班", domain.RoleUnit, "", rtUnitAnswers)
	admin := e.newUserToken("管理员", domain.RoleAdmin, "")

	// A unit's system has no NATS account (the bus's users are the services
	// and the operator): without credentials nothing can be read at all.
	if anon, err := nats.Connect(e.bus.URL, nats.Timeout(2*time.Second)); err == nil {
		anon.Close()
		t.Fatal("a connection without credentials was accepted by the bus")
	}
	// Everything on the test's NATS subjects, from before the first call,
	// through the tests' wiretap user.
	nc, err := nats.Connect(e.bus.URL, nats.UserInfo(natstest.ObserverUser, busServer.ObserverPassword))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var natsMu sync.Mutex
	natsBySubject := map[string][][]byte{}
	for _, subj := range []string{e.bus.SubjectRoot + ".>", e.bus.SubjectRoot + "_agents.>"} {
		if _, err := nc.Subscribe(subj, func(m *nats.Msg) {
			natsMu.Lock()
			natsBySubject[m.Subject] = append(natsBySubject[m.Subject], m.Data)
			natsMu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// The unit's system receives webhooks.
	var hookMu sync.Mutex
	var hooks [][]byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooks = append(hooks, append([]byte(fmt.Sprint(r.URL, r.Header)), b...))
		hookMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	if code, _, body := e.caseworkAPI(admin, "PUT", "/api/v1/units/"+rtUnitAnswers+"/webhook",
		map[string]any{"url": receiver.URL + "/hotline", "secret": "whistleblower-test-secret-0123"}); code != http.StatusOK {
		t.Fatalf("webhook: %d %s", code, body)
	}

	// 1. A message: nobody is logged in, so the caller gets the menu and keys 2.
	vm := leaveVoicemail(t, e.hotline, wbNumber)
	vmID := fmt.Sprint(vm["message_id"])
	eventually(t, 20*time.Second, "the message in the inbox", func() bool {
		code, _, _ := e.caseworkAPI(e.tokens["1001"], "GET", "/api/v1/voicemails/"+vmID, nil)
		return code == http.StatusOK
	})
	t.Logf("message %s left (%s)", vmID, time.Since(start).Round(time.Second))

	// 2. The agent files it as a report, with the caller's name.
	code, _, body := e.caseworkAPI(e.tokens["1001"], "POST", "/api/v1/voicemails/"+vmID+"/case", map[string]any{
		"caller":  map[string]any{"name": wbName, "address": "东城区北新桥三条8号"},
		"content": "举报：某工地夜间违规施工并偷排泥浆", "category": "report", "region": "110101", "urgency": "normal",
		"confidentiality": "none", "handling_mode": "written_transfer", "callback_consent": true})
	if code != http.StatusCreated {
		t.Fatalf("file the message as a report: %d %s", code, body)
	}
	var c struct{ ID, Number string }
	_ = json.Unmarshal(body, &c)

	// 3. The citizen calls again; the agent answers (screen pop), links the
	// call to the case and joins the unit's duty line.
	_, rtpU, dutyDir := e.threeWayParties(t)
	pops := e.screenPops(t, "1001")
	rtp2 := newRTPPeer(t, carrierIP)
	talk(t, rtp2, citizenTone)
	res2, hangUp := rtCitizen(t, wbNumber, rtp2)
	e.waitEventOf(t, wbNumber, "call.agent_answered")
	var pop map[string]any
	select {
	case pop = <-pops:
	case <-time.After(20 * time.Second):
		t.Fatal("no screen pop")
	}
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/case", map[string]any{"case_id": c.ID}); code != http.StatusOK {
		t.Fatalf("link the call: %d %v", code, out)
	}
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway", map[string]any{"unit_id": rtUnitAnswers, "confidential": false}); code != http.StatusOK {
		t.Fatalf("three-way: %d %v", code, out)
	}
	e.waitEventOf(t, wbNumber, "call.threeway_joined")
	eventually(t, 30*time.Second, "citizen and unit to hear each other", func() bool {
		cu, _ := toneFrames(rtp2.received(), unitTone)
		uc, _ := toneFrames(rtpU.received(), citizenTone)
		return cu >= 25 && uc >= 25
	})
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/call/threeway/drop", nil); code != http.StatusOK {
		t.Fatalf("drop the unit: %d %v", code, out)
	}
	hangUp()
	if r := waitSIPp(t, res2, 30*time.Second); r.err != nil {
		t.Fatalf("citizen: %v\n%s", r.err, r.output)
	}
	e.waitEventOf(t, wbNumber, "call.recording_saved")
	t.Logf("three-way call done (%s)", time.Since(start).Round(time.Second))

	// 4. Transfer, the unit's work, completion; the callback rings the citizen,
	// who keys 1 (satisfied). An operator watches on a remote console at
	// verbose 3, where Asterisk's dial code shows the callback's dial string:
	// it must reach that console only, no log file.
	console := remoteConsole(t, "-vvv")
	rtpCB := newRTPPeer(t, carrierIP)
	uas := citizenUAS(t, "voice_citizen_answer.xml", uasPort, 1, rtpCB)
	for _, step := range []struct {
		token, action string
		body          map[string]any
	}{
		{e.tokens["1001"], "transfer", map[string]any{"lead": rtUnitAnswers}},
		{unit, "accept", map[string]any{}},
		{unit, "reply", map[string]any{"text": "已查处，责令停工整改"}},
		{e.supervisor, "review", map[string]any{"result": "complete"}},
	} {
		if code, _, body := e.caseworkAPI(step.token, "POST", "/api/v1/cases/"+c.ID+"/"+step.action, step.body); code != http.StatusOK {
			t.Fatalf("%s: %d %s", step.action, code, body)
		}
	}
	waitHeard(t, rtpCB, 100, "the callback's introduction")
	rtpCB.sendDigits("1")
	if r := waitSIPp(t, uas, 60*time.Second); r.err != nil {
		t.Fatalf("citizen UAS (callback): %v\n%s", r.err, r.output)
	}
	eventually(t, 60*time.Second, "call.callback_result", func() bool {
		var n int
		_ = e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'call.callback_result' AND case_id = $1`, c.ID).Scan(&n)
		return n > 0
	})
	eventually(t, 20*time.Second, "webhook deliveries to the unit", func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return len(hooks) >= 1 // the transfer (the unit's own steps notify nobody)
	})
	t.Logf("journey done (%s): case %s", time.Since(start).Round(time.Second), c.Number)

	// The center sees the whistleblower (positive control).
	center := map[string][]byte{}
	_, _, center["agent's case"] = e.caseworkAPI(e.tokens["1001"], "GET", "/api/v1/cases/"+c.ID, nil)
	_, _, center["supervisor's case"] = e.caseworkAPI(e.supervisor, "GET", "/api/v1/cases/"+c.ID, nil)
	_, _, center["agent's voicemail"] = e.caseworkAPI(e.tokens["1001"], "GET", "/api/v1/voicemails/"+vmID, nil)
	popJSON, _ := json.Marshal(pop)
	center["screen pop"] = popJSON
	for what, b := range center {
		if !strings.Contains(string(b), wbNumber) {
			t.Errorf("positive control: the center's %s lacks the number: %s", what, b)
		}
	}
	for _, what := range []string{"agent's case", "supervisor's case"} {
		if !strings.Contains(string(center[what]), wbName) {
			t.Errorf("positive control: the center's %s lacks the name: %s", what, center[what])
		}
	}

	// Everything the unit's user gets.
	seen := map[string][]byte{}
	for _, p := range []string{
		"/api/v1/me", "/api/v1/portal/inbox", "/api/v1/cases", "/api/v1/cases?unit=" + rtUnitAnswers, "/api/v1/cases/" + c.ID,
		"/api/v1/cases/" + c.ID + "/media", "/api/v1/notifications", "/api/v1/units", "/api/v1/units/" + rtUnitAnswers + "/webhook/deliveries",
		"/api/v1/voicemails", "/api/v1/voicemails/" + vmID, "/api/v1/voicemails/" + vmID + "/audio", "/api/v1/calendar/2026",
	} {
		code, hdr, body := e.caseworkAPI(unit, "GET", p, nil)
		seen["unit GET "+p] = append([]byte(fmt.Sprint(code, hdr)), body...)
	}
	if code, _, body := e.caseworkAPI(unit, "GET", "/api/v1/cases/"+c.ID, nil); code != http.StatusOK || !strings.Contains(string(body), c.Number) {
		t.Errorf("the unit does not see its case: %d %s", code, body)
	}
	hookMu.Lock()
	for i, h := range hooks {
		seen[fmt.Sprintf("webhook delivery %d", i)] = h
	}
	hookMu.Unlock()
	if msgs, err := os.ReadFile(filepath.Join(dutyDir, "messages.log")); err != nil || !strings.Contains(string(msgs), "INVITE sip:8801@") {
		t.Errorf("duty line's SIP trace: %v", err)
	} else {
		seen["SIP to the duty line"] = msgs
	}

	// Open311, as anyone.
	for _, p := range []string{"/open311/v2/services.json", "/open311/v2/requests.json",
		"/open311/v2/requests.json?service_request_id=" + c.Number, "/open311/v2/requests/" + c.Number + ".json"} {
		resp, err := http.Get("http://" + e.caseHTTP + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen["Open311 "+p] = append([]byte(fmt.Sprint(resp.StatusCode, resp.Header)), b...)
	}

	// Metrics of both services and Asterisk.
	for what, u := range map[string]string{"call service metrics": "http://" + e.callHTTP + "/metrics",
		"casework metrics": "http://" + e.caseHTTP + "/metrics",
		"Asterisk metrics": fmt.Sprintf("http://127.0.0.1:%d/metrics", st.httpPort)} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(b) < 100 {
			t.Errorf("%s: %d, %d bytes", what, resp.StatusCode, len(b))
		}
		seen[what] = b
	}

	// Logs: both services' (at debug level), Asterisk's.
	for _, name := range []string{"callsvc", "casework"} {
		b, err := os.ReadFile(filepath.Join(e.logDir, name+".log"))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s log: %v", name, err)
		}
		seen[name+" log"] = b
		if !strings.Contains(string(b), wbMasked) && name == "callsvc" {
			t.Errorf("positive control: the call service's log has no masked number %s", wbMasked)
		}
	}
	// Positive control: level 3 was on and the number went through Asterisk.
	if out := console.output(); !strings.Contains(out, "Called ") || !strings.Contains(out, wbNumber) {
		t.Errorf("the remote console at verbose 3 did not show the callback's dial (%d bytes)", len(out))
	}
	astLogs, _ := filepath.Glob(filepath.Join(st.dataDir, "asterisk", st.instance, "log", "*"))
	if len(astLogs) == 0 {
		t.Error("no Asterisk log files")
	}
	for _, f := range astLogs {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seen["Asterisk "+filepath.Base(f)] = b
	}

	// NATS: the name on no subject; the number only where the center's own
	// services need it.
	natsMu.Lock()
	centerOnly := func(subj string) bool {
		rest := strings.TrimPrefix(subj, e.bus.SubjectRoot)
		return strings.HasPrefix(rest, ".call.") || rest == ".case.callback_requested" ||
			(strings.HasPrefix(rest, "_agents.") && strings.HasSuffix(rest, ".screenpop"))
	}
	var carrying []string
	for subj, msgs := range natsBySubject {
		for _, m := range msgs {
			if strings.Contains(string(m), wbNumber) && !slices.Contains(carrying, subj) {
				carrying = append(carrying, subj)
			}
			if !centerOnly(subj) {
				seen["NATS "+subj] = append(seen["NATS "+subj], m...)
			} else if hasName(m) {
				t.Errorf("NATS %s carries the whistleblower's name: %s", subj, m)
			}
		}
	}
	natsMu.Unlock()
	t.Logf("NATS subjects carrying the number (center only): %v", carrying)
	if !slices.Contains(carrying, e.bus.SubjectRoot+".call.started") {
		t.Errorf("positive control: call.started did not carry the number on NATS (subjects %v)", carrying)
	}

	for what, b := range seen {
		if strings.Contains(string(b), wbNumber) {
			i := strings.Index(string(b), wbNumber)
			t.Errorf("LEAK: the whistleblower's number is in %s: …%s…", what, excerpt(b, i))
		}
		if hasName(b) {
			t.Errorf("LEAK: the whistleblower's name is in %s", what)
		}
	}
	t.Logf("looked in %d places; journey and checks took %s", len(seen), time.Since(start).Round(time.Second))
}

// hasName finds the name as UTF-8 or JSON-escaped.
func hasName(b []byte) bool {
	esc := strings.Trim(strconv.QuoteToASCII(wbName), `"`)
	return strings.Contains(string(b), wbName) || strings.Contains(strings.ToLower(string(b)), strings.ToLower(esc))
}

func excerpt(b []byte, i int) string {
	from, to := max(0, i-200), min(len(b), i+100)
	return string(b[from:to])
}
