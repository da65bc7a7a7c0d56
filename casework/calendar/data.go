package calendar

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// notices are the State Council holiday notices, one file per year, from
// holiday-cn (https://github.com/NateScarlet/holiday-cn, MIT, data/LICENSE).
//
//go:embed data/[0-9][0-9][0-9][0-9].json
var notices embed.FS

// Load builds the calendar from the embedded official notices.
func Load() (*Calendar, error) {
	entries, err := notices.ReadDir("data")
	if err != nil {
		return nil, fmt.Errorf("calendar: read embedded notices: %w", err)
	}
	c, err := newCalendar()
	if err != nil {
		return nil, err
	}
	source := map[day]string{} // which file set each exception, to name both on a conflict
	for _, e := range entries {
		name := path.Join("data", e.Name())
		raw, err := notices.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("calendar: %w", err)
		}
		n, err := parseNotice(e.Name(), raw)
		if err != nil {
			return nil, fmt.Errorf("calendar: %s: %w", name, err)
		}
		if len(n.days) == 0 {
			continue // a placeholder for a year whose notice is not out yet
		}
		c.cover(n.year)
		for d, off := range n.days {
			if prev, ok := c.exceptions[d]; ok && prev != off {
				return nil, fmt.Errorf("calendar: %s: %s contradicts %s", name, d, source[d])
			}
			c.exceptions[d] = off
			source[d] = name
		}
	}
	if c.last == 0 {
		return nil, errors.New("calendar: no embedded holiday notice lists any day")
	}
	return c, nil
}

type notice struct {
	year int
	days map[day]bool
}

// parseNotice reads one holiday-cn file (schema: data/schema.json) strictly:
// the data decides legal deadlines, so a malformed file must stop the
// service at start rather than shift a deadline.
func parseNotice(file string, raw []byte) (notice, error) {
	var f struct {
		Schema string   `json:"$schema"`
		ID     string   `json:"$id"`
		Year   int      `json:"year"`
		Papers []string `json:"papers"`
		Days   []struct {
			Name     string `json:"name"`
			Date     string `json:"date"`
			IsOffDay *bool  `json:"isOffDay"`
		} `json:"days"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return notice{}, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return notice{}, errors.New("decode: trailing data after the JSON object")
	}
	want, err := strconv.Atoi(strings.TrimSuffix(file, ".json"))
	if err != nil || want != f.Year {
		return notice{}, fmt.Errorf("year %d does not match the file name", f.Year)
	}
	if f.Papers == nil || f.Days == nil {
		return notice{}, errors.New(`"papers" and "days" are required`)
	}
	if len(f.Days) > 0 && len(f.Papers) == 0 {
		return notice{}, errors.New("days listed without the notice they come from (papers)")
	}
	n := notice{year: f.Year, days: map[day]bool{}}
	for i, x := range f.Days {
		if x.Name == "" || x.IsOffDay == nil {
			return notice{}, fmt.Errorf("days[%d] (%q): name and isOffDay are required", i, x.Date)
		}
		d, err := parseDay(x.Date)
		if err != nil {
			return notice{}, fmt.Errorf("days[%d]: %w", i, err)
		}
		// A notice reaches at most into the neighbouring years (New Year's
		// bridges); anything further is a typo that would move a real deadline.
		if y, _, _ := d.date(); y < f.Year-1 || y > f.Year+1 {
			return notice{}, fmt.Errorf("days[%d]: %s is not near %d", i, d, f.Year)
		}
		if prev, dup := n.days[d]; dup && prev != *x.IsOffDay {
			return notice{}, fmt.Errorf("days[%d]: %s listed both as day off and as working day", i, d)
		}
		n.days[d] = *x.IsOffDay
	}
	return n, nil
}
