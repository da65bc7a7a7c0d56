package ivr

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/ivr/prompts"
)

func TestMenuMachine(t *testing.T) {
	type want struct {
		choice  string
		route   Route
		prompt  prompts.ID
		deflt   bool
		attempt int
	}
	tests := []struct {
		name   string
		keys   []string // "" is a timeout
		expect []want
	}{
		{"self-service", []string{"1"}, []want{{ChoiceSelfService, RouteSelfService, "", false, 1}}},
		{"voicemail", []string{"2"}, []want{{ChoiceVoicemail, RouteVoicemail, "", false, 1}}},
		{"fax", []string{"3"}, []want{{ChoiceFax, RouteFax, "", false, 1}}},
		{"repeat then choose", []string{"0", "2"}, []want{
			{ChoiceRepeat, RouteNone, "", false, 1},
			{ChoiceVoicemail, RouteVoicemail, "", false, 2}}},
		{"invalid key re-prompts, then a valid one", []string{"7", "1"}, []want{
			{ChoiceInvalid, RouteNone, prompts.InvalidKey, false, 1},
			{ChoiceSelfService, RouteSelfService, "", false, 2}}},
		{"star and hash are invalid", []string{"*", "#"}, []want{
			{ChoiceInvalid, RouteNone, prompts.InvalidKey, false, 1},
			{ChoiceInvalid, RouteNone, prompts.InvalidKey, false, 2}}},
		{"timeouts run out to the default", []string{"", "", ""}, []want{
			{ChoiceTimeout, RouteNone, prompts.NoInput, false, 1},
			{ChoiceTimeout, RouteNone, prompts.NoInput, false, 2},
			{ChoiceTimeout, DefaultRoute, prompts.TooManyErrors, true, 3}}},
		{"mixed errors count together", []string{"9", "", "8"}, []want{
			{ChoiceInvalid, RouteNone, prompts.InvalidKey, false, 1},
			{ChoiceTimeout, RouteNone, prompts.NoInput, false, 2},
			{ChoiceInvalid, DefaultRoute, prompts.TooManyErrors, true, 3}}},
		{"a repeat does not reset errors but is no error", []string{"9", "0", "9", "0", "9"}, []want{
			{ChoiceInvalid, RouteNone, prompts.InvalidKey, false, 1},
			{ChoiceRepeat, RouteNone, "", false, 2},
			{ChoiceInvalid, RouteNone, prompts.InvalidKey, false, 3},
			{ChoiceRepeat, RouteNone, "", false, 4},
			{ChoiceInvalid, DefaultRoute, prompts.TooManyErrors, true, 5}}},
		{"endless repeats end in the default", []string{"0", "0", "0", "0", "0", "0"}, []want{
			{ChoiceRepeat, RouteNone, "", false, 1}, {ChoiceRepeat, RouteNone, "", false, 2},
			{ChoiceRepeat, RouteNone, "", false, 3}, {ChoiceRepeat, RouteNone, "", false, 4},
			{ChoiceRepeat, RouteNone, "", false, 5}, {ChoiceRepeat, DefaultRoute, prompts.TooManyErrors, true, 6}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMenuMachine(MenuConfig{})
			for i, k := range tc.keys {
				got := m.input(k)
				w := tc.expect[i]
				if got.Choice != w.choice || got.Route != w.route || got.Prompt != w.prompt ||
					got.Default != w.deflt || got.Attempt != w.attempt || got.Key != k {
					t.Errorf("input %d %q: got %+v, want %+v", i, k, got, w)
				}
			}
		})
	}
}

// A burst of invalid keys (issue 15, defect 4: "*#*#9" keyed 285 ms apart)
// is one error; a valid key in it is still taken; a slow second wrong key is
// a second error.
func TestMenuMachineKeyBurst(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 20, 0, 0, 0, shanghai)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	m := newMenuMachine(MenuConfig{})
	for i, k := range []string{"*", "#", "*", "#", "9"} {
		st := m.inputAt(k, ms(285*i))
		if st.Default || st.Route != RouteNone || (i == 0) == st.Burst {
			t.Fatalf("key %d %q: %+v", i, k, st)
		}
	}
	if m.errors != 1 || m.attempt != 1 {
		t.Fatalf("after the burst: %d errors, attempt %d; want 1, 1", m.errors, m.attempt)
	}
	if st := m.inputAt("2", ms(1300)); st.Route != RouteVoicemail || st.Attempt != 2 || st.Burst {
		t.Fatalf("valid key right after the burst: %+v", st)
	}
	m = newMenuMachine(MenuConfig{})
	m.inputAt("7", ms(0))
	if st := m.inputAt("8", ms(3000)); st.Burst || m.errors != 2 {
		t.Fatalf("a wrong key 3 s later: %+v, errors %d; want a second error", st, m.errors)
	}
}

