package domain

import (
	"encoding/json"
	"strings"
	"testing"
)

// protectedCase builds a case in StateAccepted with everything that could leak
// the caller: caller fields, linked calls, a recording, a voicemail, a fax, a
// callback call, and a document the unit added itself.
func protectedCase(t *testing.T, cat Category, conf Confidentiality) *fx {
	t.Helper()
	r := registration()
	r.Category, r.Confidentiality = cat, conf
	f := newFxWith(t, r)
	f.must(f.c.LinkCall(system, f.tick(), "call-caller-1"))
	f.must(f.c.AttachMaterial(system, f.tick(), MaterialRef{Kind: MaterialRecording, Ref: "rec/call-caller-1.wav"}))
	f.must(f.c.AttachMaterial(agent, f.tick(), MaterialRef{Kind: MaterialVoicemail, Ref: "vm/13800138000.wav"}))
	f.must(f.c.AttachMaterial(system, f.tick(), MaterialRef{Kind: MaterialFax, Ref: "fax/from-13800138000.tiff"}))
	f.transfer()
	f.must(f.c.Accept(f.lead(), f.tick(), ""))
	f.must(f.c.RecordRepeat(agent, f.tick(), "call-caller-2", ""))
	f.must(f.c.AttachMaterial(f.lead(), f.tick(), MaterialRef{Kind: MaterialDocument, Ref: "docs/site-visit.pdf"}))
	return f
}

func TestViewForRedaction(t *testing.T) {
	leaks := []string{"张三", "东区第一中学", "13800138000", "东区人民路1号", "call-caller-1", "call-caller-2", "rec/call-caller-1.wav", "4711"}
	tests := []struct {
		name     string
		cat      Category
		conf     Confidentiality
		viewer   Actor
		redacted bool
	}{
		{"report, unit", CategoryReport, ConfidentialityNone, unitActor(unitD1), true},
		{"report, assisting unit", CategoryReport, ConfidentialityNone, unitActor(unitD2), true},
		{"confidential complaint, unit", CategoryComplaint, ConfidentialityConfidential, unitActor(unitD1), true},
		{"confidential inquiry, unit", CategoryInquiry, ConfidentialityConfidential, unitActor(unitD1), true},
		{"report, agent", CategoryReport, ConfidentialityNone, agent, false},
		{"report, supervisor", CategoryReport, ConfidentialityConfidential, supervisor, false},
		// IT administers the center, it does not handle callers: identity only
		// through an audited reveal (ViewRevealed).
		{"report, admin", CategoryReport, ConfidentialityNone, admin, true},
		{"ordinary complaint, admin", CategoryComplaint, ConfidentialityNone, admin, false},
		{"report, system", CategoryReport, ConfidentialityNone, system, false},
		{"report, unknown role", CategoryReport, ConfidentialityNone, Actor{ID: "x", Role: "public"}, true},
		{"report, malformed agent", CategoryReport, ConfidentialityNone, Actor{Role: RoleAgent}, true},
		{"ordinary complaint, unit", CategoryComplaint, ConfidentialityNone, unitActor(unitD1), false},
		{"ordinary help, unit", CategoryHelp, ConfidentialityNone, unitActor(unitD1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := protectedCase(t, tt.cat, tt.conf)
			v := f.c.ViewFor(tt.viewer)
			raw, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if v.CallerRedacted != tt.redacted {
				t.Errorf("CallerRedacted = %v, want %v", v.CallerRedacted, tt.redacted)
			}
			if tt.redacted {
				for _, s := range leaks {
					if strings.Contains(string(raw), s) {
						t.Errorf("redacted view leaks %q", s)
					}
				}
				if v.Caller != (Caller{}) || len(v.CallIDs) != 0 {
					t.Errorf("caller %+v calls %v", v.Caller, v.CallIDs)
				}
				if len(v.Materials) != 1 || v.Materials[0].Ref != "docs/site-visit.pdf" {
					t.Errorf("materials %+v, want only the unit's own document", v.Materials)
				}
				// Redaction hides identity, not the work.
				if v.Content == "" || v.Lead == nil || len(v.History) != len(f.c.History()) {
					t.Errorf("redaction removed the case itself")
				}
				return
			}
			if v.Caller != registration().Caller {
				t.Errorf("caller %+v, want it whole", v.Caller)
			}
			if len(v.Materials) != 4 || len(v.CallIDs) != 2 {
				t.Errorf("materials %d calls %d", len(v.Materials), len(v.CallIDs))
			}
			wantCode := ""
			if tt.viewer.seesEverything() {
				wantCode = "4711"
			}
			if v.QueryCode != wantCode {
				t.Errorf("query code %q, want %q (units never need it)", v.QueryCode, wantCode)
			}
		})
	}
}

func TestViewRevealed(t *testing.T) {
	f := protectedCase(t, CategoryReport, ConfidentialityNone)
	if v := f.c.ViewRevealed(admin); v.CallerRedacted || v.Caller != registration().Caller || len(v.CallIDs) != 2 {
		t.Errorf("revealed to the admin: %+v", v.Caller)
	}
	for _, viewer := range []Actor{unitActor(unitD1), {Role: RoleAdmin}} {
		if v := f.c.ViewRevealed(viewer); !v.CallerRedacted {
			t.Errorf("revealed to %+v", viewer)
		}
	}
	if !f.c.VisibleTo(admin, nil) {
		t.Error("the admin no longer sees the case at all")
	}
}

func TestViewForRedactsCallbackCall(t *testing.T) {
	r := registration()
	r.Category = CategoryReport
	f := newFxWith(t, r).reach(StateCompleted)
	f.must(f.c.RecordCallback(system, f.tick(), Callback{Satisfaction: Satisfied, CallID: "callback-13800138000"}))
	raw, _ := json.Marshal(f.c.ViewFor(unitActor(unitD1)))
	if strings.Contains(string(raw), "callback-13800138000") {
		t.Errorf("callback call ID leaks to the unit")
	}
	if v := f.c.ViewFor(unitActor(unitD1)); v.Callback == nil || v.Callback.Satisfaction != Satisfied {
		t.Errorf("the unit must still see the satisfaction result")
	}
}

func TestVisibleTo(t *testing.T) {
	tr := tree(t)
	f := newFx(t).reach(StateAccepted) // lead D1, assisting D2
	tests := []struct {
		viewer Actor
		want   bool
	}{
		{agent, true},
		{supervisor, true},
		{admin, true},
		{system, true},
		{unitActor(unitD1), true},
		{unitActor(unitD2), true},   // assisting
		{unitActor(unitD11), false}, // a sub-unit does not see its parent's case
		{unitActor(unitD21), false},
		{Actor{ID: "x", Role: "public"}, false},
		{Actor{ID: "u", Role: RoleUnit}, false},
	}
	for _, tt := range tests {
		if got := f.c.VisibleTo(tt.viewer, tr); got != tt.want {
			t.Errorf("VisibleTo(%+v) = %v, want %v", tt.viewer, got, tt.want)
		}
	}
	f.must(f.c.PassDown(f.lead(), f.tick(), unitD11, ""))
	for _, u := range []Unit{unitD1, unitD11, unitD2} {
		if !f.c.VisibleTo(unitActor(u), tr) {
			t.Errorf("after pass-down %s should see the case", u.ID)
		}
	}
	if f.c.VisibleTo(unitActor(unitD12), tr) {
		t.Errorf("a sibling sub-unit sees the case")
	}
	if newFx(t).c.VisibleTo(unitActor(unitD1), tr) {
		t.Errorf("an untransferred case is visible to a unit")
	}
}
