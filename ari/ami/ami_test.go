package ami

import (
	"bufio"
	"net/textproto"
	"strings"
	"testing"
)

func TestRemoteIP(t *testing.T) {
	for in, want := range map[string]string{
		"IPV4/UDP/192.0.2.7/5060":    "192.0.2.7",
		"IPV4/TLS/192.0.2.7/5061":    "192.0.2.7",
		"IPV6/UDP/2001:db8::1/5060":  "2001:db8::1",
		"IPV6/UDP/[2001:db8::1]/506": "2001:db8::1",
		"192.0.2.7":                  "",
		"IPV4/UDP/not-an-ip/5060":    "",
		"":                           "",
	} {
		if got := RemoteIP(in); got != want {
			t.Errorf("RemoteIP(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadMessage(t *testing.T) {
	raw := "Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n" +
		"\r\nEvent: ChallengeResponseFailed\r\nPrivilege: security,all\r\nRemoteAddress: IPV4/UDP/192.0.2.7/5060\r\n" +
		"Service: PJSIP\r\n\r\n" +
		"Event: ContactStatus\r\nURI: sip:1009@192.0.2.7:5060\r\nContactStatus: Created\r\nAOR: 1009\r\n"
	r := textproto.NewReader(bufio.NewReader(strings.NewReader(raw)))
	want := []Event{
		{"Response": "Success", "ActionID": "login", "Message": "Authentication accepted"},
		{"Event": "ChallengeResponseFailed", "Privilege": "security,all", "RemoteAddress": "IPV4/UDP/192.0.2.7/5060", "Service": "PJSIP"},
		// The last message is cut off (no empty line): still delivered.
		{"Event": "ContactStatus", "URI": "sip:1009@192.0.2.7:5060", "ContactStatus": "Created", "AOR": "1009"},
	}
	for i, w := range want {
		got, err := readMessage(r)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(got) != len(w) {
			t.Fatalf("message %d = %v, want %v", i, got, w)
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("message %d %s = %q, want %q", i, k, got[k], v)
			}
		}
	}
	if _, err := readMessage(r); err == nil {
		t.Error("no error at the end of the stream")
	}
}

func TestWriteActionRefusesLineBreaks(t *testing.T) {
	var b strings.Builder
	if err := writeAction(&b, "Login", "Username", "guard", "Secret", "x\r\nAction: Originate"); err == nil {
		t.Fatal("a secret with a line break was written")
	}
	if err := writeAction(&b, "Login", "Username", "guard", "Secret", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "Action: Login\r\nUsername: guard\r\nSecret: s3cret\r\n\r\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}
