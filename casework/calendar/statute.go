package calendar

import (
	"fmt"
	"sort"
	"strings"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"
)

// StatuteNotice derives the days off of year from the statute alone,
// 《全国年节及纪念日放假办法》 as amended in 2024 (in force from 2025), for a
// year whose State Council notice is not out yet.
//
// Why: the notice for a year comes late in the year before (the 2023 notice
// on 8 December 2022), and without it the calendar refuses every deadline of
// that year (MissingYearError). The hotline must not stop registering cases,
// so a caller may count with this provisional year meanwhile. The statute
// fixes the festivals and, by its 第六条, a day off on a working day (补假)
// for every festival day that falls on a Saturday or Sunday; what it cannot
// know are the notice's 调休 swaps (longer bridges paid for with worked
// weekends). The result is therefore not the notice: Papers is empty, and the
// caller must mark the year as provisional and replace it when the notice is
// published.
//
// The days listed are the festival days of all citizens:
//
//	元旦   1 January
//	春节   4 days, 除夕 (the last day of lunar month 12) to 初三
//	清明节 the day of the 清明 solar term
//	劳动节 1 and 2 May
//	端午节 lunar 5/5
//	中秋节 lunar 8/15
//	国庆节 1 to 3 October
//
// each compensated, when it falls on a weekend or on another festival's day
// (中秋 on 1–3 October), by the next weekday after its block that is not
// already a day off, named like "国庆节（补假）". IsOffDay is always true: the
// statute knows no makeup working days.
func StatuteNotice(year int) (Notice, error) {
	if year < MinYear || year > MaxYear {
		return Notice{}, fmt.Errorf("calendar: statute year %d outside %d-%d", year, MinYear, MaxYear)
	}
	fs, err := statuteFestivals(year)
	if err != nil {
		return Notice{}, fmt.Errorf("calendar: statute year %d: %w", year, err)
	}
	n := Notice{Year: year, Papers: []string{}, Days: statuteDays(fs)}
	if err := n.Validate(); err != nil {
		return Notice{}, fmt.Errorf("calendar: statute year %d: %w", year, err)
	}
	return n, nil
}

// festival is one statutory holiday block: n consecutive days from first.
type festival struct {
	name  string
	first day
	n     int
}

func (f festival) last() day { return f.first + day(f.n-1) }

// statuteFestivals lists the year's festivals in date order. 国庆节 is listed
// before 中秋节 so that, when both start on 1 October (2020), the shared
// day is named "国庆节、中秋节" as the notices do.
func statuteFestivals(year int) ([]festival, error) {
	l, err := lunarDates(year)
	if err != nil {
		return nil, err
	}
	fs := []festival{
		{"元旦", dayFromDate(year, time.January, 1), 1},
		{"春节", l.newYear - 1, 4}, // 除夕 is the day before 正月初一, whether month 12 has 29 or 30 days
		{"清明节", l.qingming, 1},
		{"劳动节", dayFromDate(year, time.May, 1), 2},
		{"端午节", l.duanwu, 1},
		{"国庆节", dayFromDate(year, time.October, 1), 3},
		{"中秋节", l.zhongqiu, 1},
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].first < fs[j].first })
	return fs, nil
}

// statuteDays lays out the festivals and their 补假 (第六条).
func statuteDays(fs []festival) []NoticeDay {
	names := map[day][]string{} // festival names per date, in festival order
	for _, f := range fs {
		for d := f.first; d <= f.last(); d++ {
			names[d] = append(names[d], f.name)
		}
	}
	comp := map[day]string{} // compensating day -> its name
	off := func(d day) bool {
		_, fest := names[d]
		_, c := comp[d]
		return fest || c
	}
	for _, f := range fs {
		next := f.last() + 1
		for i := owed(f, names); i > 0; i-- {
			for isSatSun(next) || off(next) {
				next++
			}
			comp[next] = f.name + "（补假）"
		}
	}
	days := make([]NoticeDay, 0, len(names)+len(comp))
	for d, ns := range names {
		days = append(days, NoticeDay{Name: strings.Join(ns, "、"), Date: d.String(), IsOffDay: true})
	}
	for d, name := range comp {
		days = append(days, NoticeDay{Name: name, Date: d.String(), IsOffDay: true})
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Date < days[j].Date })
	return days
}

// owed counts the days of f that give no rest of their own: on a weekend, or
// on a date an earlier festival already has (中秋 on 1–3 October; the
// notices of 2020 and 2023 give 4 days for 国庆 plus 中秋 in that case).
func owed(f festival, names map[day][]string) int {
	n := 0
	for d := f.first; d <= f.last(); d++ {
		if isSatSun(d) || names[d][0] != f.name {
			n++
		}
	}
	return n
}

func isSatSun(d day) bool {
	wd := d.weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// lunarYearDates are the Gregorian dates of one year's lunar festivals.
type lunarYearDates struct {
	newYear, qingming, duanwu, zhongqiu day
}

// lunarDates asks lunar-go for the year's lunar festivals and the 清明 term.
// lunar-go panics on dates it cannot represent; for years within
// MinYear..MaxYear it does not, but a panic must not take down the service
// that merely wanted a provisional year.
func lunarDates(year int) (ld lunarYearDates, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lunar calendar: %v", r)
		}
	}()
	ld.newYear = lunarDay(year, 1, 1)
	ld.duanwu = lunarDay(year, 5, 5)
	ld.zhongqiu = lunarDay(year, 8, 15)
	// Any date of the year gives the year's solar-term table; 1 April lies
	// just before 清明 (4–6 April).
	q := lunar.NewLunarFromSolar(lunar.NewSolarFromYmd(year, 4, 1)).GetJieQiTable()["清明"]
	if q == nil {
		return ld, fmt.Errorf("no 清明 solar term for %d", year)
	}
	ld.qingming = solarDay(q)
	if y, m, _ := ld.qingming.date(); y != year || m != time.April {
		return ld, fmt.Errorf("清明 %d computed as %s", year, ld.qingming)
	}
	for _, d := range []day{ld.newYear, ld.duanwu, ld.zhongqiu} {
		if y, _, _ := d.date(); y != year {
			return ld, fmt.Errorf("lunar festival of %d computed as %s", year, d)
		}
	}
	return ld, nil
}

// lunarDay is the Gregorian date of lunar month/day of lunarYear (a
// non-leap month; lunar-go numbers leap months negative).
func lunarDay(lunarYear, month, dd int) day {
	return solarDay(lunar.NewLunarFromYmd(lunarYear, month, dd).GetSolar())
}

func solarDay(s *lunar.Solar) day {
	return dayFromDate(s.GetYear(), time.Month(s.GetMonth()), s.GetDay())
}
