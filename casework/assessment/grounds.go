// Package assessment computes the quarterly assessment of network units (C10):
// the seven grounds for public criticism of 002 三, on-time and satisfaction
// rates, and the ranking for the quarterly 通报 (002 三, 004 第十三条).
//
// It is pure: input is plain per-case summaries and duty-line failure records,
// which the store can produce with SQL or with Summarize from a case history.
package assessment

import "fmt"

// Ground is one of the seven grounds for public criticism (通报批评) in 002 三.
// The comment on each constant is the seed's wording; the text after it says how
// the ground is decided from the data.
type Ground int

const (
	// GroundConsecutiveReturns: （一）办理程序和办理结果不符合要求，被连续2次退回重新办理的.
	// A return for redo in the period that is at least the Rules.ConsecutiveReturns-th
	// return in a row on the same case for the same unit (no accepted review between).
	GroundConsecutiveReturns Ground = iota + 1
	// GroundWrittenReplyMissing: （二）要求书面反馈，无特殊原因未反馈，又处理不到位的.
	// A written-transfer round due in the period, not replied by its deadline, with
	// no reason given (no progress report, no extension request), and handled
	// inadequately: its reply was returned or reopened, or a supervisor recorded
	// an inadequate-handling finding.
	GroundWrittenReplyMissing
	// GroundLateWithoutReason: （三）没有按规定时限反馈，又没有说明原因，季度累计达3次以上的.
	// At least Rules.LateWithoutReason rounds due in the period that were not
	// replied by their deadline and had no reason given. "3次以上" includes 3.
	GroundLateWithoutReason
	// GroundInconsistentReply: （四）反馈情况与实际处理情况不一致，且造成不良影响的.
	// A supervisor's inconsistent-reply finding dated in the period.
	GroundInconsistentReply
	// GroundShirking: （五）不认真办理，推诿拖拉，延误问题解决，造成不良影响的.
	// A supervisor's shirking finding dated in the period.
	GroundShirking
	// GroundRepeatIgnored: （六）对同一问题，群众多次反映，不及时办理又不作回复的.
	// A round due in the period that the citizen reported again at least
	// Rules.RepeatReports times before the reply, and that was not replied by its
	// deadline with no reason given.
	GroundRepeatIgnored
	// GroundDutyLineUnanswered: （七）值班人员擅自脱岗、离岗，电话无人接听的.
	// At least Rules.DutyLineUnanswered unanswered calls to the unit's duty line in
	// the period, as the call side reports them (T7, three-way call no_answer).
	GroundDutyLineUnanswered
)

var groundCodes = [...]string{"", "consecutive_returns", "written_reply_missing", "late_without_reason",
	"inconsistent_reply", "shirking", "repeat_ignored", "duty_line_unanswered"}

var groundLabels = [...]string{"",
	"办理程序和办理结果不符合要求，被连续2次退回重新办理",
	"要求书面反馈，无特殊原因未反馈，又处理不到位",
	"没有按规定时限反馈，又没有说明原因，季度累计达3次以上",
	"反馈情况与实际处理情况不一致，且造成不良影响",
	"不认真办理，推诿拖拉，延误问题解决，造成不良影响",
	"对同一问题，群众多次反映，不及时办理又不作回复",
	"值班人员擅自脱岗、离岗，电话无人接听",
}

// Grounds lists the seven grounds in the seed's order.
func Grounds() []Ground {
	return []Ground{GroundConsecutiveReturns, GroundWrittenReplyMissing, GroundLateWithoutReason,
		GroundInconsistentReply, GroundShirking, GroundRepeatIgnored, GroundDutyLineUnanswered}
}

func (g Ground) valid() bool { return g >= GroundConsecutiveReturns && g <= GroundDutyLineUnanswered }

// Code is the stable English code for JSON and the database.
func (g Ground) Code() string {
	if !g.valid() {
		return ""
	}
	return groundCodes[g]
}

// Label is the seed's wording.
func (g Ground) Label() string {
	if !g.valid() {
		return ""
	}
	return groundLabels[g]
}

// Number is the seed's numbering, （一） to （七）.
func (g Ground) Number() int { return int(g) }

func (g Ground) String() string {
	if !g.valid() {
		return fmt.Sprintf("Ground(%d)", int(g))
	}
	return groundCodes[g]
}

// MarshalText writes the code.
func (g Ground) MarshalText() ([]byte, error) {
	if !g.valid() {
		return nil, fmt.Errorf("assessment: invalid ground %d", int(g))
	}
	return []byte(groundCodes[g]), nil
}

// UnmarshalText reads the code.
func (g *Ground) UnmarshalText(b []byte) error {
	for _, c := range Grounds() {
		if groundCodes[c] == string(b) {
			*g = c
			return nil
		}
	}
	return fmt.Errorf("assessment: unknown ground %q", b)
}

// Rules are the thresholds of the grounds. DefaultRules is the seed; a city may
// configure its own.
type Rules struct {
	// ConsecutiveReturns: （一） "连续2次".
	ConsecutiveReturns int `json:"consecutive_returns"`
	// LateWithoutReason: （三） "季度累计达3次以上".
	LateWithoutReason int `json:"late_without_reason"`
	// RepeatReports: （六） "多次反映" — reports after the first, so 1 means the
	// citizen raised the problem at least twice.
	RepeatReports int `json:"repeat_reports"`
	// DutyLineUnanswered: （七） names no count; one unanswered duty line is a ground.
	DutyLineUnanswered int `json:"duty_line_unanswered"`
}

// DefaultRules returns the thresholds of 002 三.
func DefaultRules() Rules {
	return Rules{ConsecutiveReturns: 2, LateWithoutReason: 3, RepeatReports: 1, DutyLineUnanswered: 1}
}

func (r Rules) validate() error {
	for name, v := range map[string]int{
		"consecutive_returns": r.ConsecutiveReturns, "late_without_reason": r.LateWithoutReason,
		"repeat_reports": r.RepeatReports, "duty_line_unanswered": r.DutyLineUnanswered,
	} {
		if v < 1 {
			return fmt.Errorf("assessment: rule %s is %d, want at least 1", name, v)
		}
	}
	return nil
}
