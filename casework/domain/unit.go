package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Level is a unit's place in the three-level network (004 第五条).
type Level int

const (
	LevelCenter     Level = 1 // 一级平台: the hotline center
	LevelDepartment Level = 2 // 二级平台: districts, counties, city departments
	LevelSubUnit    Level = 3 // 三级平台: their subordinate offices and enterprises
)

// Valid reports whether l is one of the three levels.
func (l Level) Valid() bool { return l >= LevelCenter && l <= LevelSubUnit }

// Unit is a member of the hotline network (网络成员单位).
type Unit struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Level    Level  `json:"level"`
	ParentID string `json:"parent_id,omitempty"`
	// DutyLine is the Asterisk dial string of the 24-hour duty phone (004 第六条),
	// e.g. "PJSIP/duty-1001" or "PJSIP/055112345@trunk".
	DutyLine string `json:"duty_line,omitempty"`
}

var (
	unitIDPattern   = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$`)
	dialStrPattern  = regexp.MustCompile(`^[0-9A-Za-z/@._:+#*&,-]{1,200}$`)
	maxUnitNameRune = 100
)

// NewUnit validates and builds a Unit.
func NewUnit(id, name string, level Level, parentID, dutyLine string) (Unit, error) {
	u := Unit{ID: id, Name: name, Level: level, ParentID: parentID, DutyLine: dutyLine}
	return u, u.Validate()
}

// Validate checks what a unit can check alone; parent levels need the other units
// and are checked by NewUnitTree.
func (u Unit) Validate() error {
	if !unitIDPattern.MatchString(u.ID) {
		return invalid("unit.id", u.ID, "want 1-64 letters, digits, '_', '.' or '-'")
	}
	if err := checkText("unit.name", u.Name, maxUnitNameRune, true); err != nil {
		return err
	}
	if !u.Level.Valid() {
		return invalid("unit.level", fmt.Sprint(int(u.Level)), "want 1 (center), 2 (department) or 3 (sub-unit)")
	}
	switch {
	case u.Level == LevelCenter && u.ParentID != "":
		return invalid("unit.parent_id", u.ParentID, "the center has no parent")
	case u.Level != LevelCenter && u.ParentID == "":
		return invalid("unit.parent_id", "", fmt.Sprintf("a level-%d unit needs a parent", u.Level))
	case u.ParentID == u.ID:
		return invalid("unit.parent_id", u.ParentID, "a unit cannot be its own parent")
	case u.ParentID != "" && !unitIDPattern.MatchString(u.ParentID):
		return invalid("unit.parent_id", u.ParentID, "malformed unit ID")
	}
	if u.DutyLine != "" && !dialStrPattern.MatchString(u.DutyLine) {
		return invalid("unit.duty_line", u.DutyLine, "not a dial string")
	}
	return nil
}

// Ref is the part of a unit a case keeps: enough to apply the pass-down rule
// later without looking the unit up again.
func (u Unit) Ref() UnitRef {
	return UnitRef{ID: u.ID, Name: u.Name, Level: u.Level, ParentID: u.ParentID}
}

// UnitRef is a unit as recorded on a case at the time of assignment.
type UnitRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Level    Level  `json:"level"`
	ParentID string `json:"parent_id,omitempty"`
}

// Hierarchy answers the one question access control needs: may unit A see what
// unit B sees? A unit sees its own cases and its sub-units' (C14).
type Hierarchy interface {
	IsSelfOrAncestor(ancestorID, unitID string) bool
}

// UnitTree is a validated directory of units.
type UnitTree struct {
	units map[string]Unit
}

// NewUnitTree checks the network's shape: unique IDs, every parent present and
// exactly one level above its child. Levels strictly increasing down the tree
// also rules out cycles.
func NewUnitTree(units ...Unit) (*UnitTree, error) {
	t := &UnitTree{units: make(map[string]Unit, len(units))}
	for _, u := range units {
		if err := u.Validate(); err != nil {
			return nil, err
		}
		if _, dup := t.units[u.ID]; dup {
			return nil, invalid("unit.id", u.ID, "duplicate unit")
		}
		t.units[u.ID] = u
	}
	for _, u := range units {
		if u.Level == LevelCenter {
			continue
		}
		p, ok := t.units[u.ParentID]
		if !ok {
			return nil, invalid("unit.parent_id", u.ParentID, fmt.Sprintf("parent of %s is not in the directory", u.ID))
		}
		if p.Level != u.Level-1 {
			return nil, invalid("unit.parent_id", u.ParentID,
				fmt.Sprintf("a level-%d unit's parent must be level %d, %s is level %d", u.Level, u.Level-1, p.ID, p.Level))
		}
	}
	return t, nil
}

// Unit looks a unit up by ID.
func (t *UnitTree) Unit(id string) (Unit, bool) {
	u, ok := t.units[id]
	return u, ok
}

// Children lists the direct sub-units of id, ordered by ID.
func (t *UnitTree) Children(id string) []Unit {
	var out []Unit
	for _, u := range t.units {
		if u.ParentID == id {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b Unit) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// IsSelfOrAncestor reports whether ancestorID is unitID or one of its ancestors.
// Unknown units are related to nothing, so a stale session cannot see cases.
func (t *UnitTree) IsSelfOrAncestor(ancestorID, unitID string) bool {
	u, ok := t.units[unitID]
	if !ok {
		return false
	}
	if _, ok := t.units[ancestorID]; !ok {
		return false
	}
	// The tree has at most three levels, so the walk is at most three steps.
	for {
		if u.ID == ancestorID {
			return true
		}
		if u.ParentID == "" {
			return false
		}
		if u, ok = t.units[u.ParentID]; !ok {
			return false
		}
	}
}
