package domain

import (
	"errors"
	"testing"
	"time"
)

var (
	chongqing  = ExtensionLimits{MaxCount: NoLimit, MaxTotalWorkingDays: 30} // 000 三(三)1
	mudanjiang = ExtensionLimits{MaxCount: 1, MaxTotalWorkingDays: NoLimit}  // 004 第十条(八)
)

func TestExtensionCaps(t *testing.T) {
	type step struct {
		days    int
		approve bool // approve (true) or refuse (false) after requesting
		want    error
	}
	tests := []struct {
		name   string
		limits ExtensionLimits
		steps  []step
		// days is the round's extension total at the end.
		days int
	}{
		{"chongqing: 7 + 23 reaches 30", chongqing, []step{{23, true, nil}}, 23},
		{"chongqing: 7 + 24 exceeds 30", chongqing, []step{{24, true, ErrExtensionLimit}}, 0},
		{"chongqing: several extensions up to 30", chongqing, []step{{10, true, nil}, {10, true, nil}, {3, true, nil}, {1, true, ErrExtensionLimit}}, 23},
		{"mudanjiang: one extension of any length", mudanjiang, []step{{60, true, nil}}, 60},
		{"mudanjiang: no second extension", mudanjiang, []step{{5, true, nil}, {5, true, ErrExtensionLimit}}, 5},
		{"mudanjiang: a refused request used the one application", mudanjiang, []step{{5, false, nil}, {5, true, ErrExtensionLimit}}, 0},
		{"zero policy grants nothing", ExtensionLimits{}, []step{{1, true, ErrExtensionLimit}}, 0},
		{"no caps", ExtensionLimits{MaxCount: NoLimit, MaxTotalWorkingDays: NoLimit}, []step{{100, true, nil}, {100, true, nil}}, 200},
		{"malformed policy", ExtensionLimits{MaxCount: -2}, []step{{1, true, ErrInvalid}}, 0},
		{"zero days", chongqing, []step{{0, true, ErrInvalid}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFx(t).reach(StateAccepted)
			for i, s := range tt.steps {
				err := f.c.RequestExtension(f.lead(), f.tick(), s.days, "工程量大", tt.limits)
				if s.want != nil {
					if !errors.Is(err, s.want) {
						t.Fatalf("step %d: want %v, got %v", i, s.want, err)
					}
					var le *ExtensionLimitError
					if s.want == ErrExtensionLimit && (!errors.As(err, &le) || le.Error() == "") {
						t.Errorf("step %d: want *ExtensionLimitError, got %T", i, err)
					}
					break
				}
				if err != nil {
					t.Fatalf("step %d: request: %v", i, err)
				}
				if s.approve {
					prev := f.c.Deadline()
					next := prev.Add(time.Duration(s.days) * 24 * time.Hour)
					f.must(f.c.ApproveExtension(supervisor, f.tick(), TimeLimit{Due: next}, tt.limits, ""))
					if !f.c.Deadline().Equal(next) {
						t.Fatalf("step %d: deadline %v, want %v", i, f.c.Deadline(), next)
					}
					ext := f.c.Extensions()
					if e := ext[len(ext)-1]; e.WorkingDays != s.days || !e.PreviousDeadline.Equal(prev) || e.ApprovedBy != supervisor {
						t.Errorf("extension %+v", e)
					}
				} else {
					prev := f.c.Deadline()
					f.must(f.c.RefuseExtension(supervisor, f.tick(), "理由不充分"))
					if !f.c.Deadline().Equal(prev) {
						t.Errorf("refusal moved the deadline")
					}
				}
			}
			if got := f.c.Round().ExtensionDays; got != tt.days {
				t.Errorf("extension days %d, want %d", got, tt.days)
			}
		})
	}
}

func TestExtensionRequestLifecycle(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	if err := f.c.ApproveExtension(supervisor, f.tick(), TimeLimit{Due: f.c.Deadline().Add(time.Hour)}, chongqing, ""); !errors.Is(err, ErrNoPendingExtension) {
		t.Errorf("approve without request: %v", err)
	}
	if err := f.c.RefuseExtension(supervisor, f.tick(), "不同意"); !errors.Is(err, ErrNoPendingExtension) {
		t.Errorf("refuse without request: %v", err)
	}
	f.must(f.c.RequestExtension(f.lead(), f.tick(), 5, "需协调", chongqing))
	if _, ok := f.c.PendingExtension(); !ok {
		t.Fatal("request not pending")
	}
	if err := f.c.RequestExtension(f.lead(), f.tick(), 5, "需协调", chongqing); !errors.Is(err, ErrExtensionPending) {
		t.Errorf("second request while pending: %v", err)
	}
	if err := f.c.ApproveExtension(supervisor, f.tick(), TimeLimit{Due: f.c.Deadline()}, chongqing, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("new deadline not later: %v", err)
	}
	// The policy tightened between request and decision.
	if err := f.c.ApproveExtension(supervisor, f.tick(), TimeLimit{Due: f.c.Deadline().Add(time.Hour)}, ExtensionLimits{MaxCount: 1, MaxTotalWorkingDays: 10}, ""); !errors.Is(err, ErrExtensionLimit) {
		t.Errorf("approval past the cap: %v", err)
	}
	// Replying lets the request lapse.
	f.must(f.c.Reply(f.lead(), f.tick(), "已办结"))
	if _, ok := f.c.PendingExtension(); ok {
		t.Error("request still pending after the reply")
	}
	h := f.c.History()
	if h[len(h)-1].Details[DetailExtensionWithdraw] != "true" {
		t.Errorf("lapse not recorded: %v", h[len(h)-1].Details)
	}
}

func TestExtensionCapsResetWithRedo(t *testing.T) {
	f := newFx(t).reach(StateAccepted)
	f.must(f.c.RequestExtension(f.lead(), f.tick(), 5, "需协调", mudanjiang))
	f.must(f.c.ApproveExtension(supervisor, f.tick(), TimeLimit{Due: f.c.Deadline().Add(120 * time.Hour)}, mudanjiang, ""))
	f.must(f.c.Reply(f.lead(), f.tick(), "已处理"))
	f.must(f.c.ReturnForRedo(supervisor, f.tick(), "未联系群众", f.limit()))
	f.must(f.c.Accept(f.lead(), f.tick(), ""))
	// A redo is a new 交办 with its own time limit, and its own one application.
	f.must(f.c.RequestExtension(f.lead(), f.tick(), 5, "仍需协调", mudanjiang))
	if n := len(f.c.Extensions()); n != 1 {
		t.Errorf("extensions over the life of the case: %d", n)
	}
}
