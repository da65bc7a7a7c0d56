package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// faxPeer has a fax machine built from Asterisk itself call 12345: an ARI
// originate of Local/12345@from-carrier/n whose other half runs
// [hotline-faxpeer]<kind> (extensions.conf): it keys keys, then receives into
// or sends file (kind receive, send), or stays mute.
func faxPeer(t *testing.T, kind, keys, file, caller string) {
	t.Helper()
	faxPeerVars(t, kind, caller, map[string]string{"PEER_KEYS": keys, "PEER_FILE": file})
}

// faxPeerVars is faxPeer with the peer's channel variables given as they are
// (PEER_KEYS, PEER_FILE, PEER_DELAY: seconds before it starts, default 1).
func faxPeerVars(t *testing.T, kind, caller string, vars map[string]string) {
	t.Helper()
	v := map[string]string{"PEER_DELAY": "1", "CALLERID(num)": caller}
	for k, x := range vars {
		v[k] = x
	}
	body, _ := json.Marshal(map[string]any{
		"endpoint": "Local/12345@from-carrier/n", "context": "hotline-faxpeer", "extension": kind, "priority": 1,
		"callerId": fmt.Sprintf("%s <%s>", caller, caller), "timeout": 30,
		// G.711 A-law, as the carrier trunk delivers (pjsip.conf allows only
		// alaw/ulaw there). Without formats, ARI gives the Local pair every
		// audio format and the frames cross it as wideband signed linear,
		// which res_fax's tone detector skips: CNG would never be heard.
		"formats":   "alaw",
		"variables": v,
	})
	resp := ariRequest(t, "POST", "/channels", bytes.NewReader(body))
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("originate fax peer: %s %s", resp.Status, b.String())
	}
}

// faxPeerDir is where the peer's files go: inside the data dir, which Asterisk
// sees at the same path.
func faxPeerDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(st.dataDir, "fax", "e2e-peer", randomHex(6))
	if err := os.MkdirAll(d, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(d, 0o777)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// tiffPageCount decodes a TIFF with libtiff (tiffinfo) and counts its pages.
func tiffPageCount(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("tiffinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tiffinfo %s: %v\n%s", path, err, out)
	}
	return strings.Count(string(out), "TIFF Directory at offset")
}

// waitEventType waits for the first event of typ and returns its payload.
func (h *hotline) waitEventType(typ string, timeout time.Duration) map[string]any {
	h.t.Helper()
	var p map[string]any
	eventually(h.t, timeout, typ, func() bool {
		var raw []byte
		err := h.pool.QueryRow(context.Background(), `SELECT payload FROM events WHERE type = $1 ORDER BY occurred_at LIMIT 1`, typ).Scan(&raw)
		_ = json.Unmarshal(raw, &p)
		return err == nil
	})
	return p
}

func faxHotline(t *testing.T) *hotline {
	return startHotline(t, withEnv("HOTLINE_SERVICE_MODE=closed",
		"HOTLINE_FAX_DOCS_DIR="+filepath.Join(st.repo, "ivr", "fax", "docs")))
}

// TestVoiceFaxSendDocument: the caller keys 3 (fax), document 2 and #; the
// hotline sends the 2-page catalogue document on the same call (SendFAX in the
// dialplan, result back through AstDB); the peer's received TIFF decodes with 2
// pages and call.fax_sent records success and the pages.
func TestVoiceFaxSendDocument(t *testing.T) {
	h := faxHotline(t)
	out := filepath.Join(faxPeerDir(t), "got.tiff")
	faxPeer(t, "receive", "32#", out, "13800000061")
	p := h.waitEventType("call.fax_sent", 120*time.Second)
	t.Logf("call.fax_sent: %v", p)
	if p["status"] != "success" || fmt.Sprint(p["pages"]) != "2" || p["document_id"] != "2" {
		t.Fatalf("fax_sent = %v, want success, 2 pages of document 2", p)
	}
	eventually(t, 30*time.Second, "the peer's TIFF", func() bool { _, err := os.Stat(out); return err == nil })
	if n := tiffPageCount(t, out); n != 2 {
		t.Errorf("the peer received %d pages, want 2", n)
	}
	var status string
	var pages int
	eventually(t, 20*time.Second, "the faxes row", func() bool {
		return h.pool.QueryRow(context.Background(), `SELECT status, pages FROM faxes WHERE direction = 'sent'`).Scan(&status, &pages) == nil
	})
	if status != "success" || pages != 2 {
		t.Errorf("faxes row: %s, %d pages", status, pages)
	}
}

