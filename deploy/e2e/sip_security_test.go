package e2e

// SIP trust boundary (issue 14): agents' networks (ACL), blocking of password
// guessers, detection of a registration that takes over an agent's contact,
// SIP over TLS, and toll fraud (no dial string reaches a trunk).

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// agentNetwork is AST_AGENT_NETWORKS of the test instance: the test
	// agents' UAS (127.0.0.31-33), the registering phones (127.0.0.41-49)
	// and loopback itself are inside; outsideIP is not.
	agentNetwork = "127.0.0.0/26"
	outsideIP    = "127.0.0.100"
	// regAgent registers (no static contact); tlsAgent must use TLS and SRTP.
	regAgent     = "1008"
	regAgentPass = "e2e-agent-1008-pass"
	tlsAgent     = "1005"
	tlsAgentPass = "e2e-agent-1005-pass"
)

// register REGISTERs regAgent from ip with password (Expires 60) and returns
// the final status; the registration is removed when the test ends.
func register(t *testing.T, ip, password string) int {
	t.Helper()
	ua := newUDPUA(t, ip)
	code := ua.do(sipRequest{method: "REGISTER", user: regAgent, password: password, expires: 60}).code
	if code == 200 {
		t.Cleanup(func() { ua.do(sipRequest{method: "REGISTER", user: regAgent, password: regAgentPass, expires: 0}) })
	}
	return code
}

// metricValue is the value of an unlabelled series in the call service's /metrics.
func metricValue(t *testing.T, h *hotline, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + h.callHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func waitAMI(t *testing.T, h *hotline) {
	t.Helper()
	eventually(t, 15*time.Second, "the SIP guard connected to AMI", func() bool {
		return metricValue(t, h, "hotline_ami_connected") == 1
	})
}

// TestSIPAgentNetworksACL: an agent's SIP account accepts nothing from outside
// AST_AGENT_NETWORKS, even with the right password (Asterisk 22 treats a
// request that fails the endpoint's ACL like one of an unknown account: a
// challenge no password answers, 401); inside, it registers.
func TestSIPAgentNetworksACL(t *testing.T) {
	ua := newUDPUA(t, outsideIP)
	if r := ua.do(sipRequest{method: "REGISTER", user: regAgent, password: regAgentPass, expires: 60}); r.code != 401 && r.code != 403 {
		t.Errorf("REGISTER with the right password from %s (outside %s): %d, want 401/403", outsideIP, agentNetwork, r.code)
	}
	if r := ua.do(sipRequest{method: "INVITE", user: regAgent, password: regAgentPass, target: "12345"}); r.code != 401 && r.code != 403 {
		t.Errorf("INVITE with the right password from %s: %d, want 401/403", outsideIP, r.code)
	}
	sec, _ := os.ReadFile(filepath.Join(st.dataDir, "asterisk", st.instance, "log", "security.log"))
	if !regexp.MustCompile(`SecurityEvent="FailedACL".*RemoteAddress="IPV4/UDP/` + regexp.QuoteMeta(outsideIP) + `/`).Match(sec) {
		t.Errorf("no FailedACL security event for %s", outsideIP)
	}
	if code := register(t, "127.0.0.41", regAgentPass); code != 200 {
		t.Errorf("REGISTER with the right password from 127.0.0.41 (inside %s): %d, want 200", agentNetwork, code)
	}
}

// TestSIPGuardBlocksPasswordGuessing: wrong passwords from one address block
// it (the right password then gets 403 too), counted in the metrics and
// logged with the address; another address is unaffected; the block ends.
func TestSIPGuardBlocksPasswordGuessing(t *testing.T) {
	h := startHotline(t, withEnv("HOTLINE_SIP_AUTH_MAX_FAILURES=3", "HOTLINE_SIP_AUTH_WINDOW=30s", "HOTLINE_SIP_BLOCK_FOR=8s"))
	waitAMI(t, h)
	const guesser, other = "127.0.0.43", "127.0.0.44"
	ua := newUDPUA(t, guesser)
	for i := range 3 {
		if r := ua.do(sipRequest{method: "REGISTER", user: regAgent, password: fmt.Sprintf("guess-%d-password", i), expires: 60}); r.code != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, r.code)
		}
	}
	eventually(t, 5*time.Second, "the guesser blocked", func() bool {
		return metricValue(t, h, "hotline_sip_blocked_addresses") == 1
	})
	if v := metricValue(t, h, "hotline_sip_auth_failures_total"); v < 3 {
		t.Errorf("hotline_sip_auth_failures_total = %v, want >= 3", v)
	}
	blockedAt := time.Now()
	if code := register(t, guesser, regAgentPass); code == 200 {
		t.Errorf("blocked %s registered with the right password", guesser)
	} else if code != 403 {
		t.Logf("blocked address got %d (403 expected, no 200 is what matters)", code)
	}
	if code := register(t, other, regAgentPass); code != 200 {
		t.Errorf("REGISTER from %s (not guessing): %d, want 200", other, code)
	}
	log, _ := os.ReadFile(h.callsvc.log)
	if !strings.Contains(string(log), "SIP address blocked") || !strings.Contains(string(log), `"address":"`+guesser+`"`) {
		t.Errorf("no log line of the block with the address:\n%s", tail(log, 3000))
	}
	if strings.Contains(string(log), "guess-0-password") {
		t.Error("a tried password is in the log")
	}
	// The block ends after HOTLINE_SIP_BLOCK_FOR.
	time.Sleep(time.Until(blockedAt.Add(8 * time.Second)))
	eventually(t, 5*time.Second, "the block ended", func() bool {
		return metricValue(t, h, "hotline_sip_blocked_addresses") == 0
	})
	if code := register(t, guesser, regAgentPass); code != 200 {
		t.Errorf("REGISTER from %s after the block: %d, want 200", guesser, code)
	}
}

