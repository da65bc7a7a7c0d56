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
// Anyone who keys a case number hears its status; unit and deadline only go to a
// caller who keys the case's query code. The calling number proves nothing (it
// can be spoofed, and "your number is the case's" would confirm who filed a
// report), so the answer is the same whether or not it matches.
type selfServiceAnswer struct {
	Number     domain.CaseNumber `json:"number"`
	State      domain.State      `json:"state"`
	StateLabel string            `json:"state_label"`
	Detailed   bool              `json:"detailed"`
	UnitName   string            `json:"unit_name,omitempty"`
	Deadline   time.Time         `json:"deadline,omitzero"`
	// CodeLocked: too many wrong codes today for this case or from this
	// number; no code is checked until tomorrow.
	CodeLocked bool `json:"code_locked,omitempty"`
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
	a := selfServiceAnswer{Number: c.Number(), State: c.State(), StateLabel: c.State().Label()}
	q := r.URL.Query()
	if code := q.Get("code"); code != "" && h.CodeAttempts != nil {
		day := h.Service.Now().In(shanghaiLoc())
		subjects := []string{"case:" + string(c.Number())}
		if caller := normalisePhone(q.Get("caller")); caller != "" {
			subjects = append(subjects, "caller:"+caller)
		}
		limit := h.MaxCodeFailures
		if limit <= 0 {
			limit = DefaultMaxCodeFailures
		}
		failures, err := h.CodeAttempts.Failures(r.Context(), day, subjects...)
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		queryCode := c.Snapshot().Registration.QueryCode
		switch {
		case failures >= limit:
			a.CodeLocked = true
		case queryCode != "" && subtle.ConstantTimeCompare([]byte(code), []byte(queryCode)) == 1:
			a.Detailed = true
			if lead, ok := c.Lead(); ok {
				a.UnitName = lead.Name
			}
			a.Deadline = c.Deadline()
		default:
			if err := h.CodeAttempts.Fail(r.Context(), day, subjects...); err != nil {
				problem.Internal(w, r, err)
				return
			}
			a.CodeLocked = failures+1 >= limit
		}
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
