package domain

import "slices"

// State is where a case stands in its life.
type State string

const (
	StateRegistered      State = "registered"       // 已登记: logged at intake (000 三(一))
	StatePendingApproval State = "pending_approval" // 待批办: important case awaiting the center head (001 §五(二)1)
	StateApproved        State = "approved"         // 已批办: head's opinion / leader instruction recorded
	StateTransferred     State = "transferred"      // 已转办: with a unit, not yet signed for
	StateAccepted        State = "accepted"         // 已签收: the unit signed for it and is handling it
	StateReplied         State = "replied"          // 已反馈: the unit reported its result, awaiting review
	StateCompleted       State = "completed"        // 完成处理: review passed (001 §五(三)2), awaiting callback
	StateClosed          State = "closed"           // 已办结: answered directly, or callback done
	StateReferred        State = "referred"         // 已告知: out of scope, caller told where to go (001 §二(二))
	StateArchived        State = "archived"         // 已归档: filed (001 §五(五)); nothing changes any more
)

var stateEnum = enum[State]{
	field: "state",
	codes: []State{StateRegistered, StatePendingApproval, StateApproved, StateTransferred, StateAccepted,
		StateReplied, StateCompleted, StateClosed, StateReferred, StateArchived},
	labels: []string{"已登记", "待批办", "已批办", "已转办", "已签收", "已反馈", "完成处理", "已办结", "已告知", "已归档"},
}

// ParseState accepts a code or a label.
func ParseState(s string) (State, error) { return stateEnum.parse(s) }

// States lists every state.
func States() []State { return stateEnum.all() }

// Valid reports whether s is one of the codes.
func (s State) Valid() bool { return stateEnum.valid(s) }

// Label is the Chinese name.
func (s State) Label() string { return stateEnum.label(s) }

// UnmarshalText refuses unknown states at the JSON boundary.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	*s = v
	return err
}

// withUnit reports the states in which a unit owes work: reminders, supervision
// and deadlines apply only here.
func (s State) withUnit() bool { return s == StateTransferred || s == StateAccepted }

// Action names every change a case can undergo, after the regulations' terms.
type Action string

const (
	ActionRegister          Action = "register"            // 登记
	ActionAnswerDirectly    Action = "answer_directly"     // 直接办理 (incl. 三方通话 answered by a unit on the call)
	ActionReferOut          Action = "refer_out"           // 告知向有关机关反映 (out of scope)
	ActionSubmitForApproval Action = "submit_for_approval" // 制作批办单, 呈批
	ActionApprove           Action = "approve"             // 批办 / 阅办, 领导批示
	ActionTransfer          Action = "transfer"            // 转办 / 交办 (also 改派 before the unit signs)
	ActionAccept            Action = "accept"              // 签收
	ActionPassDown          Action = "pass_down"           // 二级平台转交三级平台 (004 第七条)
	ActionReportProgress    Action = "report_progress"     // 汇报进度 / 说明原因 (002 二)
	ActionRequestExtension  Action = "request_extension"   // 申请延期
	ActionApproveExtension  Action = "approve_extension"   // 同意延期
	ActionRefuseExtension   Action = "refuse_extension"    // 不同意延期
	ActionRemind            Action = "remind"              // 催办
	ActionSupervise         Action = "supervise"           // 督办
	ActionReply             Action = "reply"               // 反馈 办理结果
	ActionComplete          Action = "complete"            // 审查通过, 注明“完成处理”
	ActionReturnForRedo     Action = "return_for_redo"     // 退回重办
	ActionCallback          Action = "callback"            // 回访 (satisfied, basically satisfied, unreachable)
	ActionCallbackReopen    Action = "callback_reopen"     // 回访不满意, 重新办理 (004 第十条(十))
	ActionClose             Action = "close"               // 办结 without callback (回访 is 视情, 001 §五(三)3)
	ActionArchive           Action = "archive"             // 立卷归档
	ActionRecordRepeat      Action = "record_repeat"       // 群众再次反映同一问题 (002 三(六))
	ActionRecordFinding     Action = "record_finding"      // 督查认定 a fault of a unit (002 三(二)(四)(五))
	ActionAttachMaterial    Action = "attach_material"     // 录音、留言、传真、文件 into the case file
	ActionLinkCall          Action = "link_call"           // 关联通话
	// ActionRecomputeDeadline: the official holiday notice replaced the
	// provisional days off a deadline was counted on (重算时限).
	ActionRecomputeDeadline Action = "recompute_deadline"
)

