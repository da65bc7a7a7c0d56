package e2e

// A minimal SIP user agent client for the SIP security tests (issue 14): one
// request (REGISTER or INVITE) from a chosen local address, over UDP or TLS,
// answering a digest challenge once, so a test sees the exact final status
// Asterisk gives (403 from an ACL, 401 for a wrong password, 404 from the
// dialplan). SIPp can do UDP but this build has no TLS, and a Go client lets
// the tests read the status codes instead of scripting each outcome.

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sipUA is one client socket: UDP from a local IP, or a TLS connection.
type sipUA struct {
	t         *testing.T
	transport string // "UDP" or "TLS"
	udp       *net.UDPConn
	tls       *tls.Conn
	rd        *bufio.Reader
	server    string // host:port of Asterisk
	local     *net.UDPAddr
	localTCP  net.Addr
	seq       int
}

func newUDPUA(t *testing.T, localIP string) *sipUA {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(localIP)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sipUA{t: t, transport: "UDP", udp: c, local: c.LocalAddr().(*net.UDPAddr),
		server: fmt.Sprintf("127.0.0.1:%d", st.sipPort)}
}

func newTLSUA(t *testing.T, cfg *tls.Config) *sipUA {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", st.tlsPort)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS connection to Asterisk's SIP port %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &sipUA{t: t, transport: "TLS", tls: c, rd: bufio.NewReader(c), server: addr, localTCP: c.LocalAddr()}
}

