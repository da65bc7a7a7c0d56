package e2e

// Helpers of the voice-service tests (issue 4): a carrier call that waits for
// the hotline to hang up, a caller that speaks (PCMA from a WAV file or a tone),
// and queries of the events in PostgreSQL.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// voiceCallScenario: the carrier calls 12345 (like carrier_call.xml) and then
// either receives the hotline's BYE (the service ended the call) or, after
// maxhold ms, hangs up itself (the caller gave up). The timeout cannot be a
// -key in SIPp, so the scenario is written per call.
const voiceCallScenario = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="carrier calls 12345; hotline or caller hangs up">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 53655765 2353687637 IN IP4 [rtpaddr]
      s=-
      c=IN IP4 [rtpaddr]
      t=0 0
      m=audio [rtpport] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv request="BYE" optional="true" next="gotbye"/>
  <recv request="INFO" timeout="%d" ontimeout="hangup"/>
  <nop next="hangup"/>
  <label id="gotbye"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Content-Length: 0
  ]]></send>
  <nop next="end"/>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:[caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="200" crlf="true"/>
  <label id="end"/>
</scenario>
`

// voiceCall has the carrier call 12345 from caller with media at rtp; the call
// lasts until the hotline hangs up, the test calls hangUp (the caller hangs up
// now), or maxHold passes (the caller gives up).
func voiceCall(t *testing.T, caller string, rtp *rtpPeer, maxHold time.Duration) (res <-chan sippResult, hangUp func()) {
	t.Helper()
	callID := "voice-" + randomHex(8) + "@" + carrierIP
	sipPort, err := freePort("udp")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sf := filepath.Join(dir, "voice_call.xml")
	if err := os.WriteFile(sf, fmt.Appendf(nil, voiceCallScenario, maxHold.Milliseconds()), 0o644); err != nil {
		t.Fatal(err)
	}
	hangUp = func() {
		// Any in-dialog request ends the wait in the scenario; SIPp finds the
		// call by its Call-ID.
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
	return runSIPp(t, dir, maxHold+30*time.Second,
		"-sf", sf, "-s", "12345", "-i", carrierIP, "-p", fmt.Sprint(sipPort), "-cid_str", callID,
		"-key", "caller", caller, "-key", "rtpaddr", rtp.Addr, "-key", "rtpport", fmt.Sprint(rtp.Port),
		"-m", "1", "-l", "1",
		fmt.Sprintf("127.0.0.1:%d", st.sipPort)), hangUp
}

// line is the caller's microphone: once started it sends a 20 ms PCMA packet
// every 20 ms, line noise unless say has queued speech, as a real phone does
// (Asterisk's silence detection needs frames to count silence in).
type utterance struct {
	samples []int16
	sent    chan struct{}
}

type line struct {
	p      *rtpPeer
	queue  chan utterance
	done   chan struct{}
	paused atomic.Bool
}

// keys sends DTMF with the microphone muted, as phones do: voice packets in the
// middle of an RFC 4733 event make Asterisk end the event early and take its
// remaining packets for new key presses (doubled digits).
func (l *line) keys(digits string) {
	l.paused.Store(true)
	defer l.paused.Store(false)
	l.p.sendDigits(digits)
}

// startLine starts the microphone (after the hotline's first RTP arrived);
// it stops when the test ends.
func (p *rtpPeer) startLine(t *testing.T) *line {
	t.Helper()
	l := &line{p: p, queue: make(chan utterance, 8), done: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		defer close(l.done)
		noise := make([]int16, 160)
		for i := range noise {
			noise[i] = int16(i%5 - 2)
		}
		var cur []int16
		var sent chan struct{}
		next := time.Now()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if len(cur) == 0 {
				if sent != nil {
					close(sent)
					sent = nil
				}
				select {
				case u := <-l.queue:
					cur, sent = u.samples, u.sent
				default:
				}
			}
			if l.paused.Load() {
				next = next.Add(20 * time.Millisecond)
				time.Sleep(time.Until(next))
				continue
			}
			frame := noise
			if len(cur) > 0 {
				n := min(160, len(cur))
				frame, cur = cur[:n], cur[n:]
			}
			p.sendFrame(frame)
			next = next.Add(20 * time.Millisecond)
			time.Sleep(time.Until(next))
		}
	}()
	t.Cleanup(func() { close(stop); <-l.done })
	return l
}

// say queues samples; it returns when they have been sent.
func (l *line) say(samples []int16) {
	u := utterance{samples: samples, sent: make(chan struct{})}
	l.queue <- u
	select {
	case <-u.sent:
	case <-l.done:
	}
}

// tone is dur of a two-tone signal at about -14 dBFS (speech-like level).
func tone(dur time.Duration) []int16 {
	n := int(dur.Seconds() * 8000)
	out := make([]int16, n)
	for i := range out {
		x := float64(i) / 8000
		out[i] = int16(3000*math.Sin(2*math.Pi*440*x) + 3000*math.Sin(2*math.Pi*1020*x))
	}
	return out
}

// speechSamples reads a rendered Mandarin prompt (8 kHz 16-bit mono WAV) to use
// as the caller's speech.
func speechSamples(t *testing.T, id string) []int16 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(st.dataDir, "sounds", "hotline", id+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("data"))
	if i < 0 || len(b) < i+8 {
		t.Fatalf("%s.wav: no data chunk", id)
	}
	pcm := b[i+8:]
	out := make([]int16, len(pcm)/2)
	for k := range out {
		out[k] = int16(binary.LittleEndian.Uint16(pcm[2*k:]))
	}
	return out
}

// callEvent is one stored event of a call.
type callEvent struct {
	Type    string
	Payload map[string]any
}

// eventsOfCaller returns the events of the calls from caller, oldest first.
func (h *hotline) eventsOfCaller(caller string) []callEvent {
	h.t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT e.type, e.payload FROM events e
		WHERE e.call_id IN (SELECT call_id FROM calls WHERE caller = $1) ORDER BY e.occurred_at, e.id`, caller)
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var out []callEvent
	for rows.Next() {
		var ev callEvent
		var raw []byte
		if err := rows.Scan(&ev.Type, &raw); err != nil {
			h.t.Fatal(err)
		}
		_ = json.Unmarshal(raw, &ev.Payload)
		out = append(out, ev)
	}
	return out
}

