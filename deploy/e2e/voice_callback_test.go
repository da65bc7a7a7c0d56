package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// cbCase registers a case from number with callback consent and takes it through
// transfer, the unit's accept and reply and the center's review to completed,
// which makes casework ask the call service for a callback.
func cbCase(t *testing.T, h *hotline, number string, agent, unit, supervisor string) (id, caseNumber string) {
	t.Helper()
	code, _, body := h.caseworkAPI(agent, "POST", "/api/v1/cases", map[string]any{
		"caller": map[string]any{"name": "赵六", "phone": number}, "content": "路灯不亮",
		"category": "complaint", "region": "110101", "urgency": "normal", "confidentiality": "none",
		"channel": "phone", "handling_mode": "written_transfer", "callback_consent": true})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	var c struct{ ID, Number string }
	_ = json.Unmarshal(body, &c)
	for _, step := range []struct {
		token, path string
		body        map[string]any
	}{
		{agent, "transfer", map[string]any{"lead": "cb-unit"}},
		{unit, "accept", map[string]any{}},
		{unit, "reply", map[string]any{"text": "已修复路灯"}},
		{supervisor, "review", map[string]any{"result": "complete"}},
	} {
		if code, _, body := h.caseworkAPI(step.token, "POST", "/api/v1/cases/"+c.ID+"/"+step.path, step.body); code != http.StatusOK {
			t.Fatalf("%s: %d %s", step.path, code, body)
		}
	}
	return c.ID, c.Number
}

