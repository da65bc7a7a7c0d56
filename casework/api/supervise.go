package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// Boards is what the supervisor routes need of store.Boards.
type Boards interface {
	Wallboard(ctx context.Context, now, dayStart time.Time) (store.Wallboard, error)
	Media(ctx context.Context, caseID string) (store.CaseMedia, error)
}

// SuperviseRoutes are the dependencies of the supervisor screens' endpoints
// (督查, issue 13): the wallboard and the case file's recordings.
type SuperviseRoutes struct {
	Service *app.Service
	Boards  Boards
	// RecordingsDir is where the call service stores agent call recordings
	// (HOTLINE_RECORDINGS_DIR); audio is served only from inside it.
	RecordingsDir string
}

type superviseHandlers struct {
	s *Server
	SuperviseRoutes
}

// mediaRoles may hear a case's recordings: the center's staff who see the
// caller. Units never (the voice identifies a whistleblower); administrators
// (IT) see protected cases redacted, so they do not hear them either.
var mediaRoles = []domain.Role{domain.RoleAgent, domain.RoleSupervisor}

// MountSupervise registers GET /wallboard, GET /cases/{id}/media and
// GET /cases/{id}/recordings/{rid}/audio.
func (s *Server) MountSupervise(d SuperviseRoutes) {
	h := &superviseHandlers{s: s, SuperviseRoutes: d}
	s.Mount(func(mux *http.ServeMux) {
		mux.HandleFunc("GET "+Prefix+"/wallboard", h.wallboard)
		mux.HandleFunc("GET "+Prefix+"/cases/{id}/media", h.media)
		mux.HandleFunc("GET "+Prefix+"/cases/{id}/recordings/{rid}/audio", h.recording)
	})
}

// wallboard is GET /wallboard: the queue now and today's figures. It carries
// no caller numbers, so it needs no audit entry (nothing of a citizen is read).
func (h *superviseHandlers) wallboard(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleSupervisor, domain.RoleAdmin); !ok {
		return
	}
	if !OnlyParams(w, r) {
		return
	}
	now := h.Service.Now()
	local := now.In(shanghaiLoc())
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	b, err := h.Boards.Wallboard(r.Context(), now, day)
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, r, http.StatusOK, b)
}

// caseFor loads the case named by {id} for a role that may hear its media.
func (h *superviseHandlers) caseFor(w http.ResponseWriter, r *http.Request) (*domain.Case, bool) {
	if _, ok := access.Check(w, r, mediaRoles...); !ok {
		return nil, false
	}
	id := r.PathValue("id")
	reqctx.Annotate(r.Context(), zap.String("case_id", id))
	c, err := h.Service.Get(r.Context(), id)
	if err != nil {
		failUseCase(w, r, err)
		return nil, false
	}
	return c, true
}

// media is GET /cases/{id}/media: the case's recordings, voicemails and faxes
// (their audio and PDFs are behind their own audited routes).
func (h *superviseHandlers) media(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caseFor(w, r)
	if !ok || !OnlyParams(w, r) {
		return
	}
	m, err := h.Boards.Media(r.Context(), c.ID())
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	if !h.s.auditOrFail(w, r, access.ActionRead, "case_media", c.ID()) {
		return
	}
	WriteJSON(w, r, http.StatusOK, m)
}

// recording is GET /cases/{id}/recordings/{rid}/audio: one recording of the
// case's calls as audio/wav, with ranges (players seek and Chromium asks for
// ranges), each request in the audit log before a byte is served. The file is
// opened only inside RecordingsDir (a forged call.recording_saved cannot point
// it at another file).
func (h *superviseHandlers) recording(w http.ResponseWriter, r *http.Request) {
	c, ok := h.caseFor(w, r)
	if !ok {
		return
	}
	m, err := h.Boards.Media(r.Context(), c.ID())
	if err != nil {
		problem.Internal(w, r, err)
		return
	}
	rid := r.PathValue("rid")
	var rec *store.CaseRecording
	for i := range m.Recordings {
		if m.Recordings[i].RecordingID == rid {
			rec = &m.Recordings[i]
		}
	}
	if rec == nil {
		problem.NotFound(w, r, "no such recording in this case")
		return
	}
	f, fi, ok := openStored(w, r, h.RecordingsDir, rec.URI, "recording")
	if !ok {
		return
	}
	defer f.Close()
	if !h.s.auditOrFail(w, r, access.ActionRead, "recording", c.ID()+"/"+rid) {
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", `inline; filename="`+rid+`.wav"`)
	w.Header().Set("X-Recording-Duration-Ms", strconv.FormatInt(rec.DurationMS, 10))
	http.ServeContent(w, r, rid+".wav", fi.ModTime(), f)
}
