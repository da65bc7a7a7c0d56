package calendar

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The lunar dates, checked by hand against published calendars. 2025-2029
// have no 腊月三十: 除夕 is the 29th, so it must be "the day before 正月初一",
// never lunar 12/30 (which lunar-go refuses with a panic in those years).
func TestStatuteLunarDates(t *testing.T) {
	tests := []struct {
		year                              int
		chuxi, qingming, duanwu, zhongqiu string
	}{
		{2020, "2020-01-24", "2020-04-04", "2020-06-25", "2020-10-01"},
		{2023, "2023-01-21", "2023-04-05", "2023-06-22", "2023-09-29"},
		{2025, "2025-01-28", "2025-04-04", "2025-05-31", "2025-10-06"},
		{2026, "2026-02-16", "2026-04-05", "2026-06-19", "2026-09-25"},
		{2027, "2027-02-05", "2027-04-05", "2027-06-09", "2027-09-15"},
		{2028, "2028-01-25", "2028-04-04", "2028-05-28", "2028-10-03"}, // 闰五月: 端午 is in the first 5th month
	}
	for _, tt := range tests {
		l, err := lunarDates(tt.year)
		if err != nil {
			t.Fatalf("lunarDates(%d): %v", tt.year, err)
		}
		got := [4]string{(l.newYear - 1).String(), l.qingming.String(), l.duanwu.String(), l.zhongqiu.String()}
		want := [4]string{tt.chuxi, tt.qingming, tt.duanwu, tt.zhongqiu}
		if got != want {
			t.Errorf("%d: 除夕, 清明, 端午, 中秋 = %v, want %v", tt.year, got, want)
		}
	}
}

func TestStatuteNotice2027(t *testing.T) {
	checkStatuteYear(t, 2027, []NoticeDay{
		{"元旦", "2027-01-01", true},      // Fri
		{"春节", "2027-02-05", true},      // Fri, 除夕 (腊月二十九)
		{"春节", "2027-02-06", true},      // Sat
		{"春节", "2027-02-07", true},      // Sun
		{"春节", "2027-02-08", true},      // Mon, 初三
		{"春节（补假）", "2027-02-09", true},  // for Sat
		{"春节（补假）", "2027-02-10", true},  // for Sun
		{"清明节", "2027-04-05", true},     // Mon
		{"劳动节", "2027-05-01", true},     // Sat
		{"劳动节", "2027-05-02", true},     // Sun
		{"劳动节（补假）", "2027-05-03", true}, // Mon
		{"劳动节（补假）", "2027-05-04", true}, // Tue
		{"端午节", "2027-06-09", true},     // Wed
		{"中秋节", "2027-09-15", true},     // Wed
		{"国庆节", "2027-10-01", true},     // Fri
		{"国庆节", "2027-10-02", true},     // Sat
		{"国庆节", "2027-10-03", true},     // Sun
		{"国庆节（补假）", "2027-10-04", true}, // Mon
		{"国庆节（补假）", "2027-10-05", true}, // Tue
	})
}

// 2028 has 元旦 on a Saturday, 端午 on a Sunday and 中秋 on 3 October, a day
// 国庆 already has: each owes a day.
func TestStatuteNotice2028(t *testing.T) {
	checkStatuteYear(t, 2028, []NoticeDay{
		{"元旦", "2028-01-01", true},      // Sat
		{"元旦（补假）", "2028-01-03", true},  // Mon
		{"春节", "2028-01-25", true},      // Tue, 除夕
		{"春节", "2028-01-26", true},      // Wed
		{"春节", "2028-01-27", true},      // Thu
		{"春节", "2028-01-28", true},      // Fri, 初三
		{"清明节", "2028-04-04", true},     // Tue
		{"劳动节", "2028-05-01", true},     // Mon
		{"劳动节", "2028-05-02", true},     // Tue
		{"端午节", "2028-05-28", true},     // Sun
		{"端午节（补假）", "2028-05-29", true}, // Mon
		{"国庆节", "2028-10-01", true},     // Sun
		{"国庆节", "2028-10-02", true},     // Mon
		{"国庆节、中秋节", "2028-10-03", true}, // Tue
		{"国庆节（补假）", "2028-10-04", true}, // Wed, for Sun 1 October
		{"中秋节（补假）", "2028-10-05", true}, // Thu, for the shared 3 October
	})
}

