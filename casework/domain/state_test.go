package domain

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestTableIsWellFormed(t *testing.T) {
	for _, s := range States() {
		if _, ok := transitions[s]; !ok {
			t.Errorf("state %s has no row in the table", s)
		}
	}
	for from, row := range transitions {
		if !from.Valid() {
			t.Errorf("row for unknown state %q", from)
		}
		for a, to := range row {
			if !a.Valid() || !to.Valid() {
				t.Errorf("%s --%s--> %s: unknown action or state", from, a, to)
			}
			if a == ActionRegister {
				t.Errorf("register is NewCase and must not appear in the table")
			}
		}
	}
	for _, a := range Actions() {
		if len(AllowedRoles(a)) == 0 {
			t.Errorf("action %s has no permitted role", a)
		}
		if a.Label() == "" {
			t.Errorf("action %s has no label", a)
		}
	}
	if len(transitions[StateArchived]) != 0 {
		t.Errorf("archived must be sealed, has %v", transitions[StateArchived])
	}
}

func TestEveryStateIsReachableAndCanEnd(t *testing.T) {
	reach := map[State]bool{StateRegistered: true}
	for changed := true; changed; {
		changed = false
		for from := range reach {
			for _, to := range transitions[from] {
				if !reach[to] {
					reach[to], changed = true, true
				}
			}
		}
	}
	for _, s := range States() {
		if !reach[s] {
			t.Errorf("state %s is unreachable", s)
		}
	}
	// Every state but archived can eventually reach archived.
	ends := map[State]bool{StateArchived: true}
	for changed := true; changed; {
		changed = false
		for from, row := range transitions {
			for _, to := range row {
				if ends[to] && !ends[from] {
					ends[from], changed = true, true
				}
			}
		}
	}
	for _, s := range States() {
		if !ends[s] {
			t.Errorf("state %s can never be archived", s)
		}
	}
}

// TestTransitionMatrix runs every action in every state with a permitted actor and
// valid input: allowed pairs must land in the table's target state and append one
// entry; every other pair must fail with *TransitionError and change nothing.
func TestTransitionMatrix(t *testing.T) {
	for _, s := range States() {
		for _, a := range Actions() {
			if a == ActionRegister {
				continue
			}
			t.Run(string(s)+"/"+string(a), func(t *testing.T) {
				f := newFx(t).reach(s).prepare(a)
				before := f.c.Snapshot()
				want, allowed := Next(s, a)
				err := f.invoke(a, f.actorFor(a))
				if !allowed {
					var te *TransitionError
					if !errors.As(err, &te) || te.From != s || te.Action != a {
						t.Fatalf("got %v, want *TransitionError{%s, %s}", err, s, a)
					}
					if !errors.Is(err, ErrInvalidTransition) {
						t.Errorf("errors.Is(ErrInvalidTransition) is false")
					}
					if after := f.c.Snapshot(); !reflect.DeepEqual(before, after) {
						t.Errorf("refused action changed the case")
					}
					return
				}
				if err != nil {
					t.Fatalf("allowed action failed: %v", err)
				}
				if got := f.c.State(); got != want {
					t.Fatalf("state %s, want %s", got, want)
				}
				h := f.c.History()
				last := h[len(h)-1]
				if last.Action != a || last.From != s || last.To != want || last.Seq != len(h) {
					t.Errorf("last entry %+v does not record %s --%s--> %s", last, s, a, want)
				}
				if len(h) != len(before.History)+1 || len(f.c.Pending()) != len(h) {
					t.Errorf("want exactly one new, pending entry")
				}
			})
		}
	}
}

