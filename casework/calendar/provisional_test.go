package calendar

import (
	"errors"
	"testing"
	"time"
)

// With the embedded notices (2020-2026), 2027 is provisional: days off from
// the statute, and the last days of 2026 may still be moved by its notice.
func TestProvisionalYear(t *testing.T) {
	c := load(t)
	tests := []struct {
		when        string
		working     bool
		provisional bool
		why         string
	}{
		{"2026-12-28 10:00", true, false, "Monday, decided by the 2026 notice"},
		{"2026-12-29 10:00", true, true, "the 2027 notice could move it"},
		{"2027-01-01 10:00", false, true, "元旦 by the statute"},
		{"2027-01-04 10:00", true, true, "plain Monday"},
		{"2027-02-05 10:00", false, true, "除夕, first day of 春节 by the statute"},
		{"2027-02-08 10:00", false, true, "初三, last statutory day of 春节"},
		{"2027-02-09 10:00", false, true, "补假 for 初一 on a Saturday (statute art. 6)"},
		{"2027-02-10 10:00", false, true, "补假 for 初二 on a Sunday"},
		{"2027-02-11 10:00", true, true, "Thursday after 春节"},
		{"2027-10-01 10:00", false, true, "国庆节"},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			ok, err := c.IsWorkingDay(at(t, tt.when))
			if err != nil || ok != tt.working {
				t.Errorf("IsWorkingDay = %v, %v; want %v (%s)", ok, err, tt.working, tt.why)
			}
			if got := c.Provisional(at(t, tt.when)); got != tt.provisional {
				t.Errorf("Provisional = %v, want %v (%s)", got, tt.provisional, tt.why)
			}
		})
	}
	if c.Covers(2027) || !c.Covers(2026) || c.FirstUncovered(2026) != 2027 {
		t.Errorf("Covers(2027)=%v Covers(2026)=%v FirstUncovered=%d", c.Covers(2027), c.Covers(2026), c.FirstUncovered(2026))
	}
}

// The deadline the issue names: a written transfer (7 working days) on Friday
// 2026-12-18 runs into provisional days and is marked; one on 2026-12-01 is not.
func TestProvisionalBetween(t *testing.T) {
	c := load(t)
	from := at(t, "2026-12-18 10:00")
	due, err := c.AddWorkingDays(from, 7)
	// 12-21..25 (5), 12-28 (6), 12-29 (7, provisional): due 12-30 00:00.
	if err != nil || !due.Equal(at(t, "2026-12-30 00:00")) {
		t.Fatalf("AddWorkingDays = %s, %v", due, err)
	}
	if !c.ProvisionalBetween(from, due) {
		t.Error("deadline through 2026-12-29 not provisional")
	}
	early := at(t, "2026-12-01 10:00")
	due, err = c.AddWorkingDays(early, 7)
	if err != nil || c.ProvisionalBetween(early, due) {
		t.Errorf("deadline %s from 12-01 marked provisional (err %v)", due, err)
	}
	// Up to and including 12-28, the last day decided by the 2026 notice alone.
	if c.ProvisionalBetween(at(t, "2026-12-21 10:00"), at(t, "2026-12-29 00:00")) {
		t.Error("days up to 12-28 marked provisional")
	}
}

// A calendar answers for 1950-2099 and fails outside, provisional or not.
func TestProvisionalRange(t *testing.T) {
	c := load(t)
	for _, y := range []int{1949, 2100} {
		var miss *MissingYearError
		if _, err := c.IsWorkingDay(time.Date(y, 6, 1, 12, 0, 0, 0, time.UTC)); !errors.As(err, &miss) || miss.Year != y {
			t.Errorf("year %d: err = %v, want MissingYearError", y, err)
		}
	}
	if _, err := c.AddWorkingDays(at(t, "2099-12-20 10:00"), 30); err == nil {
		t.Error("deadline past 2099 computed")
	}
}

// An imported notice replaces the provisional year; Merge lets an import
// correct an embedded year.
func TestBuildWithImport(t *testing.T) {
	embedded, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	test2027 := Notice{Year: 2027, Papers: []string{"test data, not an official notice"}, Days: []NoticeDay{
		{Name: "元旦", Date: "2027-01-01", IsOffDay: true},
		{Name: "春节", Date: "2027-02-10", IsOffDay: true},
		{Name: "春节", Date: "2027-02-20", IsOffDay: false},
	}}
	c, err := Build(Merge(embedded, []Notice{test2027}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Covers(2027) || c.Provisional(at(t, "2027-02-05 10:00")) || c.Provisional(at(t, "2026-12-30 10:00")) {
		t.Error("imported 2027 not official")
	}
	for when, want := range map[string]bool{
		"2027-02-05 10:00": true,  // 除夕 by the statute, a working Friday by this notice
		"2027-02-10 10:00": false, // off by the notice
		"2027-02-20 10:00": true,  // makeup Saturday
	} {
		if ok, err := c.IsWorkingDay(at(t, when)); err != nil || ok != want {
			t.Errorf("%s: working %v, %v; want %v", when, ok, err, want)
		}
	}
	// A correction of 2026 replaces the embedded notice whole.
	fix := Notice{Year: 2026, Papers: []string{"correction"}, Days: []NoticeDay{{Name: "测试", Date: "2026-03-11", IsOffDay: true}}}
	c, err = Build(Merge(embedded, []Notice{fix}))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.IsWorkingDay(at(t, "2026-03-11 10:00")); ok {
		t.Error("correction ignored")
	}
	if ok, _ := c.IsWorkingDay(at(t, "2026-10-01 10:00")); !ok {
		t.Error("the replaced embedded 2026 notice still applies")
	}
	// Contradicting a neighbour's bridge is refused.
	bad := Notice{Year: 2023, Papers: []string{"x"}, Days: []NoticeDay{{Name: "x", Date: "2022-12-31", IsOffDay: false}}}
	if _, err := Build(Merge(embedded[:3], []Notice{bad})); err == nil {
		t.Log("no contradiction with the three first embedded years; checking against 2022 directly")
	}
	n2022 := Notice{Year: 2022, Papers: []string{"y"}, Days: []NoticeDay{{Name: "y", Date: "2022-12-31", IsOffDay: true}}}
	if _, err := Build([]Notice{n2022, bad}); err == nil {
		t.Error("contradicting notices built")
	}
}
