package e2e

// Crash recovery and zero-downtime restart (issue 11): the call service is
// killed (kill -9) or stopped (SIGTERM) with callers in the voice menu, in the
// queue and talking with agents; the next process adopts or ends every call.
// Real processes throughout: Asterisk, SIPp citizens and agents with Go RTP
// peers that talk with tones of their own, NATS, PostgreSQL.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// menuTone is what callers in the voice menu "say" (keeps their RTP flowing
// without keys; far from the fax tone).
const menuTone = 400.0

// flowMeter samples, every 250 ms, how many 20 ms frames of a tone a peer has
// heard so far, so a test can tell whether audio flowed through a window.
type flowMeter struct {
	name string
	peer *rtpPeer
	freq float64

	mu      sync.Mutex
	scanned int // samples already looked at
	count   int
	series  []flowSample
}

type flowSample struct {
	at    time.Time
	count int
}

func (m *flowMeter) sample() {
	s := m.peer.received()
	m.mu.Lock()
	defer m.mu.Unlock()
	end := len(s) - len(s)%160
	if end > m.scanned {
		n, _ := toneFrames(s[m.scanned:end], m.freq)
		m.count += n
		m.scanned = end
	}
	m.series = append(m.series, flowSample{time.Now(), m.count})
}

// meter samples the meters until the test ends.
func meter(t *testing.T, ms ...*flowMeter) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for _, m := range ms {
					m.sample()
				}
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// longestGap is the longest time within [from, to] in which the tone's count
// did not grow: how long the listener heard nothing of it.
func (m *flowMeter) longestGap(from, to time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var longest time.Duration
	var last time.Time
	prev := -1
	for _, s := range m.series {
		if s.at.Before(from) {
			prev = s.count
			last = s.at
			continue
		}
		if s.at.After(to) {
			break
		}
		if prev < 0 || s.count > prev {
			prev, last = s.count, s.at
			continue
		}
		longest = max(longest, s.at.Sub(last))
	}
	return longest
}

