package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

// CalendarStore is what the calendar routes need from the notice store.
type CalendarStore interface {
	Import(ctx context.Context, in store.ImportInput) (store.CalendarImport, error)
	Imports(ctx context.Context, year int) ([]store.CalendarImport, error)
}

// CalendarRoutes wires the working-day calendar routes: anyone signed in reads
// a year; an admin imports a notice (the same as hotlinectl calendar import).
type CalendarRoutes struct {
	Store  CalendarStore
	Source *calendar.Source
	// Applied is called after an import is stored, so the calendar in force is
	// rebuilt at once instead of at the next pass.
	Applied func()
}

// MountCalendar registers the calendar routes.
func (s *Server) MountCalendar(h CalendarRoutes) {
	s.Mount(func(mux *http.ServeMux) {
		mux.HandleFunc("GET "+Prefix+"/calendar/{year}", s.calendarYear(h))
		mux.HandleFunc("POST "+Prefix+"/calendar/notices", s.importNotice(h))
	})
}

// CalendarYear is one year of the calendar in force, as the API shows it.
type CalendarYear struct {
	Year int `json:"year"`
	// Official: the State Council's notice is loaded; otherwise the days off
	// are provisional, derived from the statute, and deadlines counted on them
	// are marked deadline_provisional.
	Official       bool                 `json:"official"`
	DaysOff        []calendar.NoticeDay `json:"days_off"`
	WorkedWeekends []calendar.NoticeDay `json:"worked_weekends"`
	Imports        []CalendarImport     `json:"imports"`
}

// CalendarImport is a stored import without its days.
type CalendarImport struct {
	ID         int64     `json:"id"`
	Year       int       `json:"year"`
	Format     string    `json:"format"`
	FileName   string    `json:"file_name"`
	SHA256     string    `json:"sha256"`
	ImportedBy string    `json:"imported_by"`
	ImportedAt time.Time `json:"imported_at"`
	Days       int       `json:"days"`
}

func importOut(c store.CalendarImport) CalendarImport {
	return CalendarImport{ID: c.ID, Year: c.Year, Format: c.Format, FileName: c.FileName, SHA256: c.SHA256,
		ImportedBy: c.ImportedBy, ImportedAt: c.ImportedAt, Days: len(c.Notice.Days)}
}

func (s *Server) calendarYear(h CalendarRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := access.Check(w, r, domain.RoleAgent, domain.RoleSupervisor, domain.RoleAdmin, domain.RoleUnit); !ok {
			return
		}
		year, err := strconv.Atoi(r.PathValue("year"))
		if err != nil || year < calendar.MinYear || year > calendar.MaxYear {
			problem.BadRequest(w, r, "", problem.Param("year", "a year from 1950 to 2099"))
			return
		}
		n, official, err := h.Source.Current().Notice(year)
		if err != nil {
			problem.Error(w, r, err)
			return
		}
		imports, err := h.Store.Imports(r.Context(), year)
		if err != nil {
			problem.Error(w, r, err)
			return
		}
		out := CalendarYear{Year: year, Official: official, DaysOff: n.DaysOff(), WorkedWeekends: n.WorkedWeekends(),
			Imports: make([]CalendarImport, 0, len(imports))}
		for _, c := range imports {
			out.Imports = append(out.Imports, importOut(c))
		}
		WriteJSON(w, r, http.StatusOK, out)
	}
}

// importNotice takes the file itself as the body (application/json for the
// holiday-cn format, text/plain for a list); ?name= names it in errors and
// in the record.
func (s *Server) importNotice(h CalendarRoutes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.Check(w, r, domain.RoleAdmin)
		if !ok {
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				problem.Error(w, r, err)
				return
			}
			problem.BadRequest(w, r, "could not read the body: "+err.Error())
			return
		}
		name := path.Base(r.URL.Query().Get("name"))
		if name == "." || name == "/" {
			name = "upload"
		}
		n, err := calendar.ParseImport(name, raw)
		if err != nil {
			problem.Unprocessable(w, r, err.Error(), problem.Field("body", err.Error()))
			return
		}
		by := p.Name
		if by == "" {
			by = p.UserID
		}
		rec, err := h.Store.Import(r.Context(), store.ImportInput{Notice: n, Format: calendar.DetectFormat(raw),
			FileName: name, Raw: raw, By: by + " (" + p.UserID + ")"})
		var conflict *store.ImportConflictError
		switch {
		case errors.As(err, &conflict):
			problem.Unprocessable(w, r, err.Error(), problem.Field("body", conflict.Error()))
			return
		case err != nil:
			problem.Error(w, r, err)
			return
		}
		s.audit(r, access.ActionCreate, "calendar_notice", strconv.FormatInt(rec.ID, 10))
		if h.Applied != nil {
			h.Applied()
		}
		w.Header().Set("Location", Prefix+"/calendar/"+strconv.Itoa(rec.Year))
		WriteJSON(w, r, http.StatusCreated, importOut(rec))
	}
}
