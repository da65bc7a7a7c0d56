package domain

import (
	"testing"
	"time"
)

var (
	cst = time.FixedZone("CST", 8*3600)
	t0  = time.Date(2024, 5, 14, 9, 0, 0, 0, cst)

	agent      = Actor{ID: "1001", Role: RoleAgent}
	supervisor = Actor{ID: "s01", Role: RoleSupervisor}
	system     = Actor{ID: "scheduler", Role: RoleSystem}
	admin      = Actor{ID: "root", Role: RoleAdmin}

	unitCenter = Unit{ID: "C", Name: "市长公开电话受理中心", Level: LevelCenter, DutyLine: "PJSIP/center"}
	unitD1     = Unit{ID: "D1", Name: "东区人民政府", Level: LevelDepartment, ParentID: "C", DutyLine: "PJSIP/duty-d1"}
	unitD11    = Unit{ID: "D1-1", Name: "东区城管局", Level: LevelSubUnit, ParentID: "D1", DutyLine: "PJSIP/duty-d11"}
	unitD12    = Unit{ID: "D1-2", Name: "东区住建局", Level: LevelSubUnit, ParentID: "D1"}
	unitD2     = Unit{ID: "D2", Name: "市水务局", Level: LevelDepartment, ParentID: "C", DutyLine: "PJSIP/duty-d2"}
	unitD21    = Unit{ID: "D2-1", Name: "市自来水公司", Level: LevelSubUnit, ParentID: "D2"}
)

func unitActor(u Unit) Actor { return Actor{ID: "staff-" + u.ID, Role: RoleUnit, UnitID: u.ID} }

func tree(t *testing.T) *UnitTree {
	t.Helper()
	tr, err := NewUnitTree(unitCenter, unitD1, unitD11, unitD12, unitD2, unitD21)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func registration() Registration {
	return Registration{
		Number:          "202405140001",
		Caller:          Caller{Name: "张三", Employer: "东区第一中学", Phone: "13800138000", Address: "东区人民路1号"},
		ReceivedAt:      t0,
		Content:         "小区门口道路积水多日无人处理",
		Category:        CategoryComplaint,
		Region:          "110101",
		Urgency:         UrgencyNormal,
		Confidentiality: ConfidentialityNone,
		Channel:         ChannelPhone,
		HandlingMode:    ModeWrittenTransfer,
		QueryCode:       "4711",
	}
}

// fx drives one case through its life with a clock that advances an hour per
// action, so every entry has a distinct time.
type fx struct {
	t   *testing.T
	c   *Case
	now time.Time
}

func newFx(t *testing.T) *fx {
	t.Helper()
	return newFxWith(t, registration())
}

func newFxWith(t *testing.T, reg Registration) *fx {
	t.Helper()
	c, err := NewCase("case-1", reg, agent, t0)
	if err != nil {
		t.Fatalf("NewCase: %v", err)
	}
	return &fx{t: t, c: c, now: t0}
}

func (f *fx) tick() time.Time {
	f.now = f.now.Add(time.Hour)
	return f.now
}

// limit is a 7-working-day limit, approximated as 9 calendar days: the calendar
// is not the domain's business.
func (f *fx) limit() TimeLimit {
	return TimeLimit{Due: f.now.Add(9 * 24 * time.Hour), WorkingDays: 7}
}

func (f *fx) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) lead() Actor {
	if f.c == nil {
		return unitActor(unitD1)
	}
	if l, ok := f.c.Lead(); ok {
		return Actor{ID: "staff-" + l.ID, Role: RoleUnit, UnitID: l.ID}
	}
	return unitActor(unitD1)
}

func (f *fx) transfer() {
	f.t.Helper()
	f.must(f.c.Transfer(agent, f.tick(), TransferOrder{
		Lead: unitD1, Assisting: []Unit{unitD2}, Mode: ModeWrittenTransfer, Limit: f.limit(),
	}))
}

// reach drives the fixture's case into state s along the regulations' main paths.
func (f *fx) reach(s State) *fx {
	f.t.Helper()
	switch s {
	case StateRegistered:
	case StatePendingApproval:
		f.must(f.c.SubmitForApproval(agent, f.tick(), "涉及多个部门"))
	case StateApproved:
		f.reach(StatePendingApproval)
		f.must(f.c.Approve(supervisor, f.tick(), "请东区政府牵头办理", nil))
	case StateTransferred:
		f.transfer()
	case StateAccepted:
		f.reach(StateTransferred)
		f.must(f.c.Accept(f.lead(), f.tick(), ""))
	case StateReplied:
		f.reach(StateAccepted)
		f.must(f.c.Reply(f.lead(), f.tick(), "已组织清理积水"))
	case StateCompleted:
		f.reach(StateReplied)
		f.must(f.c.Complete(supervisor, f.tick(), ""))
	case StateClosed:
		f.reach(StateCompleted)
		f.must(f.c.RecordCallback(agent, f.tick(), Callback{Satisfaction: Satisfied}))
	case StateReferred:
		f.must(f.c.ReferOut(agent, f.tick(), "请向区人民法院反映"))
	case StateArchived:
		f.reach(StateClosed)
		f.must(f.c.Archive(supervisor, f.tick(), ""))
	default:
		f.t.Fatalf("no path to %s", s)
	}
	if f.c.State() != s {
		f.t.Fatalf("fixture reached %s, want %s", f.c.State(), s)
	}
	return f
}

