package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(Location)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func load(t *testing.T) *Calendar {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// strictLoad is the embedded notices without provisional years: questions
// about a year without a notice fail, as every calendar did before run-time
// imports and statute years.
func strictLoad(t *testing.T) *Calendar {
	t.Helper()
	ns, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	ex := map[string]bool{}
	var years []int
	for _, n := range ns {
		years = append(years, n.Year)
		for _, d := range n.Days {
			ex[d.Date] = d.IsOffDay
		}
	}
	c, err := New(ex, years...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// at parses "2006-01-02 15:04" in Asia/Shanghai.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLoadCoverage(t *testing.T) {
	c := load(t)
	for y := 2020; y <= 2026; y++ {
		if !c.Covers(y) {
			t.Errorf("Covers(%d) = false, the data has its notice", y)
		}
	}
	// 2027.json is an empty placeholder: no notice yet, so not covered.
	for _, y := range []int{2019, 2027, 2028} {
		if c.Covers(y) {
			t.Errorf("Covers(%d) = true, no notice for it", y)
		}
	}
	if got := c.LastYear(); got != 2026 {
		t.Errorf("LastYear() = %d, want 2026", got)
	}
}

// The 2026 notice (国务院办公厅, gov.cn content_7047091) as it appears in
// data/2026.json, checked by hand against the file.
func TestIsWorkingDay2026(t *testing.T) {
	c := load(t)
	tests := []struct {
		date string
		want bool
		why  string
	}{
		{"2026-01-04", true, "Sunday, 元旦 makeup day"},
		{"2026-01-02", false, "Friday, 元旦 holiday"},
		{"2026-02-14", true, "Saturday, 春节 makeup day"},
		{"2026-02-28", true, "Saturday, 春节 makeup day"},
		{"2026-02-23", false, "Monday, last day of the 春节 holiday"},
		{"2026-02-24", true, "Tuesday after 春节"},
		{"2026-03-07", false, "plain Saturday"},
		{"2026-03-11", true, "plain Wednesday"},
		{"2026-05-09", true, "Saturday, 劳动节 makeup day"},
		{"2026-09-20", true, "Sunday, 国庆节 makeup day"},
		{"2026-09-25", false, "Friday, 中秋节 holiday"},
		{"2026-10-07", false, "Wednesday, last day of 国庆节"},
		{"2026-10-10", true, "Saturday, 国庆节 makeup day"},
		{"2026-10-11", false, "plain Sunday after the makeup Saturday"},
		{"2020-02-03", true, "Monday listed as working in the 2020 extension notice: redundant, harmless"},
		{"2022-12-31", false, "Saturday listed in the 2023 notice (neighbouring year)"},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			for _, clock := range []string{"00:00", "12:00", "23:59"} {
				got, err := c.IsWorkingDay(at(t, tt.date+" "+clock))
				if err != nil {
					t.Fatalf("IsWorkingDay: %v", err)
				}
				if got != tt.want {
					t.Errorf("%s %s: got %v, want %v (%s)", tt.date, clock, got, tt.want, tt.why)
				}
			}
		})
	}
}

