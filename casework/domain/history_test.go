package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestHistoryIsAttributedAndOrdered(t *testing.T) {
	f := newFx(t).reach(StateClosed)
	h := f.c.History()
	want := []struct {
		action Action
		actor  Actor
		from   State
		to     State
		lead   string
	}{
		{ActionRegister, agent, "", StateRegistered, ""},
		{ActionTransfer, agent, StateRegistered, StateTransferred, "D1"},
		{ActionAccept, unitActor(unitD1), StateTransferred, StateAccepted, "D1"},
		{ActionReply, unitActor(unitD1), StateAccepted, StateReplied, "D1"},
		{ActionComplete, supervisor, StateReplied, StateCompleted, "D1"},
		{ActionCallback, agent, StateCompleted, StateClosed, "D1"},
	}
	if len(h) != len(want) {
		t.Fatalf("got %d entries, want %d", len(h), len(want))
	}
	for i, w := range want {
		e := h[i]
		if e.Seq != i+1 || e.Action != w.action || e.Actor != w.actor || e.From != w.from || e.To != w.to || e.Lead != w.lead {
			t.Errorf("entry %d = %+v, want %+v", i+1, e, w)
		}
		if i > 0 && !e.At.After(h[i-1].At) {
			t.Errorf("entry %d not after entry %d", i+1, i)
		}
		if i > 0 && !e.Deadline.Equal(f.c.Deadline()) {
			t.Errorf("entry %d deadline %v", i+1, e.Deadline)
		}
	}
	if h[1].Details[DetailAssisting] != "D2" || h[1].Details[DetailMode] != "written_transfer" || h[1].Details[DetailWorkingDays] != "7" {
		t.Errorf("transfer details %v", h[1].Details)
	}
}

func TestHistoryCopiesAreImmutable(t *testing.T) {
	f := newFx(t).reach(StateTransferred)
	h := f.c.History()
	h[1].Details[DetailUnit] = "forged"
	h[0].Action = ActionArchive
	p := f.c.Pending()
	p[1].Details[DetailUnit] = "forged"
	s := f.c.Snapshot()
	s.History[1].Details[DetailUnit] = "forged"
	s.Lead.ID = "forged"
	v := f.c.ViewFor(supervisor)
	v.History[1].Details[DetailUnit] = "forged"
	again := f.c.History()
	if again[1].Details[DetailUnit] != "D1" || again[0].Action != ActionRegister {
		t.Errorf("history changed through a copy: %+v", again[:2])
	}
	if l, _ := f.c.Lead(); l.ID != "D1" {
		t.Errorf("lead changed through a snapshot")
	}
}

func TestPendingAndClear(t *testing.T) {
	f := newFx(t)
	if len(f.c.Pending()) != 1 {
		t.Fatalf("new case: %d pending", len(f.c.Pending()))
	}
	f.c.ClearPending()
	if len(f.c.Pending()) != 0 {
		t.Fatalf("after clear: %d pending", len(f.c.Pending()))
	}
	f.transfer()
	f.must(f.c.Remind(system, f.tick(), ""))
	p := f.c.Pending()
	if len(p) != 2 || p[0].Seq != 2 || p[1].Seq != 3 || f.c.Version() != 3 {
		t.Fatalf("pending %+v version %d", p, f.c.Version())
	}
	// A refused action adds nothing.
	if err := f.c.Reply(f.lead(), f.tick(), "x"); err == nil {
		t.Fatal("reply before accepting must fail")
	}
	if len(f.c.Pending()) != 2 {
		t.Errorf("refused action left a pending entry")
	}
}

