package domain

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewCase(t *testing.T) {
	c, err := NewCase("case-1", registration(), agent, t0)
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != StateRegistered || c.Number() != "202405140001" || c.Mode() != ModeWrittenTransfer {
		t.Errorf("got state %s number %s mode %s", c.State(), c.Number(), c.Mode())
	}
	p := c.Pending()
	if len(p) != 1 {
		t.Fatalf("want the registration entry pending, got %d", len(p))
	}
	e := p[0]
	if e.Seq != 1 || e.Action != ActionRegister || e.From != "" || e.To != StateRegistered ||
		e.Actor != agent || !e.At.Equal(t0) || e.CaseID != "case-1" || e.EventID() != "case-1-1" {
		t.Errorf("registration entry %+v", e)
	}
	if e.Details[DetailCategory] != "complaint" || e.Details[DetailChannel] != "phone" {
		t.Errorf("details %v", e.Details)
	}
	for _, v := range e.Details {
		if strings.Contains(v, "张三") || strings.Contains(v, "13800138000") {
			t.Errorf("history carries caller identity: %v", e.Details)
		}
	}
}

func TestNewCaseAnonymousCaller(t *testing.T) {
	r := registration()
	r.Caller = Caller{}
	r.QueryCode = ""
	if _, err := NewCase("case-1", r, system, t0); err != nil {
		t.Fatalf("anonymous callers are accepted (T1): %v", err)
	}
}

func TestNewCaseValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Registration)
		field  string
	}{
		{"bad number", func(r *Registration) { r.Number = "42" }, "number"},
		{"no content", func(r *Registration) { r.Content = "  " }, "content"},
		{"content too long", func(r *Registration) { r.Content = strings.Repeat("水", maxContentRunes+1) }, "content"},
		{"no time", func(r *Registration) { r.ReceivedAt = time.Time{} }, "received_at"},
		{"unknown category", func(r *Registration) { r.Category = "gossip" }, "category"},
		{"label instead of code", func(r *Registration) { r.Category = "举报" }, "category"},
		{"no urgency", func(r *Registration) { r.Urgency = "" }, "urgency"},
		{"no confidentiality", func(r *Registration) { r.Confidentiality = "" }, "confidentiality"},
		{"unknown channel", func(r *Registration) { r.Channel = "pigeon" }, "channel"},
		{"unknown mode", func(r *Registration) { r.HandlingMode = "x" }, "handling_mode"},
		{"bad region", func(r *Registration) { r.Region = "东区" }, "region"},
		{"bad phone", func(r *Registration) { r.Caller.Phone = "call me" }, "caller.phone"},
		{"bad query code", func(r *Registration) { r.QueryCode = "abc" }, "query_code"},
		{"invalid UTF-8", func(r *Registration) { r.Caller.Name = "\xff" }, "caller.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registration()
			tt.mutate(&r)
			_, err := NewCase("case-1", r, agent, t0)
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want *ValidationError, got %v", err)
			}
			if ve.Field != tt.field {
				t.Errorf("field %q, want %q", ve.Field, tt.field)
			}
			if strings.Contains(err.Error(), "call me") {
				t.Errorf("error echoes the caller's phone: %v", err)
			}
		})
	}

	// Every problem is reported at once.
	r := registration()
	r.Content, r.Category, r.Region = "", "x", ""
	err := r.Validate()
	for _, f := range []string{"content", "category", "region"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("joined error %q misses %s", err, f)
		}
	}

	if _, err := NewCase("bad id!", registration(), agent, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := NewCase("case-1", registration(), agent, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero time: %v", err)
	}
}

func TestActionInputValidation(t *testing.T) {
	tests := []struct {
		name  string
		state State
		call  func(f *fx) error
	}{
		{"empty answer", StateRegistered, func(f *fx) error { return f.c.AnswerDirectly(agent, f.tick(), DirectAnswer{}) }},
		{"empty advice", StateRegistered, func(f *fx) error { return f.c.ReferOut(agent, f.tick(), "") }},
		{"empty approval reason", StateRegistered, func(f *fx) error { return f.c.SubmitForApproval(agent, f.tick(), "") }},
		{"empty opinion", StatePendingApproval, func(f *fx) error { return f.c.Approve(supervisor, f.tick(), "", nil) }},
		{"instruction without leader", StatePendingApproval, func(f *fx) error {
			return f.c.Approve(supervisor, f.tick(), "同意", &LeaderInstruction{Text: "办"})
		}},
		{"instruction due in the past", StatePendingApproval, func(f *fx) error {
			return f.c.Approve(supervisor, f.tick(), "同意", &LeaderInstruction{Leader: "王", Text: "办", Due: t0})
		}},
		{"transfer to the center", StateRegistered, func(f *fx) error {
			return f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitCenter, Mode: ModeWrittenTransfer, Limit: f.limit()})
		}},
		{"transfer with direct mode", StateRegistered, func(f *fx) error {
			return f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitD1, Mode: ModeDirectAnswer, Limit: f.limit()})
		}},
		{"transfer without deadline", StateRegistered, func(f *fx) error {
			return f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitD1, Mode: ModeWrittenTransfer})
		}},
		{"transfer deadline in the past", StateRegistered, func(f *fx) error {
			return f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitD1, Mode: ModeWrittenTransfer, Limit: TimeLimit{Due: t0}})
		}},
		{"lead also assisting", StateRegistered, func(f *fx) error {
			return f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitD1, Assisting: []Unit{unitD1}, Mode: ModeWrittenTransfer, Limit: f.limit()})
		}},
		{"assisting twice", StateRegistered, func(f *fx) error {
			return f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitD1, Assisting: []Unit{unitD2, unitD2}, Mode: ModeWrittenTransfer, Limit: f.limit()})
		}},
		{"empty reply", StateAccepted, func(f *fx) error { return f.c.Reply(f.lead(), f.tick(), " ") }},
		{"empty progress report", StateAccepted, func(f *fx) error { return f.c.ReportProgress(f.lead(), f.tick(), "") }},
		{"redo without reason", StateReplied, func(f *fx) error { return f.c.ReturnForRedo(supervisor, f.tick(), "", f.limit()) }},
		{"redo without deadline", StateReplied, func(f *fx) error { return f.c.ReturnForRedo(supervisor, f.tick(), "不合格", TimeLimit{}) }},
		{"supervision limit in the past", StateAccepted, func(f *fx) error { return f.c.Supervise(supervisor, f.tick(), t0, "") }},
		{"finding against an uninvolved unit", StateAccepted, func(f *fx) error {
			return f.c.RecordFinding(supervisor, f.tick(), "D2-1", FindingShirking, "x")
		}},
		{"finding without facts", StateAccepted, func(f *fx) error {
			return f.c.RecordFinding(supervisor, f.tick(), "D1", FindingShirking, "")
		}},
		{"unknown finding", StateAccepted, func(f *fx) error { return f.c.RecordFinding(supervisor, f.tick(), "D1", "lazy", "x") }},
		{"note too long", StateAccepted, func(f *fx) error { return f.c.Remind(agent, f.tick(), strings.Repeat("催", maxNoteRunes+1)) }},
		{"bad call id", StateAccepted, func(f *fx) error { return f.c.LinkCall(agent, f.tick(), "a b") }},
		{"invalid actor", StateAccepted, func(f *fx) error { return f.c.Remind(Actor{Role: RoleAgent}, f.tick(), "") }},
		{"zero time", StateAccepted, func(f *fx) error { return f.c.Remind(agent, time.Time{}, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx(t).reach(tt.state)
			before := f.c.Snapshot()
			err := tt.call(f)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v", err)
			}
			if !reflect.DeepEqual(before, f.c.Snapshot()) {
				t.Errorf("a refused action changed the case")
			}
		})
	}
}

