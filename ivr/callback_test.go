package ivr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/event"
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
	// Only domestic numbers are called back by default (toll fraud): mobiles,
	// fixed lines with their area code.
	for n, ok := range map[string]bool{"13800138000": true, "+8613800138000": true, "010-12345678": true,
		"0311-8765432": true, "02012345678": true,
		"+441234567890": false, "00441234567890": false, "1900123456": false, "12345": false, "168": false,
		"10086": false, "+8690012345678": false} {
		if DomesticNumbers.MatchString(dialNumber(n)) != ok {
			t.Errorf("DomesticNumbers(%q) = %v, want %v", n, !ok, ok)
		}
	}
	for n, ok := range map[string]bool{"13800138000": true, "+8613800138000": true, "010-12345678": true,
		"anonymous": false, "123@evil": false, "1380013800&PJSIP/x": false, "": false} {
		if phoneNumber.MatchString(dialNumber(n)) != ok {
			t.Errorf("%q diallable = %v, want %v", n, !ok, ok)
		}
	}
}

func TestCallbacksDueOnlyInCallingHours(t *testing.T) {
	hours, _ := ParseCallingHours("09:00-12:00")
	cb := &Callbacks{cfg: CallbackConfig{Hours: hours}, jobs: map[string]*callbackJob{}, log: zap.NewNop()}
	at := func(hhmm string) time.Time { return shanghaiTime(t, "2026-11-23 "+hhmm) }
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

// fakeDays answers from a table of Asia/Shanghai dates; other dates are an error.
type fakeDays struct {
	working map[string]bool
	err     error
}

func (f fakeDays) IsWorkingDay(t time.Time) (bool, error) {
	if f.err != nil {
		return false, f.err
	}
	w, ok := f.working[t.Format(time.DateOnly)]
	if !ok {
		return false, fmt.Errorf("fake calendar: %s not in the table", t.Format(time.DateOnly))
	}
	return w, nil
}

func shanghaiTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestCallbacksDueOnlyOnCallingDays(t *testing.T) {
	hours, _ := ParseCallingHours("00:00-24:00")
	cal := fakeDays{working: map[string]bool{
		"2026-11-20": true,  // Friday
		"2026-11-23": true,  // Monday
		"2026-11-21": false, // Saturday
		"2026-11-22": false, // Sunday
		"2026-10-01": false, // National Day, a Thursday
		"2026-10-10": true,  // 调休 makeup Saturday
	}}
	for _, tc := range []struct {
		name string
		days WorkingDays
		at   string // Asia/Shanghai
		due  bool
	}{
		{"working day", cal, "2026-11-23 10:00", true},
		{"saturday", cal, "2026-11-21 10:00", false},
		{"sunday", cal, "2026-11-22 10:00", false},
		{"public holiday on a weekday", cal, "2026-10-01 10:00", false},
		{"makeup working saturday", cal, "2026-10-10 10:00", true},
		// 01:30 Monday in Shanghai is still Sunday in UTC: the Shanghai date counts.
		{"shanghai date, not UTC", cal, "2026-11-23 01:30", true},
		// 07:00 Saturday in Shanghai is Friday 23:00 in UTC.
		{"shanghai saturday, UTC friday", cal, "2026-11-21 07:00", false},
		{"calendar cannot tell", fakeDays{err: &calendar.MissingYearError{Year: 2027}}, "2027-03-01 10:00", false},
		{"date missing from the calendar", cal, "2026-12-01 10:00", false},
		{"no calendar: every day", nil, "2026-11-22 10:00", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb := &Callbacks{cfg: CallbackConfig{Hours: hours, Days: tc.days}, jobs: map[string]*callbackJob{},
				log: zap.NewNop()}
			at := shanghaiTime(t, tc.at)
			cb.jobs["a"] = &callbackJob{EventID: "a", NextAt: at.Add(-time.Hour)}
			got := cb.due(at.UTC())
			if (len(got) == 1) != tc.due || len(got) > 1 {
				t.Fatalf("due = %+v, want due %v", got, tc.due)
			}
			if !tc.due {
				// The job waits for a calling day: kept, and free to start then.
				if j, ok := cb.jobs["a"]; !ok || j.running {
					t.Fatalf("job not kept waiting: %+v (present %v)", j, ok)
				}
			}
		})
	}
}

