package notify

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
)

func TestFor(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	snap := domain.Snapshot{ID: "c1",
		Registration: domain.Registration{Number: "202611300001", Category: domain.CategoryReport, Urgency: domain.UrgencyNormal,
			Caller: domain.Caller{Name: "王举报", Phone: "13800138000"}},
		Lead:      &domain.UnitRef{ID: "dongcheng"},
		Assisting: []domain.UnitRef{{ID: "xicheng"}, {ID: "dongcheng"}},
	}
	tests := []struct {
		name  string
		act   domain.Action
		lead  string
		want  []string
		kind  Kind
		note  string
		extra map[string]string
	}{
		{name: "transfer tells lead and assisting once each", act: domain.ActionTransfer, want: []string{"dongcheng", "xicheng"}, kind: KindNewCase},
		{name: "pass-down tells the new lead only", act: domain.ActionPassDown, lead: "dc-street", want: []string{"dc-street"}, kind: KindNewCase},
		{name: "reminder", act: domain.ActionRemind, want: []string{"dongcheng", "xicheng"}, kind: KindReminder, note: "自动催办"},
		{name: "supervision", act: domain.ActionSupervise, want: []string{"dongcheng", "xicheng"}, kind: KindSupervision},
		{name: "return for redo carries the reason", act: domain.ActionReturnForRedo, want: []string{"dongcheng", "xicheng"}, kind: KindReturned,
			extra: map[string]string{domain.DetailReason: "答复不完整"}},
		{name: "callback reopen is a return", act: domain.ActionCallbackReopen, want: []string{"dongcheng", "xicheng"}, kind: KindReturned},
		{name: "the unit's own acts tell nobody", act: domain.ActionAccept},
		{name: "reply tells nobody", act: domain.ActionReply},
		{name: "registration tells nobody", act: domain.ActionRegister},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap
			if tc.lead != "" {
				s.Lead = &domain.UnitRef{ID: tc.lead}
				s.Assisting = nil
			}
			e := domain.HistoryEntry{CaseID: "c1", Seq: 4, At: at, Action: tc.act, To: domain.StateTransferred,
				Note: tc.note, Details: tc.extra, Deadline: at.Add(72 * time.Hour)}
			got := For(e, s)
			var units []string
			for _, n := range got {
				units = append(units, n.UnitID)
				if n.Kind != tc.kind || n.Payload.Kind != tc.kind || n.Payload.UnitID != n.UnitID {
					t.Errorf("notice %+v: want kind %s for its own unit", n, tc.kind)
				}
				if n.Payload.Number != "202611300001" || n.Payload.Seq != 4 || !n.Payload.Deadline.Equal(e.Deadline) {
					t.Errorf("payload %+v: want number, seq and deadline of the entry", n.Payload)
				}
				if r := tc.extra[domain.DetailReason]; r != "" && n.Payload.Note != r {
					t.Errorf("note %q, want the reason %q", n.Payload.Note, r)
				}
				b, _ := json.Marshal(n.Payload)
				if strings.Contains(string(b), "王举报") || strings.Contains(string(b), "13800138000") {
					t.Errorf("payload carries the caller: %s", b)
				}
			}
			if !slices.Equal(units, tc.want) {
				t.Errorf("units %v, want %v", units, tc.want)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	ts := time.Unix(1764460800, 0)
	body := []byte(`{"kind":"reminder"}`)
	sig := Sign("0123456789abcdef-secret", ts, body)
	// The value a receiver computes by hand: HMAC-SHA256 over "1764460800.{...}".
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q", sig)
	}
	tests := []struct {
		name   string
		secret string
		ts     string
		body   string
		now    time.Time
		ok     bool
	}{
		{"good", "0123456789abcdef-secret", "1764460800", string(body), ts.Add(time.Minute), true},
		{"wrong secret", "another-secret-000000", "1764460800", string(body), ts, false},
		{"body changed", "0123456789abcdef-secret", "1764460800", `{"kind":"supervision"}`, ts, false},
		{"timestamp changed", "0123456789abcdef-secret", "1764460801", string(body), ts, false},
		{"too old (replay)", "0123456789abcdef-secret", "1764460800", string(body), ts.Add(10 * time.Minute), false},
		{"not a number", "0123456789abcdef-secret", "soon", string(body), ts, false},
	}
	for _, tc := range tests {
		if got := Verify(tc.secret, sig, tc.ts, []byte(tc.body), tc.now, 5*time.Minute); got != tc.ok {
			t.Errorf("%s: Verify = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
