package calendar

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOfficeHours(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: DefaultOfficeHours, want: "08:30-12:00,13:30-17:30"},
		{in: " 08:30 - 12:00 , 13:30-17:30 ", want: "08:30-12:00,13:30-17:30"},
		{in: "00:00-24:00", want: "00:00-24:00"},
		{in: "09:00-12:00,12:00-17:00", want: "09:00-12:00,12:00-17:00"},
		{in: "", wantErr: "empty"},
		{in: "08:30", wantErr: "not HH:MM-HH:MM"},
		{in: "8:30-12:00", wantErr: "not HH:MM"},
		{in: "08:3a-12:00", wantErr: "not HH:MM"},
		{in: "08:30-12:60", wantErr: "out of range"},
		{in: "25:00-26:00", wantErr: "out of range"},
		{in: "24:30-24:45", wantErr: "out of range"},
		{in: "12:00-08:30", wantErr: "ends before it starts"},
		{in: "08:30-08:30", wantErr: "ends before it starts"},
		{in: "13:30-17:30,08:30-12:00", wantErr: "overlaps or precedes"},
		{in: "08:30-12:00,11:00-17:30", wantErr: "overlaps or precedes"},
		{in: "08:30-12:00,", wantErr: "not HH:MM-HH:MM"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, err := ParseOfficeHours(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := h.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInServiceHours(t *testing.T) {
	c := load(t)
	h, err := ParseOfficeHours(DefaultOfficeHours)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		when string
		want bool
	}{
		{"2026-03-11 08:29", false},
		{"2026-03-11 08:30", true},
		{"2026-03-11 11:59", true},
		{"2026-03-11 12:00", false}, // lunch break
		{"2026-03-11 13:30", true},
		{"2026-03-11 17:29", true},
		{"2026-03-11 17:30", false},
		{"2026-03-14 10:00", false}, // plain Saturday
		{"2026-02-28 10:00", true},  // 春节 makeup Saturday
		{"2026-10-05 10:00", false}, // 国庆节 Monday
		{"2027-03-03 03:00", false}, // outside the periods: no calendar needed
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			got, err := c.InServiceHours(at(t, tt.when), h)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("InServiceHours(%s) = %v, want %v", tt.when, got, tt.want)
			}
		})
	}
	// Inside the periods on an uncovered date the answer depends on data a
	// strict calendar lacks.
	var miss *MissingYearError
	if _, err := strictLoad(t).InServiceHours(at(t, "2027-03-03 10:00"), h); !errors.As(err, &miss) {
		t.Errorf("uncovered date in office hours: err = %v, want MissingYearError", err)
	}
	if _, err := c.InServiceHours(at(t, "2026-03-11 10:00"), OfficeHours{}); err == nil {
		t.Error("zero OfficeHours accepted")
	}
}

func TestParseMode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Mode
	}{
		{"", ModeCalendar},
		{"calendar", ModeCalendar},
		{"open", ModeOpen},
		{"closed", ModeClosed},
	} {
		got, err := ParseMode(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if tt.in != "" && got.String() != tt.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, bad := range []string{"Open", "24h", " calendar"} {
		if _, err := ParseMode(bad); err == nil || !strings.Contains(err.Error(), "want open, closed or calendar") {
			t.Errorf("ParseMode(%q): err = %v", bad, err)
		}
	}
}

func TestStaffed(t *testing.T) {
	c := strictLoad(t)
	h, _ := ParseOfficeHours(DefaultOfficeHours)
	const (
		weekdayWork = "2026-03-11 10:00"
		sundayNight = "2026-03-15 23:00"
		uncovered   = "2027-03-03 10:00"
	)
	tests := []struct {
		name      string
		when      string
		mode      Mode
		always24h bool
		want      bool
		wantErr   bool
	}{
		{"calendar, office hours", weekdayWork, ModeCalendar, false, true, false},
		{"calendar, Sunday night", sundayNight, ModeCalendar, false, false, false},
		{"calendar, 24h duty", sundayNight, ModeCalendar, true, true, false},
		{"24h duty needs no calendar data", uncovered, ModeCalendar, true, true, false},
		{"calendar without data fails", uncovered, ModeCalendar, false, false, true},
		{"forced open", sundayNight, ModeOpen, false, true, false},
		{"forced closed wins over 24h", weekdayWork, ModeClosed, true, false, false},
		{"forced open without data", uncovered, ModeOpen, false, true, false},
		{"unknown mode", weekdayWork, Mode(7), false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Staffed(at(t, tt.when), tt.mode, h, tt.always24h)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Staffed = %v, want %v", got, tt.want)
			}
		})
	}
}
