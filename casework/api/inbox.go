package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// Voicemails and received faxes are both inbox items: things the hotline took in
// without an agent, which agents list, read and file on a case. These are the
// steps their handlers share.

// listInbox serves a keyset-paginated list of open items, oldest first. C is the
// cursor type (the sort key of an item), T the item.
func listInbox[T, C any](s *Server, kind string, w http.ResponseWriter, r *http.Request,
	list func(ctx context.Context, after *C, limit int) ([]T, error), key func(T) C) {
	if _, ok := access.Check(w, r, voicemailRoles...); !ok {
		return
	}
	if !OnlyParams(w, r, "limit", "cursor") {
		return
	}
	var after C
	page, ok := ParsePage(w, r, &after)
	if !ok {
		return
	}
	var cur *C
	if page.HasCursor {
		cur = &after
	}
	rows, err := list(r.Context(), cur, page.Fetch())
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	// The list shows callers' numbers: who listed them is on record.
	if !s.auditOrFail(w, r, access.ActionList, kind, auditQuery(r)) {
		return
	}
	l, err := NewList(rows, page, func(t T) any { return key(t) })
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, l)
}

// findInbox loads the item named by the {id} path value for an agent or
// supervisor, answering 403/404/500 itself when it cannot.
func findInbox[T any](w http.ResponseWriter, r *http.Request, kind string,
	get func(ctx context.Context, id string) (T, error)) (T, access.Principal, bool) {
	var zero T
	p, ok := access.Check(w, r, voicemailRoles...)
	if !ok {
		return zero, p, false
	}
	id := r.PathValue("id")
	reqctx.Annotate(r.Context(), zap.String(kind+"_id", id))
	item, err := get(r.Context(), id)
	if errors.Is(err, domain.ErrNotFound) {
		problem.NotFound(w, r, "no "+kind+" with that id")
		return item, p, false
	}
	if err != nil {
		problem.Internal(w, r, err)
		return item, p, false
	}
	return item, p, true
}

// inboxFiling says what an inbox item contributes to the case registered from it,
// and how the item is claimed (so two agents cannot file it twice) and given
// back when the registration fails. The case store marks it filed in the
// case's own transaction (filing).
type inboxFiling struct {
	kind     string
	phone    string
	callID   string
	channel  domain.Channel
	material domain.MaterialRef
	at       time.Time
	filing   domain.Filing
	claim    func(ctx context.Context) error
	release  func(ctx context.Context) error
}

// fileOnCase registers a case from an inbox item in one step: the body is a case
// registration whose phone, channel, call, time and material default from the item.
func fileOnCase(w http.ResponseWriter, r *http.Request, svc *app.Service, p access.Principal, in registerRequest, f inboxFiling) {
	if err := f.claim(r.Context()); err != nil {
		if errors.Is(err, store.ErrAlreadyCase) {
			problem.Conflict(w, r, "the "+f.kind+" is being or was already filed on a case")
			return
		}
		problem.Internal(w, r, err)
		return
	}
	if in.Caller.Phone == "" {
		in.Caller.Phone = f.phone
	}
	if in.Channel == "" {
		in.Channel = f.channel
	}
	if in.CallID == "" {
		in.CallID = f.callID
	}
	in.Materials = append(in.Materials, f.material)
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = f.at
	}
	c, err := svc.Register(r.Context(), p.Actor(), app.RegisterInput{
		Caller: in.Caller, ReceivedAt: in.ReceivedAt, Content: in.Content, Category: in.Category, Region: in.Region,
		Urgency: in.Urgency, Confidentiality: in.Confidentiality, Channel: in.Channel, HandlingMode: in.HandlingMode,
		CallID: in.CallID, Materials: in.Materials, CallbackConsent: in.CallbackConsent, Filings: []domain.Filing{f.filing},
	})
	if err != nil {
		// Give the item back to the list (only if the claim is still ours); the
		// registration error is the answer.
		if rerr := f.release(context.WithoutCancel(r.Context())); rerr != nil {
			reqctx.Logger(r.Context()).Error(f.kind+" claim not released", zap.Error(rerr))
		}
		if errors.Is(err, domain.ErrFilingLost) {
			problem.Conflict(w, r, "the "+f.kind+" is no longer claimed for this case (the claim timed out); it may be filed by someone else")
			return
		}
		failUseCase(w, r, err)
		return
	}
	reqctx.Annotate(r.Context(), zap.String("case_id", c.ID()))
	w.Header().Set("Location", Prefix+"/cases/"+c.ID())
	WriteJSON(w, r, http.StatusCreated, c.ViewFor(p.Actor()))
}