func TestIsWorkingDayUsesShanghaiDate(t *testing.T) {
	c := load(t)
	// 2026-10-09 17:00 UTC is Saturday 2026-10-10 01:00 in Shanghai, a makeup day;
	// 2026-10-10 17:00 UTC is Sunday 2026-10-11 01:00, a day off.
	for _, tt := range []struct {
		utc  string
		want bool
	}{
		{"2026-10-09T17:00:00Z", true},
		{"2026-10-10T17:00:00Z", false},
	} {
		v, _ := time.Parse(time.RFC3339, tt.utc)
		got, err := c.IsWorkingDay(v)
		if err != nil || got != tt.want {
			t.Errorf("IsWorkingDay(%s) = %v, %v; want %v", tt.utc, got, err, tt.want)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := load(t)
	tests := []struct {
		name     string
		from     string
		n        int
		want     string // deadline, Asia/Shanghai
		notDates string // the notice days that make the answer
	}{
		{
			name: "7 from Friday 2026-09-25, the last Friday before National Day",
			from: "2026-09-25 10:00", n: 7, want: "2026-10-13 00:00",
			// 09-25 is itself a holiday (中秋节 falls on it in 2026), which does
			// not matter as the day of receipt never counts; 09-26/27 中秋节
			// off; 1-3 = 09-28..30; 10-01..07 国庆节 off;
			// 4-5 = 10-08/09; 6 = Saturday 10-10 makeup; 10-11 Sunday off;
			// 7 = Monday 10-12, so the deadline is the end of 10-12.
		},
		{
			name: "7 from the Friday a week earlier",
			from: "2026-09-18 16:00", n: 7, want: "2026-09-30 00:00",
			// 1 = Sunday 09-20 makeup; 2-5 = 09-21..24; 09-25..27 中秋节 off;
			// 6-7 = 09-28/29.
		},
		{
			name: "7 from the eve of National Day",
			from: "2026-09-30 09:00", n: 7, want: "2026-10-16 00:00",
			// 10-01..07 off; 1-2 = 10-08/09; 3 = Saturday 10-10 makeup;
			// 4-7 = 10-12..15.
		},
		{
			name: "7 across the Spring Festival and both makeup Saturdays",
			from: "2026-02-13 11:00", n: 7, want: "2026-03-03 00:00",
			// 1 = Saturday 02-14 makeup; 02-15..23 春节 off; 2-5 = 02-24..27;
			// 6 = Saturday 02-28 makeup; 03-01 Sunday; 7 = 03-02.
		},
		{
			name: "3 (phone transfer) into the Spring Festival",
			from: "2026-02-12 15:00", n: 3, want: "2026-02-25 00:00",
			// 1 = 02-13; 2 = Saturday 02-14 makeup; 02-15..23 off; 3 = 02-24.
		},
		{
			name: "received on a holiday: counting starts the next working day",
			from: "2026-02-18 10:00", n: 1, want: "2026-02-25 00:00",
			// 02-18..23 off; 1 = 02-24.
		},
		{
			name: "plain week",
			from: "2026-03-09 09:00", n: 7, want: "2026-03-19 00:00",
			// no notice day in March: 1-4 = 03-10..13, 5-7 = 03-16..18.
		},
		{
			name: "received late evening counts as that day",
			from: "2026-03-09 23:59", n: 1, want: "2026-03-11 00:00",
		},
		{
			name: "received at 00:00: that day is still the day of receipt",
			from: "2026-03-09 00:00", n: 1, want: "2026-03-11 00:00",
		},
		{
			name: "1 from Friday is Monday",
			from: "2026-03-13 17:00", n: 1, want: "2026-03-17 00:00",
		},
		{
			name: "before the late-December window",
			from: "2026-12-21 10:00", n: 5, want: "2026-12-29 00:00",
			// 1-4 = 12-22..25, 5 = Monday 12-28; 12-29 is never examined.
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AddWorkingDays(at(t, tt.from), tt.n)
			if err != nil {
				t.Fatalf("AddWorkingDays: %v", err)
			}
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from, tt.n, got, want)
			}
			if got.Location().String() != Location {
				t.Errorf("deadline in %s, want %s", got.Location(), Location)
			}
			// The other direction agrees: n full working days in between,
			// plus the day of receipt itself when received at exactly 00:00
			// of a working day (documented edge of WorkingDaysBetween).
			want := tt.n
			if strings.HasSuffix(tt.from, " 00:00") {
				want++
			}
			if between, err := c.WorkingDaysBetween(at(t, tt.from), got); err != nil || between != want {
				t.Errorf("WorkingDaysBetween(from, deadline) = %d, %v; want %d", between, err, want)
			}
		})
	}
}