func checkStatuteYear(t *testing.T, year int, want []NoticeDay) {
	t.Helper()
	n, err := StatuteNotice(year)
	if err != nil {
		t.Fatalf("StatuteNotice(%d): %v", year, err)
	}
	if n.Year != year || len(n.Papers) != 0 {
		t.Errorf("StatuteNotice(%d): year %d, papers %q; want %d and none", year, n.Year, n.Papers, year)
	}
	if !reflect.DeepEqual(n.Days, want) {
		t.Errorf("StatuteNotice(%d) days:\n%s\nwant:\n%s", year, formatDays(n.Days), formatDays(want))
	}
}

func formatDays(days []NoticeDay) string {
	var b strings.Builder
	for _, x := range days {
		fmt.Fprintf(&b, "\t%s %v %s\n", x.Date, x.IsOffDay, x.Name)
	}
	return b.String()
}

// Every year the statute gives 13 festival days (1+4+1+2+1+1+3), each on a
// weekday or compensated on one: exactly 13 weekdays off, no more.
func TestStatuteNoticeEveryYear(t *testing.T) {
	for year := MinYear; year <= MaxYear; year++ {
		n, err := StatuteNotice(year)
		if err != nil {
			t.Fatalf("StatuteNotice(%d): %v", year, err)
		}
		if err := n.Validate(); err != nil {
			t.Errorf("StatuteNotice(%d).Validate(): %v", year, err)
		}
		weekdays := 0
		for i, x := range n.Days {
			d, _ := parseDay(x.Date)
			if y, _, _ := d.date(); y != year || !x.IsOffDay {
				t.Errorf("%d: %s %v %s: want days off inside the year only", year, x.Date, x.IsOffDay, x.Name)
			}
			if i > 0 && x.Date <= n.Days[i-1].Date {
				t.Errorf("%d: %s after %s: want strictly increasing dates", year, x.Date, n.Days[i-1].Date)
			}
			if !isSatSun(d) {
				weekdays++
			}
		}
		if weekdays != 13 {
			t.Errorf("%d: %d weekdays off, want 13:\n%s", year, weekdays, formatDays(n.Days))
		}
	}
	for _, year := range []int{MinYear - 1, MaxYear + 1, 0} {
		if _, err := StatuteNotice(year); err == nil {
			t.Errorf("StatuteNotice(%d) succeeded, want an error", year)
		}
	}
}

// statuteDiff is how a year's official notice differs from the statute
// derivation, date by date (MM-DD within the year).
type statuteDiff struct {
	year int
	// noticeOff: weekdays the notice gives off and the statute does not (bridges,
	// the 2020 COVID extension).
	noticeOff []string
	// makeup: weekend days the notice makes working days (调休).
	makeup []string
	// statuteOff: weekdays the statute gives off and the notice does not (before
	// 2025 除夕 was no holiday, 劳动节 had one day; 补假 placed differently).
	statuteOff []string
}

// The statute derivation against the official notices 2020-2026: computed
// once, then checked by hand against the notices, so that a change of the
// derivation shows here. Weekday holidays and 补假 that agree are not listed.
// Dates after 28 December 2026 follow Monday-Friday on both sides (no 2027
// notice yet).
var statuteDiffs = []statuteDiff{
	// 春节 24-30 Jan + COVID extension 31 Jan-2 Feb (1 Feb, a planned makeup,
	// became a day off); 劳动节 1-5 May; 端午 25-27 Jun; 国庆+中秋 1-8 Oct.
	{2020, []string{"01-30", "01-31", "05-05", "06-26", "10-07", "10-08"},
		[]string{"01-19", "04-26", "05-09", "06-28", "09-27", "10-10"}, nil},
	{2021, []string{"02-17", "05-05", "09-20", "10-06", "10-07"},
		[]string{"02-07", "02-20", "04-25", "05-08", "09-18", "09-26", "10-09"}, nil},
	{2022, []string{"02-04", "04-04", "05-04", "10-06", "10-07"},
		[]string{"01-29", "01-30", "04-02", "04-24", "05-07", "10-08", "10-09"}, nil},
	{2023, []string{"01-27", "05-03", "06-23", "10-05", "10-06"},
		[]string{"01-28", "01-29", "04-23", "05-06", "06-25", "10-07", "10-08"}, nil},
	// 除夕 (9 Feb) was a working day under the old statute.
	{2024, []string{"02-15", "02-16", "04-05", "05-03", "09-16", "10-04", "10-07"},
		[]string{"02-04", "02-18", "04-07", "04-28", "05-11", "09-14", "09-29", "10-12"},
		[]string{"02-09"}},
	{2025, []string{"02-03", "02-04", "05-05", "10-07", "10-08"},
		[]string{"01-26", "02-08", "04-27", "09-28", "10-11"}, nil},
	{2026, []string{"01-02", "02-20", "02-23", "05-05", "10-06", "10-07"},
		[]string{"01-04", "02-14", "02-28", "05-09", "09-20", "10-10"}, nil},
}

