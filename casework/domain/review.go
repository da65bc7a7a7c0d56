package domain

import (
	"strconv"
	"time"
)

// Complete is the center's review passing the reply (审查 … 符合要求的注明“完成处理”,
// 001 §五(三)2).
func (c *Case) Complete(by Actor, at time.Time, note string) error {
	to, err := c.begin(by, at, ActionComplete)
	if err != nil {
		return err
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.record(by, at, ActionComplete, to, nil, note)
	return nil
}

// ReturnForRedo sends an unsatisfactory reply back to the same lead unit
// (退回重办, 002 二) with a new time limit. It counts toward Redos and, for
// assessment, toward 002 三(一) (two consecutive returns).
func (c *Case) ReturnForRedo(by Actor, at time.Time, reason string, limit TimeLimit) error {
	to, err := c.begin(by, at, ActionReturnForRedo)
	if err != nil {
		return err
	}
	if err := checkText("reason", reason, maxNoteRunes, true); err != nil {
		return err
	}
	if err := limit.validate("limit", at); err != nil {
		return err
	}
	c.s.Redos++
	c.startRound(at, limit)
	c.record(by, at, ActionReturnForRedo, to, map[string]string{
		DetailReason:      reason,
		DetailWorkingDays: strconv.Itoa(limit.WorkingDays),
	}, "")
	return nil
}

// Satisfaction is the callback survey answer (回访, C8, T12).
type Satisfaction string

const (
	Satisfied          Satisfaction = "satisfied"           // 满意
	BasicallySatisfied Satisfaction = "basically_satisfied" // 基本满意
	Dissatisfied       Satisfaction = "dissatisfied"        // 不满意
	// Unreachable is a callback that never reached the citizen; it closes the case
	// but is not an answer, so assessment leaves it out of the satisfaction rate.
	Unreachable Satisfaction = "unreachable" // 无法联系
)

var satisfactionEnum = enum[Satisfaction]{
	field:  "satisfaction",
	codes:  []Satisfaction{Satisfied, BasicallySatisfied, Dissatisfied, Unreachable},
	labels: []string{"满意", "基本满意", "不满意", "无法联系"},
}

// ParseSatisfaction accepts a code or a label.
func ParseSatisfaction(s string) (Satisfaction, error) { return satisfactionEnum.parse(s) }

// Valid reports whether s is one of the codes.
func (s Satisfaction) Valid() bool { return satisfactionEnum.valid(s) }

// Label is the Chinese name.
func (s Satisfaction) Label() string { return satisfactionEnum.label(s) }

// Counts reports whether the answer enters the satisfaction rate.
func (s Satisfaction) Counts() bool {
	return s == Satisfied || s == BasicallySatisfied || s == Dissatisfied
}

// Content reports whether the answer counts as satisfied for the rate.
func (s Satisfaction) Content() bool { return s == Satisfied || s == BasicallySatisfied }

// UnmarshalText refuses unknown answers at the JSON boundary.
func (s *Satisfaction) UnmarshalText(b []byte) error {
	v, err := ParseSatisfaction(string(b))
	*s = v
	return err
}

// Callback is a callback result to record.
type Callback struct {
	Satisfaction Satisfaction
	// CallID is the outbound call, when the callback was made by phone.
	CallID string
	Note   string
	// Redo is the new time limit for the unit; required exactly when the citizen is
	// dissatisfied, because that reopens the case (004 第十条(十)).
	Redo TimeLimit
}

// CallbackRecord is a callback as filed.
type CallbackRecord struct {
	Satisfaction Satisfaction `json:"satisfaction"`
	CallID       string       `json:"call_id,omitempty"`
	Note         string       `json:"note,omitempty"`
	At           time.Time    `json:"at"`
	By           Actor        `json:"by"`
}

// RecordCallback files the callback. Satisfied, basically satisfied and
// unreachable close the case (ActionCallback); dissatisfied reopens it for the
// same lead unit with a new round (ActionCallbackReopen), counted in Redos.
func (c *Case) RecordCallback(by Actor, at time.Time, cb Callback) error {
	if err := satisfactionEnum.check(cb.Satisfaction); err != nil {
		return err
	}
	action := ActionCallback
	if cb.Satisfaction == Dissatisfied {
		action = ActionCallbackReopen
	}
	to, err := c.begin(by, at, action)
	if err != nil {
		return err
	}
	if cb.CallID != "" {
		if err := checkCallID("call_id", cb.CallID); err != nil {
			return err
		}
	}
	if err := checkNote(cb.Note); err != nil {
		return err
	}
	details := map[string]string{
		DetailSatisfaction: string(cb.Satisfaction),
		DetailCallID:       cb.CallID,
	}
	if action == ActionCallbackReopen {
		if err := cb.Redo.validate("redo", at); err != nil {
			return err
		}
		c.s.Redos++
		c.startRound(at, cb.Redo)
		details[DetailWorkingDays] = strconv.Itoa(cb.Redo.WorkingDays)
	} else if !cb.Redo.Due.IsZero() {
		return invalid("redo", formatTime(cb.Redo.Due), "only a dissatisfied callback reopens the case")
	}
	c.s.Callback = &CallbackRecord{Satisfaction: cb.Satisfaction, CallID: cb.CallID, Note: cb.Note, At: at, By: by}
	c.linkCall(cb.CallID)
	c.record(by, at, action, to, details, cb.Note)
	return nil
}

// Close ends a completed case without a callback; 001 §五(三)3 makes callbacks
// situational (视情回访).
func (c *Case) Close(by Actor, at time.Time, note string) error {
	to, err := c.begin(by, at, ActionClose)
	if err != nil {
		return err
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.record(by, at, ActionClose, to, nil, note)
	return nil
}

// Archive files a finished case (立卷归档, 001 §五(五)); the file is sealed after.
func (c *Case) Archive(by Actor, at time.Time, note string) error {
	to, err := c.begin(by, at, ActionArchive)
	if err != nil {
		return err
	}
	if err := checkNote(note); err != nil {
		return err
	}
	c.record(by, at, ActionArchive, to, nil, note)
	return nil
}
