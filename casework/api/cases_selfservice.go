package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
)

// selfServiceAnswer is what the voice self-service speaks (T10, 001 §五(一)2).
// Unit and deadline only go to a caller who proves the case is theirs: the
// calling number is the case's, or they keyed the query code.
type selfServiceAnswer struct {
	Number     domain.CaseNumber `json:"number"`
	State      domain.State      `json:"state"`
	StateLabel string            `json:"state_label"`
	Detailed   bool              `json:"detailed"`
	UnitName   string            `json:"unit_name,omitempty"`
	Deadline   time.Time         `json:"deadline,omitzero"`
}

// selfService is GET /api/v1/selfservice/cases/{number}?caller=&code=, for the
// call service's bearer token only (a service credential, not a user).
func (h *caseHandlers) selfService(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if h.SelfServiceToken == "" || !ok || subtle.ConstantTimeCompare([]byte(token), []byte(h.SelfServiceToken)) != 1 {
		problem.Unauthorized(w, r, "the self-service endpoint needs the call service's token")
		return
	}
	if !OnlyParams(w, r, "caller", "code") {
		return
	}
	number, err := domain.ParseCaseNumber(r.PathValue("number"))
	if err != nil {
		// A mistyped number on the keypad is "unknown" to the caller, not an error.
		problem.NotFound(w, r, "no case with that number")
		return
	}
	id, err := h.Cases.IDByNumber(r.Context(), string(number))
	if errors.Is(err, domain.ErrNotFound) {
		problem.NotFound(w, r, "no case with that number")
		return
	}
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	c, err := h.Service.Get(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	reg := c.Snapshot().Registration
	q := r.URL.Query()
	caller, code := q.Get("caller"), q.Get("code")
	mine := (caller != "" && reg.Caller.Phone != "" && normalisePhone(caller) == normalisePhone(reg.Caller.Phone)) ||
		(code != "" && reg.QueryCode != "" && subtle.ConstantTimeCompare([]byte(code), []byte(reg.QueryCode)) == 1)
	a := selfServiceAnswer{Number: c.Number(), State: c.State(), StateLabel: c.State().Label(), Detailed: mine}
	if mine {
		if lead, ok := c.Lead(); ok {
			a.UnitName = lead.Name
		}
		a.Deadline = c.Deadline()
	}
	WriteJSON(w, r, http.StatusOK, a)
}

// normalisePhone drops the separators and the country prefixes carriers add, so
// "+86 138-0013-8000" matches the registered 13800138000.
func normalisePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "0086") {
		d = d[4:]
	} else if strings.HasPrefix(d, "86") && len(d) == 13 {
		d = d[2:]
	}
	return d
}