var actionEnum = enum[Action]{
	field: "action",
	codes: []Action{ActionRegister, ActionAnswerDirectly, ActionReferOut, ActionSubmitForApproval, ActionApprove,
		ActionTransfer, ActionAccept, ActionPassDown, ActionReportProgress, ActionRequestExtension,
		ActionApproveExtension, ActionRefuseExtension, ActionRemind, ActionSupervise, ActionReply, ActionComplete,
		ActionReturnForRedo, ActionCallback, ActionCallbackReopen, ActionClose, ActionArchive, ActionRecordRepeat,
		ActionRecordFinding, ActionAttachMaterial, ActionLinkCall, ActionRecomputeDeadline},
	labels: []string{"登记", "直接办理", "告知", "呈批", "批办", "转办", "签收", "下转", "汇报进度", "申请延期",
		"同意延期", "不同意延期", "催办", "督办", "反馈", "完成处理", "退回重办", "回访", "回访重办", "办结", "归档",
		"重复反映", "督查认定", "附件", "关联通话", "重算时限"},
}

// ParseAction accepts a code or a label.
func ParseAction(s string) (Action, error) { return actionEnum.parse(s) }

// Actions lists every action.
func Actions() []Action { return actionEnum.all() }

// Valid reports whether a is one of the codes.
func (a Action) Valid() bool { return actionEnum.valid(a) }

// Label is the Chinese name.
func (a Action) Label() string { return actionEnum.label(a) }

// UnmarshalText refuses unknown actions at the JSON boundary.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	*a = v
	return err
}

// transitions is the state machine: for each state, the actions allowed in it and
// the state each leads to. Anything missing is refused with a *TransitionError.
// ActionRegister has no row: it is NewCase, which starts in StateRegistered.
//
// Readings of the seeds that shape the table:
//   - a returned case goes back to StateTransferred, not StateAccepted: 001 §五(三)2
//     says redo goes "按上述程序二次批办", i.e. it is issued to the unit again and the
//     unit signs for it again, with a new deadline;
//   - a dissatisfied callback reopens the same way (004 第十条(十): 承办单位应重新办理);
//   - extensions and progress reports need StateAccepted: a unit asks for more time
//     on work it has signed for;
//   - after archiving (立卷) the file is sealed.
var transitions = map[State]map[Action]State{
	StateRegistered: {
		ActionAnswerDirectly:    StateClosed,
		ActionReferOut:          StateReferred,
		ActionSubmitForApproval: StatePendingApproval,
		ActionTransfer:          StateTransferred,
		ActionRecordRepeat:      StateRegistered,
		ActionAttachMaterial:    StateRegistered,
		ActionLinkCall:          StateRegistered,
	},
	StatePendingApproval: {
		ActionApprove:        StateApproved,
		ActionRecordRepeat:   StatePendingApproval,
		ActionAttachMaterial: StatePendingApproval,
		ActionLinkCall:       StatePendingApproval,
	},
	StateApproved: {
		ActionTransfer:       StateTransferred,
		ActionAnswerDirectly: StateClosed, // 重要、疑难和复杂的事项，由受理中心处理 (001 §五(一)1(3))
		ActionRecordRepeat:   StateApproved,
		ActionAttachMaterial: StateApproved,
		ActionLinkCall:       StateApproved,
	},
	StateTransferred: {
		ActionAccept:            StateAccepted,
		ActionTransfer:          StateTransferred, // 改派: wrong unit, corrected before it signs
		ActionRemind:            StateTransferred,
		ActionSupervise:         StateTransferred,
		ActionRecomputeDeadline: StateTransferred,
		ActionRecordRepeat:      StateTransferred,
		ActionRecordFinding:     StateTransferred,
		ActionAttachMaterial:    StateTransferred,
		ActionLinkCall:          StateTransferred,
	},
	StateAccepted: {
		ActionPassDown:          StateTransferred, // the sub-unit signs for it in turn
		ActionReply:             StateReplied,
		ActionReportProgress:    StateAccepted,
		ActionRequestExtension:  StateAccepted,
		ActionApproveExtension:  StateAccepted,
		ActionRefuseExtension:   StateAccepted,
		ActionRemind:            StateAccepted,
		ActionSupervise:         StateAccepted,
		ActionRecomputeDeadline: StateAccepted,
		ActionRecordRepeat:      StateAccepted,
		ActionRecordFinding:     StateAccepted,
		ActionAttachMaterial:    StateAccepted,
		ActionLinkCall:          StateAccepted,
	},
	StateReplied: {
		ActionComplete:       StateCompleted,
		ActionReturnForRedo:  StateTransferred,
		ActionRecordRepeat:   StateReplied,
		ActionRecordFinding:  StateReplied,
		ActionAttachMaterial: StateReplied,
		ActionLinkCall:       StateReplied,
	},
	StateCompleted: {
		ActionCallback:       StateClosed,
		ActionCallbackReopen: StateTransferred,
		ActionClose:          StateClosed,
		ActionRecordRepeat:   StateCompleted,
		ActionRecordFinding:  StateCompleted,
		ActionAttachMaterial: StateCompleted,
		ActionLinkCall:       StateCompleted,
	},
	StateClosed: {
		ActionArchive:        StateArchived,
		ActionRecordFinding:  StateClosed, // 反馈与实际不一致 often surfaces after closing
		ActionAttachMaterial: StateClosed,
		ActionLinkCall:       StateClosed,
	},
	StateReferred: {
		ActionArchive:        StateArchived,
		ActionAttachMaterial: StateReferred,
		ActionLinkCall:       StateReferred,
	},
	StateArchived: {},
}