func TestAddWorkingDaysUTCInput(t *testing.T) {
	c := load(t)
	// 2026-03-09 16:30 UTC is Tuesday 03-10 00:30 in Shanghai, so the day of
	// receipt is Tuesday: 1-3 = 03-11..13, 4-7 = 03-16..19.
	from := time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC)
	got, err := c.AddWorkingDays(from, 7)
	if err != nil {
		t.Fatal(err)
	}
	if want := at(t, "2026-03-20 00:00"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAddWorkingDaysBadN(t *testing.T) {
	c := load(t)
	for _, n := range []int{0, -1} {
		if _, err := c.AddWorkingDays(at(t, "2026-03-09 09:00"), n); err == nil {
			t.Errorf("AddWorkingDays(n=%d): no error", n)
		}
	}
}

func TestMissingYear(t *testing.T) {
	c := strictLoad(t)
	tests := []struct {
		name string
		call func() error
		year int
	}{
		{"date in 2027 (no notice yet)", func() error {
			_, err := c.IsWorkingDay(at(t, "2027-03-03 10:00"))
			return err
		}, 2027},
		{"date in 2028", func() error {
			_, err := c.IsWorkingDay(at(t, "2028-01-03 10:00"))
			return err
		}, 2028},
		{"date before the data", func() error {
			_, err := c.IsWorkingDay(at(t, "2019-06-03 10:00"))
			return err
		}, 2019},
		{"29 December needs the next year's notice", func() error {
			_, err := c.IsWorkingDay(at(t, "2026-12-29 10:00"))
			return err
		}, 2027},
		{"7 working days from 2026-12-21 run into late December", func() error {
			// 1-4 = 12-22..25, 5 = 12-28, then 12-29 cannot be decided without 2027.
			_, err := c.AddWorkingDays(at(t, "2026-12-21 10:00"), 7)
			return err
		}, 2027},
		{"between two dates spanning New Year", func() error {
			_, err := c.WorkingDaysBetween(at(t, "2026-12-01 10:00"), at(t, "2027-01-10 10:00"))
			return err
		}, 2027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var miss *MissingYearError
			if !errors.As(err, &miss) {
				t.Fatalf("err = %v, want *MissingYearError", err)
			}
			if miss.Year != tt.year {
				t.Errorf("MissingYearError.Year = %d, want %d (%v)", miss.Year, tt.year, err)
			}
		})
	}
}

