package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/assessment"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// CaseReader is the read side of the case store the case endpoints need.
type CaseReader interface {
	List(ctx context.Context, f store.CaseFilter) ([]store.CaseRow, bool, error)
	Calls(ctx context.Context, caseID string) ([]store.CaseCall, error)
	IDByNumber(ctx context.Context, number string) (string, error)
}

// CaseRoutes are the case file endpoints' dependencies.
type CaseRoutes struct {
	Service  *app.Service
	Cases    CaseReader
	Assessor app.Assessor
	// Reports computes the C11 reports; nil leaves them out.
	Reports ReportSource
	// SelfServiceToken is the bearer token of the call service's voice
	// self-service (T10); empty disables the endpoint.
	SelfServiceToken string
	// CodeAttempts bounds wrong query codes per case number and per calling
	// number a day; nil disables the endpoint's details (status only).
	CodeAttempts CodeAttempts
	// MaxCodeFailures is the bound; 0 means DefaultMaxCodeFailures.
	MaxCodeFailures int
	// Idempotency remembers registrations by Idempotency-Key; nil ignores
	// the header.
	Idempotency Idempotency
}

// Idempotency is what registration needs from store.IdempotencyKeys.
type Idempotency interface {
	Claim(ctx context.Context, userID, key, hash string) (caseID string, claimed bool, err error)
	Complete(ctx context.Context, userID, key, caseID string) error
	Release(ctx context.Context, userID, key string) error
}

// CodeAttempts counts wrong self-service query codes (store.CodeAttempts).
type CodeAttempts interface {
	Failures(ctx context.Context, day time.Time, subjects ...string) (int, error)
	Fail(ctx context.Context, day time.Time, subjects ...string) error
}

// DefaultMaxCodeFailures: five wrong 6-digit codes a day for a case, or from a
// number, leave a guesser a one-in-200,000 chance; a citizen who mistypes
// twice is not locked out.
const DefaultMaxCodeFailures = 5

type caseHandlers struct {
	s *Server
	CaseRoutes
}

