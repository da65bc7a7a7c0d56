package e2e

// Helpers of the agent-queue tests (issue 5): SIPp agents and duty lines as UAS
// with Go RTP peers that talk with a tone of their own, citizens whose hang-up
// the test controls, agent users with casework tokens, and audio analysis
// (Goertzel tone detection, envelope correlation with a rendered prompt).

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// rtAgent is a test agent: a PJSIP endpoint with a static contact where a SIPp
// UAS listens.
type rtAgent struct {
	staff, ip string
	port      int
}

var (
	rtAgents = []rtAgent{{staff: "1001", ip: "127.0.0.31"}, {staff: "1002", ip: "127.0.0.32"}, {staff: "1003", ip: "127.0.0.33"}}
	// rtDutyIP:rtDutyPort is the duty-line PBX (DUTYLINE_HOST/PORT of the instance).
	rtDutyIP   = "127.0.0.20"
	rtDutyPort int
)

// init runs before TestMain starts this package's Asterisk: it renders the test
// agents (static contacts, so SIPp UAS need not register) through stack.sh's
// HOTLINE_AGENTS_CSV, and puts the duty-line trunk on a free port.
func init() {
	if os.Getenv("HOTLINE_AGENTS_CSV") != "" {
		return
	}
	var csv strings.Builder
	csv.WriteString("staff_number,password,display_name,contact\n")
	for i := range rtAgents {
		p, err := freePort("udp")
		if err != nil {
			return
		}
		rtAgents[i].port = p
		fmt.Fprintf(&csv, "%s,e2e-agent-%s-pass,测试话务员%s,sip:%s@%s:%d\n", rtAgents[i].staff, rtAgents[i].staff,
			rtAgents[i].staff, rtAgents[i].staff, rtAgents[i].ip, p)
	}
	// Agents whose phones register (SIP security tests): one over UDP, one
	// that must use TLS and SRTP.
	fmt.Fprintf(&csv, "%s,%s,测试话务员%s\n", regAgent, regAgentPass, regAgent)
	fmt.Fprintf(&csv, "%s,%s,测试话务员%s,,tls\n", tlsAgent, tlsAgentPass, tlsAgent)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("hotline-e2e-agents-%d.csv", os.Getpid()))
	if err := os.WriteFile(path, []byte(csv.String()), 0o644); err != nil {
		return
	}
	os.Setenv("HOTLINE_AGENTS_CSV", path)
	if os.Getenv("DUTYLINE_PORT") == "" {
		if p, err := freePort("udp"); err == nil {
			rtDutyPort = p
			os.Setenv("DUTYLINE_PORT", fmt.Sprint(p))
		}
	}
}

func rtAgentByStaff(t *testing.T, staff string) rtAgent {
	for _, a := range rtAgents {
		if a.staff == staff {
			if a.port == 0 {
				t.Skip("test agents not rendered (HOTLINE_AGENTS_CSV was set outside the test)")
			}
			return a
		}
	}
	t.Fatalf("no test agent %s", staff)
	return rtAgent{}
}

// rtEnv is a hotline with agent users, their tokens and a unit directory.
type rtEnv struct {
	*hotline
	tokens     map[string]string // staff number -> bearer token
	supervisor string
}

// Units of the test directory.
const (
	rtUnitAnswers = "zhujianju" // duty line 8801: the answering SIPp UAS
	rtUnitNoDuty  = "wenlvju"   // no duty line at all
	rtCenter      = "center12345"
)