// callbackHotline starts the services with callbacks dialled to a citizen UAS on
// 127.0.0.10:port, and the users and units a case needs.
func callbackHotline(t *testing.T, uasPort int, extra ...string) (h *hotline, agent, unit, supervisor string) {
	env := append([]string{
		fmt.Sprintf("HOTLINE_CALLBACK_DIAL=PJSIP/carrier/sip:{number}@%s:%d", carrierIP, uasPort),
		"HOTLINE_CALLBACK_HOURS=00:00-24:00",
		"HOTLINE_CALLBACK_DAYS=every",
		"HOTLINE_CALLBACK_RING_TIMEOUT=3s",
		"HOTLINE_CALLBACK_RETRY_DELAY=1s",
		"HOTLINE_CALLBACK_ATTEMPTS=3",
		"HOTLINE_CALLBACK_SPOOL_DIR=" + filepath.Join(t.TempDir(), "callbacks"),
	}, extra...)
	h = startHotline(t, withEnv(env...))
	units := store.NewUnits(h.pool, nil)
	for _, u := range []store.Unit{
		{Unit: domain.Unit{ID: "cb-center", Name: "12345热线中心", Level: 1}, Active: true},
		{Unit: domain.Unit{ID: "cb-unit", Name: "市城管局", Level: 2, ParentID: "cb-center"}, Active: true},
	} {
		if _, err := units.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	return h, h.newUserToken("话务员", domain.RoleAgent, "1021"),
		h.newUserTokenIn("城管局", domain.RoleUnit, "", "cb-unit"),
		h.newUserToken("督查", domain.RoleSupervisor, "")
}

// citizenUAS runs the citizen's phone (SIPp UAS) on 127.0.0.10:port for n calls.
func citizenUAS(t *testing.T, scenario string, port, n int, rtp *rtpPeer) <-chan sippResult {
	args := []string{"-sf", filepath.Join(st.repo, "deploy/e2e/sipp", scenario), "-i", carrierIP,
		"-p", fmt.Sprint(port), "-m", fmt.Sprint(n)}
	if rtp != nil {
		args = append(args, "-key", "rtpaddr", rtp.Addr, "-key", "rtpport", fmt.Sprint(rtp.Port))
	}
	return runSIPp(t, t.TempDir(), 170*time.Second, args...)
}

// caseHistory returns the case's state and its history actions.
func caseHistory(t *testing.T, h *hotline, token, id string) (string, []string) {
	t.Helper()
	code, _, body := h.caseworkAPI(token, "GET", "/api/v1/cases/"+id, nil)
	if code != http.StatusOK {
		t.Fatalf("get case: %d %s", code, body)
	}
	var c struct {
		State   string `json:"state"`
		History []struct {
			Action string `json:"action"`
		} `json:"history"`
	}
	_ = json.Unmarshal(body, &c)
	var acts []string
	for _, e := range c.History {
		acts = append(acts, e.Action)
	}
	return c.State, acts
}

// TestVoiceCallbackDissatisfiedReopens: a completed case whose caller agreed to
// a callback is called back through the carrier; the citizen (SIPp UAS) answers,
// hears which case it is and keys 3; casework records the callback and reopens
// the case (callback_reopen in its history).
func TestVoiceCallbackDissatisfiedReopens(t *testing.T) {
	uasPort, _ := freePort("udp")
	h, agent, unit, sup := callbackHotline(t, uasPort)
	rtp := newRTPPeer(t, carrierIP)
	uas := citizenUAS(t, "voice_citizen_answer.xml", uasPort, 1, rtp)
	const citizen = "13800000051"
	id, number := cbCase(t, h, citizen, agent, unit, sup)
	t.Logf("case %s completed; waiting for the callback", number)

	waitHeard(t, rtp, 100, "the callback's introduction")
	heardAt := time.Now()
	waitHeard(t, rtp, 400, "the case number and the survey question")
	rtp.sendDigits("3")
	t.Logf("introduction to 8 s of speech heard: %v", time.Since(heardAt).Round(10*time.Millisecond))
	if r := waitSIPp(t, uas, 60*time.Second); r.err != nil {
		t.Fatalf("citizen UAS: %v\n%s", r.err, r.output)
	}
	var result map[string]any
	eventually(t, 60*time.Second, "call.callback_result", func() bool {
		var raw []byte
		err := h.pool.QueryRow(context.Background(),
			`SELECT payload FROM events WHERE type = 'call.callback_result' AND case_id = $1`, id).Scan(&raw)
		_ = json.Unmarshal(raw, &result)
		return err == nil
	})
	if result["result"] != "dissatisfied" || result["case_number"] != number || fmt.Sprint(result["attempt"]) != "1" {
		t.Errorf("callback result %v, want dissatisfied for %s at attempt 1", result, number)
	}
	var state string
	var acts []string
	eventually(t, 30*time.Second, "the case reopened by the callback", func() bool {
		state, acts = caseHistory(t, h, sup, id)
		return strings.Contains(strings.Join(acts, ","), "callback_reopen")
	})
	t.Logf("case %s now %s; history %v", number, state, acts)
	if state != "transferred" {
		t.Errorf("state after a dissatisfied callback = %s, want transferred (redo)", state)
	}
	var called string
	_ = h.pool.QueryRow(context.Background(), `SELECT called FROM calls WHERE direction = 'outbound' AND case_id = $1`, id).Scan(&called)
	if called != citizen {
		t.Errorf("outbound call went to %q, want the case's caller %s", called, citizen)
	}
}

// TestVoiceCallbackUnansweredIsRetriedThenUnreachable: a citizen who does not
// answer is called the configured number of times (3) and the case gets the
// final result unreachable (the case is then closed without satisfaction).
func TestVoiceCallbackUnansweredIsRetriedThenUnreachable(t *testing.T) {
	uasPort, _ := freePort("udp")
	h, agent, unit, sup := callbackHotline(t, uasPort)
	uas := citizenUAS(t, "voice_citizen_noanswer.xml", uasPort, 3, nil)
	id, number := cbCase(t, h, "13800000052", agent, unit, sup)
	var result map[string]any
	eventually(t, 120*time.Second, "call.callback_result", func() bool {
		var raw []byte
		err := h.pool.QueryRow(context.Background(),
			`SELECT payload FROM events WHERE type = 'call.callback_result' AND case_id = $1`, id).Scan(&raw)
		_ = json.Unmarshal(raw, &result)
		return err == nil
	})
	if r := waitSIPp(t, uas, 60*time.Second); r.err != nil {
		t.Fatalf("citizen UAS (3 unanswered calls): %v\n%s", r.err, r.output)
	}
	if result["result"] != "unreachable" || fmt.Sprint(result["attempt"]) != "3" {
		t.Errorf("final result %v, want unreachable after 3 attempts", result)
	}
	rows, err := h.pool.Query(context.Background(),
		`SELECT payload->>'result' FROM events WHERE type = 'call.callback_attempt' AND case_id = $1 ORDER BY occurred_at`, id)
	if err != nil {
		t.Fatal(err)
	}
	var attempts []string
	for rows.Next() {
		var r string
		_ = rows.Scan(&r)
		attempts = append(attempts, r)
	}
	rows.Close()
	if strings.Join(attempts, ",") != "no_answer,no_answer,no_answer" {
		t.Errorf("attempts %v, want three no_answer", attempts)
	}
	state, acts := caseHistory(t, h, sup, id)
	t.Logf("case %s: attempts %v, final %v, state %s, history %v", number, attempts, result["result"], state, acts)
}