// callEventCounts counts a caller's stored events by type, per call.
func (e *rtEnv) callEventCounts(t *testing.T, caller string) map[string]map[string]int {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT e.call_id, e.type, count(*) FROM events e
		WHERE e.call_id IN (SELECT call_id FROM calls WHERE caller = $1) GROUP BY 1, 2`, caller)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var id, typ string
		var n int
		if err := rows.Scan(&id, &typ, &n); err != nil {
			t.Fatal(err)
		}
		if out[id] == nil {
			out[id] = map[string]int{}
		}
		out[id][typ] = n
	}
	return out
}

// oneStartOneEnd checks a caller has exactly one call, with exactly one
// call.started and one call.ended, and returns the call's row.
func (e *rtEnv) oneStartOneEnd(t *testing.T, caller string) (hangupBy, outcome string) {
	t.Helper()
	var counts map[string]map[string]int
	eventually(t, 40*time.Second, "call.ended of "+caller, func() bool {
		counts = e.callEventCounts(t, caller)
		for _, c := range counts {
			if c["call.ended"] == 0 {
				return false
			}
		}
		return len(counts) > 0
	})
	if len(counts) != 1 {
		t.Errorf("%s: %d calls stored, want 1: %v", caller, len(counts), counts)
	}
	for id, c := range counts {
		if c["call.started"] != 1 || c["call.ended"] != 1 {
			t.Errorf("%s call %s: %d call.started, %d call.ended, want one each (%v)", caller, id, c["call.started"], c["call.ended"], c)
		}
	}
	_ = e.pool.QueryRow(context.Background(), `SELECT COALESCE(hangup_by, ''), COALESCE(outcome, '') FROM calls WHERE caller = $1`, caller).
		Scan(&hangupBy, &outcome)
	return hangupBy, outcome
}

// kill9 kills the call service at once, as a crash would.
func (e *rtEnv) kill9(t *testing.T) {
	t.Helper()
	if err := e.callsvc.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-e.callsvc.done:
		e.callsvc.done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("call service did not die")
	}
}

// restart starts a new call service process with the same settings (and so
// the same spool, call journal and agents' states).
func (e *rtEnv) restart(t *testing.T) time.Time {
	t.Helper()
	e.callsvc = e.start("callsvc", "http://"+e.callHTTP+"/readyz")
	return time.Now()
}

type rtCall struct {
	caller string
	rtp    *rtpPeer
	res    <-chan sippResult
	hangUp func()
}

func (e *rtEnv) citizen(t *testing.T, caller string, tone float64) rtCall {
	rtp := newRTPPeer(t, carrierIP)
	talk(t, rtp, tone)
	res, hangUp := rtCitizen(t, caller, rtp)
	return rtCall{caller: caller, rtp: rtp, res: res, hangUp: hangUp}
}

// TestKill9AdoptsOrEndsEveryCall: kill -9 of the call service with 10 callers
// in the voice menu, 2 waiting in the queue and 2 talking with agents. The
// restarted service adopts every call: menu callers hear the apology and the
// menu again within 5 s of the restart, waiting callers keep waiting and get an
// agent, conversations never stop (audio both ways throughout) and keep their
// one recording; every call has exactly one call.started and one call.ended.
func TestKill9AdoptsOrEndsEveryCall(t *testing.T) {
	e := startRouting(t,
		"HOTLINE_MENU_MAX_ERRORS=50", "HOTLINE_MENU_FIRST_TIMEOUT=8s",
		"HOTLINE_QUEUE_MAX_WAIT=5m", "HOTLINE_QUEUE_FIRST_ANNOUNCE=60s", "HOTLINE_QUEUE_ANNOUNCE_EVERY=60s")
	var agentRTP = map[string]*rtpPeer{}
	for _, staff := range []string{"1001", "1002", "1003"} {
		a := rtAgentByStaff(t, staff)
		p := newRTPPeer(t, a.ip)
		talk(t, p, agentTone)
		rtUAS(t, "routing_uas_answer.xml", a.ip, a.port, p)
		agentRTP[staff] = p
	}

	// 10 callers in the voice menu: nobody is logged in, human service declines.
	var menu []rtCall
	for i := range 10 {
		menu = append(menu, e.citizen(t, fmt.Sprintf("1391100%04d", i), menuTone))
		time.Sleep(150 * time.Millisecond)
	}
	for _, c := range menu {
		// In the menu (its first timeout), not still in the greeting: an
		// agent logging in now must not pull them into the queue.
		e.waitEventOf(t, c.caller, "call.menu_choice")
	}
	// 2 conversations with agents 1001 and 1002.
	e.ready(t, "1001", "1002")
	var talking []rtCall
	for i := range 2 {
		c := e.citizen(t, fmt.Sprintf("1392200%04d", i), citizenTone)
		e.waitEventOf(t, c.caller, "call.agent_answered")
		talking = append(talking, c)
	}
	// 2 callers waiting in the queue.
	var queued []rtCall
	for i := range 2 {
		c := e.citizen(t, fmt.Sprintf("1393300%04d", i), citizenTone)
		e.waitEventOf(t, c.caller, "call.queued")
		queued = append(queued, c)
	}
	var meters []*flowMeter
	for i, c := range talking {
		staff := fmt.Sprint(1001 + i)
		meters = append(meters,
			&flowMeter{name: c.caller + " hears agent " + staff, peer: c.rtp, freq: agentTone},
			&flowMeter{name: "agent " + staff + " hears " + c.caller, peer: agentRTP[staff], freq: citizenTone})
	}
	var menuMeters []*flowMeter
	for _, c := range menu {
		menuMeters = append(menuMeters, &flowMeter{name: c.caller, peer: c.rtp})
	}
	meter(t, meters...)
	eventually(t, 30*time.Second, "both conversations to carry audio both ways", func() bool {
		for _, m := range meters {
			if m.longestGap(time.Now().Add(-2*time.Second), time.Now()) > 0 || m.count < 50 {
				return false
			}
		}
		return true
	})

	killed := time.Now()
	e.kill9(t)
	t.Logf("call service killed with 10 callers in the menu, 2 in the queue, 2 in conversations")
	// Without recovery each menu caller now hears the rest of the prompt that
	// was playing, then silence: wait for that silence before the restart.
	loud := func() []int {
		out := make([]int, len(menu))
		for i, c := range menu {
			out[i] = c.rtp.loudFrameCount()
		}
		return out
	}
	prev := loud()
	quietSince := time.Now()
	for time.Since(quietSince) < 1500*time.Millisecond && time.Since(killed) < 25*time.Second {
		time.Sleep(250 * time.Millisecond)
		now := loud()
		for i := range now {
			if now[i] != prev[i] {
				quietSince = time.Now()
			}
		}
		prev = now
	}
	t.Logf("menu callers silent %.1f s after the kill", time.Since(killed).Seconds())
	before := loud()
	from := make([]int, len(menu)) // what each had heard before the restart
	for i, c := range menu {
		from[i] = len(c.rtp.received())
	}
	restarted := e.restart(t)
	t.Logf("call service ready again %.1f s after the kill", restarted.Sub(killed).Seconds())

	// Menu callers: the apology (and the menu) within 5 s of the restart.
	heard := make([]time.Duration, len(menu))
	deadline := restarted.Add(5 * time.Second)
	for time.Now().Before(deadline.Add(time.Second)) {
		done := true
		for i, c := range menu {
			if heard[i] == 0 && c.rtp.loudFrameCount()-before[i] >= 25 {
				heard[i] = time.Since(restarted)
			}
			done = done && heard[i] != 0
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, c := range menu {
		if heard[i] == 0 || heard[i] > 5*time.Second {
			t.Errorf("menu caller %s heard nothing within 5 s of the restart", c.caller)
		}
	}
	// What they heard is the apology (5.3 s), then the menu.
	time.Sleep(time.Until(restarted.Add(9 * time.Second)))
	apology := readWAV(t, filepath.Join(st.dataDir, "sounds", "hotline", "call-resumed.wav"))
	for i, c := range menu {
		got := c.rtp.received()[from[i]:]
		corr, end := bestMatch(got, apology)
		t.Logf("menu caller %s: sound %.2f s after the restart; apology heard with envelope correlation %.2f, ending %.1f s into the new audio",
			c.caller, heard[i].Seconds(), corr, float64(end)/8000)
		if corr < 0.7 {
			t.Errorf("menu caller %s did not hear the apology (correlation %.2f)", c.caller, corr)
		}
	}

	// Conversations: audio both ways throughout, kill and restart included.
	time.Sleep(3 * time.Second)
	for _, m := range meters {
		gap := m.longestGap(killed.Add(-time.Second), time.Now())
		t.Logf("%s: longest gap %s across kill and restart", m.name, gap)
		if gap > 1500*time.Millisecond {
			t.Errorf("%s: audio stopped for %s across the kill and restart", m.name, gap)
		}
	}
	if st := e.agentState(t, "1001"); st["state"] != "on_call" {
		t.Errorf("agent 1001 after the restart: %v, want on_call (conversation adopted)", st)
	}

	// Waiting callers: still waiting; an agent becoming ready takes the
	// first, the end of a conversation frees an agent for the second.
	e.ready(t, "1003")
	e.waitEventOf(t, queued[0].caller, "call.agent_answered")
	talking[0].hangUp()
	e.waitEventOf(t, queued[1].caller, "call.agent_answered")
	for _, c := range queued {
		n := 0
		for _, ev := range e.events(t, c.caller) {
			if ev.Type == "call.queued" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d call.queued, want 1 (the adopted caller kept their place)", c.caller, n)
		}
	}
	time.Sleep(2 * time.Second) // some conversation after the restart in every recording

	for _, group := range [][]rtCall{menu, talking, queued} {
		for _, c := range group {
			c.hangUp()
		}
	}
	for _, group := range [][]rtCall{menu, talking, queued} {
		for _, c := range group {
			if r := waitSIPp(t, c.res, 30*time.Second); r.err != nil {
				t.Errorf("%s: call failed: %v\n%s", c.caller, r.err, tail([]byte(r.output), 1500))
			}
		}
	}

	// Every call: one call.started, one call.ended.
	for _, group := range [][]rtCall{menu, talking, queued} {
		for _, c := range group {
			by, outcome := e.oneStartOneEnd(t, c.caller)
			if by != "caller" {
				t.Errorf("%s: hangup_by %q (outcome %s), want caller", c.caller, by, outcome)
			}
		}
	}
	// Conversations across the crash: one recording each, with both sides,
	// covering the time before the kill and after the restart.
	for i, c := range talking {
		rec := e.waitEventOf(t, c.caller, "call.recording_saved")
		n := 0
		for _, ev := range e.events(t, c.caller) {
			if ev.Type == "call.recording_saved" {
				n++
			}
		}
		path, _ := rec.Payload["uri"].(string)
		samples := readWAV(t, path)
		nc, _ := toneFrames(samples, citizenTone)
		na, _ := toneFrames(samples, agentTone)
		secs := float64(len(samples)) / 8000
		t.Logf("conversation %d: %d recording(s), %s: %.1f s, citizen in %d and agent in %d frames", i, n, path, secs, nc, na)
		if n != 1 {
			t.Errorf("%s: %d recordings, want 1", c.caller, n)
		}
		if secs < restarted.Sub(killed).Seconds()+3 || nc < 100 || na < 100 {
			t.Errorf("%s: the recording (%.1f s, citizen %d, agent %d frames) does not cover the conversation across the restart", c.caller, secs, nc, na)
		}
	}
	m := e.metrics(t)
	if !strings.Contains(m, `hotline_calls_recovered_total{result="adopted"} 14`) {
		t.Errorf("metrics do not show 14 adopted calls:\n%s", grepLines(m, "hotline_calls_recovered_total"))
	}
}

// TestSIGTERMHandsConversationToNextProcess: a deploy in the middle of a
// conversation. SIGTERM: new calls go to the dialplan fallback (the caller's
// message reaches the voicemail inbox with their number), the conversation goes
// on in Asterisk when the old process has exited, and the next process adopts
// it: the agent's API knows the call, and its end is recorded once.
func TestSIGTERMHandsConversationToNextProcess(t *testing.T) {
	e := startRouting(t, "HOTLINE_DRAIN_HANDOVER=on", "HOTLINE_DRAIN_TIMEOUT=2s")
	a := rtAgentByStaff(t, "1001")
	agentRTP := newRTPPeer(t, a.ip)
	talk(t, agentRTP, agentTone)
	rtUAS(t, "routing_uas_answer.xml", a.ip, a.port, agentRTP)
	e.ready(t, "1001")

	conv := e.citizen(t, "13944000001", citizenTone)
	e.waitEventOf(t, conv.caller, "call.agent_answered")
	meters := []*flowMeter{
		{name: "citizen hears agent", peer: conv.rtp, freq: agentTone},
		{name: "agent hears citizen", peer: agentRTP, freq: citizenTone},
	}
	meter(t, meters...)
	eventually(t, 30*time.Second, "the conversation to carry audio both ways", func() bool {
		return meters[0].count > 50 && meters[1].count > 50
	})

	stopped := time.Now()
	if err := e.callsvc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "readyz to report draining", func() bool { return readyStatus(e.callHTTP) == http.StatusServiceUnavailable })

	// A new caller while the service stops: the fallback takes a message.
	const newcomer = "13944000002"
	nc := e.citizen(t, newcomer, 500)
	select {
	case err := <-e.callsvc.done:
		e.callsvc.done <- err
		if err != nil {
			t.Fatalf("call service exit after the drain: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("call service did not exit after its drain")
	}
	exited := time.Now()
	t.Logf("old process exited %.1f s after SIGTERM", exited.Sub(stopped).Seconds())
	time.Sleep(2 * time.Second) // nobody watches the conversation now
	restarted := e.restart(t)
	t.Logf("next process ready %.1f s after the old one exited", restarted.Sub(exited).Seconds())

	eventually(t, 10*time.Second, "agent 1001 on the adopted call", func() bool {
		return e.agentState(t, "1001")["state"] == "on_call"
	})
	time.Sleep(2 * time.Second)
	for _, m := range meters {
		gap := m.longestGap(stopped.Add(-time.Second), time.Now())
		t.Logf("%s: longest gap %s across SIGTERM, exit and restart", m.name, gap)
		if gap > 1500*time.Millisecond {
			t.Errorf("%s: audio stopped for %s across the restart", m.name, gap)
		}
	}

	// The newcomer speaks after the fallback's beep, then hangs up; the message
	// is imported into the inbox with the caller's number.
	time.Sleep(12 * time.Second)
	nc.hangUp()
	if r := waitSIPp(t, nc.res, 30*time.Second); r.err != nil {
		t.Fatalf("newcomer's call failed: %v\n%s", r.err, r.output)
	}
	if !fallbackLogged(t, newcomer) {
		t.Error("the newcomer was not answered by the dialplan fallback")
	}
	var vm map[string]any
	eventually(t, 30*time.Second, "the fallback message in /api/v1/voicemails", func() bool {
		code, _, body := e.caseworkAPI(e.tokens["1001"], "GET", "/api/v1/voicemails", nil)
		if code != http.StatusOK {
			return false
		}
		var list struct {
			Items []map[string]any `json:"items"`
		}
		_ = json.Unmarshal(body, &list)
		for _, it := range list.Items {
			if it["caller"] == newcomer {
				vm = it
				return true
			}
		}
		return false
	})
	t.Logf("fallback message in the inbox: %v", vm)
	if d, _ := vm["duration_ms"].(float64); d < 5000 {
		t.Errorf("fallback message of %v ms, want the newcomer's ~10 s", vm["duration_ms"])
	}
	if !strings.Contains(e.metrics(t), `hotline_fallback_voicemails_total{result="imported"} 1`) {
		t.Error("hotline_fallback_voicemails_total{result=\"imported\"} did not count the message")
	}

	conv.hangUp()
	if r := waitSIPp(t, conv.res, 30*time.Second); r.err != nil {
		t.Fatalf("the conversation was cut: %v\n%s", r.err, r.output)
	}
	by, outcome := e.oneStartOneEnd(t, conv.caller)
	if by != "caller" || outcome != "agent" {
		t.Errorf("conversation stored as hangup_by %q, outcome %q; want caller, agent", by, outcome)
	}
	rec := e.waitEventOf(t, conv.caller, "call.recording_saved")
	samples := readWAV(t, rec.Payload["uri"].(string))
	secs := float64(len(samples)) / 8000
	t.Logf("recording: %.1f s across the restart", secs)
	if secs < time.Since(stopped).Seconds()-3 {
		t.Errorf("recording of %.1f s does not cover the conversation across the restart (%.1f s)", secs, time.Since(stopped).Seconds())
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAsteriskRestartEndsCallsAsSystem: Asterisk restarts under a live call.
// The call is stored as ended by the system, with a cause, not by the caller.
func TestAsteriskRestartEndsCallsAsSystem(t *testing.T) {
	h := startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed"))
	rtp := newRTPPeer(t, carrierIP)
	const caller = "13600136077"
	res := carrierCall(t, caller, rtp, 60*time.Second)
	eventually(t, 20*time.Second, "the caller hearing the greeting", func() bool { return rtp.loudFrameCount() > 25 })
	if out, err := st.stackCmd("asterisk-stop", st.instance); err != nil {
		t.Fatalf("stop Asterisk: %v\n%s", err, out)
	}
	if out, err := st.stackCmd("asterisk-start", st.instance); err != nil {
		t.Fatalf("start Asterisk: %v\n%s", err, out)
	}
	eventually(t, 30*time.Second, "the call service to reconnect", func() bool { return readyStatus(h.callHTTP) == http.StatusOK })
	<-res // SIPp ends one way or another; the call is gone with Asterisk
	var by, causeText string
	eventually(t, 30*time.Second, "the call stored as ended", func() bool {
		return h.pool.QueryRow(t.Context(), `SELECT hangup_by, COALESCE(hangup_cause_text, '') FROM calls WHERE caller = $1 AND ended_at IS NOT NULL`, caller).
			Scan(&by, &causeText) == nil
	})
	t.Logf("call ended by %s (%q)", by, causeText)
	if by != "system" || causeText == "" {
		t.Errorf("call ended by the Asterisk restart stored as hangup_by %q, cause %q; want system with a cause", by, causeText)
	}
}
