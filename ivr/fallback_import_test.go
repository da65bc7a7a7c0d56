package ivr

import (
	"testing"
	"time"
)

func TestParseFallbackMessage(t *testing.T) {
	complete := `;
; Message Information file
;
[message]
origmailbox=12345
context=from-carrier
exten=fallback
callerchan=PJSIP/carrier-0000002a
callerid="13700137002" <13700137002>
origdate=Mon Nov 30 11:00:00 AM UTC 2026
origtime=1796036400
category=
msg_id=1796036400-00000003
flag=
duration=9
`
	tests := []struct {
		name       string
		txt        string
		ok         bool
		caller     string
		dur        time.Duration
		msgID      string
		origUnixTS int64
	}{
		{"complete", complete, true, "13700137002", 9 * time.Second, "1796036400-00000003", 1796036400},
		{"still being written", "[message]\ncallerid=<1>\norigtime=1\n", false, "", 0, "", 0},
		{"withheld number", "[message]\ncallerid=\"\" <anonymous>\nduration=7\norigtime=5\n", true, "", 7 * time.Second, "msg0001", 5},
		{"bare number", "[message]\ncallerid=13800138000\nduration=6\n", true, "13800138000", 6 * time.Second, "msg0001", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := ParseFallbackMessage("/x/INBOX/msg0001", []byte(tc.txt))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if m.Caller != tc.caller || m.Duration != tc.dur || m.MsgID != tc.msgID {
				t.Errorf("got caller %q dur %s msg_id %q", m.Caller, m.Duration, m.MsgID)
			}
			if tc.origUnixTS != 0 && m.OrigTime.Unix() != tc.origUnixTS {
				t.Errorf("origtime %v", m.OrigTime)
			}
		})
	}
	a, _ := ParseFallbackMessage("/x/INBOX/msg0000", []byte(complete))
	b, _ := ParseFallbackMessage("/x/INBOX/msg0007", []byte(complete))
	if a.ID() != b.ID() {
		t.Error("the same Asterisk message got two IDs: a re-import would duplicate it")
	}
}