func TestIdempotentLinks(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	rec := MaterialRef{Kind: MaterialRecording, Ref: "rec-1"}
	f.must(f.c.LinkCall(system, f.tick(), "call-1"))
	f.must(f.c.AttachMaterial(system, f.tick(), rec))
	v := f.c.Version()
	// Redelivered events: no error, no new entry.
	f.must(f.c.LinkCall(system, f.tick(), "call-1"))
	f.must(f.c.AttachMaterial(system, f.tick(), rec))
	if f.c.Version() != v || len(f.c.CallIDs()) != 1 || len(f.c.Materials()) != 1 {
		t.Errorf("duplicate link recorded: version %d→%d calls %v materials %v", v, f.c.Version(), f.c.CallIDs(), f.c.Materials())
	}
	// Redelivery after archiving is still harmless.
	f.must(f.c.Reply(f.lead(), f.tick(), "已处理"))
	f.must(f.c.Complete(supervisor, f.tick(), ""))
	f.must(f.c.Close(supervisor, f.tick(), ""))
	f.must(f.c.Archive(admin, f.tick(), ""))
	f.must(f.c.LinkCall(system, f.tick(), "call-1"))
	if err := f.c.LinkCall(system, f.tick(), "call-2"); !errors.Is(err, ErrInvalidTransition) {
		t.Errorf("new link after archive: %v", err)
	}
}

func TestRepeatReports(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	f.must(f.c.RecordRepeat(agent, f.tick(), "call-9", "群众再次来电"))
	f.must(f.c.RecordRepeat(system, f.tick(), "", ""))
	if f.c.RepeatReports() != 2 || f.c.Round().RepeatReports != 2 || len(f.c.CallIDs()) != 1 {
		t.Errorf("repeats %d round %+v calls %v", f.c.RepeatReports(), f.c.Round(), f.c.CallIDs())
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	f.must(f.c.RequestExtension(f.lead(), f.tick(), 3, "需协调", chongqing))
	f.must(f.c.AttachMaterial(agent, f.tick(), MaterialRef{Kind: MaterialVoicemail, Ref: "vm-1"}))
	s := f.c.Snapshot()
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	c, err := RestoreCase(back)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pending()) != 0 {
		t.Errorf("restored case has pending entries")
	}
	got := c.Snapshot()
	// JSON drops monotonic clock readings and locations compare by offset, so
	// compare the re-marshalled forms.
	raw2, _ := json.Marshal(got)
	if string(raw) != string(raw2) {
		t.Errorf("round trip changed the case:\n%s\n%s", raw, raw2)
	}
	// The restored case carries on where it stopped.
	if err := c.ApproveExtension(supervisor, f.tick(), TimeLimit{Due: c.Deadline().Add(72 * time.Hour)}, chongqing, ""); err != nil {
		t.Fatal(err)
	}
	if p := c.Pending(); len(p) != 1 || p[0].Seq != len(s.History)+1 {
		t.Errorf("pending after restore: %+v", p)
	}
}

func TestRestoreRefusesCorruptSnapshots(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	tests := []struct {
		name   string
		mutate func(*Snapshot)
	}{
		{"unknown state", func(s *Snapshot) { s.State = "limbo" }},
		{"state disagrees with history", func(s *Snapshot) { s.State = StateReplied }},
		{"gap in history", func(s *Snapshot) { s.History[1].Seq = 5 }},
		{"foreign entry", func(s *Snapshot) { s.History[1].CaseID = "other" }},
		{"empty history", func(s *Snapshot) { s.History = nil }},
		{"no lead", func(s *Snapshot) { s.Lead = nil }},
		{"no deadline", func(s *Snapshot) { s.Deadline = time.Time{} }},
		{"negative counter", func(s *Snapshot) { s.Redos = -1 }},
		{"bad registration", func(s *Snapshot) { s.Registration.Category = "x" }},
		{"bad id", func(s *Snapshot) { s.ID = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := f.c.Snapshot()
			tt.mutate(&s)
			if _, err := RestoreCase(s); !errors.Is(err, ErrInvalid) {
				t.Errorf("want ErrInvalid, got %v", err)
			}
		})
	}
	if _, err := RestoreCase(f.c.Snapshot()); err != nil {
		t.Errorf("valid snapshot refused: %v", err)
	}
	if !reflect.DeepEqual(f.c.Snapshot(), f.c.Snapshot()) {
		t.Errorf("snapshots differ")
	}
}
