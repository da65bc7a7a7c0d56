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

// Load builds the calendar from the embedded official notices alone, with
// provisional years for the rest (see Build).
func Load() (*Calendar, error) {
	ns, err := Embedded()
	if err != nil {
		return nil, err
	}
	return Build(ns)
}

// Embedded returns the official notices compiled into the binary, the floor
// that run-time imports add to or correct; placeholders for years whose notice
// is not out yet are left out.
func Embedded() ([]Notice, error) {
	entries, err := notices.ReadDir("data")
	if err != nil {
		return nil, fmt.Errorf("calendar: read embedded notices: %w", err)
	}
	var out []Notice
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
		if !n.Empty() {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("calendar: no embedded holiday notice lists any day")
	}
	return out, nil
}

// Merge lays notices imported at run time over the embedded ones: an imported
// year replaces the embedded notice of that year whole (a correction), other
// years add to them. Imported must hold each year at most once.
func Merge(embedded, imported []Notice) []Notice {
	replaced := map[int]bool{}
	for _, n := range imported {
		replaced[n.Year] = true
	}
	out := append([]Notice(nil), imported...)
	for _, n := range embedded {
		if !replaced[n.Year] {
			out = append(out, n)
		}
	}
	return out
}

// parseNotice reads one embedded holiday-cn file (schema: data/schema.json)
// strictly: the data decides legal deadlines, so a malformed file must stop the
// service at start rather than shift a deadline.
func parseNotice(file string, raw []byte) (Notice, error) {
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
		return Notice{}, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Notice{}, errors.New("decode: trailing data after the JSON object")
	}
	want, err := strconv.Atoi(strings.TrimSuffix(file, ".json"))
	if err != nil || want != f.Year {
		return Notice{}, fmt.Errorf("year %d does not match the file name", f.Year)
	}
	if f.Papers == nil || f.Days == nil {
		return Notice{}, errors.New(`"papers" and "days" are required`)
	}
	if len(f.Days) > 0 && len(f.Papers) == 0 {
		return Notice{}, errors.New("days listed without the notice they come from (papers)")
	}
	n := Notice{Year: f.Year, Papers: f.Papers, Days: make([]NoticeDay, 0, len(f.Days))}
	for i, x := range f.Days {
		if x.Name == "" || x.IsOffDay == nil {
			return Notice{}, fmt.Errorf("days[%d] (%q): name and isOffDay are required", i, x.Date)
		}
		n.Days = append(n.Days, NoticeDay{Name: x.Name, Date: x.Date, IsOffDay: *x.IsOffDay})
	}
	if err := n.Validate(); err != nil {
		return Notice{}, err
	}
	return n.sorted(), nil
}
