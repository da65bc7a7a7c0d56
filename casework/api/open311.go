package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// Open311 GeoReport v2 read endpoints: the public progress of cases (C12, 003
// 四(三)). Public and redacted by construction: a request carries only the
// case number, status, category, the responsible unit and dates. Never the
// caller, never the content (which may name people), never an address.
//
// Reports (举报) and confidential cases are absent altogether: a listing with
// their category, unit and time of receipt lets whoever knows when they called
// confirm who filed a report, so they answer like an unknown number (404 /
// left out). The routes are rate-limited per client address, and a lookup
// takes at most maxOpen311IDs numbers.

// Open311Prefix is where the GeoReport endpoints live; the binary routes it to
// Handler like /api/v1.
const Open311Prefix = "/open311/v2"

// maxOpen311IDs bounds a requests.json lookup by number: enough for a citizen
// with a few cases, useless for walking a day's numbers.
const maxOpen311IDs = 20

type open311Service struct {
	ServiceCode string `json:"service_code"`
	ServiceName string `json:"service_name"`
	Description string `json:"description"`
	Metadata    bool   `json:"metadata"`
	Type        string `json:"type"`
	Keywords    string `json:"keywords"`
	Group       string `json:"group"`
}

type open311Request struct {
	ServiceRequestID  string `json:"service_request_id"`
	Status            string `json:"status"`
	StatusNotes       string `json:"status_notes"`
	ServiceName       string `json:"service_name"`
	ServiceCode       string `json:"service_code"`
	AgencyResponsible string `json:"agency_responsible"`
	RequestedDatetime string `json:"requested_datetime"`
	UpdatedDatetime   string `json:"updated_datetime"`
	ExpectedDatetime  string `json:"expected_datetime,omitempty"`
}

// closedStates are "closed" in GeoReport terms: handling is over.
var closedStates = []domain.State{domain.StateCompleted, domain.StateClosed, domain.StateReferred, domain.StateArchived}

func openStates() []domain.State {
	var out []domain.State
	for _, s := range domain.States() {
		if !isClosed(s) {
			out = append(out, s)
		}
	}
	return out
}

func isClosed(s domain.State) bool {
	for _, c := range closedStates {
		if c == s {
			return true
		}
	}
	return false
}

func (h *caseHandlers) mountOpen311(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Open311Prefix+"/services.json", h.open311Services)
	mux.HandleFunc("GET "+Open311Prefix+"/requests.json", h.open311Requests)
	mux.HandleFunc("GET "+Open311Prefix+"/requests/{file}", h.open311Request)
}

func (h *caseHandlers) open311Services(w http.ResponseWriter, r *http.Request) {
	if !OnlyParams(w, r, "jurisdiction_id") {
		return
	}
	var out []open311Service
	for _, c := range domain.Categories() {
		out = append(out, open311Service{ServiceCode: string(c), ServiceName: c.Label(),
			Description: "12345 " + c.Label() + "类诉求", Type: "realtime", Keywords: c.Label(), Group: "12345"})
	}
	WriteJSON(w, r, http.StatusOK, out)
}