// TestSIPContactTakeoverDetected: an agent's phone registers from A, then a
// registration with the right password from B replaces it (remove_existing):
// the call service warns with both addresses and counts it for the alert.
func TestSIPContactTakeoverDetected(t *testing.T) {
	h := startHotline(t)
	waitAMI(t, h)
	const a, b = "127.0.0.45", "127.0.0.46"
	if code := register(t, a, regAgentPass); code != 200 {
		t.Fatalf("REGISTER from %s: %d", a, code)
	}
	// A refresh from the same place is not a takeover.
	if code := register(t, a, regAgentPass); code != 200 {
		t.Fatalf("re-REGISTER from %s: %d", a, code)
	}
	time.Sleep(time.Second)
	if v := metricValue(t, h, "hotline_sip_contact_takeovers_total"); v != 0 {
		t.Fatalf("takeovers before any = %v", v)
	}
	if code := register(t, b, regAgentPass); code != 200 {
		t.Fatalf("REGISTER from %s: %d", b, code)
	}
	eventually(t, 5*time.Second, "the takeover counted", func() bool {
		return metricValue(t, h, "hotline_sip_contact_takeovers_total") == 1
	})
	log, _ := os.ReadFile(h.callsvc.log)
	var found bool
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, "took over an agent's contact") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line not JSON: %v", err)
			}
			found = rec["level"] == "warn" && rec["staff"] == regAgent && rec["from_address"] == a && rec["to_address"] == b
			if !found {
				t.Errorf("takeover log line %v", rec)
			}
		}
	}
	if !found {
		t.Errorf("no takeover warning in the log:\n%s", tail(log, 3000))
	}
}