func TestCallbacksLogCallingDayChangesOnce(t *testing.T) {
	hours, _ := ParseCallingHours("09:00-12:00")
	core, logs := observer.New(zapcore.InfoLevel)
	days := &fakeDays{working: map[string]bool{"2026-12-31": true}}
	cb := &Callbacks{cfg: CallbackConfig{Hours: hours, Days: days}, jobs: map[string]*callbackJob{}, log: zap.New(core)}
	cb.jobs["a"] = &callbackJob{EventID: "a"}
	at := shanghaiTime(t, "2026-12-31 09:00")
	tick := func(n int) {
		for i := range n {
			if got := cb.due(at.Add(time.Duration(i) * time.Second)); len(got) != 0 {
				t.Fatalf("due while the calendar cannot tell: %+v", got)
			}
		}
	}
	days.err = errors.New("calendar: 2026-12-31 (the 2027 notice can move it): no official holiday notice loaded for 2027")
	tick(30)
	if w := logs.FilterLevelExact(zapcore.WarnLevel).All(); len(w) != 1 {
		t.Fatalf("%d warnings over 30 ticks, want 1", len(w))
	} else if w[0].ContextMap()["waiting"] != int64(1) || w[0].ContextMap()["date"] != "2026-12-31" {
		t.Errorf("warning fields: %v", w[0].ContextMap())
	}
	days.err = errors.New("another failure")
	tick(5)
	if n := logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 2 {
		t.Fatalf("%d warnings after the error changed, want 2", n)
	}
	days.err = nil
	if got := cb.due(at.Add(time.Minute)); len(got) != 1 {
		t.Fatalf("calendar answers again: %d due, want the kept job", len(got))
	}
	cb.due(at.Add(2 * time.Minute))
	if n := logs.FilterMessage("working day; callbacks resume").Len(); n != 1 {
		t.Fatalf("%d resume messages, want 1", n)
	}
}

// TestCallbacksRealCalendar checks the embedded calendar through the interface
// the callbacks use: 2026-10-10 is a 调休 makeup Saturday (State Council notice
// for 2026, National Day), 2026-10-03 a holiday Saturday, and 2027 has no
// notice in the data yet, so its statutory days off (provisional) decide.
func TestCallbacksRealCalendar(t *testing.T) {
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	var days WorkingDays = cal
	for at, want := range map[string]bool{"2026-10-10 10:00": true, "2026-02-14 10:00": true,
		"2026-10-03 10:00": false, "2026-11-22 10:00": false, "2026-11-23 10:00": true} {
		if w, err := days.IsWorkingDay(shanghaiTime(t, at)); err != nil || w != want {
			t.Errorf("%s: working = %v, %v; want %v", at, w, err, want)
		}
	}
	hours, _ := ParseCallingHours("09:00-12:00,14:00-20:00")
	cb := &Callbacks{cfg: CallbackConfig{Hours: hours, Days: cal}, jobs: map[string]*callbackJob{}, log: zap.NewNop()}
	cb.jobs["a"] = &callbackJob{EventID: "a"}
	if got := cb.due(shanghaiTime(t, "2026-10-03 10:00")); len(got) != 0 {
		t.Fatalf("holiday Saturday: %d due", len(got))
	}
	// 2027 has no notice in the embedded data: its days off come from the
	// statute, so New Year's Day waits and the first Monday calls.
	if got := cb.due(shanghaiTime(t, "2027-01-01 10:00")); len(got) != 0 {
		t.Fatalf("元旦 of a provisional year: %d due", len(got))
	}
	if got := cb.due(shanghaiTime(t, "2026-10-10 10:00")); len(got) != 1 {
		t.Fatalf("makeup Saturday: %d due, want 1", len(got))
	}
	cb2 := &Callbacks{cfg: CallbackConfig{Hours: hours, Days: cal}, jobs: map[string]*callbackJob{"b": {EventID: "b"}}, log: zap.NewNop()}
	if got := cb2.due(shanghaiTime(t, "2027-01-04 10:00")); len(got) != 1 {
		t.Fatalf("Monday of a provisional year: %d due, want 1", len(got))
	}
}

// A request whose callback is over is never carried out again: a redelivery
// (an acknowledgement lost in a crash) or a duplicate of the same request
// finds the done mark, even after a restart, and nobody is dialled twice.
func TestCallbackRequestCarriedOutOnce(t *testing.T) {
	dir := t.TempDir()
	newCB := func() *Callbacks {
		return &Callbacks{cfg: CallbackConfig{SpoolDir: dir}, jobs: map[string]*callbackJob{}, log: zap.NewNop(),
			now: time.Now, wake: make(chan struct{}, 1)}
	}
	env, err := event.New(event.CallbackRequested, "casework", "", event.CallbackRequestedPayload{CaseNumber: "202612010001", Number: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	cb := newCB()
	if err := cb.Handle(context.Background(), env); err != nil || len(cb.jobs) != 1 {
		t.Fatalf("first delivery: %v, %d jobs", err, len(cb.jobs))
	}
	cb.mu.Lock()
	cb.finish(cb.jobs[env.ID])
	cb.mu.Unlock()
	for i, c := range []*Callbacks{cb, newCB()} { // the same process, and one after a restart
		if err := c.Handle(context.Background(), env); err != nil || len(c.jobs) != 0 {
			t.Fatalf("redelivery %d after the callback was over: %v, %d jobs", i, err, len(c.jobs))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, env.ID+".json")); !os.IsNotExist(err) {
		t.Errorf("the finished request is still spooled: %v", err)
	}
}
