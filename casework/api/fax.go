package api

import (
	"context"
	"net/http"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// FaxStore is what the fax routes need of the store.
type FaxStore interface {
	ListReceivedOpen(ctx context.Context, after *store.FaxCursor, limit int) ([]store.Fax, error)
	Get(ctx context.Context, id string) (store.Fax, error)
	ClaimForCase(ctx context.Context, id, by string, at time.Time) error
	Release(ctx context.Context, id, by string) error
}

// FaxRoutes are the dependencies of the fax endpoints (T11: received faxes are
// case material for an agent).
type FaxRoutes struct {
	Service *app.Service
	Faxes   FaxStore
	// Dir is where the call service stores received faxes (HOTLINE_FAX_DIR);
	// files are served only from inside it.
	Dir string
}

type faxHandlers struct {
	s *Server
	FaxRoutes
}

// MountFaxes registers GET /faxes, GET /faxes/{id}, GET /faxes/{id}/pdf and
// POST /faxes/{id}/case.
func (s *Server) MountFaxes(d FaxRoutes) {
	h := &faxHandlers{s: s, FaxRoutes: d}
	s.Mount(func(mux *http.ServeMux) {
		p := Prefix + "/faxes"
		mux.HandleFunc("GET "+p, h.list)
		mux.HandleFunc("GET "+p+"/{id}", h.get)
		mux.HandleFunc("GET "+p+"/{id}/pdf", h.pdf)
		mux.HandleFunc("POST "+p+"/{id}/case", h.toCase)
	})
}

// list is GET /faxes: received faxes not yet on a case, oldest first.
func (h *faxHandlers) list(w http.ResponseWriter, r *http.Request) {
	listInbox(h.s, "faxes", w, r, h.Faxes.ListReceivedOpen, func(f store.Fax) store.FaxCursor { return store.FaxCursor{At: f.At, ID: f.ID} })
}

func (h *faxHandlers) find(w http.ResponseWriter, r *http.Request) (store.Fax, access.Principal, bool) {
	return findInbox(w, r, "fax", h.Faxes.Get)
}

func (h *faxHandlers) get(w http.ResponseWriter, r *http.Request) {
	if f, _, ok := h.find(w, r); ok && h.s.auditOrFail(w, r, access.ActionRead, "fax_metadata", f.ID) {
		WriteJSON(w, r, http.StatusOK, f)
	}
}

// pdf is GET /faxes/{id}/pdf: the PDF copy of a received fax (audited).
func (h *faxHandlers) pdf(w http.ResponseWriter, r *http.Request) {
	f, _, ok := h.find(w, r)
	if !ok {
		return
	}
	if f.PDFURI == "" {
		problem.NotFound(w, r, "this fax has no PDF copy")
		return
	}
	file, fi, ok := openStored(w, r, h.Dir, f.PDFURI, "fax")
	if !ok {
		return
	}
	defer file.Close()
	if err := h.s.auditor.Audit(r.Context(), access.ActionRead, "fax", f.ID); err != nil {
		problem.Internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, f.ID+".pdf", fi.ModTime(), file)
}

// toCase is POST /faxes/{id}/case: registers a case from a received fax in one
// step (body as POST /cases; phone, channel fax, call and material default from
// the fax).
func (h *faxHandlers) toCase(w http.ResponseWriter, r *http.Request) {
	f, p, ok := h.find(w, r)
	if !ok {
		return
	}
	if !p.Has(domain.AllowedRoles(domain.ActionRegister)...) {
		problem.Forbidden(w, r, "your role may not register cases")
		return
	}
	var in registerRequest
	if !DecodeJSON(w, r, &in) {
		return
	}
	if f.Direction != "received" || f.Status != "success" {
		problem.Conflict(w, r, "only a received fax can become a case")
		return
	}
	ref := f.PDFURI
	if ref == "" {
		ref = f.URI
	}
	fileOnCase(w, r, h.Service, p, in, inboxFiling{
		kind: "fax", phone: f.Caller, callID: f.CallID, channel: domain.ChannelFax, at: f.At,
		material: domain.MaterialRef{Kind: domain.MaterialFax, Ref: ref},
		filing:   domain.Filing{Kind: domain.MaterialFax, ID: f.ID, ClaimedBy: p.Actor().ID},
		claim:    func(ctx context.Context) error { return h.Faxes.ClaimForCase(ctx, f.ID, p.Actor().ID, h.s.now()) },
		release:  func(ctx context.Context) error { return h.Faxes.Release(ctx, f.ID, p.Actor().ID) },
	})
}
