package domain

import (
	"errors"
	"testing"
	"time"
)

func TestPassDownLevelRules(t *testing.T) {
	orphan := Unit{ID: "X-1", Name: "无关单位", Level: LevelSubUnit, ParentID: "X"}
	tests := []struct {
		name string
		lead Unit   // the transfer's lead
		path []Unit // earlier pass-downs
		sub  Unit
		ok   bool
	}{
		{"level 2 to its own level 3", unitD1, nil, unitD11, true},
		{"level 2 to its other level 3", unitD1, nil, unitD12, true},
		{"level 2 to another department's sub-unit", unitD1, nil, unitD21, false},
		{"level 2 to an unknown parent's sub-unit", unitD1, nil, orphan, false},
		{"level 2 to a level 2", unitD1, nil, unitD2, false},
		{"level 2 to the center", unitD1, nil, unitCenter, false},
		{"level 3 lead cannot pass down", unitD11, nil, Unit{ID: "D1-1-a", Name: "x", Level: LevelSubUnit, ParentID: "D1-1"}, false},
		{"no second pass-down", unitD1, []Unit{unitD11}, unitD12, false},
		{"not to an assisting unit", unitD1, nil, unitD12, false},
		{"invalid sub-unit", unitD1, nil, Unit{ID: "D1-9", Level: LevelSubUnit, ParentID: "D1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx(t)
			order := TransferOrder{Lead: tt.lead, Mode: ModeWrittenTransfer, Limit: f.limit()}
			if tt.name == "not to an assisting unit" {
				order.Assisting = []Unit{unitD12}
			}
			f.must(f.c.Transfer(agent, f.tick(), order))
			f.must(f.c.Accept(f.lead(), f.tick(), ""))
			for _, u := range tt.path {
				f.must(f.c.PassDown(f.lead(), f.tick(), u, ""))
				f.must(f.c.Accept(f.lead(), f.tick(), ""))
			}
			deadline, round := f.c.Deadline(), f.c.Round()
			from := f.lead()
			err := f.c.PassDown(from, f.tick(), tt.sub, "")
			if !tt.ok {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("want ErrInvalid, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l, _ := f.c.Lead()
			if l.ID != tt.sub.ID || f.c.State() != StateTransferred {
				t.Errorf("lead %s state %s", l.ID, f.c.State())
			}
			if !f.c.Deadline().Equal(deadline) || f.c.Round() != round {
				t.Errorf("passing down must not change deadline or round")
			}
			h := f.c.History()
			if last := h[len(h)-1]; last.Details[DetailFromUnit] != from.UnitID || last.Lead != tt.sub.ID {
				t.Errorf("entry %+v", last)
			}
			// The parent still sees the case through the hierarchy.
			if !f.c.VisibleTo(from, tree(t)) {
				t.Errorf("level-2 unit lost sight of its sub-unit's case")
			}
		})
	}
}

func TestReplyRecordsTimeliness(t *testing.T) {
	for _, tt := range []struct {
		name   string
		offset time.Duration
		onTime bool
	}{
		{"before the deadline", -time.Hour, true},
		{"at the deadline", 0, true},
		{"after the deadline", time.Minute, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx(t).reach(StateAccepted)
			at := f.c.Deadline().Add(tt.offset)
			f.must(f.c.Reply(f.lead(), at, "已处理"))
			r, ok := f.c.LastReply()
			if !ok || r.OnTime != tt.onTime || !r.At.Equal(at) {
				t.Errorf("reply %+v", r)
			}
			h := f.c.History()
			if got := h[len(h)-1].Details[DetailOnTime]; got != map[bool]string{true: "true", false: "false"}[tt.onTime] {
				t.Errorf("on_time detail %q", got)
			}
		})
	}
}
