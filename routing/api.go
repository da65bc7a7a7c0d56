package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/api/problem"
)

// TokenVerifier tells who a bearer token belongs to (Casework implements it).
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

// Routes are the agents' HTTP API on the call service (under /api/v1/agent):
//
//	GET  /api/v1/agent                          the agent's own state
//	POST /api/v1/agent/login|logout|ready       state changes
//	POST /api/v1/agent/pause                    {"reason": "..."}
//	GET  /api/v1/agent/screenpops               screen pops as server-sent events
//	POST /api/v1/agent/call/threeway            {"unit_id": "...", "confidential": true}
//	POST /api/v1/agent/call/threeway/leave      agent leaves citizen and unit talking
//	POST /api/v1/agent/call/threeway/drop       the unit is dropped
//	POST /api/v1/agent/call/polite-ending       polite closing prompt, then the call ends
//	POST /api/v1/agent/call/transfer            {"to": "1002"} or {} for the queue
//	POST /api/v1/agent/call/case                {"case_id": "..."} (ID or case number) links the call (and its recording) to a case
//	GET  /api/v1/agents                         every agent (supervisor, admin)
//
// Every request needs "Authorization: Bearer <casework token>"; the agent acts
// as the staff number of their token, never one named in the request.
func (s *Service) Routes(mux *http.ServeMux, auth TokenVerifier) {
	h := &api{s: s, auth: auth}
	mux.HandleFunc("GET /api/v1/agent", h.agent(h.state))
	for _, act := range []Action{ActLogin, ActLogout, ActReady, ActPause} {
		mux.HandleFunc("POST /api/v1/agent/"+string(act), h.agent(h.change(act)))
	}
	mux.HandleFunc("GET /api/v1/agent/screenpops", h.agent(h.screenpops))
	mux.HandleFunc("POST /api/v1/agent/call/threeway", h.agent(h.callOp(opJoin)))
	mux.HandleFunc("POST /api/v1/agent/call/threeway/leave", h.agent(h.callOp(opLeave)))
	mux.HandleFunc("POST /api/v1/agent/call/threeway/drop", h.agent(h.callOp(opDrop)))
	mux.HandleFunc("POST /api/v1/agent/call/polite-ending", h.agent(h.callOp(opPoliteEnd)))
	mux.HandleFunc("POST /api/v1/agent/call/transfer", h.agent(h.callOp(opTransfer)))
	mux.HandleFunc("POST /api/v1/agent/call/case", h.agent(h.callOp(opCase)))
	mux.HandleFunc("GET /api/v1/agents", h.list)
	// A supervisor takes an agent out of the queue (pause) or signs them out,
	// with a reason; the change carries the supervisor for the audit log.
	mux.HandleFunc("POST /api/v1/agents/{staff}/pause", h.force(ActPause))
	mux.HandleFunc("POST /api/v1/agents/{staff}/logout", h.force(ActLogout))
}