// With a test calendar covering 2026 and 2027, a deadline that runs past the
// end of 2027 needs the 2028 notice and must fail rather than guess.
func TestCrossIntoUncoveredYear(t *testing.T) {
	c, err := New(map[string]bool{"2027-10-01": true}, 2026, 2027)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.AddWorkingDays(at(t, "2027-12-20 10:00"), 5) // Mon 12-20: 12-21..24, 12-27
	if err != nil || !got.Equal(at(t, "2027-12-28 00:00")) {
		t.Errorf("AddWorkingDays inside 2027 = %s, %v", got, err)
	}
	_, err = c.AddWorkingDays(at(t, "2027-12-20 10:00"), 10)
	var miss *MissingYearError
	if !errors.As(err, &miss) || miss.Year != 2028 {
		t.Fatalf("AddWorkingDays across New Year 2028: err = %v, want MissingYearError{2028}", err)
	}
	if ok, err := c.IsWorkingDay(at(t, "2027-10-01 10:00")); ok || err != nil {
		t.Errorf("exception from New ignored: %v %v", ok, err)
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := load(t)
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{"same instant", "2026-03-10 10:00", "2026-03-10 10:00", 0},
		{"within one day", "2026-03-10 00:00", "2026-03-10 23:59", 0},
		{"one full working day", "2026-03-10 00:00", "2026-03-11 00:00", 1},
		{"deadline to 10:00 next day: overdue but no full day", "2026-03-19 00:00", "2026-03-19 10:00", 0},
		{"deadline to the day after: one full day overdue", "2026-03-19 00:00", "2026-03-20 00:00", 1},
		{"weekend does not count", "2026-03-13 00:00", "2026-03-16 00:00", 1},
		// Full days inside [09-30 09:00, 10-13 00:00] are 10-01..10-12; 10-01..07
		// are 国庆节 off, 10-11 is Sunday: 10-08, 10-09, 10-10 (makeup), 10-12.
		{"National Day with makeup Saturday", "2026-09-30 09:00", "2026-10-13 00:00", 4},
		{"reversed is negative", "2026-03-20 00:00", "2026-03-19 00:00", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.WorkingDaysBetween(at(t, tt.a), at(t, tt.b))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// Every start time of 2026 (at 10:00) round-trips through AddWorkingDays and
// WorkingDaysBetween, and the deadline is always 00:00 after a working day.
func TestAddAndBetweenAgree(t *testing.T) {
	c := load(t)
	for from := at(t, "2026-01-01 10:00"); from.Before(at(t, "2026-12-01 00:00")); from = from.AddDate(0, 0, 1) {
		for _, n := range []int{1, 3, 7} {
			dl, err := c.AddWorkingDays(from, n)
			if err != nil {
				t.Fatalf("%s+%d: %v", from, n, err)
			}
			if h, m, s := dl.Clock(); h+m+s != 0 {
				t.Fatalf("%s+%d: deadline %s is not midnight", from, n, dl)
			}
			last, err := c.IsWorkingDay(dl.AddDate(0, 0, -1))
			if err != nil || !last {
				t.Fatalf("%s+%d: day before deadline %s is not a working day", from, n, dl)
			}
			got, err := c.WorkingDaysBetween(from, dl)
			if err != nil || got != n {
				t.Fatalf("%s+%d: between = %d, %v", from, n, got, err)
			}
		}
	}
}

func TestNewRejectsBadDates(t *testing.T) {
	if _, err := New(map[string]bool{"2026-13-01": true}, 2026); err == nil {
		t.Error("New accepted month 13")
	}
	if _, err := New(map[string]bool{"26-1-1": true}, 2026); err == nil {
		t.Error("New accepted a non-ISO date")
	}
}

func TestParseNotice(t *testing.T) {
	tests := []struct {
		name, file, json, wantErr string
	}{
		{"ok", "2026.json", `{"year":2026,"papers":["u"],"days":[{"name":"x","date":"2026-10-10","isOffDay":false}]}`, ""},
		{"empty placeholder", "2027.json", `{"year":2027,"papers":[],"days":[]}`, ""},
		{"unknown field", "2026.json", `{"year":2026,"papers":[],"days":[],"extra":1}`, "unknown field"},
		{"year does not match file", "2026.json", `{"year":2025,"papers":[],"days":[]}`, "file name"},
		{"missing days", "2026.json", `{"year":2026,"papers":[]}`, "required"},
		{"missing isOffDay", "2026.json", `{"year":2026,"papers":["u"],"days":[{"name":"x","date":"2026-10-10"}]}`, "isOffDay"},
		{"bad date", "2026.json", `{"year":2026,"papers":["u"],"days":[{"name":"x","date":"2026-10-32","isOffDay":true}]}`, "bad date"},
		{"date far from year", "2026.json", `{"year":2026,"papers":["u"],"days":[{"name":"x","date":"2062-10-01","isOffDay":true}]}`, "not near"},
		{"contradiction", "2026.json", `{"year":2026,"papers":["u"],"days":[{"name":"x","date":"2026-10-10","isOffDay":true},{"name":"x","date":"2026-10-10","isOffDay":false}]}`, "both"},
		{"days without papers", "2026.json", `{"year":2026,"papers":[],"days":[{"name":"x","date":"2026-10-10","isOffDay":true}]}`, "papers"},
		{"trailing data", "2026.json", `{"year":2026,"papers":[],"days":[]} {}`, "trailing"},
		{"not JSON", "2026.json", `<html>`, "decode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNotice(tt.file, []byte(tt.json))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
