package domain

import (
	"errors"
	"testing"
	"time"
)

func TestRedoCounting(t *testing.T) {
	f := newFx(t).reach(StateReplied)
	for i := 1; i <= 3; i++ {
		f.must(f.c.ReturnForRedo(supervisor, f.tick(), "办理结果不符合要求", f.limit()))
		if f.c.Redos() != i || f.c.State() != StateTransferred || f.c.Round().Seq != i+1 {
			t.Fatalf("after return %d: redos %d state %s round %d", i, f.c.Redos(), f.c.State(), f.c.Round().Seq)
		}
		if l, _ := f.c.Lead(); l.ID != "D1" {
			t.Fatalf("redo went to %s, want the same lead", l.ID)
		}
		f.must(f.c.Accept(f.lead(), f.tick(), ""))
		f.must(f.c.Reply(f.lead(), f.tick(), "重新办理"))
	}
	f.must(f.c.Complete(supervisor, f.tick(), ""))
	if f.c.Redos() != 3 || f.c.State() != StateCompleted {
		t.Errorf("redos %d state %s", f.c.Redos(), f.c.State())
	}
}

func TestCallback(t *testing.T) {
	tests := []struct {
		name   string
		cb     Callback
		want   State
		action Action
		redos  int
		err    error
	}{
		{"satisfied closes", Callback{Satisfaction: Satisfied, CallID: "cb-1"}, StateClosed, ActionCallback, 0, nil},
		{"basically satisfied closes", Callback{Satisfaction: BasicallySatisfied}, StateClosed, ActionCallback, 0, nil},
		{"unreachable closes", Callback{Satisfaction: Unreachable}, StateClosed, ActionCallback, 0, nil},
		{"dissatisfied reopens", Callback{Satisfaction: Dissatisfied, Redo: TimeLimit{Due: t0.Add(30 * 24 * time.Hour), WorkingDays: 7}}, StateTransferred, ActionCallbackReopen, 1, nil},
		{"dissatisfied needs a new deadline", Callback{Satisfaction: Dissatisfied}, StateCompleted, "", 0, ErrInvalid},
		{"satisfied takes no redo deadline", Callback{Satisfaction: Satisfied, Redo: TimeLimit{Due: t0.Add(30 * 24 * time.Hour)}}, StateCompleted, "", 0, ErrInvalid},
		{"unknown answer", Callback{Satisfaction: "meh"}, StateCompleted, "", 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx(t).reach(StateCompleted)
			err := f.c.RecordCallback(system, f.tick(), tt.cb)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("want %v, got %v", tt.err, err)
				}
				if f.c.State() != StateCompleted {
					t.Errorf("refused callback moved the case")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			h := f.c.History()
			last := h[len(h)-1]
			if f.c.State() != tt.want || last.Action != tt.action || f.c.Redos() != tt.redos ||
				last.Details[DetailSatisfaction] != string(tt.cb.Satisfaction) {
				t.Errorf("state %s entry %+v redos %d", f.c.State(), last, f.c.Redos())
			}
			if cb, _ := f.c.LastCallback(); cb.Satisfaction != tt.cb.Satisfaction {
				t.Errorf("callback record %+v", cb)
			}
			if tt.cb.CallID != "" && f.c.CallIDs()[len(f.c.CallIDs())-1] != tt.cb.CallID {
				t.Errorf("callback call not linked: %v", f.c.CallIDs())
			}
		})
	}
}

func TestReopenedCaseRunsTheFlowAgain(t *testing.T) {
	f := newFx(t).reach(StateCompleted)
	f.must(f.c.RecordCallback(agent, f.tick(), Callback{Satisfaction: Dissatisfied, Redo: f.limit()}))
	f.must(f.c.Accept(f.lead(), f.tick(), ""))
	f.must(f.c.Reply(f.lead(), f.tick(), "已重新疏通"))
	f.must(f.c.Complete(supervisor, f.tick(), ""))
	f.must(f.c.RecordCallback(agent, f.tick(), Callback{Satisfaction: Satisfied}))
	f.must(f.c.Archive(system, f.tick(), ""))
	if f.c.State() != StateArchived || f.c.Redos() != 1 {
		t.Errorf("state %s redos %d", f.c.State(), f.c.Redos())
	}
	// The archive is sealed: even material can no longer be added.
	if err := f.c.AttachMaterial(agent, f.tick(), MaterialRef{Kind: MaterialDocument, Ref: "late"}); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("attach after archive: %v", err)
	}
}

func TestEscalation(t *testing.T) {
	f := newFx(t).reach(StateTransferred)
	before := f.c.Deadline().Add(-time.Hour)
	after := f.c.Deadline().Add(time.Hour)
	if f.c.Overdue(before) || !f.c.Overdue(after) {
		t.Errorf("Overdue wrong around the deadline")
	}
	if f.c.NeedsSupervision(before) {
		t.Errorf("no supervision before the deadline and before two reminders")
	}
	if !f.c.NeedsSupervision(after) {
		t.Errorf("overdue case needs supervision")
	}
	f.must(f.c.Remind(system, f.tick(), ""))
	if f.c.NeedsSupervision(before) {
		t.Errorf("one reminder is not enough")
	}
	f.must(f.c.Remind(system, f.tick(), ""))
	if !f.c.NeedsSupervision(before) {
		t.Errorf("two reminders without result need supervision (001 §五(二)4)")
	}
	f.must(f.c.Supervise(system, f.tick(), f.now.Add(48*time.Hour), "书面督办"))
	if f.c.NeedsSupervision(after) {
		t.Errorf("a supervised round does not need another automatic supervision")
	}
	if !f.c.Supervised() || f.c.Supervisions() != 1 || f.c.Reminders() != 2 {
		t.Errorf("supervised %v supervisions %d reminders %d", f.c.Supervised(), f.c.Supervisions(), f.c.Reminders())
	}
	// A supervisor may supervise again by hand (004 第十三条 counts "两次以上").
	f.must(f.c.Supervise(supervisor, f.tick(), time.Time{}, "二次督办"))
	if f.c.Supervisions() != 2 {
		t.Errorf("supervisions %d", f.c.Supervisions())
	}
	// Once replied, nothing is owed.
	f.must(f.c.Accept(f.lead(), f.tick(), ""))
	f.must(f.c.Reply(f.lead(), f.tick(), "已处理"))
	if f.c.Overdue(after.Add(time.Hour)) || f.c.NeedsSupervision(after.Add(time.Hour)) {
		t.Errorf("replied case reported overdue")
	}
}
