package api

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
)

// Voicemails and received faxes are both inbox items: things the hotline took in
// without an agent, which agents list, read and file on a case. These are the
// steps their handlers share.

// listInbox serves a keyset-paginated list of open items, oldest first. C is the
// cursor type (the sort key of an item), T the item.
func listInbox[T, C any](w http.ResponseWriter, r *http.Request,
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