// force is a supervisor's order for another agent.
func (h *api) force(act Action) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, _, ok := h.identify(w, r)
		if !ok {
			return
		}
		if id.Role != "supervisor" {
			problem.Forbidden(w, r, "only supervisors order another agent's pause or sign-out")
			return
		}
		staff := r.PathValue("staff")
		if !ValidStaff(staff) {
			problem.NotFound(w, r, "no agent with that staff number")
			return
		}
		var body struct {
			Reason string `json:"reason"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
			problem.BadRequest(w, r, "malformed JSON: "+err.Error())
			return
		}
		body.Reason = strings.TrimSpace(body.Reason)
		if body.Reason == "" || len(body.Reason) > 64 {
			problem.Unprocessable(w, r, "a reason is required (at most 64 bytes)", problem.Field("reason", "required, at most 64 bytes"))
			return
		}
		a, err := h.s.pool.ApplyBy(staff, act, "督查："+body.Reason, id.UserID)
		result := "ok"
		if err != nil {
			result = "refused"
		}
		h.s.metrics.agentOps.WithLabelValues("forced_"+string(act), result).Inc()
		if err != nil {
			problem.InvalidTransition(w, r, err.Error())
			return
		}
		h.s.log.Info("agent state forced by a supervisor", zap.String("staff", staff), zap.String("action", string(act)),
			zap.String("supervisor", id.UserID), zap.String("reason", body.Reason), zap.String("state", string(a.State)))
		writeJSON(w, http.StatusOK, a)
	}
}

type api struct {
	s    *Service
	auth TokenVerifier
}

type agentHandler func(w http.ResponseWriter, r *http.Request, id Identity, token string)

// Errors are casework's problem+json (casework/api/problem): the same problem
// type URNs on both services, so the agent desktop, which talks to both, handles
// one format. The package is importable from here: it depends on nothing of
// telephony, and casework imports nothing of routing.

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

func (h *api) identify(w http.ResponseWriter, r *http.Request) (Identity, string, bool) {
	token := bearer(r)
	id, err := h.auth.Verify(r.Context(), token)
	switch {
	case errors.Is(err, ErrUnauthorized) || (err == nil && token == ""):
		problem.Unauthorized(w, r, "a valid bearer token is required")
		return id, "", false
	case err != nil:
		h.s.log.Warn("agent token not verified", zap.Error(err))
		problem.Write(w, r, problem.Problem{Type: problem.TypeUnavailable, Status: http.StatusServiceUnavailable,
			Detail: "cannot verify the token now (casework unreachable)"})
		return id, "", false
	}
	return id, token, true
}

// agent wraps handlers that act as the token's agent.
func (h *api) agent(next agentHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, token, ok := h.identify(w, r)
		if !ok {
			return
		}
		if id.Role != "agent" || !ValidStaff(id.StaffNumber) {
			problem.Forbidden(w, r, "only agents (with a staff number) use this API")
			return
		}
		h.s.mu.Lock()
		h.s.token[id.StaffNumber] = token
		h.s.mu.Unlock()
		next(w, r, id, token)
	}
}

func (h *api) state(w http.ResponseWriter, _ *http.Request, id Identity, _ string) {
	a, _ := h.s.pool.Agent(id.StaffNumber)
	writeJSON(w, http.StatusOK, a)
}

func (h *api) change(act Action) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, id Identity, _ string) {
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
				problem.BadRequest(w, r, "malformed JSON: "+err.Error())
				return
			}
		}
		if len(body.Reason) > 64 {
			problem.BadRequest(w, r, "reason longer than 64 bytes", problem.Field("reason", "at most 64 bytes"))
			return
		}
		a, err := h.s.pool.Apply(id.StaffNumber, act, body.Reason)
		result := "ok"
		if err != nil {
			result = "refused"
		}
		h.s.metrics.agentOps.WithLabelValues(string(act), result).Inc()
		if err != nil {
			// Not allowed in the agent's current state (ready while logged out, ...).
			problem.InvalidTransition(w, r, err.Error())
			return
		}
		h.s.log.Info("agent state", zap.String("staff", id.StaffNumber), zap.String("action", string(act)), zap.String("state", string(a.State)), zap.String("reason", a.Reason))
		writeJSON(w, http.StatusOK, a)
	}
}

func (h *api) callOp(op string) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, id Identity, token string) {
		var body struct {
			UnitID       string `json:"unit_id"`
			Confidential *bool  `json:"confidential"`
			To           string `json:"to"`
			CaseID       string `json:"case_id"`
		}
		if r.ContentLength != 0 {
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
				problem.BadRequest(w, r, "malformed JSON: "+err.Error())
				return
			}
		}
		cmd := command{op: op, unitID: body.UnitID, token: token}
		if op == opCase {
			cmd.caseRef = body.CaseID
		} else if cmd.toStaff = body.To; body.To != "" && !ValidStaff(body.To) {
			problem.BadRequest(w, r, fmt.Sprintf("to: %q is not a staff number", body.To), problem.Field("to", "not a staff number"))
			return
		}
		// Privacy by default: the unit sees the hotline's number unless the agent
		// says the caller may be shown (never for 举报 reports, T13).
		cmd.confidential = body.Confidential == nil || *body.Confidential
		ctx, cancel := context.WithTimeout(r.Context(), h.s.cfg.DutyLineTimeout+15*time.Second)
		defer cancel()
		err := h.s.callOp(ctx, id.StaffNumber, cmd)
		result := "ok"
		var de *DialError
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]string{"result": "ok"})
		case errors.Is(err, ErrNotOnCall):
			result = "not_on_call"
			problem.InvalidTransition(w, r, err.Error())
		case errors.Is(err, ErrNotInDirectory):
			result = "refused"
			problem.Unprocessable(w, r, err.Error(), problem.Field("unit_id", "not in the unit directory, or without a usable duty line"))
		case errors.Is(err, ErrUnknownCase):
			result = "refused"
			problem.Unprocessable(w, r, err.Error(), problem.Field("case_id", "no such case (ID or case number) visible to you"))
		case errors.As(err, &de):
			result = de.Reason
			writeJSON(w, http.StatusBadGateway, map[string]any{"result": de.Reason, "hangup_cause": de.Cause, "detail": de.Error()})
		case errors.Is(err, ErrBusyCall), errors.Is(err, ErrNoThreeWay), errors.Is(err, ErrBadState), errors.Is(err, ErrUnknownAgent):
			result = "refused"
			problem.Conflict(w, r, err.Error())
		default:
			result = "error"
			h.s.log.Error("agent call operation failed", zap.String("staff", id.StaffNumber), zap.String("op", op), zap.Error(err))
			problem.Write(w, r, problem.Problem{Type: problem.TypeInternal, Status: http.StatusInternalServerError,
				Detail: "internal error; the call service logged it"})
		}
		h.s.metrics.agentOps.WithLabelValues(op, result).Inc()
	}
}

// screenpops streams the agent's screen pops as server-sent events until the
// client goes away.
func (h *api) screenpops(w http.ResponseWriter, r *http.Request, id Identity, _ string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		problem.Write(w, r, problem.Problem{Type: problem.TypeInternal, Status: http.StatusInternalServerError, Detail: "streaming unsupported"})
		return
	}
	ch, cancel := h.s.pop.subscribe(id.StaffNumber)
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	keep := time.NewTicker(20 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			_, _ = fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case p := <-ch:
			b, _ := json.Marshal(p)
			_, _ = fmt.Fprintf(w, "event: screenpop\nid: %s\ndata: %s\n\n", p.CallID, b)
			fl.Flush()
		}
	}
}

func (h *api) list(w http.ResponseWriter, r *http.Request) {
	id, _, ok := h.identify(w, r)
	if !ok {
		return
	}
	if id.Role != "supervisor" && id.Role != "admin" {
		problem.Forbidden(w, r, "supervisors and admins only")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": h.s.pool.Agents()})
}
