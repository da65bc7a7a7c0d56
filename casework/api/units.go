package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
)

func (s *Server) unitRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix+"/units", s.listUnits)
	mux.HandleFunc("GET "+Prefix+"/units/{id}", s.getUnit)
	mux.HandleFunc("POST "+Prefix+"/units", s.createUnit)
	mux.HandleFunc("PUT "+Prefix+"/units/{id}", s.updateUnit)
}

// Unit is a unit as the API shows it.
type Unit struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Level     int       `json:"level"`
	ParentID  string    `json:"parent_id,omitempty"`
	DutyLine  string    `json:"duty_line,omitempty"`
	Active    bool      `json:"active"`
	UpdatedAt time.Time `json:"updated_at"`
	Children  []*Unit   `json:"children,omitempty"` // ?format=tree only
}

func unitOut(u store.Unit) *Unit {
	return &Unit{ID: u.ID, Name: u.Name, Level: int(u.Level), ParentID: u.ParentID, DutyLine: u.DutyLine,
		Active: u.Active, UpdatedAt: u.UpdatedAt}
}

// unitIn is the body of POST and PUT /units. PUT replaces the whole unit; an
// omitted active means true. id is required by POST and, if given, must match the
// URL in PUT.
type unitIn struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Level    int    `json:"level"`
	ParentID string `json:"parent_id"`
	DutyLine string `json:"duty_line"`
	Active   *bool  `json:"active"`
}

func (in unitIn) unit() store.Unit {
	active := in.Active == nil || *in.Active
	return store.Unit{Unit: domain.Unit{ID: in.ID, Name: in.Name, Level: domain.Level(in.Level),
		ParentID: in.ParentID, DutyLine: in.DutyLine}, Active: active}
}

// listUnits: everyone signed in may read the directory (agents pick transfer
// targets and duty lines from it); a unit user sees only its own subtree.
func (s *Server) listUnits(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var f store.UnitFilter
	if !access.SeesAllUnits(p) {
		if p.UnitID == "" {
			// Never let an empty subtree root mean "no filter".
			problem.Forbidden(w, r, "this user belongs to no unit")
			return
		}
		f.Under = p.UnitID
	}
	switch q.Get("format") {
	case "tree":
		// The whole visible tree in one answer: the directory is small and a
		// tree cut by a page boundary is of no use.
		if !OnlyParams(w, r, "format") {
			return
		}
		units, err := s.units.List(r.Context(), f)
		if err != nil {
			problem.Error(w, r, err)
			return
		}
		WriteJSON(w, r, http.StatusOK, List[*Unit]{Items: unitTree(units)})
		return
	case "", "flat":
	default:
		problem.BadRequest(w, r, "bad format", problem.Param("format", "want flat or tree"))
		return
	}
	if !OnlyParams(w, r, "format", "level", "parent_id", "active", "limit", "cursor") {
		return
	}
	if v := q.Get("level"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !domain.Level(n).Valid() {
			problem.BadRequest(w, r, "bad level", problem.Param("level", "want 1, 2 or 3"))
			return
		}
		f.Level = domain.Level(n)
	}
	f.ParentID = q.Get("parent_id")
	if v := q.Get("active"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problem.BadRequest(w, r, "bad active", problem.Param("active", "want true or false"))
			return
		}
		f.Active = &b
	}
	var after store.UnitKey
	page, ok := ParsePage(w, r, &after)
	if !ok {
		return
	}
	if page.HasCursor {
		f.After = &after
	}
	f.Limit = page.Fetch()
	units, err := s.units.List(r.Context(), f)
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	out := make([]*Unit, len(units))
	for i, u := range units {
		out[i] = unitOut(u)
	}
	list, err := NewList(out, page, func(u *Unit) any { return store.UnitKey{Level: domain.Level(u.Level), ID: u.ID} })
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, list)
}

// unitTree nests units (ordered parents first) under their parents; units whose
// parent is not in the list are roots.
func unitTree(units []store.Unit) []*Unit {
	byID := make(map[string]*Unit, len(units))
	roots := []*Unit{}
	for _, u := range units {
		n := unitOut(u)
		byID[n.ID] = n
		if parent, ok := byID[n.ParentID]; ok {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}

func (s *Server) getUnit(w http.ResponseWriter, r *http.Request) {
	p, ok := principal(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	visible, err := s.dir.CanSeeUnit(r.Context(), p, id)
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	if !visible {
		// The same answer as for a unit that does not exist: a unit user learns
		// nothing about the rest of the network.
		problem.NotFound(w, r, "no unit "+strconv.Quote(id))
		return
	}
	u, err := s.units.Get(r.Context(), id)
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	WriteJSON(w, r, http.StatusOK, unitOut(u))
}

func (s *Server) createUnit(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
		return
	}
	var in unitIn
	if !DecodeJSON(w, r, &in) {
		return
	}
	u, err := s.units.Create(r.Context(), in.unit())
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	s.dir.Invalidate()
	s.audit(r, access.ActionCreate, "unit", u.ID)
	w.Header().Set("Location", Prefix+"/units/"+u.ID)
	WriteJSON(w, r, http.StatusCreated, unitOut(u))
}

func (s *Server) updateUnit(w http.ResponseWriter, r *http.Request) {
	if _, ok := access.Check(w, r, domain.RoleAdmin); !ok {
		return
	}
	var in unitIn
	if !DecodeJSON(w, r, &in) {
		return
	}
	id := r.PathValue("id")
	if in.ID != "" && in.ID != id {
		problem.Unprocessable(w, r, "", problem.Field("id", "does not match the unit in the URL; unit IDs cannot change"))
		return
	}
	in.ID = id
	u, err := s.units.Update(r.Context(), in.unit())
	if err != nil {
		problem.Error(w, r, err)
		return
	}
	s.dir.Invalidate()
	s.audit(r, access.ActionUpdate, "unit", u.ID)
	WriteJSON(w, r, http.StatusOK, unitOut(u))
}