// Next returns the state that action a leads to from state from, and whether the
// action is allowed there at all.
func Next(from State, a Action) (State, bool) {
	to, ok := transitions[from][a]
	return to, ok
}

// unitScope says which unit users, beyond the role check, may perform an action.
type unitScope int

const (
	scopeNone     unitScope = iota // role check only
	scopeLead                      // only the current lead unit (主办)
	scopeInvolved                  // the lead or an assisting unit (协办)
)

type permission struct {
	roles []Role
	scope unitScope
}

var (
	centerRoles     = []Role{RoleAgent, RoleSupervisor}
	supervisorRoles = []Role{RoleSupervisor}
	unitRoles       = []Role{RoleUnit}
)

// permissions says who may do what (C14). Agents handle intake and transfer
// (001 §五(一)); the center head and 督查 approve, review, supervise and decide
// extensions (001 §五(二)); units sign, pass down, report and reply (004 第十条);
// the system may remind, supervise and call back because C6 and T12 are automatic.
var permissions = map[Action]permission{
	ActionRegister:          {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem}}, // system: mailbox, SMS, web (C13)
	ActionAnswerDirectly:    {roles: centerRoles},
	ActionReferOut:          {roles: centerRoles},
	ActionSubmitForApproval: {roles: centerRoles},
	ActionApprove:           {roles: supervisorRoles},
	ActionTransfer:          {roles: centerRoles},
	ActionAccept:            {roles: unitRoles, scope: scopeLead},
	ActionPassDown:          {roles: unitRoles, scope: scopeLead},
	ActionReportProgress:    {roles: unitRoles, scope: scopeLead},
	ActionRequestExtension:  {roles: unitRoles, scope: scopeLead},
	ActionApproveExtension:  {roles: supervisorRoles},
	ActionRefuseExtension:   {roles: supervisorRoles},
	ActionRemind:            {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem}},
	ActionSupervise:         {roles: []Role{RoleSupervisor, RoleSystem}},
	ActionReply:             {roles: unitRoles, scope: scopeLead},
	ActionComplete:          {roles: supervisorRoles},
	ActionReturnForRedo:     {roles: supervisorRoles},
	ActionCallback:          {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem}},
	ActionCallbackReopen:    {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem}},
	ActionClose:             {roles: supervisorRoles},
	ActionArchive:           {roles: []Role{RoleSupervisor, RoleAdmin, RoleSystem}},
	ActionRecordRepeat:      {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem}},
	ActionRecordFinding:     {roles: supervisorRoles},
	ActionAttachMaterial:    {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem, RoleUnit}, scope: scopeInvolved},
	ActionLinkCall:          {roles: []Role{RoleAgent, RoleSupervisor, RoleSystem}},
	// The system recomputes after an operator's calendar import (C4).
	ActionRecomputeDeadline: {roles: []Role{RoleSupervisor, RoleSystem}},
}

// AllowedRoles lists the roles that may perform a.
func AllowedRoles(a Action) []Role {
	return slices.Clone(permissions[a].roles)
}

// RoleMay reports whether role r may perform a at all (a unit additionally has to
// be the case's lead or, for attachments, an assisting unit).
func RoleMay(r Role, a Action) bool {
	return slices.Contains(permissions[a].roles, r)
}
