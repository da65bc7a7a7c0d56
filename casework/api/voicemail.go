package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// VoicemailStore is what the voicemail routes need of the store.
type VoicemailStore interface {
	ListOpen(ctx context.Context, after *store.VoicemailCursor, limit int) ([]store.Voicemail, error)
	Get(ctx context.Context, id string) (store.Voicemail, error)
	MarkHeard(ctx context.Context, id, by string, at time.Time) error
	ClaimForCase(ctx context.Context, id, by string, at time.Time) error
	Release(ctx context.Context, id, by string) error
}

// VoicemailRoutes are the dependencies of the voicemail endpoints (听取留言, T9).
type VoicemailRoutes struct {
	Service    *app.Service
	Voicemails VoicemailStore
	// Dir is where the call service stores messages (HOTLINE_VOICEMAIL_DIR);
	// audio is served only from inside it.
	Dir string
}

type voicemailHandlers struct {
	s *Server
	VoicemailRoutes
}

// voicemailRoles may list, hear and register messages (and faxes): the hotline
// center's agents and supervisors. Never units (a message may name a
// whistleblower), nor administrators: IT sees a protected case's caller only
// through an audited reveal, and a message carries the caller's number and
// voice with no reveal in between (the role × endpoint matrix holds this).
var voicemailRoles = []domain.Role{domain.RoleAgent, domain.RoleSupervisor}

// MountVoicemails registers GET /voicemails, GET /voicemails/{id},
// GET /voicemails/{id}/audio and POST /voicemails/{id}/case.
func (s *Server) MountVoicemails(d VoicemailRoutes) {
	h := &voicemailHandlers{s: s, VoicemailRoutes: d}
	s.Mount(func(mux *http.ServeMux) {
		p := Prefix + "/voicemails"
		mux.HandleFunc("GET "+p, h.list)
		mux.HandleFunc("GET "+p+"/{id}", h.get)
		mux.HandleFunc("GET "+p+"/{id}/audio", h.audio)
		mux.HandleFunc("POST "+p+"/{id}/case", h.toCase)
	})
}

// list is GET /voicemails: messages not yet turned into a case, oldest first.
func (h *voicemailHandlers) list(w http.ResponseWriter, r *http.Request) {
	listInbox(h.s, "voicemails", w, r, h.Voicemails.ListOpen, func(v store.Voicemail) store.VoicemailCursor {
		return store.VoicemailCursor{LeftAt: v.LeftAt, ID: v.ID}
	})
}

func (h *voicemailHandlers) find(w http.ResponseWriter, r *http.Request) (store.Voicemail, access.Principal, bool) {
	return findInbox(w, r, "voicemail", h.Voicemails.Get)
}

// get is GET /voicemails/{id}.
func (h *voicemailHandlers) get(w http.ResponseWriter, r *http.Request) {
	v, _, ok := h.find(w, r)
	if !ok || !h.s.auditOrFail(w, r, access.ActionRead, "voicemail_metadata", v.ID) {
		return
	}
	WriteJSON(w, r, http.StatusOK, v)
}

// audio is GET /voicemails/{id}/audio: the message as audio/wav (ranges
// supported, so players can seek). The first listener and time are recorded;
// every listen goes to the audit log.
func (h *voicemailHandlers) audio(w http.ResponseWriter, r *http.Request) {
	v, p, ok := h.find(w, r)
	if !ok {
		return
	}
	f, fi, ok := openStored(w, r, h.Dir, v.URI, "message's audio")
	if !ok {
		return
	}
	defer f.Close()
	if err := h.Voicemails.MarkHeard(r.Context(), v.ID, p.Actor().ID, h.s.now()); err != nil {
		problem.Internal(w, r, err)
		return
	}
	if err := h.s.auditor.Audit(r.Context(), access.ActionRead, "voicemail", v.ID); err != nil {
		problem.Internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", `inline; filename="`+v.ID+`.wav"`)
	w.Header().Set("X-Voicemail-Duration-Ms", strconv.FormatInt(v.DurationMS, 10))
	http.ServeContent(w, r, v.ID+".wav", fi.ModTime(), f)
}

// toCase is POST /voicemails/{id}/case: registers a case from the message in one
// step. The body is a case registration (POST /cases) whose caller phone, channel,
// call and materials default from the message; the message becomes the case's
// material and leaves the list of new messages.
func (h *voicemailHandlers) toCase(w http.ResponseWriter, r *http.Request) {
	v, p, ok := h.find(w, r)
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
	if v.CaseID != "" {
		problem.Conflict(w, r, "the message was already turned into case "+v.CaseID)
		return
	}
	fileOnCase(w, r, h.Service, p, in, inboxFiling{
		kind: "voicemail", phone: v.Caller, callID: v.CallID, channel: domain.ChannelVoicemail, at: v.LeftAt,
		material: domain.MaterialRef{Kind: domain.MaterialVoicemail, Ref: v.URI},
		filing:   domain.Filing{Kind: domain.MaterialVoicemail, ID: v.ID, ClaimedBy: p.Actor().ID},
		claim: func(ctx context.Context) error {
			return h.Voicemails.ClaimForCase(ctx, v.ID, p.Actor().ID, h.s.now())
		},
		release: func(ctx context.Context) error { return h.Voicemails.Release(ctx, v.ID, p.Actor().ID) },
	})
}