// TestVoiceFaxReceive: the caller keys 3 and # and sends a 2-page fax; the
// hotline stores the TIFF (decodes with 2 pages) and a PDF copy, and
// call.fax_received lands in casework's faxes table as material to handle.
func TestVoiceFaxReceive(t *testing.T) {
	h := faxHotline(t)
	src := filepath.Join(st.dataDir, "fax", "catalogue", "2.tiff") // rendered by the call service at start
	faxPeer(t, "send", "3#", src, "13800000062")
	p := h.waitEventType("call.fax_received", 120*time.Second)
	t.Logf("call.fax_received: %v", p)
	if p["status"] != "success" || fmt.Sprint(p["pages"]) != "2" {
		t.Fatalf("fax_received = %v, want success with 2 pages", p)
	}
	tiff, pdf := fmt.Sprint(p["uri"]), fmt.Sprint(p["pdf_uri"])
	if n := tiffPageCount(t, tiff); n != 2 {
		t.Errorf("stored TIFF has %d pages, want 2", n)
	}
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
		t.Errorf("PDF copy %s: %v", pdf, err)
	}
	var uri string
	eventually(t, 20*time.Second, "the received fax in casework", func() bool {
		return h.pool.QueryRow(context.Background(),
			`SELECT pdf_uri FROM faxes WHERE direction = 'received' AND case_id IS NULL AND status = 'success'`).Scan(&uri) == nil
	})
	if uri != pdf {
		t.Errorf("casework keeps %s, want %s", uri, pdf)
	}

	// An agent finds it among the new faxes, reads the PDF and files a case.
	agent := h.newUserToken("话务员", "agent", "1031")
	code, _, body := h.caseworkAPI(agent, "GET", "/api/v1/faxes", nil)
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Caller string `json:"caller"`
			Pages  int    `json:"pages"`
		}
	}
	_ = json.Unmarshal(body, &list)
	if code != http.StatusOK || len(list.Items) != 1 || list.Items[0].ID != p["fax_id"] || list.Items[0].Pages != 2 {
		t.Fatalf("GET /faxes: %d %s", code, body)
	}
	code, hdr, doc := h.caseworkAPI(agent, "GET", "/api/v1/faxes/"+list.Items[0].ID+"/pdf", nil)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(doc, []byte("%PDF")) {
		t.Fatalf("GET pdf: %d %s", code, hdr.Get("Content-Type"))
	}
	code, _, body = h.caseworkAPI(agent, "POST", "/api/v1/faxes/"+list.Items[0].ID+"/case", map[string]any{
		"caller": map[string]any{"name": "传真市民"}, "content": "传真反映：噪声扰民", "category": "complaint",
		"region": "110101", "urgency": "normal", "confidentiality": "none", "handling_mode": "written_transfer"})
	if code != http.StatusCreated || !strings.Contains(string(body), pdf) {
		t.Fatalf("fax to case: %d %s", code, body)
	}
	t.Logf("fax %s (caller %q) filed on a new case", list.Items[0].ID, list.Items[0].Caller)
}

// TestVoiceFaxFailedCallerHearsSo: a line that asks for a document but never
// answers as a fax: SendFAX fails, call.fax_sent records failed with the
// modem's error, and the caller hears the "fax failed" prompt (Asterisk's own
// playback event on the channel).
func TestVoiceFaxFailedCallerHearsSo(t *testing.T) {
	h := faxHotline(t)
	played := watchPlaybacks(t)
	faxPeer(t, "mute", "31#", "", "13800000063")
	p := h.waitEventType("call.fax_sent", 150*time.Second)
	t.Logf("call.fax_sent: %v", p)
	if p["status"] != "failed" || p["error"] == "" {
		t.Fatalf("fax_sent = %v, want failed with an error", p)
	}
	h.waitPromptPlayed(played, "fax-failed")
}