func TestLeaderDeadlineBoundsTransfer(t *testing.T) {
	f := newFx(t).reach(StatePendingApproval)
	due := f.now.Add(72 * time.Hour)
	f.must(f.c.Approve(supervisor, f.tick(), "呈王市长", &LeaderInstruction{Leader: "王市长", Text: "三日内办结", Due: due}))
	late := TransferOrder{Lead: unitD1, Mode: ModePhoneTransfer, Limit: TimeLimit{Due: due.Add(time.Hour), WorkingDays: 3}}
	if err := f.c.Transfer(agent, f.tick(), late); !errors.Is(err, ErrInvalid) {
		t.Fatalf("transfer past the leader's limit: %v", err)
	}
	ok := TransferOrder{Lead: unitD1, Mode: ModePhoneTransfer, Limit: TimeLimit{Due: due}}
	f.must(f.c.Transfer(agent, f.tick(), ok))
	if !f.c.Deadline().Equal(due) {
		t.Errorf("deadline %v, want %v", f.c.Deadline(), due)
	}
}

func TestRetransferStartsNewRound(t *testing.T) {
	f := newFx(t).reach(StateTransferred)
	f.must(f.c.Remind(agent, f.tick(), ""))
	f.must(f.c.Transfer(agent, f.tick(), TransferOrder{Lead: unitD2, Mode: ModePhoneTransfer, Limit: TimeLimit{Due: f.now.Add(96 * time.Hour), WorkingDays: 3}}))
	r := f.c.Round()
	if r.Seq != 2 || r.Reminders != 0 || r.WorkingDays != 3 || f.c.Reminders() != 1 {
		t.Errorf("round %+v, reminders %d", r, f.c.Reminders())
	}
	if l, _ := f.c.Lead(); l.ID != "D2" || len(f.c.Assisting()) != 0 || f.c.Mode() != ModePhoneTransfer {
		t.Errorf("lead %v assisting %v mode %s", l, f.c.Assisting(), f.c.Mode())
	}
	h := f.c.History()
	if last := h[len(h)-1]; last.Details[DetailFromUnit] != "D1" || last.Lead != "D2" {
		t.Errorf("re-transfer entry %+v", last)
	}
	if err := f.c.Accept(unitActor(unitD1), f.tick(), ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("the replaced unit signs: %v", err)
	}
}

func TestDirectAnswerViaThreeWayCall(t *testing.T) {
	f := newFx(t)
	f.must(f.c.AnswerDirectly(agent, f.tick(), DirectAnswer{Text: "水务局值班员当场答复", ViaUnitID: "D2"}))
	if f.c.State() != StateClosed || f.c.Mode() != ModeDirectAnswer {
		t.Errorf("state %s mode %s", f.c.State(), f.c.Mode())
	}
	h := f.c.History()
	if h[1].Details[DetailUnit] != "D2" {
		t.Errorf("three-way unit not recorded: %v", h[1].Details)
	}
}

func TestGetters(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	c := f.c
	r := registration()
	if c.ID() != "case-1" || c.Category() != r.Category || c.Urgency() != r.Urgency || c.Confidentiality() != r.Confidentiality ||
		c.Channel() != r.Channel || c.Region() != r.Region || !c.ReceivedAt().Equal(r.ReceivedAt) || c.Protected() {
		t.Errorf("getters disagree with the registration")
	}
	if _, ok := c.LastReply(); ok {
		t.Errorf("reply before replying")
	}
	if _, ok := c.LastCallback(); ok {
		t.Errorf("callback before callback")
	}
	if _, ok := tree(t).Unit("D1-1"); !ok {
		t.Errorf("tree lookup")
	}
}
