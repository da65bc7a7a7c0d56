package calendar

import (
	"fmt"
	"sort"
)

// Notice is one year's list of exceptions to the Monday–Friday rule, in the
// holiday-cn shape (https://github.com/NateScarlet/holiday-cn): the State
// Council's annual notice as published, an operator's import of it, or a
// provisional year derived from the statute (StatuteNotice). JSON-encoded it
// is a holiday-cn file, which is how the stores and NATS carry it.
type Notice struct {
	Year int `json:"year"`
	// Papers are the documents the days come from (the notice's URL); empty
	// for a provisional year.
	Papers []string    `json:"papers"`
	Days   []NoticeDay `json:"days"`
}

// NoticeDay is one exception: a day off (IsOffDay) or a makeup working day on a
// weekend (调休).
type NoticeDay struct {
	Name     string `json:"name"`
	Date     string `json:"date"` // YYYY-MM-DD
	IsOffDay bool   `json:"isOffDay"`
}

// Validate checks what a calendar built from the notice relies on: a plausible
// year, well-formed dates within a year of it (a notice reaches at most into
// the neighbouring years' New Year bridges), no date listed both ways.
func (n Notice) Validate() error {
	if n.Year < MinYear || n.Year > MaxYear {
		return fmt.Errorf("year %d outside %d-%d", n.Year, MinYear, MaxYear)
	}
	seen := map[day]bool{}
	for i, x := range n.Days {
		if x.Name == "" {
			return fmt.Errorf("days[%d] (%s): name is required", i, x.Date)
		}
		d, err := parseDay(x.Date)
		if err != nil {
			return fmt.Errorf("days[%d]: %w", i, err)
		}
		if y, _, _ := d.date(); y < n.Year-1 || y > n.Year+1 {
			return fmt.Errorf("days[%d]: %s is not near %d", i, d, n.Year)
		}
		if prev, dup := seen[d]; dup && prev != x.IsOffDay {
			return fmt.Errorf("days[%d]: %s listed both as day off and as working day", i, d)
		}
		seen[d] = x.IsOffDay
	}
	return nil
}

// Empty reports whether the notice lists no day (a placeholder for a year
// whose notice is not out yet).
func (n Notice) Empty() bool { return len(n.Days) == 0 }

// sorted returns a copy with the days in date order.
func (n Notice) sorted() Notice {
	days := append([]NoticeDay(nil), n.Days...)
	sort.SliceStable(days, func(i, j int) bool { return days[i].Date < days[j].Date })
	n.Days = days
	n.Papers = append([]string(nil), n.Papers...)
	return n
}

// DaysOff and WorkedWeekends split the notice for people: the days off it
// gives and the weekend days it makes working days, each in date order.
func (n Notice) DaysOff() []NoticeDay        { return n.filter(true) }
func (n Notice) WorkedWeekends() []NoticeDay { return n.filter(false) }

func (n Notice) filter(off bool) []NoticeDay {
	var out []NoticeDay
	for _, d := range n.sorted().Days {
		if d.IsOffDay == off {
			out = append(out, d)
		}
	}
	return out
}

// The years a calendar can answer for: official notices exist from 2020 in
// the embedded data, and a provisional year needs the lunar calendar, which
// the statute derivation computes for this range.
const (
	MinYear = 1950
	MaxYear = 2099
)

// Import formats (ParseImport reads both).
const (
	FormatHolidayCN = "holiday-cn" // the JSON of the holiday-cn data set
	FormatList      = "list"       // a plain list of dates off and dates worked
)

// DetectFormat tells which format an import file is in: JSON starts with "{".
func DetectFormat(raw []byte) string {
	for _, b := range raw {
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return FormatHolidayCN
		}
		break
	}
	return FormatList
}
