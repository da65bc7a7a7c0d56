package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func unit(id, name string, level domain.Level, parent, duty string) store.Unit {
	return store.Unit{Unit: domain.Unit{ID: id, Name: name, Level: level, ParentID: parent, DutyLine: duty}, Active: true}
}

const demoCSV = `# demo directory
id,name,level,parent_id,duty_line
center,12345中心,1,,
dongcheng,东城区,2,center,PJSIP/8801@dutylines
dc-andingmen,安定门街道办事处,3,dongcheng,PJSIP/8811@dutylines
xicheng,西城区,2,center,PJSIP/8802@dutylines
zhujian,市住建局,2,center,PJSIP/8803@dutylines
`

func TestCheckDutyLine(t *testing.T) {
	trunks := []string{"dutylines"}
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"PJSIP/8801@dutylines", true},
		{"PJSIP/+8601012345678@dutylines", true},
		{"PJSIP/8801@carrier", false},           // a trunk not meant for duty lines
		{"PJSIP/1001", false},                   // a bare endpoint: an agent's softphone
		{"PJSIP/1001@1001", false},              // endpoint named by digits
		{"PJSIP/8801@dutylines&PJSIP/9", false}, // a second channel
		{"PJSIP/8801@dutylines,30,tT", false},   // dial options
		{"Local/8801@default", false},
		{"SIP/8801@dutylines", false},
		{"PJSIP/88a1@dutylines", false},
		{"PJSIP/8801@dutylines ", false},
		{"pjsip/8801@dutylines", false},
	}
	for _, tt := range tests {
		err := store.CheckDutyLine(tt.in, trunks)
		if (err == nil) != tt.ok {
			t.Errorf("CheckDutyLine(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("CheckDutyLine(%q) = %v, want ErrInvalid", tt.in, err)
		}
	}
}

func TestUnitsCreateGetUpdate(t *testing.T) {
	ctx := context.Background()
	units := store.NewUnits(pgtest.NewPool(t), nil)
	for _, u := range []store.Unit{
		unit("center", "12345中心", 1, "", ""),
		unit("dongcheng", "东城区", 2, "center", "PJSIP/8801@dutylines"),
		unit("dc-1", "安定门街道", 3, "dongcheng", ""),
	} {
		if _, err := units.Create(ctx, u); err != nil {
			t.Fatalf("create %s: %v", u.ID, err)
		}
	}
	got, err := units.Get(ctx, "dc-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ParentID != "dongcheng" || got.Level != 3 || !got.Active || got.DutyLine != "" {
		t.Fatalf("got %+v", got)
	}

	upd := unit("dongcheng", "东城区人民政府", 2, "center", "PJSIP/8899@dutylines")
	upd.Active = false
	got, err = units.Update(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "东城区人民政府" || got.DutyLine != "PJSIP/8899@dutylines" || got.Active {
		t.Fatalf("after update %+v", got)
	}

	refusals := []struct {
		name string
		op   func() error
		want error
	}{
		{"duplicate id", func() error { _, err := units.Create(ctx, unit("center", "x", 1, "", "")); return err }, store.ErrConflict},
		{"missing parent", func() error { _, err := units.Create(ctx, unit("x", "x", 2, "nope", "")); return err }, domain.ErrInvalid},
		{"parent two levels up", func() error { _, err := units.Create(ctx, unit("x", "x", 3, "center", "")); return err }, domain.ErrInvalid},
		{"bad duty line", func() error { _, err := units.Create(ctx, unit("x", "x", 2, "center", "PJSIP/1001")); return err }, domain.ErrInvalid},
		{"update unknown", func() error { _, err := units.Update(ctx, unit("nope", "x", 2, "center", "")); return err }, store.ErrNotFound},
		{"level change with sub-units", func() error {
			_, err := units.Update(ctx, unit("dongcheng", "东城区", 3, "center", ""))
			return err
		}, domain.ErrInvalid}, // parent level is checked first
		{"get unknown", func() error { _, err := units.Get(ctx, "nope"); return err }, store.ErrNotFound},
	}
	for _, r := range refusals {
		if err := r.op(); !errors.Is(err, r.want) {
			t.Errorf("%s: err = %v, want %v", r.name, err, r.want)
		}
	}

	// A level change that keeps the parent rule but strands sub-units is a conflict.
	if _, err := units.Create(ctx, unit("center2", "第二中心", 1, "", "")); err != nil {
		t.Fatal(err)
	}
	_, err = units.Update(ctx, unit("dongcheng", "东城区", 1, "", ""))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("level change with sub-units: %v, want ErrConflict", err)
	}
}

