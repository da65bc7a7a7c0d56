package api_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

type calendarYear struct {
	Year     int  `json:"year"`
	Official bool `json:"official"`
	DaysOff  []struct {
		Date string `json:"date"`
		Name string `json:"name"`
	} `json:"days_off"`
	WorkedWeekends []struct {
		Date string `json:"date"`
	} `json:"worked_weekends"`
	Imports []struct {
		ID         int64  `json:"id"`
		ImportedBy string `json:"imported_by"`
		FileName   string `json:"file_name"`
	} `json:"imports"`
}

func (y calendarYear) off(date string) bool {
	for _, d := range y.DaysOff {
		if d.Date == date {
			return true
		}
	}
	return false
}

// With the clock at 2026-12-18 10:00 Asia/Shanghai a written transfer
// succeeds with a provisional deadline; an admin imports a (test) 2027 notice
// through the API and the year turns official. Malformed files are refused with
// their line and change nothing; only admins import.
func TestCalendarThroughTheAPI(t *testing.T) {
	e := newCaseEnv(t)
	e.clock.Set(time.Date(2026, 12, 18, 9, 59, 0, 0, time.FixedZone("CST", 8*3600)))
	c := e.register(registerBody)
	r := e.do("agent", "POST", "/api/v1/cases/"+c.ID+"/transfer", `{"lead":"dongcheng"}`)
	if r.status != 200 {
		t.Fatalf("transfer on 2026-12-18: %d %s", r.status, r.body)
	}
	var v struct {
		Deadline    string `json:"deadline"`
		Provisional bool   `json:"deadline_provisional"`
		History     []struct {
			Action      string `json:"action"`
			Provisional bool   `json:"deadline_provisional"`
		} `json:"history"`
	}
	r.decode(t, &v)
	if v.Deadline != "2026-12-30T00:00:00+08:00" || !v.Provisional || !v.History[len(v.History)-1].Provisional {
		t.Fatalf("transfer: deadline %s provisional %v history %+v", v.Deadline, v.Provisional, v.History)
	}

	var y calendarYear
	r = e.do("dongcheng", "GET", "/api/v1/calendar/2027", "")
	if r.status != 200 {
		t.Fatalf("GET calendar/2027: %d %s", r.status, r.body)
	}
	r.decode(t, &y)
	if y.Official || !y.off("2027-01-01") || !y.off("2027-02-05") || len(y.WorkedWeekends) != 0 || len(y.Imports) != 0 {
		t.Fatalf("provisional 2027: %+v", y)
	}

	notice := "year 2027\n# test data, not the official notice\n2027-01-01 off 元旦\n2027-02-06 off 春节\n2027-02-20 work 春节\n"
	text := []string{"Content-Type", "text/plain; charset=utf-8"}
	if r := e.do("agent", "POST", "/api/v1/calendar/notices?name=2027.txt", notice, text...); r.status != 403 {
		t.Errorf("agent import: %d, want 403", r.status)
	}
	bad := strings.Replace(notice, "2027-02-20 work", "2027-02-19 work", 1) // a Friday cannot be a makeup day
	r = e.do("admin", "POST", "/api/v1/calendar/notices?name=2027.txt", bad, text...)
	if r.status != 422 || !strings.Contains(string(r.body), "2027.txt:5") {
		t.Fatalf("malformed import: %d %s, want 422 naming 2027.txt:5", r.status, r.body)
	}
	r = e.do("admin", "POST", "/api/v1/calendar/notices?name=2027.json", "{\"year\": 2027,\n\"papers\": [\"x\"],\n\"days\": [}")
	if r.status != 422 || !strings.Contains(string(r.body), "line 3") {
		t.Fatalf("malformed JSON import: %d %s, want 422 naming line 3", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM calendar_notices`); n != 0 {
		t.Fatalf("refused imports stored %d rows", n)
	}
	r = e.do("admin", "POST", "/api/v1/calendar/notices?name=2027.txt", notice, text...)
	if r.status != 201 {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	r = e.do("agent", "GET", "/api/v1/calendar/2027", "")
	y = calendarYear{}
	r.decode(t, &y)
	if !y.Official || y.off("2027-02-05") || len(y.WorkedWeekends) != 1 || len(y.Imports) != 1 ||
		y.Imports[0].FileName != "2027.txt" || !strings.Contains(y.Imports[0].ImportedBy, "管理员") {
		t.Fatalf("2027 after import: %+v", y)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE object_type = 'calendar_notice'`); n != 1 {
		t.Errorf("import audited %d times", n)
	}
	if r := e.do("agent", "GET", "/api/v1/calendar/1900", ""); r.status != 400 {
		t.Errorf("GET calendar/1900: %d", r.status)
	}
	docs := documented(t)
	for _, op := range []string{"GET /calendar/{year}", "POST /calendar/notices"} {
		if !slices.Contains(docs, op) {
			t.Errorf("%s is not in openapi.yaml", op)
		}
	}
}
