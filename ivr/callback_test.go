package ivr

import (
	"testing"
	"time"
)

func TestCallingHours(t *testing.T) {
	h, err := ParseCallingHours("09:00-12:00,14:00-20:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   string // Asia/Shanghai
		open bool
	}{
		{"2026-11-21 08:59", false}, {"2026-11-21 09:00", true}, {"2026-11-21 11:59", true},
		{"2026-11-21 12:00", false}, {"2026-11-22 14:30", true}, {"2026-11-22 20:00", false},
	} {
		tm, _ := time.ParseInLocation("2006-01-02 15:04", tc.at, shanghai)
		if got := h.Open(tm.UTC()); got != tc.open {
			t.Errorf("%s: open = %v, want %v", tc.at, got, tc.open)
		}
	}
	for _, bad := range []string{"", "9-12", "12:00-09:00", "09:00-25:00", "09:00"} {
		if _, err := ParseCallingHours(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	all, _ := ParseCallingHours("00:00-24:00")
	if !all.Open(time.Date(2026, 1, 1, 23, 59, 0, 0, shanghai)) {
		t.Error("00:00-24:00 must be always open")
	}
}

func TestCallbackNumbersThatMayBeDialled(t *testing.T) {
	for n, ok := range map[string]bool{"13800138000": true, "+8613800138000": true, "010-12345678": true,
		"anonymous": false, "123@evil": false, "1380013800&PJSIP/x": false, "": false} {
		if phoneNumber.MatchString(dialNumber(n)) != ok {
			t.Errorf("%q diallable = %v, want %v", n, !ok, ok)
		}
	}
}

func TestCallbacksDueOnlyInCallingHours(t *testing.T) {
	hours, _ := ParseCallingHours("09:00-12:00")
	cb := &Callbacks{cfg: CallbackConfig{Hours: hours}, jobs: map[string]*callbackJob{}}
	at := func(hhmm string) time.Time {
		tm, _ := time.ParseInLocation("2006-01-02 15:04", "2026-11-23 "+hhmm, shanghai)
		return tm
	}
	cb.jobs["a"] = &callbackJob{EventID: "a", NextAt: at("08:00")}
	cb.jobs["b"] = &callbackJob{EventID: "b", NextAt: at("10:30")} // a retry not yet due
	if got := cb.due(at("08:30")); len(got) != 0 {
		t.Fatalf("before calling hours: %d due", len(got))
	}
	got := cb.due(at("10:00"))
	if len(got) != 1 || got[0].EventID != "a" || !got[0].running {
		t.Fatalf("at 10:00: %+v, want only a, marked running", got)
	}
	if again := cb.due(at("10:01")); len(again) != 0 {
		t.Fatalf("a running job must not start twice: %+v", again)
	}
	if got := cb.due(at("11:00")); len(got) != 1 || got[0].EventID != "b" {
		t.Fatalf("at 11:00: %+v, want b", got)
	}
	cb.jobs["c"] = &callbackJob{EventID: "c", NextAt: at("11:00")}
	if got := cb.due(at("12:00")); len(got) != 0 {
		t.Fatalf("after calling hours: %+v", got)
	}
}