// TestSIPOverTLS: the instance takes SIP over TLS with its certificate (the
// self-signed one stack.sh made), and an agent marked "tls" registers over it
// (401 challenge, then 200); that agent's endpoint requires SRTP (SDES).
func TestSIPOverTLS(t *testing.T) {
	pem, err := os.ReadFile(filepath.Join(st.dataDir, "asterisk", st.instance, "lib", "keys", "sip-tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in sip-tls.crt")
	}
	ua := newTLSUA(t, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if r := ua.do(sipRequest{method: "REGISTER", user: tlsAgent, expires: 60}); r.code != 401 {
		t.Errorf("REGISTER over TLS without credentials: %d, want 401", r.code)
	}
	if r := ua.do(sipRequest{method: "REGISTER", user: tlsAgent, password: tlsAgentPass, expires: 60}); r.code != 200 {
		t.Fatalf("REGISTER over TLS: %d, want 200", r.code)
	}
	t.Cleanup(func() { ua.do(sipRequest{method: "REGISTER", user: tlsAgent, password: tlsAgentPass, expires: 0}) })
	var tuples []map[string]any
	ariJSON(t, "/asterisk/config/dynamic/res_pjsip/endpoint/"+tlsAgent, &tuples)
	fields := map[string]string{}
	for _, f := range tuples {
		fields[fmt.Sprint(f["attribute"])] = fmt.Sprint(f["value"])
	}
	if fields["media_encryption"] != "sdes" || fields["transport"] != "transport-tls" {
		t.Errorf("TLS agent's endpoint: media_encryption=%q transport=%q, want sdes, transport-tls",
			fields["media_encryption"], fields["transport"])
	}
}

// trunkWatch listens where the carrier and the duty-line PBX would get calls
// and records any SIP request that arrives.
type trunkWatch struct {
	conns []*net.UDPConn
	got   chan string
}

func watchTrunks(t *testing.T) *trunkWatch {
	t.Helper()
	w := &trunkWatch{got: make(chan string, 16)}
	for _, addr := range []string{carrierIP + ":5060", fmt.Sprintf("%s:%d", rtDutyIP, rtDutyPort)} {
		a, _ := net.ResolveUDPAddr("udp4", addr)
		c, err := net.ListenUDP("udp4", a)
		if err != nil {
			t.Fatalf("listen as trunk %s: %v", addr, err)
		}
		t.Cleanup(func() { c.Close() })
		w.conns = append(w.conns, c)
		go func() {
			buf := make([]byte, 65535)
			for {
				n, _, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				first, _, _ := strings.Cut(string(buf[:n]), "\r\n")
				w.got <- addr + ": " + first
			}
		}()
	}
	return w
}

// TestSIPTollFraudRefused: whatever number an agent's phone, an unknown peer
// or the carrier INVITEs, nothing but the hotline's own numbers is answered,
// and no request leaves for the carrier or the duty-line trunk. (The agent
// API's three-way target is refused unless it is a directory unit:
// TestRoutingOutsideDirectoryRefused.)
func TestSIPTollFraudRefused(t *testing.T) {
	if rtDutyPort == 0 {
		t.Skip("duty-line port not set by this package")
	}
	w := watchTrunks(t)
	// International, premium and bench numbers; none holds a mobile-looking
	// 1[3-9]xxxxxxxxx run, so Asterisk's log stays clean for the leak checks.
	numbers := []string{"900861234567", "0086106552998", "0012125550123", "+86106552998", "12399", "8801", "*11", "9", "0"}
	agent := newUDPUA(t, "127.0.0.47")
	unknown := newUDPUA(t, "127.0.0.48")
	carrier := newUDPUA(t, carrierIP)
	for _, n := range numbers {
		// 404: no such number; 484 (address incomplete) for a single digit,
		// which only a longer pattern could match.
		if r := agent.do(sipRequest{method: "INVITE", user: regAgent, password: regAgentPass, target: n}); r.code != 404 && r.code != 484 {
			t.Errorf("agent INVITE %s: %d, want 404 or 484", n, r.code)
		}
		// An unknown peer has no account to answer the challenge with.
		if r := unknown.do(sipRequest{method: "INVITE", user: "anonymous", password: "anything-at-all", target: n}); r.code != 401 && r.code != 403 {
			t.Errorf("unknown peer INVITE %s: %d, want 401 or 403", n, r.code)
		}
		if r := carrier.do(sipRequest{method: "INVITE", user: "anonymous", target: n}); r.code != 404 && r.code != 484 {
			t.Errorf("carrier INVITE %s: %d, want 404 or 484", n, r.code)
		}
	}
	var channels []map[string]any
	ariJSON(t, "/channels", &channels)
	for _, c := range channels {
		t.Errorf("channel left after refused calls: %v", c["name"])
	}
	select {
	case m := <-w.got:
		t.Errorf("a request reached a trunk: %s", m)
	case <-time.After(time.Second):
	}
}