func TestMenuMachineBackResetsErrors(t *testing.T) {
	m := newMenuMachine(MenuConfig{MaxErrors: 2})
	m.input("9")
	m.back()
	if st := m.input("9"); st.Route != RouteNone {
		t.Fatalf("after returning to the menu one error must not end it: %+v", st)
	}
	if st := m.input(""); st.Route != DefaultRoute || !st.Default {
		t.Fatalf("second error in a row must take the default: %+v", st)
	}
}

func TestServiceHours(t *testing.T) {
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	office, err := calendar.ParseOfficeHours(calendar.DefaultOfficeHours)
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name  string
		mode  calendar.Mode
		h24   bool
		at    string
		want  bool
		isErr bool
	}{
		{"working day, morning", calendar.ModeCalendar, false, "2026-11-18 09:00", true, false},
		{"working day, lunch break", calendar.ModeCalendar, false, "2026-11-18 12:30", false, false},
		{"working day, evening", calendar.ModeCalendar, false, "2026-11-18 19:00", false, false},
		{"Saturday", calendar.ModeCalendar, false, "2026-11-21 10:00", false, false},
		{"National Day holiday (weekday)", calendar.ModeCalendar, false, "2026-10-02 10:00", false, false},
		{"调休 makeup Saturday is a working day", calendar.ModeCalendar, false, "2026-10-10 10:00", true, false},
		{"24h mode at night", calendar.ModeCalendar, true, "2026-11-21 03:00", true, false},
		{"forced open at night", calendar.ModeOpen, false, "2026-11-21 03:00", true, false},
		{"forced closed beats 24h", calendar.ModeClosed, true, "2026-11-18 09:00", false, false},
		// 2027 has no official notice in the data: the statute's days off decide
		// (asked on 2026-12-30, the day the issue names, or any other day).
		{"元旦 2027 of a provisional year is closed", calendar.ModeCalendar, false, "2027-01-01 10:00", false, false},
		{"a normal Monday in January 2027 is open", calendar.ModeCalendar, false, "2027-01-04 10:00", true, false},
		{"除夕 2027 by the statute is closed", calendar.ModeCalendar, false, "2027-02-05 10:00", false, false},
		{"outside every calendar: human service is offered", calendar.ModeCalendar, false, "2100-03-04 10:00", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := CalendarHours{Calendar: cal, Mode: tc.mode, Office: office, Always24h: tc.h24}
			got, err := h.Staffed(at(tc.at))
			if (err != nil) != tc.isErr {
				t.Fatalf("err = %v, want error %v", err, tc.isErr)
			}
			if d := staffedOrHuman(got, err); d != tc.want {
				t.Errorf("staffed = %v, want %v", d, tc.want)
			}
		})
	}
}

// wav16 builds a mono 8 kHz 16-bit WAV of the given samples.
func wav16(samples []int16) []byte {
	var b bytes.Buffer
	data := len(samples) * 2
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(data))
	_ = binary.Write(&b, binary.LittleEndian, samples)
	return b.Bytes()
}

func TestMeasureWAV(t *testing.T) {
	s := make([]int16, 8000*3)          // 3 s
	for i := 8000; i < 8000+4000; i++ { // 0.5 s of a 440 Hz tone at -12 dBFS
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	for i := 16000; i < len(s); i++ { // line noise, far below speech
		s[i] = int16(i%7 - 3)
	}
	lvl, err := measureWAV(bytes.NewReader(wav16(s)))
	if err != nil {
		t.Fatal(err)
	}
	if lvl.Duration != 3*time.Second || lvl.Voiced != 500*time.Millisecond {
		t.Fatalf("got %+v, want 3s with 500ms voiced", lvl)
	}
	if _, err := measureWAV(bytes.NewReader([]byte("RIFF....WAVEjunk"))); err == nil {
		t.Fatal("a broken file must be an error")
	}
}
