package domain

import (
	"errors"
	"testing"
)

func TestNewUnit(t *testing.T) {
	tests := []struct {
		name string
		u    Unit
		ok   bool
	}{
		{"center", unitCenter, true},
		{"department", unitD1, true},
		{"sub-unit without duty line", unitD12, true},
		{"center with parent", Unit{ID: "C", Name: "中心", Level: LevelCenter, ParentID: "X"}, false},
		{"department without parent", Unit{ID: "D", Name: "部门", Level: LevelDepartment}, false},
		{"own parent", Unit{ID: "D", Name: "部门", Level: LevelDepartment, ParentID: "D"}, false},
		{"level 4", Unit{ID: "D", Name: "部门", Level: 4, ParentID: "C"}, false},
		{"level 0", Unit{ID: "D", Name: "部门", Level: 0, ParentID: "C"}, false},
		{"no name", Unit{ID: "D", Level: LevelDepartment, ParentID: "C"}, false},
		{"bad id", Unit{ID: "D 1", Name: "部门", Level: LevelDepartment, ParentID: "C"}, false},
		{"bad duty line", Unit{ID: "D", Name: "部门", Level: LevelDepartment, ParentID: "C", DutyLine: "PJSIP/a b"}, false},
	}
	for _, tt := range tests {
		_, err := NewUnit(tt.u.ID, tt.u.Name, tt.u.Level, tt.u.ParentID, tt.u.DutyLine)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: want ErrInvalid, got %v", tt.name, err)
		}
	}
}

func TestNewUnitTreeLevels(t *testing.T) {
	tests := []struct {
		name  string
		units []Unit
		ok    bool
	}{
		{"full network", []Unit{unitCenter, unitD1, unitD11, unitD2}, true},
		{"order does not matter", []Unit{unitD11, unitD1, unitCenter}, true},
		{"missing parent", []Unit{unitCenter, unitD11}, false},
		{"level 3 under the center", []Unit{unitCenter, {ID: "S", Name: "x", Level: LevelSubUnit, ParentID: "C"}}, false},
		{"level 2 under level 2", []Unit{unitCenter, unitD1, {ID: "S", Name: "x", Level: LevelDepartment, ParentID: "D1"}}, false},
		{"level 3 under level 3", []Unit{unitCenter, unitD1, unitD11, {ID: "S", Name: "x", Level: LevelSubUnit, ParentID: "D1-1"}}, false},
		{"duplicate", []Unit{unitCenter, unitD1, unitD1}, false},
	}
	for _, tt := range tests {
		_, err := NewUnitTree(tt.units...)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestIsSelfOrAncestor(t *testing.T) {
	tr := tree(t)
	tests := []struct {
		a, b string
		want bool
	}{
		{"D1", "D1", true},
		{"D1", "D1-1", true},
		{"C", "D1-1", true},
		{"C", "D2", true},
		{"D1-1", "D1", false}, // a child does not see its parent's cases
		{"D1", "D2-1", false},
		{"D1-1", "D1-2", false}, // nor its siblings'
		{"D2", "D1", false},
		{"D1", "nope", false},
		{"nope", "nope", false}, // unknown units see nothing, not even "themselves"
	}
	for _, tt := range tests {
		if got := tr.IsSelfOrAncestor(tt.a, tt.b); got != tt.want {
			t.Errorf("IsSelfOrAncestor(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	kids := tr.Children("D1")
	if len(kids) != 2 || kids[0].ID != "D1-1" || kids[1].ID != "D1-2" {
		t.Errorf("Children(D1) = %v", kids)
	}
}