func (u *sipUA) localHostPort() (string, int) {
	if u.udp != nil {
		return u.local.IP.String(), u.local.Port
	}
	a := u.localTCP.(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// sipResponse is a response's status and headers (names lower-cased).
type sipResponse struct {
	code    int
	headers map[string][]string
}

func (r sipResponse) header(name string) string {
	if v := r.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (u *sipUA) send(msg string) {
	u.t.Helper()
	var err error
	if u.udp != nil {
		var to *net.UDPAddr
		to, err = net.ResolveUDPAddr("udp4", u.server)
		if err == nil {
			_, err = u.udp.WriteToUDP([]byte(msg), to)
		}
	} else {
		_, err = io.WriteString(u.tls, msg)
	}
	if err != nil {
		u.t.Fatalf("send SIP: %v", err)
	}
}

// read returns the next response, or code 0 when none comes before the deadline.
func (u *sipUA) read(deadline time.Time) sipResponse {
	u.t.Helper()
	for {
		var raw string
		if u.udp != nil {
			_ = u.udp.SetReadDeadline(deadline)
			buf := make([]byte, 65535)
			n, _, err := u.udp.ReadFromUDP(buf)
			if err != nil {
				return sipResponse{}
			}
			raw = string(buf[:n])
		} else {
			_ = u.tls.SetReadDeadline(deadline)
			var b strings.Builder
			length := 0
			for {
				line, err := u.rd.ReadString('\n')
				if err != nil {
					return sipResponse{}
				}
				if strings.TrimSpace(line) == "" && b.Len() == 0 {
					continue // keep-alive CRLFs
				}
				b.WriteString(line)
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "Content-Length") {
					length, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if line == "\r\n" {
					break
				}
			}
			if length > 0 {
				body := make([]byte, length)
				if _, err := io.ReadFull(u.rd, body); err != nil {
					return sipResponse{}
				}
			}
			raw = b.String()
		}
		lines := strings.Split(raw, "\r\n")
		if !strings.HasPrefix(lines[0], "SIP/2.0 ") {
			continue // a request from Asterisk (OPTIONS): not ours to answer here
		}
		code, _ := strconv.Atoi(strings.Fields(lines[0])[1])
		r := sipResponse{code: code, headers: map[string][]string{}}
		for _, l := range lines[1:] {
			if l == "" {
				break
			}
			if k, v, ok := strings.Cut(l, ":"); ok {
				k = strings.ToLower(strings.TrimSpace(k))
				r.headers[k] = append(r.headers[k], strings.TrimSpace(v))
			}
		}
		return r
	}
}

// sipRequest describes one request.
type sipRequest struct {
	method   string // REGISTER or INVITE
	user     string // From user (staff number, or anything for an unknown peer)
	password string // "" : do not answer a challenge
	target   string // INVITE: the dialled number
	expires  int    // REGISTER: Expires (0 unregisters)
}

// do sends the request and returns the final response (after one digest
// challenge when a password is given); code 0 when Asterisk did not answer.
func (u *sipUA) do(req sipRequest) sipResponse {
	u.t.Helper()
	ip, port := u.localHostPort()
	callID := randomHex(8) + "@" + ip
	tag := randomHex(4)
	var auth string
	for attempt := 0; attempt < 2; attempt++ {
		u.seq++
		branch := "z9hG4bK" + randomHex(8)
		uri := "sip:127.0.0.1"
		to := fmt.Sprintf("<sip:%s@127.0.0.1>", req.user)
		if req.method == "INVITE" {
			uri = "sip:" + req.target + "@127.0.0.1"
			to = "<" + uri + ">"
		}
		tp := ""
		if u.transport == "TLS" {
			tp = ";transport=tls"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", req.method, uri)
		fmt.Fprintf(&b, "Via: SIP/2.0/%s %s:%d;branch=%s;rport\r\n", u.transport, ip, port, branch)
		fmt.Fprintf(&b, "From: <sip:%s@127.0.0.1>;tag=%s\r\n", req.user, tag)
		fmt.Fprintf(&b, "To: %s\r\n", to)
		fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n", callID, u.seq, req.method)
		fmt.Fprintf(&b, "Contact: <sip:%s@%s:%d%s>\r\n", req.user, ip, port, tp)
		b.WriteString("User-Agent: hotline-e2e\r\n")
		if auth != "" {
			b.WriteString(auth)
		}
		body := ""
		if req.method == "REGISTER" {
			fmt.Fprintf(&b, "Expires: %d\r\n", req.expires)
		} else {
			body = fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n", ip, ip)
			b.WriteString("Content-Type: application/sdp\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
		msg := b.String()

		var final sipResponse
		deadline := time.Now().Add(8 * time.Second)
		got := false
		for !got && time.Now().Before(deadline) {
			u.send(msg)
			// Retransmit (UDP) until anything comes back; then wait for the final.
			wait := time.Now().Add(500 * time.Millisecond)
			if u.udp == nil {
				wait = deadline
			}
			for {
				r := u.read(wait)
				if r.code == 0 {
					break
				}
				got = true
				wait = deadline
				if r.code >= 200 {
					final = r
					break
				}
			}
		}
		if req.method == "INVITE" && final.code >= 200 {
			u.ack(uri, branch, callID, tag, final)
		}
		if final.code != 401 && final.code != 407 || req.password == "" || attempt == 1 {
			return final
		}
		auth = digestHeader(u.t, final, req.method, uri, req.user, req.password)
	}
	return sipResponse{}
}

// ack acknowledges a final response to an INVITE (same branch for non-2xx);
// a 2xx (which no test expects) is acknowledged and hung up.
func (u *sipUA) ack(uri, branch, callID, tag string, r sipResponse) {
	ip, port := u.localHostPort()
	if r.code < 300 {
		branch = "z9hG4bK" + randomHex(8)
	}
	msg := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/%s %s:%d;branch=%s;rport\r\nFrom: <sip:x@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		uri, u.transport, ip, port, branch, tag, r.header("To"), callID, u.seq)
	u.send(msg)
	if r.code < 300 {
		u.seq++
		bye := fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/%s %s:%d;branch=z9hG4bK%s;rport\r\nFrom: <sip:x@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			uri, u.transport, ip, port, randomHex(8), tag, r.header("To"), callID, u.seq)
		u.send(bye)
	}
}

// digestHeader answers an MD5 digest challenge (RFC 2617, qop=auth).
func digestHeader(t *testing.T, r sipResponse, method, uri, user, pass string) string {
	t.Helper()
	name := "WWW-Authenticate"
	if r.code == 407 {
		name = "Proxy-Authenticate"
	}
	var params map[string]string
	for _, h := range r.headers[strings.ToLower(name)] {
		p := parseDigest(h)
		if alg := p["algorithm"]; alg == "" || strings.EqualFold(alg, "MD5") {
			params = p
			break
		}
	}
	if params == nil {
		t.Fatalf("no MD5 digest challenge in %v", r.headers)
	}
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	ha1 := h(user + ":" + params["realm"] + ":" + pass)
	ha2 := h(method + ":" + uri)
	cnonce, nc := randomHex(8), "00000001"
	var resp, qop string
	if strings.Contains(params["qop"], "auth") {
		qop = "auth"
		resp = h(ha1 + ":" + params["nonce"] + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	} else {
		resp = h(ha1 + ":" + params["nonce"] + ":" + ha2)
	}
	out := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5`,
		user, params["realm"], params["nonce"], uri, resp)
	if op := params["opaque"]; op != "" {
		out += fmt.Sprintf(`, opaque="%s"`, op)
	}
	if qop != "" {
		out += fmt.Sprintf(`, qop=auth, nc=%s, cnonce="%s"`, nc, cnonce)
	}
	hdr := "Authorization"
	if r.code == 407 {
		hdr = "Proxy-Authorization"
	}
	return hdr + ": " + out + "\r\n"
}

func parseDigest(h string) map[string]string {
	h = strings.TrimSpace(h)
	if len(h) < 7 || !strings.EqualFold(h[:7], "Digest ") {
		return map[string]string{}
	}
	out := map[string]string{}
	for _, part := range splitParams(h[7:]) {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return out
}

// splitParams splits on commas outside quotes.
func splitParams(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(out, cur.String())
}
