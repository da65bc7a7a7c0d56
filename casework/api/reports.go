package api

import (
	"context"
	"net/http"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// ReportSource computes the reports of C11.
type ReportSource interface {
	BusinessReport(ctx context.Context, from, to, now time.Time) (store.BusinessReport, error)
	CallReport(ctx context.Context, from, to time.Time) (store.CallReport, error)
	StaffReport(ctx context.Context, from, to time.Time) ([]store.StaffLine, error)
}

func (h *caseHandlers) mountReports(mux *http.ServeMux) {
	if h.Reports == nil {
		return
	}
	mux.HandleFunc("GET "+Prefix+"/reports/business", func(w http.ResponseWriter, r *http.Request) {
		from, to, ok := h.reportPeriod(w, r)
		if !ok {
			return
		}
		rep, err := h.Reports.BusinessReport(r.Context(), from, to, h.Service.Now())
		h.answerReport(w, r, rep, err)
	})
	mux.HandleFunc("GET "+Prefix+"/reports/calls", func(w http.ResponseWriter, r *http.Request) {
		from, to, ok := h.reportPeriod(w, r)
		if !ok {
			return
		}
		rep, err := h.Reports.CallReport(r.Context(), from, to)
		h.answerReport(w, r, rep, err)
	})
	mux.HandleFunc("GET "+Prefix+"/reports/staff", func(w http.ResponseWriter, r *http.Request) {
		from, to, ok := h.reportPeriod(w, r)
		if !ok {
			return
		}
		lines, err := h.Reports.StaffReport(r.Context(), from, to)
		h.answerReport(w, r, map[string]any{"from": from, "to": to, "staff": lines}, err)
	})
}

func (h *caseHandlers) answerReport(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, v)
}

// reportPeriod reads period=day|week|month with date=YYYY-MM-DD (default today,
// Asia/Shanghai; a week starts on Monday), or an explicit from and to. Only
// supervisors and admins read reports.
func (h *caseHandlers) reportPeriod(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	if _, ok := access.Check(w, r, domain.RoleSupervisor, domain.RoleAdmin); !ok {
		return time.Time{}, time.Time{}, false
	}
	if !OnlyParams(w, r, "period", "date", "from", "to") {
		return time.Time{}, time.Time{}, false
	}
	q := r.URL.Query()
	loc := shanghaiLoc()
	if q.Get("from") != "" || q.Get("to") != "" {
		from, err1 := parseDateOrTime(q.Get("from"))
		to, err2 := parseDateOrTime(q.Get("to"))
		if err1 != nil || err2 != nil || !from.Before(to) || q.Get("period") != "" {
			problem.BadRequest(w, r, "bad period", problem.Param("from", "want from < to, RFC 3339 or YYYY-MM-DD, without period"))
			return time.Time{}, time.Time{}, false
		}
		return from, to, true
	}
	day := h.Service.Now().In(loc)
	if s := q.Get("date"); s != "" {
		d, err := time.ParseInLocation("2006-01-02", s, loc)
		if err != nil {
			problem.BadRequest(w, r, "bad date", problem.Param("date", "want YYYY-MM-DD"))
			return time.Time{}, time.Time{}, false
		}
		day = d
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	switch q.Get("period") {
	case "", "day":
		return start, start.AddDate(0, 0, 1), true
	case "week":
		monday := start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7))
		return monday, monday.AddDate(0, 0, 7), true
	case "month":
		first := time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, loc)
		return first, first.AddDate(0, 1, 0), true
	}
	problem.BadRequest(w, r, "bad period", problem.Param("period", "want day, week or month"))
	return time.Time{}, time.Time{}, false
}