func startRouting(t *testing.T, env ...string) *rtEnv {
	t.Helper()
	e := &rtEnv{tokens: map[string]string{}}
	base := []string{
		"HOTLINE_SERVICE_MODE=open",
		"HOTLINE_QUEUE_RING_TIMEOUT=4s",
		"HOTLINE_AGENT_WRAPUP=1s",
		"HOTLINE_AGENT_MAX_MISSED=2",
		"HOTLINE_QUEUE_FIRST_ANNOUNCE=2s",
		"HOTLINE_QUEUE_ANNOUNCE_EVERY=8s",
		"HOTLINE_QUEUE_MAX_WAIT=60s",
		"HOTLINE_QUEUE_SHORT_ABANDON=3s",
		"HOTLINE_DUTYLINE_TIMEOUT=5s",
		"HOTLINE_AGENT_AUTH_CACHE=2s",
	}
	e.hotline = startHotline(t, withEnv(append(base, env...)...), beforeCallService(func(h *hotline) {
		ctx := context.Background()
		users := store.NewUsers(h.pool)
		for _, a := range rtAgents {
			u, err := users.Create(ctx, store.NewUser{Name: "测试话务员" + a.staff, Role: domain.RoleAgent, Staff: a.staff})
			if err != nil {
				t.Fatal(err)
			}
			_, secret, err := access.IssueToken(ctx, users, u.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			e.tokens[a.staff] = secret
		}
		sup, err := users.Create(ctx, store.NewUser{Name: "督查", Role: domain.RoleSupervisor})
		if err != nil {
			t.Fatal(err)
		}
		if _, e.supervisor, err = access.IssueToken(ctx, users, sup.ID, nil); err != nil {
			t.Fatal(err)
		}
		units := store.NewUnits(h.pool, nil)
		for _, u := range []store.Unit{
			{Unit: domain.Unit{ID: rtCenter, Name: "12345热线中心", Level: 1}, Active: true},
			{Unit: domain.Unit{ID: rtUnitAnswers, Name: "市住建局", Level: 2, ParentID: rtCenter, DutyLine: "PJSIP/8801@dutylines"}, Active: true},
			{Unit: domain.Unit{ID: rtUnitNoDuty, Name: "市文旅局", Level: 2, ParentID: rtCenter}, Active: true},
		} {
			if _, err := units.Create(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		h.env = append(h.env, "HOTLINE_CASEWORK_URL=http://"+h.caseHTTP, "HOTLINE_CASEWORK_TOKEN="+e.supervisor)
	}))
	return e
}

// agentAPI calls the call service's agent API as staff (POST when body != nil
// or the path is an action).
func (e *rtEnv) agentAPI(t *testing.T, staff, method, path string, body any) (int, map[string]any) {
	t.Helper()
	return e.api(t, e.tokens[staff], method, path, body)
}

func (e *rtEnv) api(t *testing.T, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+e.callHTTP+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// ready logs the agents in and makes them ready, in this order (the first is
// then the one idle longest).
func (e *rtEnv) ready(t *testing.T, staff ...string) {
	t.Helper()
	for _, s := range staff {
		for _, op := range []string{"login", "ready"} {
			if code, out := e.agentAPI(t, s, "POST", "/api/v1/agent/"+op, nil); code != http.StatusOK {
				t.Fatalf("%s %s: %d %v", s, op, code, out)
			}
		}
		time.Sleep(20 * time.Millisecond) // distinct idle-since times
	}
}

func (e *rtEnv) agentState(t *testing.T, staff string) map[string]any {
	t.Helper()
	code, out := e.agentAPI(t, staff, "GET", "/api/v1/agent", nil)
	if code != http.StatusOK {
		t.Fatalf("agent state %s: %d %v", staff, code, out)
	}
	return out
}

// events returns the stored events of one caller's calls, oldest first.
type rtEvent struct {
	Type    string
	At      time.Time
	Payload map[string]any
}

func (e *rtEnv) events(t *testing.T, caller string) []rtEvent {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT e.type, e.occurred_at, e.payload FROM events e
		WHERE e.call_id IN (SELECT call_id FROM calls WHERE caller = $1) ORDER BY e.occurred_at, e.id`, caller)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rtEvent
	for rows.Next() {
		var ev rtEvent
		var raw []byte
		if err := rows.Scan(&ev.Type, &ev.At, &raw); err != nil {
			t.Fatal(err)
		}
		_ = json.Unmarshal(raw, &ev.Payload)
		out = append(out, ev)
	}
	return out
}

// waitEvents waits until caller has an event of type typ and returns them all.
func (e *rtEnv) waitEventOf(t *testing.T, caller, typ string) rtEvent {
	t.Helper()
	var found rtEvent
	eventually(t, 60*time.Second, typ+" of "+caller, func() bool {
		for _, ev := range e.events(t, caller) {
			if ev.Type == typ {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// rtUAS runs a SIPp UAS scenario at ip:port with media at rtp until the test ends.
// With trace, every SIP message is logged to <dir>/*_messages.log (returned).
func rtUAS(t *testing.T, scenario, ip string, port int, rtp *rtpPeer) (dir string) {
	t.Helper()
	dir = t.TempDir()
	runSIPp(t, dir, 10*time.Minute,
		"-sf", filepath.Join(st.repo, "deploy/e2e/sipp", scenario),
		"-i", ip, "-p", fmt.Sprint(port),
		"-key", "rtpaddr", rtp.Addr, "-key", "rtpport", fmt.Sprint(rtp.Port),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	return dir
}

// rtCitizen calls 12345 from caller; the call lasts until the hotline hangs up
// or the test calls hangUp.
func rtCitizen(t *testing.T, caller string, rtp *rtpPeer) (res <-chan sippResult, hangUp func()) {
	t.Helper()
	callID := "citizen-" + randomHex(8) + "@" + carrierIP
	sipPort, err := freePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	hangUp = func() {
		c, err := net.Dial("udp", net.JoinHostPort(carrierIP, fmt.Sprint(sipPort)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "INFO sip:%s@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-%s\r\n"+
			"From: <sip:test@127.0.0.1>;tag=t%s\r\nTo: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: 9 INFO\r\n"+
			"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", caller, carrierIP, sipPort, randomHex(6), randomHex(4),
			caller, carrierIP, callID)
	}
	return runSIPp(t, t.TempDir(), 10*time.Minute,
		"-sf", filepath.Join(st.repo, "deploy/e2e/sipp/routing_citizen.xml"), "-s", "12345",
		"-i", carrierIP, "-p", fmt.Sprint(sipPort), "-cid_str", callID,
		"-key", "caller", caller, "-key", "rtpaddr", rtp.Addr, "-key", "rtpport", fmt.Sprint(rtp.Port),
		"-m", "1", "-l", "1", "-recv_timeout", "600000",
		fmt.Sprintf("127.0.0.1:%d", st.sipPort)), hangUp
}

// talk makes p send a sine tone of freq Hz every 20 ms (once it knows where to
// send, i.e. after Asterisk's first packet) until the test ends.
func talk(t *testing.T, p *rtpPeer, freq float64) { toneCadence(t, p, freq, 0, 0) }

// toneCadence is talk with a cadence: the tone for on, silence for off, again
// (off 0: the tone without pause).
func toneCadence(t *testing.T, p *rtpPeer, freq float64, on, off time.Duration) {
	period := int((on + off) / (20 * time.Millisecond))
	onFrames := int(on / (20 * time.Millisecond))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		next := time.Now()
		n := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			frame := make([]int16, 160)
			if off == 0 || (n/160)%period < onFrames {
				for i := range frame {
					frame[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(n+i)/8000))
				}
			}
			n += 160
			p.sendFrame(frame)
			next = next.Add(20 * time.Millisecond)
			time.Sleep(time.Until(next))
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// samples returns a copy of what p has received so far.
func (p *rtpPeer) received() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.samples...)
}

// goertzelRatio is the share of a frame's energy at freq (0..1).
func goertzelRatio(frame []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, total float64
	for _, x := range frame {
		v := float64(x)
		total += v * v
		s := v + k*s1 - s2
		s2, s1 = s1, s
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - k*s1*s2
	return power / (total * float64(len(frame)) / 2)
}

// toneFrames counts the 20 ms frames whose energy is mostly freq (and loud).
func toneFrames(samples []int16, freq float64) (count, first int) {
	first = -1
	for i := 0; i+160 <= len(samples); i += 160 {
		f := samples[i : i+160]
		if rms(f) > 300 && goertzelRatio(f, freq) > 0.3 {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	return count, first
}

func rms(f []int16) float64 {
	var sum float64
	for _, s := range f {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(f)))
}

// readWAV reads a 16-bit mono WAV's samples.
func readWAV(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("data"))
	if i < 0 || len(b) < i+8 {
		t.Fatalf("%s: no data chunk", path)
	}
	pcm := b[i+8:]
	out := make([]int16, len(pcm)/2)
	for k := range out {
		out[k] = int16(binary.LittleEndian.Uint16(pcm[2*k:]))
	}
	return out
}

// envelope is the 10 ms RMS envelope of samples.
func envelope(s []int16) []float64 {
	out := make([]float64, 0, len(s)/80)
	for i := 0; i+80 <= len(s); i += 80 {
		out = append(out, rms(s[i:i+80]))
	}
	return out
}

// bestMatch slides tmpl's envelope over sig's and returns the best normalized
// correlation and where (in samples) the match ends.
func bestMatch(sig, tmpl []int16) (corr float64, end int) {
	es, et := envelope(sig), envelope(tmpl)
	if len(et) == 0 || len(es) < len(et) {
		return 0, 0
	}
	mean := func(x []float64) float64 {
		var s float64
		for _, v := range x {
			s += v
		}
		return s / float64(len(x))
	}
	mt := mean(et)
	var vt float64
	for _, v := range et {
		vt += (v - mt) * (v - mt)
	}
	best := -1.0
	for off := 0; off+len(et) <= len(es); off++ {
		w := es[off : off+len(et)]
		mw := mean(w)
		var cov, vw float64
		for i, v := range w {
			cov += (v - mw) * (et[i] - mt)
			vw += (v - mw) * (v - mw)
		}
		if vw == 0 || vt == 0 {
			continue
		}
		if c := cov / math.Sqrt(vw*vt); c > best {
			best, end = c, (off+len(et))*80
		}
	}
	return best, end
}