func (h *caseHandlers) open311Requests(w http.ResponseWriter, r *http.Request) {
	if !OnlyParams(w, r, "jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date", "status") {
		return
	}
	q := r.URL.Query()
	f := store.CaseFilter{Limit: 200, Unprotected: true}
	if ids := q.Get("service_request_id"); ids != "" {
		numbers := strings.Split(ids, ",")
		if len(numbers) > maxOpen311IDs {
			problem.BadRequest(w, r, "too many service_request_id values",
				problem.Param("service_request_id", fmt.Sprintf("at most %d comma-separated case numbers", maxOpen311IDs)))
			return
		}
		var out []open311Request
		for _, n := range numbers {
			req, ok, err := h.open311ByNumber(r, strings.TrimSpace(n))
			if err != nil {
				problem.Internal(w, r, err)
				return
			}
			if ok {
				out = append(out, req)
			}
		}
		WriteJSON(w, r, http.StatusOK, nonNil(out))
		return
	}
	if s := q.Get("service_code"); s != "" {
		c, err := domain.ParseCategory(s)
		if err != nil {
			problem.BadRequest(w, r, "unknown service_code", problem.Param("service_code", "see services.json"))
			return
		}
		f.Category = c
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"start_date", &f.From}, {"end_date", &f.To}} {
		if s := q.Get(p.name); s != "" {
			t, err := parseDateOrTime(s)
			if err != nil {
				problem.BadRequest(w, r, "bad "+p.name, problem.Param(p.name, "want ISO 8601 (RFC 3339) or YYYY-MM-DD"))
				return
			}
			*p.dst = t
		}
	}
	switch q.Get("status") {
	case "":
	case "open":
		f.States = openStates()
	case "closed":
		f.States = closedStates
	default:
		problem.BadRequest(w, r, "bad status", problem.Param("status", "want open or closed"))
		return
	}
	rows, _, err := h.Cases.List(r.Context(), f)
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	names := h.unitNames(r)
	out := make([]open311Request, 0, len(rows))
	for _, row := range rows {
		out = append(out, open311FromRow(row, names))
	}
	WriteJSON(w, r, http.StatusOK, out)
}

func (h *caseHandlers) open311Request(w http.ResponseWriter, r *http.Request) {
	if !OnlyParams(w, r, "jurisdiction_id") {
		return
	}
	number, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok {
		problem.NotFound(w, r, "no such endpoint; use requests/{service_request_id}.json")
		return
	}
	req, found, err := h.open311ByNumber(r, number)
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	if !found {
		problem.NotFound(w, r, "no service request "+number)
		return
	}
	// GeoReport answers a single request as an array of one.
	WriteJSON(w, r, http.StatusOK, []open311Request{req})
}

func (h *caseHandlers) open311ByNumber(r *http.Request, number string) (open311Request, bool, error) {
	if !domain.CaseNumber(number).Valid() {
		return open311Request{}, false, nil
	}
	rows, _, err := h.Cases.List(r.Context(), store.CaseFilter{Number: number, Limit: 1, Unprotected: true})
	if err != nil {
		return open311Request{}, false, err
	}
	if len(rows) == 0 || string(rows[0].Number) != number {
		return open311Request{}, false, nil
	}
	return open311FromRow(rows[0], h.unitNames(r)), true, nil
}

// unitNames maps unit IDs to names from the directory; a failure leaves the IDs.
func (h *caseHandlers) unitNames(r *http.Request) func(string) string {
	tree, err := h.s.dir.Tree(r.Context())
	return func(id string) string {
		if err == nil && tree != nil {
			if u, ok := tree.Unit(id); ok {
				return u.Name
			}
		}
		return id
	}
}

func open311FromRow(row store.CaseRow, unitName func(string) string) open311Request {
	loc := shanghaiLoc()
	status := "open"
	if isClosed(row.State) {
		status = "closed"
	}
	req := open311Request{
		ServiceRequestID:  string(row.Number),
		Status:            status,
		StatusNotes:       row.State.Label(),
		ServiceName:       row.Category.Label(),
		ServiceCode:       string(row.Category),
		RequestedDatetime: row.ReceivedAt.In(loc).Format(time.RFC3339),
		UpdatedDatetime:   row.UpdatedAt.In(loc).Format(time.RFC3339),
	}
	if row.LeadUnit != "" {
		req.AgencyResponsible = unitName(row.LeadUnit)
	} else {
		req.AgencyResponsible = "12345"
	}
	if !row.Deadline.IsZero() && status == "open" {
		req.ExpectedDatetime = row.Deadline.In(loc).Format(time.RFC3339)
	}
	return req
}

func shanghaiLoc() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