// MountCases adds the case endpoints (C1-C10, C14), the self-service lookup and
// the public Open311 GeoReport v2 endpoints (C12). The binary serves Handler under
// /open311/ as well as /api/v1/.
func (s *Server) MountCases(d CaseRoutes) {
	h := &caseHandlers{s: s, CaseRoutes: d}
	s.Mount(func(mux *http.ServeMux) {
		p := Prefix + "/cases"
		mux.HandleFunc("POST "+p, h.register)
		mux.HandleFunc("GET "+p, h.list)
		mux.HandleFunc("GET "+p+"/{id}", h.get)
		mux.Handle("POST "+p+"/{id}/answer", caseAction(h, domain.ActionAnswerDirectly, false,
			func(ctx context.Context, by domain.Actor, id string, in answerRequest) (*domain.Case, error) {
				return h.Service.AnswerDirectly(ctx, by, id, domain.DirectAnswer{Text: in.Text, ViaUnitID: in.ViaUnitID})
			}))
		mux.Handle("POST "+p+"/{id}/refer", caseAction(h, domain.ActionReferOut, false,
			func(ctx context.Context, by domain.Actor, id string, in adviceRequest) (*domain.Case, error) {
				return h.Service.ReferOut(ctx, by, id, in.Advice)
			}))
		mux.Handle("POST "+p+"/{id}/approval-requests", caseAction(h, domain.ActionSubmitForApproval, false,
			func(ctx context.Context, by domain.Actor, id string, in reasonRequest) (*domain.Case, error) {
				return h.Service.SubmitForApproval(ctx, by, id, in.Reason)
			}))
		mux.Handle("POST "+p+"/{id}/approve", caseAction(h, domain.ActionApprove, false,
			func(ctx context.Context, by domain.Actor, id string, in approveRequest) (*domain.Case, error) {
				return h.Service.Approve(ctx, by, id, in.Opinion, in.Instruction)
			}))
		mux.Handle("POST "+p+"/{id}/transfer", caseAction(h, domain.ActionTransfer, false,
			func(ctx context.Context, by domain.Actor, id string, in transferRequest) (*domain.Case, error) {
				return h.Service.Transfer(ctx, by, id, app.TransferInput{Lead: in.Lead, Assisting: in.Assisting,
					Mode: in.Mode, WorkingDays: in.WorkingDays, Hours: in.Hours, Note: in.Note})
			}))
		mux.Handle("POST "+p+"/{id}/accept", caseAction(h, domain.ActionAccept, true,
			func(ctx context.Context, by domain.Actor, id string, in noteRequest) (*domain.Case, error) {
				return h.Service.Accept(ctx, by, id, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/pass-down", caseAction(h, domain.ActionPassDown, false,
			func(ctx context.Context, by domain.Actor, id string, in passDownRequest) (*domain.Case, error) {
				return h.Service.PassDown(ctx, by, id, in.SubUnit, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/progress", caseAction(h, domain.ActionReportProgress, false,
			func(ctx context.Context, by domain.Actor, id string, in textRequest) (*domain.Case, error) {
				return h.Service.ReportProgress(ctx, by, id, in.Text)
			}))
		mux.Handle("POST "+p+"/{id}/extension-requests", caseAction(h, domain.ActionRequestExtension, false,
			func(ctx context.Context, by domain.Actor, id string, in extensionRequest) (*domain.Case, error) {
				return h.Service.RequestExtension(ctx, by, id, in.WorkingDays, in.Reason)
			}))
		mux.Handle("POST "+p+"/{id}/extension-requests/approve", caseAction(h, domain.ActionApproveExtension, true,
			func(ctx context.Context, by domain.Actor, id string, in noteRequest) (*domain.Case, error) {
				return h.Service.ApproveExtension(ctx, by, id, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/extension-requests/refuse", caseAction(h, domain.ActionRefuseExtension, false,
			func(ctx context.Context, by domain.Actor, id string, in reasonRequest) (*domain.Case, error) {
				return h.Service.RefuseExtension(ctx, by, id, in.Reason)
			}))
		mux.Handle("POST "+p+"/{id}/remind", caseAction(h, domain.ActionRemind, true,
			func(ctx context.Context, by domain.Actor, id string, in noteRequest) (*domain.Case, error) {
				return h.Service.Remind(ctx, by, id, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/supervise", caseAction(h, domain.ActionSupervise, true,
			func(ctx context.Context, by domain.Actor, id string, in superviseRequest) (*domain.Case, error) {
				return h.Service.Supervise(ctx, by, id, in.LimitBy, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/reply", caseAction(h, domain.ActionReply, false,
			func(ctx context.Context, by domain.Actor, id string, in textRequest) (*domain.Case, error) {
				return h.Service.Reply(ctx, by, id, in.Text)
			}))
		mux.Handle("POST "+p+"/{id}/review", caseAction(h, domain.ActionComplete, false,
			func(ctx context.Context, by domain.Actor, id string, in reviewRequest) (*domain.Case, error) {
				switch in.Result {
				case "complete", "return":
				default:
					return nil, &domain.ValidationError{Field: "result", Value: in.Result, Reason: `want "complete" or "return"`}
				}
				return h.Service.Review(ctx, by, id, app.ReviewInput{Accept: in.Result == "complete", Reason: in.Reason,
					WorkingDays: in.WorkingDays, Note: in.Note})
			}))
		mux.Handle("POST "+p+"/{id}/callback", caseAction(h, domain.ActionCallback, false,
			func(ctx context.Context, by domain.Actor, id string, in callbackRequest) (*domain.Case, error) {
				return h.Service.Callback(ctx, by, id, app.CallbackInput{Satisfaction: in.Satisfaction, CallID: in.CallID, Note: in.Note})
			}))
		mux.Handle("POST "+p+"/{id}/close", caseAction(h, domain.ActionClose, true,
			func(ctx context.Context, by domain.Actor, id string, in noteRequest) (*domain.Case, error) {
				return h.Service.Close(ctx, by, id, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/archive", caseAction(h, domain.ActionArchive, true,
			func(ctx context.Context, by domain.Actor, id string, in noteRequest) (*domain.Case, error) {
				return h.Service.Archive(ctx, by, id, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/materials", caseAction(h, domain.ActionAttachMaterial, false,
			func(ctx context.Context, by domain.Actor, id string, in domain.MaterialRef) (*domain.Case, error) {
				return h.Service.AttachMaterial(ctx, by, id, in)
			}))
		mux.Handle("POST "+p+"/{id}/calls", caseAction(h, domain.ActionLinkCall, false,
			func(ctx context.Context, by domain.Actor, id string, in callRequest) (*domain.Case, error) {
				return h.Service.LinkCall(ctx, by, id, in.CallID)
			}))
		mux.Handle("POST "+p+"/{id}/repeats", caseAction(h, domain.ActionRecordRepeat, true,
			func(ctx context.Context, by domain.Actor, id string, in repeatRequest) (*domain.Case, error) {
				return h.Service.RecordRepeat(ctx, by, id, in.CallID, in.Note)
			}))
		mux.Handle("POST "+p+"/{id}/findings", caseAction(h, domain.ActionRecordFinding, false,
			func(ctx context.Context, by domain.Actor, id string, in findingRequest) (*domain.Case, error) {
				return h.Service.RecordFinding(ctx, by, id, in.Unit, in.Kind, in.Facts)
			}))
		mux.HandleFunc("GET "+Prefix+"/assessment", h.assessment)
		h.mountReports(mux)
	})
	s.MountPublic(func(mux *http.ServeMux) {
		mux.HandleFunc("GET "+Prefix+"/selfservice/cases/{number}", h.selfService)
		h.mountOpen311(mux)
	})
}

type (
	answerRequest struct {
		Text      string `json:"text"`
		ViaUnitID string `json:"via_unit_id,omitempty"`
	}
	adviceRequest struct {
		Advice string `json:"advice"`
	}
	reasonRequest struct {
		Reason string `json:"reason"`
	}
	noteRequest struct {
		Note string `json:"note,omitempty"`
	}
	textRequest struct {
		Text string `json:"text"`
	}
	approveRequest struct {
		Opinion     string                    `json:"opinion"`
		Instruction *domain.LeaderInstruction `json:"instruction,omitempty"`
	}
	transferRequest struct {
		Lead        string              `json:"lead"`
		Assisting   []string            `json:"assisting,omitempty"`
		Mode        domain.HandlingMode `json:"mode,omitempty"`
		WorkingDays int                 `json:"working_days,omitempty"`
		Hours       int                 `json:"hours,omitempty"`
		Note        string              `json:"note,omitempty"`
	}
	passDownRequest struct {
		SubUnit string `json:"sub_unit"`
		Note    string `json:"note,omitempty"`
	}
	extensionRequest struct {
		WorkingDays int    `json:"working_days"`
		Reason      string `json:"reason"`
	}
	superviseRequest struct {
		LimitBy time.Time `json:"limit_by,omitzero"`
		Note    string    `json:"note,omitempty"`
	}
	reviewRequest struct {
		Result      string `json:"result"` // complete or return
		Reason      string `json:"reason,omitempty"`
		WorkingDays int    `json:"working_days,omitempty"`
		Note        string `json:"note,omitempty"`
	}
	callbackRequest struct {
		Satisfaction domain.Satisfaction `json:"satisfaction"`
		CallID       string              `json:"call_id,omitempty"`
		Note         string              `json:"note,omitempty"`
	}
	callRequest struct {
		CallID string `json:"call_id"`
	}
	repeatRequest struct {
		CallID string `json:"call_id,omitempty"`
		Note   string `json:"note,omitempty"`
	}
	findingRequest struct {
		Unit  string             `json:"unit"`
		Kind  domain.FindingKind `json:"kind"`
		Facts string             `json:"facts"`
	}
	registerRequest struct {
		Caller          domain.Caller          `json:"caller"`
		ReceivedAt      time.Time              `json:"received_at,omitzero"`
		Content         string                 `json:"content"`
		Category        domain.Category        `json:"category"`
		Region          domain.Region          `json:"region"`
		Urgency         domain.Urgency         `json:"urgency"`
		Confidentiality domain.Confidentiality `json:"confidentiality"`
		Channel         domain.Channel         `json:"channel"`
		HandlingMode    domain.HandlingMode    `json:"handling_mode"`
		CallID          string                 `json:"call_id,omitempty"`
		Materials       []domain.MaterialRef   `json:"materials,omitempty"`
		CallbackConsent bool                   `json:"callback_consent"`
	}
)

// caseAction is the shape of every POST /cases/{id}/... endpoint: role check,
// strict body, unit visibility (a unit that may not see the case gets 404, as if
// it did not exist), the use case, and the case as the caller may see it.
func caseAction[T any](h *caseHandlers, act domain.Action, optionalBody bool,
	run func(ctx context.Context, by domain.Actor, id string, in T) (*domain.Case, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.AllowedRoles(act)...)
		if !ok {
			return
		}
		var in T
		if optionalBody {
			ok = DecodeOptionalJSON(w, r, &in)
		} else {
			ok = DecodeJSON(w, r, &in)
		}
		if !ok {
			return
		}
		id := r.PathValue("id")
		reqctx.Annotate(r.Context(), zap.String("case_id", id))
		if _, ok := h.visible(w, r, p, id); !ok {
			return
		}
		c, err := run(r.Context(), p.Actor(), id, in)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		WriteJSON(w, r, http.StatusOK, c.ViewFor(p.Actor()))
	})
}

// visible loads the case and answers 404 when p may not see it.
func (h *caseHandlers) visible(w http.ResponseWriter, r *http.Request, p access.Principal, id string) (*domain.Case, bool) {
	c, err := h.Service.Get(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	if access.SeesAllUnits(p) {
		return c, true
	}
	tree, err := h.s.dir.Tree(r.Context())
	if err != nil {
		problem.Internal(w, r, err)
		return nil, false
	}
	if !c.VisibleTo(p.Actor(), tree) {
		problem.NotFound(w, r, fmt.Sprintf("case %q not found", id))
		return nil, false
	}
	return c, true
}

// fail maps use-case errors through problem.Error. A deadline outside every
// calendar (before 1950 or after 2099: years without a notice are provisional,
// so this is a date no case can have) is the request's fault: 422.
func (h *caseHandlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	failUseCase(w, r, err)
}

func failUseCase(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, app.ErrCalendar) {
		reqctx.Logger(r.Context()).Warn("deadline outside every calendar", zap.Error(err))
		problem.Unprocessable(w, r, "the deadline falls outside the working-day calendar (1950-2099): "+err.Error())
		return
	}
	problem.Error(w, r, err)
}

func (h *caseHandlers) register(w http.ResponseWriter, r *http.Request) {
	p, ok := access.Check(w, r, domain.AllowedRoles(domain.ActionRegister)...)
	if !ok {
		return
	}
	var in registerRequest
	if !DecodeJSON(w, r, &in) {
		return
	}
	// Idempotency-Key: a client retrying after a timeout gets the case its
	// first attempt made, never a second case.
	key := r.Header.Get("Idempotency-Key")
	if key != "" && h.Idempotency != nil {
		if len(key) > 200 || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			problem.BadRequest(w, r, "bad Idempotency-Key: 1-200 visible ASCII characters")
			return
		}
		body, _ := json.Marshal(in)
		sum := sha256.Sum256(body)
		id, claimed, err := h.Idempotency.Claim(r.Context(), p.UserID, key, hex.EncodeToString(sum[:]))
		switch {
		case errors.Is(err, store.ErrKeyReused):
			problem.Unprocessable(w, r, "this Idempotency-Key was used for a different registration")
			return
		case errors.Is(err, store.ErrKeyInProgress):
			problem.Conflict(w, r, "a registration with this Idempotency-Key is still in progress; retry shortly")
			return
		case err != nil:
			problem.Internal(w, r, err)
			return
		case !claimed:
			c, err := h.Service.Get(r.Context(), id)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.Header().Set("Location", Prefix+"/cases/"+c.ID())
			WriteJSON(w, r, http.StatusCreated, c.ViewFor(p.Actor()))
			return
		}
	}
	c, err := h.Service.Register(r.Context(), p.Actor(), app.RegisterInput{
		Caller: in.Caller, ReceivedAt: in.ReceivedAt, Content: in.Content, Category: in.Category, Region: in.Region,
		Urgency: in.Urgency, Confidentiality: in.Confidentiality, Channel: in.Channel, HandlingMode: in.HandlingMode,
		CallID: in.CallID, Materials: in.Materials, CallbackConsent: in.CallbackConsent,
	})
	if key != "" && h.Idempotency != nil {
		// A background context: the key must be settled even if the client left.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		if err != nil {
			if rerr := h.Idempotency.Release(sctx, p.UserID, key); rerr != nil {
				reqctx.Logger(r.Context()).Error("idempotency key not released", zap.Error(rerr))
			}
		} else if cerr := h.Idempotency.Complete(sctx, p.UserID, key, c.ID()); cerr != nil {
			reqctx.Logger(r.Context()).Error("idempotency key not completed", zap.Error(cerr))
		}
		cancel()
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	reqctx.Annotate(r.Context(), zap.String("case_id", c.ID()))
	w.Header().Set("Location", Prefix+"/cases/"+c.ID())
	WriteJSON(w, r, http.StatusCreated, c.ViewFor(p.Actor()))
}

// caseFile is GET /cases/{id}: the case as the caller may see it, with its calls.
type caseFile struct {
	domain.CaseView
	Calls []store.CaseCall `json:"calls"`
}

func (h *caseHandlers) get(w http.ResponseWriter, r *http.Request) {
	p, ok := access.Check(w, r, domain.RoleAgent, domain.RoleSupervisor, domain.RoleAdmin, domain.RoleUnit)
	if !ok {
		return
	}
	id := r.PathValue("id")
	reqctx.Annotate(r.Context(), zap.String("case_id", id))
	c, ok := h.visible(w, r, p, id)
	if !ok {
		return
	}
	if !OnlyParams(w, r, "reveal") {
		return
	}
	view := c.ViewFor(p.Actor())
	if reveal := r.URL.Query().Get("reveal"); reveal != "" && reveal != "false" {
		// An administrator sees a protected caller only by asking, on record.
		if reveal != "true" || !p.Actor().MayReveal() {
			problem.Forbidden(w, r, "only an administrator may reveal a protected caller (reveal=true)")
			return
		}
		if view.CallerRedacted {
			if !h.s.auditOrFail(w, r, access.ActionReveal, "case", id) {
				return
			}
			view = c.ViewRevealed(p.Actor())
		}
	}
	f := caseFile{CaseView: view, Calls: []store.CaseCall{}}
	if !view.CallerRedacted {
		calls, err := h.Cases.Calls(r.Context(), id)
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		f.Calls = append(f.Calls, calls...)
	}
	// An unrecorded read is what the audit log exists to prevent: no log, no file.
	if err := h.s.auditor.Audit(r.Context(), access.ActionRead, "case", id); err != nil {
		problem.Internal(w, r, fmt.Errorf("audit case read: %w", err))
		return
	}
	WriteJSON(w, r, http.StatusOK, f)
}

func (h *caseHandlers) list(w http.ResponseWriter, r *http.Request) {
	p, ok := access.Check(w, r, domain.RoleAgent, domain.RoleSupervisor, domain.RoleAdmin, domain.RoleUnit)
	if !ok {
		return
	}
	if !OnlyParams(w, r, "state", "category", "region", "unit", "from", "to", "overdue", "due_before", "q", "phone", "limit", "cursor") {
		return
	}
	var after store.CaseCursor
	page, ok := ParsePage(w, r, &after)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := store.CaseFilter{Limit: page.Limit, Unit: q.Get("unit")}
	if text := q.Get("q"); domain.CaseNumber(text).Valid() {
		f.Number = text // the unique index, not a scan of the content
	} else {
		f.Text = text
	}
	if page.HasCursor {
		f.After = &after
	}
	var bad []problem.FieldError
	if s := q.Get("state"); s != "" {
		for _, part := range strings.Split(s, ",") {
			st, err := domain.ParseState(part)
			if err != nil {
				bad = append(bad, problem.Param("state", "unknown state "+part))
				continue
			}
			f.States = append(f.States, st)
		}
	}
	if s := q.Get("category"); s != "" {
		c, err := domain.ParseCategory(s)
		if err != nil {
			bad = append(bad, problem.Param("category", "unknown category"))
		}
		f.Category = c
	}
	if s := q.Get("region"); s != "" {
		reg, err := domain.ParseRegion(s)
		if err != nil {
			bad = append(bad, problem.Param("region", "malformed region code"))
		}
		f.Region = reg
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if s := q.Get(tp.name); s != "" {
			t, err := parseDateOrTime(s)
			if err != nil {
				bad = append(bad, problem.Param(tp.name, "want RFC 3339 or YYYY-MM-DD"))
			}
			*tp.dst = t
		}
	}
	switch q.Get("overdue") {
	case "", "false":
	case "true":
		f.OverdueAt = h.Service.Now()
	default:
		bad = append(bad, problem.Param("overdue", "want true or false"))
	}
	if s := q.Get("due_before"); s != "" {
		t, err := parseDateOrTime(s)
		if err != nil || !f.OverdueAt.IsZero() {
			bad = append(bad, problem.Param("due_before", "want RFC 3339 or YYYY-MM-DD, without overdue"))
		}
		f.OverdueAt = t
	}
	if s := q.Get("phone"); s != "" {
		if !access.SeesAllUnits(p) {
			problem.Forbidden(w, r, "units may not search by the caller's number")
			return
		}
		f.CallerPhone = s
	}
	if len(bad) > 0 {
		problem.BadRequest(w, r, "bad query parameter", bad...)
		return
	}
	if !access.SeesAllUnits(p) {
		if f.Unit == "" {
			f.Unit = p.UnitID
		} else if ok, err := h.s.dir.CanSeeUnit(r.Context(), p, f.Unit); err != nil {
			problem.Internal(w, r, err)
			return
		} else if !ok {
			problem.Forbidden(w, r, "unit "+f.Unit+" is outside your units")
			return
		}
	}
	f.Limit = page.Limit
	rows, more, err := h.Cases.List(r.Context(), f)
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	// Every list and search is on record, a search by phone above all (T13).
	if !h.s.auditOrFail(w, r, access.ActionList, "cases", auditQuery(r)) {
		return
	}
	l := List[store.CaseRow]{Items: rows}
	if l.Items == nil {
		l.Items = []store.CaseRow{}
	}
	if more && len(rows) > 0 {
		c, err := EncodeCursor(rows[len(rows)-1].Cursor())
		if err != nil {
			problem.Internal(w, r, err)
			return
		}
		l.NextCursor = c
	}
	WriteJSON(w, r, http.StatusOK, l)
}

func parseDateOrTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	return time.ParseInLocation("2006-01-02", s, loc)
}

func (h *caseHandlers) assessment(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleSupervisor, domain.RoleAdmin); !ok {
		return
	}
	if !OnlyParams(w, r, "year", "quarter") {
		return
	}
	var year, quarter int
	if _, err := fmt.Sscanf(r.URL.Query().Get("year"), "%d", &year); err != nil || year < 2000 || year > 2100 {
		problem.BadRequest(w, r, "bad year", problem.Param("year", "want a year such as 2026"))
		return
	}
	if _, err := fmt.Sscanf(r.URL.Query().Get("quarter"), "%d", &quarter); err != nil || quarter < 1 || quarter > 4 {
		problem.BadRequest(w, r, "bad quarter", problem.Param("quarter", "want 1, 2, 3 or 4"))
		return
	}
	rep, err := h.Assessor.Quarter(r.Context(), year, quarter)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, assessmentResponse{Report: rep, Grounds: groundList()})
}

// assessmentResponse adds the seven grounds' wording for report screens.
type assessmentResponse struct {
	assessment.Report
	Grounds []groundInfo `json:"ground_definitions"`
}

type groundInfo struct {
	Code   string `json:"code"`
	Number int    `json:"number"`
	Label  string `json:"label"`
}

func groundList() []groundInfo {
	var out []groundInfo
	for _, g := range assessment.Grounds() {
		out = append(out, groundInfo{Code: g.Code(), Number: g.Number(), Label: g.Label()})
	}
	return out
}
