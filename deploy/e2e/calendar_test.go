package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// A test notice for 2027 (test data, not pretended official): it takes the last
// day of 2026 off, keeps 2027-02-05 (the statute's 除夕) a working day and adds
// a makeup Saturday.
const e2eNotice2027 = `# test data, not the official notice
year 2027
2026-12-31 off 元旦（测试）
2027-01-01 off 元旦（测试）
2027-02-06 off 春节（测试）
2027-02-07 off 春节（测试）
2027-02-08 off 春节（测试）
2027-02-09 off 春节（测试）
2027-02-10 off 春节（测试）
2027-02-20 work 春节（测试）
`

type callsvcCalendar struct {
	WorkingDay  bool  `json:"working_day"`
	Staffed     bool  `json:"staffed"`
	Provisional bool  `json:"provisional"`
	Revision    int64 `json:"revision"`
}

func (h *hotline) callsvcCalendar(at string) callsvcCalendar {
	h.t.Helper()
	resp, err := http.Get("http://" + h.callHTTP + "/calendar?at=" + at)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var c callsvcCalendar
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		h.t.Fatalf("callsvc /calendar: %d %v", resp.StatusCode, err)
	}
	return c
}

type deadlineView struct {
	Deadline    time.Time `json:"deadline"`
	Provisional bool      `json:"deadline_provisional"`
	Round       struct {
		StartedAt time.Time `json:"started_at"`
	} `json:"round"`
	History []struct {
		Action  string            `json:"action"`
		Details map[string]string `json:"details"`
	} `json:"history"`
}

// TestCalendarImportWhileRunning: both services run on the embedded notices
// (2027 provisional); an operator imports a test 2027 notice with hotlinectl;
// within a minute the call service's service-hours decision and casework's
// deadlines use it, and the open case's provisional deadline is recomputed with
// its history entry.
func TestCalendarImportWhileRunning(t *testing.T) {
	h := startHotline(t, withEnv("HOTLINE_CALENDAR_REFRESH=2s"))
	units := store.NewUnits(h.pool, nil)
	for _, u := range []store.Unit{
		{Unit: domain.Unit{ID: "cal-center", Name: "12345热线中心", Level: 1}, Active: true},
		{Unit: domain.Unit{ID: "cal-unit", Name: "市住建局", Level: 2, ParentID: "cal-center"}, Active: true},
	} {
		if _, err := units.Create(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	agent := h.newUserToken("话务员", domain.RoleAgent, "1031")

	const eve2027, monday2027 = "2027-02-05T10:00:00%2B08:00", "2027-01-04T10:00:00%2B08:00"
	if c := h.callsvcCalendar(eve2027); c.Staffed || c.WorkingDay || !c.Provisional || c.Revision != 0 {
		t.Fatalf("callsvc on 2027-02-05 before the import: %+v, want closed (statute 除夕), provisional", c)
	}
	if c := h.callsvcCalendar(monday2027); !c.Staffed || !c.Provisional {
		t.Fatalf("callsvc on Monday 2027-01-04 before the import: %+v, want staffed, provisional", c)
	}

	// A case whose limit (25 working days) reaches into 2027: provisional.
	code, _, body := h.caseworkAPI(agent, "POST", "/api/v1/cases", map[string]any{
		"caller": map[string]any{"name": "钱七", "phone": "13700137000"}, "content": "楼道照明损坏",
		"category": "help", "region": "110101", "urgency": "normal", "confidentiality": "none",
		"channel": "phone", "handling_mode": "written_transfer"})
	if code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, body)
	}
	var c struct{ ID string }
	_ = json.Unmarshal(body, &c)
	code, _, body = h.caseworkAPI(agent, "POST", "/api/v1/cases/"+c.ID+"/transfer",
		map[string]any{"lead": "cal-unit", "working_days": 25})
	if code != http.StatusOK {
		t.Fatalf("transfer: %d %s", code, body)
	}
	var before deadlineView
	_ = json.Unmarshal(body, &before)
	if !before.Provisional {
		t.Fatalf("25 working days from %s (deadline %s) not provisional", before.Round.StartedAt, before.Deadline)
	}

	// The operator's command, as the runbook gives it.
	file := filepath.Join(t.TempDir(), "test-2027.txt")
	if err := os.WriteFile(file, []byte(e2eNotice2027), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(st.binDir, "hotlinectl"), "calendar", "import", file)
	cmd.Env = append(os.Environ(), "HOTLINE_DATABASE_URL="+h.dbURL, "USER=ops")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported as revision 1") {
		t.Fatalf("hotlinectl calendar import: %v\n%s", err, out)
	}
	imported := time.Now()

	var callsvcAfter, caseworkAfter time.Duration
	var after deadlineView
	eventually(t, time.Minute, "both services use the imported notice", func() bool {
		if callsvcAfter == 0 {
			if c := h.callsvcCalendar(eve2027); c.Staffed && c.WorkingDay && !c.Provisional && c.Revision == 1 {
				callsvcAfter = time.Since(imported)
			}
		}
		if caseworkAfter == 0 {
			_, _, body := h.caseworkAPI(agent, "GET", "/api/v1/cases/"+c.ID, nil)
			after = deadlineView{}
			_ = json.Unmarshal(body, &after)
			if !after.Provisional {
				caseworkAfter = time.Since(imported)
			}
		}
		return callsvcAfter > 0 && caseworkAfter > 0
	})
	t.Logf("import in force: call service after %v, casework (deadline recomputed) after %v", callsvcAfter.Round(time.Millisecond), caseworkAfter.Round(time.Millisecond))

	// The recomputed deadline is the one the imported calendar gives.
	embedded, err := calendar.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	n, err := calendar.ParseImport("test-2027.txt", []byte(e2eNotice2027))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Build(calendar.Merge(embedded, []calendar.Notice{n}))
	if err != nil {
		t.Fatal(err)
	}
	want, err := cal.AddWorkingDays(before.Round.StartedAt, 25)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Deadline.Equal(want) {
		t.Errorf("recomputed deadline %s, want %s (before: %s)", after.Deadline, want, before.Deadline)
	}
	last := after.History[len(after.History)-1]
	if !want.Equal(before.Deadline) && (last.Action != "recompute_deadline" || last.Details["previous_deadline"] == "" || last.Details["reason"] == "") {
		t.Errorf("last history entry %+v, want recompute_deadline with previous deadline and reason", last)
	}
	// Casework's gauges follow.
	resp, err := http.Get("http://" + h.caseHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, m := range []string{"hotline_calendar_revision 1", "hotline_cases_provisional_deadline 0", "hotline_calendar_last_year 2027"} {
		if !strings.Contains(string(metrics), m+"\n") {
			t.Errorf("casework metrics lack %q", m)
		}
	}
}