// TestVoiceFaxToneDetected: a fax machine calls 12345 and just sends (no keys):
// its calling tone is detected during the greeting, and the fax is received
// and stored like one sent through the menu.
func TestVoiceFaxToneDetected(t *testing.T) {
	h := faxHotline(t)
	src := filepath.Join(st.dataDir, "fax", "catalogue", "1.tiff")
	faxPeer(t, "sendonly", "", src, "13800000064")
	p := h.waitEventType("call.fax_received", 120*time.Second)
	t.Logf("call.fax_received: %v", p)
	if p["status"] != "success" || fmt.Sprint(p["pages"]) != "1" {
		t.Fatalf("fax_received = %v, want success with 1 page", p)
	}
	if n := tiffPageCount(t, fmt.Sprint(p["uri"])); n != 1 {
		t.Errorf("stored TIFF has %d pages, want 1", n)
	}
	m := h.waitEventType("call.menu_choice", 10*time.Second)
	if m["choice"] != "fax_detected" {
		t.Errorf("menu event %v, want choice fax_detected", m)
	}
	// Detected during the greeting: the fax machine never got as far as the
	// menu (no timeouts or invalid keys from its tones).
	var choices int
	var detectedAfter time.Duration
	err := h.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM events WHERE type = 'call.menu_choice'),
		(SELECT max(occurred_at) FROM events WHERE type = 'call.menu_choice') -
		(SELECT min(occurred_at) FROM events WHERE type = 'call.started')`).Scan(&choices, &detectedAfter)
	if err != nil {
		t.Fatal(err)
	}
	if choices != 1 {
		t.Errorf("%d menu events, want only fax_detected", choices)
	}
	t.Logf("fax tone detected %v after the call started", detectedAfter)
}

// TestVoiceFaxToneWhileQueued: in staffed hours, with an agent logged in but
// not ready, a fax machine that sends its tone only after it has been queued
// for an agent (dialled by hand, start pressed late) is detected in the queue
// and its fax received; the queue does not count it as an abandoned call.
func TestVoiceFaxToneWhileQueued(t *testing.T) {
	e := startRouting(t, "HOTLINE_FAX_DOCS_DIR="+filepath.Join(st.repo, "ivr", "fax", "docs"))
	if code, out := e.agentAPI(t, "1001", "POST", "/api/v1/agent/login", nil); code != http.StatusOK {
		t.Fatalf("login: %d %v", code, out)
	}
	const caller = "13800000065"
	// Greeting (5.7 s) and recording notice (3.3 s), then the queue: the tone
	// starts 14 s after the answer, while the machine waits with music.
	faxPeerVars(t, "sendonly", caller, map[string]string{
		"PEER_FILE":  filepath.Join(st.dataDir, "fax", "catalogue", "1.tiff"),
		"PEER_DELAY": "14",
	})
	queued := e.waitEventOf(t, caller, "call.queued")
	detected := e.waitEventOf(t, caller, "call.menu_choice")
	if detected.Payload["choice"] != "fax_detected" || !detected.At.After(queued.At) {
		t.Fatalf("menu event %v at %s, want fax_detected after call.queued at %s", detected.Payload, detected.At, queued.At)
	}
	got := e.waitEventOf(t, caller, "call.fax_received")
	t.Logf("queued at %s, tone detected %s later; call.fax_received: %v",
		queued.At.Format(time.TimeOnly), detected.At.Sub(queued.At), got.Payload)
	if got.Payload["status"] != "success" || fmt.Sprint(got.Payload["pages"]) != "1" {
		t.Fatalf("fax_received = %v, want success with 1 page", got.Payload)
	}
	for _, ev := range e.events(t, caller) {
		if ev.Type == "call.abandoned" {
			t.Errorf("the fax machine was counted as abandoned: %v", ev.Payload)
		}
	}
	m := e.metrics(t)
	for _, want := range []string{`hotline_queue_abandoned_total{short="false"} 0`, `hotline_queue_abandoned_total{short="true"} 0`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestVoiceFaxToneOverSIP: the production path. A caller on the carrier trunk
// (SIPp, G.711 A-law over RTP through chan_pjsip) sends a fax machine's
// calling tone, 1100 Hz for 0.5 s every 3.5 s (T.30 CNG); the hotline hears
// it, takes the line into ReceiveFAX, and since no modem answers, records
// the received fax as failed and tells the caller so.
func TestVoiceFaxToneOverSIP(t *testing.T) {
	h := faxHotline(t)
	played := watchPlaybacks(t)
	const caller = "13800000066"
	rtp := newRTPPeer(t, carrierIP)
	toneCadence(t, rtp, 1100, 500*time.Millisecond, 3*time.Second)
	res, hangUp := rtCitizen(t, caller, rtp)
	defer func() {
		hangUp()
		_ = waitSIPp(t, res, 30*time.Second)
	}()
	m := h.waitEventType("call.menu_choice", 60*time.Second)
	if m["choice"] != "fax_detected" {
		t.Fatalf("menu event %v, want choice fax_detected", m)
	}
	p := h.waitEventType("call.fax_received", 150*time.Second)
	t.Logf("call.fax_received: %v", p)
	if p["status"] != "failed" || p["error"] == "" {
		t.Fatalf("fax_received = %v, want failed with the modem's error", p)
	}
	h.waitPromptPlayed(played, "fax-failed")
}