func TestUnitsSchemaBackstop(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(ctx, `INSERT INTO units (id, name, level) VALUES ('c', '中心', 1)`); err != nil {
		t.Fatal(err)
	}
	bad := []struct{ name, sql string }{
		{"level 3 under center", `INSERT INTO units (id, name, level, parent_id) VALUES ('x', 'x', 3, 'c')`},
		{"level 2 without parent", `INSERT INTO units (id, name, level) VALUES ('x', 'x', 2)`},
		{"level 4", `INSERT INTO units (id, name, level, parent_id) VALUES ('x', 'x', 4, 'c')`},
		{"free dial string", `INSERT INTO units (id, name, level, parent_id, duty_line) VALUES ('x', 'x', 2, 'c', 'Local/s@default')`},
		{"blank name", `INSERT INTO units (id, name, level, parent_id) VALUES ('x', ' ', 2, 'c')`},
		{"unit user without unit", `INSERT INTO users (id, name, role) VALUES (gen_random_uuid(), 'x', 'unit')`},
		{"agent without staff number", `INSERT INTO users (id, name, role) VALUES (gen_random_uuid(), 'x', 'agent')`},
		{"supervisor with unit", `INSERT INTO users (id, name, role, unit_id) VALUES (gen_random_uuid(), 'x', 'supervisor', 'c')`},
	}
	for _, b := range bad {
		if _, err := pool.Exec(ctx, b.sql); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
}

func TestUnitsListFilters(t *testing.T) {
	ctx := context.Background()
	units := store.NewUnits(pgtest.NewPool(t), nil)
	if _, err := units.Import(ctx, strings.NewReader(demoCSV)); err != nil {
		t.Fatal(err)
	}
	inactive := false
	tests := []struct {
		name string
		f    store.UnitFilter
		want []string
	}{
		{"all in order", store.UnitFilter{}, []string{"center", "dongcheng", "xicheng", "zhujian", "dc-andingmen"}},
		{"level 2", store.UnitFilter{Level: 2}, []string{"dongcheng", "xicheng", "zhujian"}},
		{"children of center", store.UnitFilter{ParentID: "center"}, []string{"dongcheng", "xicheng", "zhujian"}},
		{"subtree of dongcheng", store.UnitFilter{Under: "dongcheng"}, []string{"dongcheng", "dc-andingmen"}},
		{"subtree of center", store.UnitFilter{Under: "center"}, []string{"center", "dongcheng", "xicheng", "zhujian", "dc-andingmen"}},
		{"page after dongcheng", store.UnitFilter{After: &store.UnitKey{Level: 2, ID: "dongcheng"}, Limit: 2}, []string{"xicheng", "zhujian"}},
		{"inactive", store.UnitFilter{Active: &inactive}, nil},
	}
	for _, tt := range tests {
		got, err := units.List(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var ids []string
		for _, u := range got {
			ids = append(ids, u.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v, want %v", tt.name, ids, tt.want)
		}
	}
}

func TestUnitsImport(t *testing.T) {
	ctx := context.Background()
	units := store.NewUnits(pgtest.NewPool(t), nil)

	res, err := units.Import(ctx, strings.NewReader("\uFEFF"+demoCSV))
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ImportResult{Inserted: 5}) {
		t.Fatalf("first import %+v", res)
	}
	res, err = units.Import(ctx, strings.NewReader(demoCSV))
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ImportResult{Unchanged: 5}) {
		t.Fatalf("re-import %+v, want all unchanged", res)
	}
	// A changed row, a row whose parent comes later in the file, no header.
	res, err = units.Import(ctx, strings.NewReader(
		"xc-1,新街口街道,3,xicheng,PJSIP/8821@dutylines\n"+
			"xicheng,西城区人民政府,2,center,PJSIP/8802@dutylines\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res != (store.ImportResult{Inserted: 1, Updated: 1}) {
		t.Fatalf("partial import %+v", res)
	}
	if u, _ := units.Get(ctx, "xicheng"); u.Name != "西城区人民政府" {
		t.Fatalf("xicheng not updated: %+v", u)
	}
}

func TestUnitsImportRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	units := store.NewUnits(pool, nil)
	if _, err := units.Import(ctx, strings.NewReader(demoCSV)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		file  string
		lines []int
		want  string
	}{
		{"bad duty line", "id,name,level,parent_id,duty_line\nok1,好,2,center,\nbad,坏,2,center,PJSIP/1001\n", []int{3}, "duty_line"},
		{"level not a number", "a,甲,two,center,\n", []int{1}, "level"},
		{"wrong field count", "a,甲,2,center\nb,乙,2,center,,extra\n", []int{1, 2}, "fields"},
		{"duplicate id", "a,甲,2,center,\nb,乙,2,center,\na,甲,2,center,\n", []int{3}, "already on line 1"},
		{"unknown parent", "a,甲,2,center,\nb,乙,3,nowhere,\n", []int{2}, "no such unit"},
		{"parent level wrong", "a,甲,3,center,\n", []int{1}, "level-2 parent"},
		{"parent level wrong in file", "a,甲,2,center,\nb,乙,3,a,\nc,丙,3,b,\n", []int{3}, "level-2 parent"},
		{"bad header", "id,name,level,duty_line,parent_id\n", []int{1}, "header"},
		{"comment lines keep numbering", "# c\n\n# c\nbad id,x,2,center,\n", []int{4}, "id"},
		{"bad quoting", "a,\"甲,2,center,\n", []int{1}, "quote"},
		{"stored sub-units stranded", "dongcheng,东城区,1,,\n", []int{1}, "sub-units"},
	}
	for _, tt := range tests {
		_, err := units.Import(ctx, strings.NewReader(tt.file))
		var ie *store.ImportError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want *ImportError", tt.name, err)
			continue
		}
		if !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: not ErrInvalid", tt.name)
		}
		var lines []int
		for _, l := range ie.Lines {
			lines = append(lines, l.Line)
		}
		if len(lines) != len(tt.lines) || !equalInts(lines, tt.lines) {
			t.Errorf("%s: lines %v, want %v (%v)", tt.name, lines, tt.lines, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %q does not mention %q", tt.name, err, tt.want)
		}
	}
	// All or nothing: the good rows of the refused files were not written.
	all, err := units.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d units after refused imports, want the 5 of the first", len(all))
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}
