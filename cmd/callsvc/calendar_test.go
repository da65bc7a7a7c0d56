package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/calendarsync"
	"github.com/hotline12345/hotline/casework/eventbus"
)

// The call service keeps the last calendar casework sent: a snapshot applied
// from the bucket is cached on disk, and a restart with NATS or casework down
// starts with it; a damaged cache falls back to the embedded notices.
func TestCalendarFeedKeepsTheLastCalendar(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "calendar", "callsvc.json")
	cfg := config{ServiceMode: calendar.ModeCalendar}
	var err error
	if cfg.OfficeHours, err = calendar.ParseOfficeHours(calendar.DefaultOfficeHours); err != nil {
		t.Fatal(err)
	}
	newFeed := func() *calendarFeed {
		f, err := newCalendarFeed(cache, "B", calendarsync.NewMetrics(prometheus.NewRegistry(), false), zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	staffed := func(f *calendarFeed, at string) map[string]any {
		t.Helper()
		w := httptest.NewRecorder()
		f.handler(cfg)(w, httptest.NewRequest("GET", "/calendar?at="+at, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET /calendar: %d %s", w.Code, w.Body)
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	const eve = "2027-02-05T10:00:00%2B08:00" // 除夕 by the statute
	f := newFeed()
	if got := staffed(f, eve); got["staffed"] != false || got["provisional"] != true {
		t.Fatalf("before any snapshot: %v", got)
	}
	notice := calendar.Notice{Year: 2027, Papers: []string{"test data"}, Days: []calendar.NoticeDay{
		{Name: "春节（测试）", Date: "2027-02-08", IsOffDay: true}}}
	f.apply(eventbus.CalendarSnapshot{Revision: 7, Notices: []calendar.Notice{notice}, PublishedAt: time.Now()}, true)
	if got := staffed(f, eve); got["staffed"] != true || got["provisional"] != false || got["revision"] != float64(7) {
		t.Fatalf("after the snapshot: %v", got)
	}
	// A restart without NATS: the cache brings revision 7 back.
	if got := staffed(newFeed(), eve); got["staffed"] != true || got["revision"] != float64(7) {
		t.Fatalf("restart from the cache: %v", got)
	}
	// A snapshot that does not build is not applied (and not cached).
	bad := calendar.Notice{Year: 2027, Papers: []string{"x"}, Days: []calendar.NoticeDay{{Name: "x", Date: "2027-13-01", IsOffDay: true}}}
	f.apply(eventbus.CalendarSnapshot{Revision: 8, Notices: []calendar.Notice{bad}}, true)
	if got := staffed(newFeed(), eve); got["revision"] != float64(7) {
		t.Fatalf("a broken snapshot replaced the cache: %v", got)
	}
	// A damaged cache: the embedded notices, and the service starts.
	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := staffed(newFeed(), eve); got["staffed"] != false || got["revision"] != float64(0) {
		t.Fatalf("damaged cache: %v", got)
	}
	if w := httptest.NewRecorder(); true {
		f.handler(cfg)(w, httptest.NewRequest("GET", "/calendar?at=tomorrow", nil))
		if w.Code != http.StatusBadRequest {
			t.Errorf("bad at: %d", w.Code)
		}
	}
}