// TestRoleMatrix runs every action, in the first state that allows it, as every
// role: roles outside the permissions table are refused with *ForbiddenError;
// permitted roles get through.
func TestRoleMatrix(t *testing.T) {
	for _, a := range Actions() {
		if a == ActionRegister {
			continue
		}
		// Prefer StateAccepted, where the case has a lead unit to act as.
		state := StateAccepted
		if _, ok := Next(state, a); !ok {
			for _, s := range States() {
				if _, ok := Next(s, a); ok {
					state = s
					break
				}
			}
		}
		for _, r := range Roles() {
			t.Run(string(a)+"/"+string(r), func(t *testing.T) {
				f := newFx(t).reach(state).prepare(a)
				by := f.actorOfRole(r)
				before := f.c.Snapshot()
				err := f.invoke(a, by)
				if slices.Contains(AllowedRoles(a), r) {
					if err != nil {
						t.Fatalf("permitted role refused: %v", err)
					}
					return
				}
				var fe *ForbiddenError
				if !errors.As(err, &fe) || fe.Action != a || fe.Actor != by || !errors.Is(err, ErrForbidden) {
					t.Fatalf("got %v, want *ForbiddenError", err)
				}
				if after := f.c.Snapshot(); !reflect.DeepEqual(before, after) {
					t.Errorf("refused action changed the case")
				}
			})
		}
	}
}

func TestRegisterRoles(t *testing.T) {
	for _, r := range Roles() {
		by := (&fx{t: t}).actorOfRole(r)
		_, err := NewCase("case-1", registration(), by, t0)
		if RoleMay(r, ActionRegister) != (err == nil) {
			t.Errorf("%s: register err = %v", r, err)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("%s: want ErrForbidden, got %v", r, err)
		}
	}
}

// TestUnitScope: a unit acts only on cases it leads; assisting units may add
// material but not sign, reply or ask for time on the lead's behalf.
func TestUnitScope(t *testing.T) {
	stranger := unitActor(unitD21)
	assisting := unitActor(unitD2)
	parent := unitActor(unitD1)
	tests := []struct {
		name   string
		state  State
		action Action
		by     Actor
		ok     bool
	}{
		{"stranger accepts", StateTransferred, ActionAccept, stranger, false},
		{"assisting accepts", StateTransferred, ActionAccept, assisting, false},
		{"stranger replies", StateAccepted, ActionReply, stranger, false},
		{"assisting replies", StateAccepted, ActionReply, assisting, false},
		{"assisting passes down", StateAccepted, ActionPassDown, assisting, false},
		{"assisting reports progress", StateAccepted, ActionReportProgress, assisting, false},
		{"assisting requests extension", StateAccepted, ActionRequestExtension, assisting, false},
		{"assisting attaches", StateAccepted, ActionAttachMaterial, assisting, true},
		{"lead attaches", StateAccepted, ActionAttachMaterial, parent, true},
		{"stranger attaches", StateAccepted, ActionAttachMaterial, stranger, false},
		{"unit attaches before transfer", StateRegistered, ActionAttachMaterial, parent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx(t).reach(tt.state)
			err := f.invoke(tt.action, tt.by)
			if tt.ok {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("want ErrForbidden, got %v", err)
			}
		})
	}

	// After passing down, the level-2 unit is no longer the lead.
	f := newFx(t).reach(StateAccepted)
	f.must(f.c.PassDown(parent, f.tick(), unitD11, ""))
	if err := f.c.Accept(parent, f.tick(), ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("former lead accepts: got %v, want ErrForbidden", err)
	}
	if err := f.c.Accept(unitActor(unitD11), f.tick(), ""); err != nil {
		t.Errorf("sub-unit accepts: %v", err)
	}
}

func TestParseStateAndAction(t *testing.T) {
	for _, s := range States() {
		if got, err := ParseState(string(s)); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
		if got, err := ParseState(s.Label()); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s.Label(), got, err)
		}
	}
	for _, a := range Actions() {
		if got, err := ParseAction(string(a)); err != nil || got != a {
			t.Errorf("ParseAction(%q) = %q, %v", a, got, err)
		}
	}
	if _, err := ParseState("lost"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseState(lost): %v", err)
	}
	if _, err := ParseAction("teleport"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseAction(teleport): %v", err)
	}
}