// waitEvent waits for the first event of type typ from caller whose payload
// matches every key/value in match, and returns its payload.
func (h *hotline) waitEvent(caller, typ string, match map[string]any) map[string]any {
	h.t.Helper()
	var found map[string]any
	eventually(h.t, 120*time.Second, fmt.Sprintf("%s %v from %s", typ, match, caller), func() bool {
		for _, ev := range h.eventsOfCaller(caller) {
			if ev.Type != typ {
				continue
			}
			ok := true
			for k, v := range match {
				if fmt.Sprint(ev.Payload[k]) != fmt.Sprint(v) {
					ok = false
				}
			}
			if ok {
				found = ev.Payload
				return true
			}
		}
		return false
	})
	return found
}

// menuChoices lists the call.menu_choice choices from caller in order.
func (h *hotline) menuChoices(caller string) []string {
	var out []string
	for _, ev := range h.eventsOfCaller(caller) {
		if ev.Type == "call.menu_choice" {
			out = append(out, fmt.Sprint(ev.Payload["choice"]))
		}
	}
	return out
}

// recordingDir is where this test instance's Asterisk writes ARI recordings.
func recordingDir() string {
	return filepath.Join(st.dataDir, "asterisk", st.instance, "spool", "recording")
}

// waitRecordingStarted waits until a voicemail recording file exists in
// Asterisk's spool (the beep has been played and the message is being taken).
func waitRecordingStarted(t *testing.T, before map[string]bool) string {
	t.Helper()
	var name string
	eventually(t, 60*time.Second, "a voicemail recording to start", func() bool {
		files, _ := filepath.Glob(filepath.Join(recordingDir(), "vm-*.wav"))
		for _, f := range files {
			if !before[f] {
				name = f
				return true
			}
		}
		return false
	})
	return name
}

func existingRecordings() map[string]bool {
	files, _ := filepath.Glob(filepath.Join(recordingDir(), "vm-*.wav"))
	m := map[string]bool{}
	for _, f := range files {
		m[f] = true
	}
	return m
}

// waitHeard waits until the caller has heard at least n non-silent frames.
func waitHeard(t *testing.T, rtp *rtpPeer, n int, what string) {
	t.Helper()
	eventually(t, 60*time.Second, what, func() bool { return rtp.loudFrameCount() >= n })
}

// wavVoiced measures a stored 16-bit WAV: duration and voiced time, like the
// service's own rule (20 ms frames above about -45 dBFS).
func wavVoiced(path string) (dur, voiced time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	i := bytes.Index(b, []byte("data"))
	if i < 0 {
		return 0, 0, errors.New("no data chunk")
	}
	pcm := b[i+8:]
	frames, loud := 0, 0
	for off := 0; off+320 <= len(pcm); off += 320 {
		var sum float64
		for k := 0; k < 160; k++ {
			v := float64(int16(binary.LittleEndian.Uint16(pcm[off+2*k:])))
			sum += v * v
		}
		frames++
		if math.Sqrt(sum/160) > 180 {
			loud++
		}
	}
	return time.Duration(frames) * 20 * time.Millisecond, time.Duration(loud) * 20 * time.Millisecond, nil
}

// ensureRecordingDir creates Asterisk's ARI recording directory (spool/recording)
// like the spool itself. Asterisk does not create it (ast_safe_mkdir needs the
// base to exist) and deploy/stack.sh creates only spool/: without it every ARI
// recording fails with "No such file or directory". Reported for stack.sh; this
// keeps the voice tests independent of that fix.
func ensureRecordingDir(t *testing.T) {
	t.Helper()
	spool := filepath.Dir(recordingDir())
	fi, err := os.Stat(spool)
	if err != nil {
		t.Fatalf("Asterisk spool: %v", err)
	}
	if err := os.MkdirAll(recordingDir(), 0o2770); err != nil {
		t.Fatal(err)
	}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		_ = os.Chown(recordingDir(), int(sys.Uid), int(sys.Gid))
	}
}

// leaveVoicemail is a caller (closed hours or no agent: the menu) who keys 2,
// says the apology's words into the recording, keys # and hangs up; it returns
// the call.voicemail_left payload once the call ended cleanly.
func leaveVoicemail(t *testing.T, h *hotline, caller string) map[string]any {
	t.Helper()
	rtp := newRTPPeer(t, carrierIP)
	res, _ := voiceCall(t, caller, rtp, 90*time.Second)
	waitHeard(t, rtp, 25, "the greeting")
	mic := rtp.startLine(t)
	before := existingRecordings()
	mic.keys("2")
	waitRecordingStarted(t, before)
	mic.say(speechSamples(t, "fallback-apology"))
	mic.keys("#")
	vm := h.waitEvent(caller, "call.voicemail_left", nil)
	if r := waitSIPp(t, res, 60*time.Second); r.err != nil {
		t.Fatalf("voicemail call: %v\n%s", r.err, r.output)
	}
	return vm
}