// prepare sets up what action a needs besides the state: deciding on an
// extension needs a pending request, which only exists in StateAccepted.
func (f *fx) prepare(a Action) *fx {
	f.t.Helper()
	if (a == ActionApproveExtension || a == ActionRefuseExtension) && f.c.State() == StateAccepted {
		f.must(f.c.RequestExtension(f.lead(), f.tick(), 5, "工程量大", ExtensionLimits{MaxCount: 1, MaxTotalWorkingDays: 30}))
	}
	return f
}

// invoke performs action a on the fixture's case as by, with valid arguments.
// It is the one place that knows how to call every action, so the matrix tests
// below can iterate over Actions() and nothing is left out.
func (f *fx) invoke(a Action, by Actor) error {
	c, at := f.c, f.tick()
	switch a {
	case ActionAnswerDirectly:
		return c.AnswerDirectly(by, at, DirectAnswer{Text: "已按政策解答"})
	case ActionReferOut:
		return c.ReferOut(by, at, "请向区人民法院反映")
	case ActionSubmitForApproval:
		return c.SubmitForApproval(by, at, "涉及多个部门")
	case ActionApprove:
		return c.Approve(by, at, "同意转办", &LeaderInstruction{Leader: "王市长", Text: "请抓紧办理"})
	case ActionTransfer:
		return c.Transfer(by, at, TransferOrder{Lead: unitD1, Mode: ModePhoneTransfer, Limit: f.limit()})
	case ActionAccept:
		return c.Accept(by, at, "")
	case ActionPassDown:
		return c.PassDown(by, at, unitD11, "请城管局办理")
	case ActionReportProgress:
		return c.ReportProgress(by, at, "需协调排水公司，预计下周完成")
	case ActionRequestExtension:
		return c.RequestExtension(by, at, 5, "工程量大", ExtensionLimits{MaxCount: 1, MaxTotalWorkingDays: 30})
	case ActionApproveExtension:
		return c.ApproveExtension(by, at, TimeLimit{Due: c.Deadline().Add(7 * 24 * time.Hour)}, ExtensionLimits{MaxCount: 1, MaxTotalWorkingDays: 30}, "")
	case ActionRefuseExtension:
		return c.RefuseExtension(by, at, "理由不充分")
	case ActionRemind:
		return c.Remind(by, at, "")
	case ActionSupervise:
		return c.Supervise(by, at, time.Time{}, "")
	case ActionReply:
		return c.Reply(by, at, "已办结")
	case ActionComplete:
		return c.Complete(by, at, "")
	case ActionReturnForRedo:
		return c.ReturnForRedo(by, at, "未答复群众诉求", f.limit())
	case ActionCallback:
		return c.RecordCallback(by, at, Callback{Satisfaction: BasicallySatisfied})
	case ActionCallbackReopen:
		return c.RecordCallback(by, at, Callback{Satisfaction: Dissatisfied, Redo: f.limit()})
	case ActionClose:
		return c.Close(by, at, "")
	case ActionArchive:
		return c.Archive(by, at, "")
	case ActionRecordRepeat:
		return c.RecordRepeat(by, at, "call-repeat-"+at.Format("150405"), "")
	case ActionRecordFinding:
		return c.RecordFinding(by, at, "D1", FindingShirking, "两周未联系群众")
	case ActionAttachMaterial:
		return c.AttachMaterial(by, at, MaterialRef{Kind: MaterialDocument, Ref: "doc-" + at.Format("150405")})
	case ActionLinkCall:
		return c.LinkCall(by, at, "call-"+at.Format("150405"))
	case ActionRecomputeDeadline:
		return c.RecomputeDeadline(by, at, TimeLimit{Due: c.Deadline().Add(24 * time.Hour)}, "官方节假日通知已导入")
	}
	f.t.Fatalf("invoke: no call for action %s", a)
	return nil
}

// actorFor picks a permitted actor for a: the lead unit for unit actions,
// otherwise the first permitted role.
func (f *fx) actorFor(a Action) Actor {
	return f.actorOfRole(AllowedRoles(a)[0])
}

func (f *fx) actorOfRole(r Role) Actor {
	switch r {
	case RoleAgent:
		return agent
	case RoleSupervisor:
		return supervisor
	case RoleSystem:
		return system
	case RoleAdmin:
		return admin
	case RoleUnit:
		return f.lead()
	}
	f.t.Fatalf("no actor for role %s", r)
	return Actor{}
}