func TestStatuteAgainstNotices(t *testing.T) {
	official, officialNames := officialExceptions(t)
	for _, want := range statuteDiffs {
		n, err := StatuteNotice(want.year)
		if err != nil {
			t.Fatalf("StatuteNotice(%d): %v", want.year, err)
		}
		statute, statuteNames := map[day]bool{}, map[day]string{}
		for _, x := range n.Days {
			d, _ := parseDay(x.Date)
			statute[d], statuteNames[d] = x.IsOffDay, x.Name
		}
		got := compareYear(want.year, official, statute)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d: statute vs notice differ in\n%s\nwant\n%s", want.year, got, want)
		}
		t.Log(got.summary(func(d day) string {
			return fmt.Sprintf("notice %q, statute %q", officialNames[d], statuteNames[d])
		}))
	}
}

// officialExceptions merges the embedded notices, whichever file lists a date
// (2023.json lists 2022-12-31), with the notices' names of the dates.
func officialExceptions(t *testing.T) (map[day]bool, map[day]string) {
	t.Helper()
	ns, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	off, names := map[day]bool{}, map[day]string{}
	for _, n := range ns {
		for _, x := range n.Days {
			d, err := parseDay(x.Date)
			if err != nil {
				t.Fatal(err)
			}
			off[d], names[d] = x.IsOffDay, x.Name
		}
	}
	return off, names
}

func compareYear(year int, official, statute map[day]bool) statuteDiff {
	diff := statuteDiff{year: year}
	for d := dayFromDate(year, time.January, 1); d <= dayFromDate(year, time.December, 31); d++ {
		o, s := workingUnder(official, d), workingUnder(statute, d)
		mmdd := d.String()[5:]
		switch {
		case !o && s:
			diff.noticeOff = append(diff.noticeOff, mmdd)
		case o && !s && isSatSun(d):
			diff.makeup = append(diff.makeup, mmdd)
		case o && !s:
			diff.statuteOff = append(diff.statuteOff, mmdd)
		}
	}
	return diff
}

func workingUnder(exceptions map[day]bool, d day) bool {
	if off, ok := exceptions[d]; ok {
		return !off
	}
	return !isSatSun(d)
}

func (s statuteDiff) String() string {
	return fmt.Sprintf("notice-only days off %q, makeup weekends %q, statute-only days off %q", s.noticeOff, s.makeup, s.statuteOff)
}

// summary is s for people: counts, then each date with its weekday and label.
func (s statuteDiff) summary(label func(day) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d: %d notice-only days off, %d makeup weekends, %d statute-only days off",
		s.year, len(s.noticeOff), len(s.makeup), len(s.statuteOff))
	list := func(title string, dates []string) {
		for _, mmdd := range dates {
			d, _ := parseDay(fmt.Sprintf("%d-%s", s.year, mmdd))
			fmt.Fprintf(&b, "\n\t%-18s %s %s  %s", title, d, d.weekday().String()[:3], label(d))
		}
	}
	list("notice-only off", s.noticeOff)
	list("makeup weekend", s.makeup)
	list("statute-only off", s.statuteOff)
	return b.String()
}
