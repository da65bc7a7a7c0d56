package domain

import (
	"errors"
	"regexp"
	"strings"
	"time"
)

// Caller is who contacted the hotline. Every field may be empty: anonymous callers
// are accepted (T1) and 001 §四(六) lets callers withhold name and employer. These
// are the fields ViewFor hides from units on reports and confidential cases.
type Caller struct {
	Name     string `json:"name,omitempty"`
	Employer string `json:"employer,omitempty"` // 工作单位
	Phone    string `json:"phone,omitempty"`
	Address  string `json:"address,omitempty"`
}

var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9-]{2,31}$`)

// phoneForm is the accepted form, in words, for every phone message.
const phoneForm = "an optional '+', then 3 to 32 digits or '-' separators, starting with a digit"

// phoneProblem says what is wrong with a phone number phonePattern refuses, so
// that the agent sees the actual fault ("0" is digits, but too short).
func phoneProblem(p string) string {
	rest := strings.TrimPrefix(p, "+")
	switch {
	case strings.ContainsFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '-' }):
		return "only digits are allowed (" + phoneForm + ")"
	case len(rest) < 3:
		return "too short (" + phoneForm + ")"
	case rest[0] == '-':
		return "must start with a digit (" + phoneForm + ")"
	case len(rest) > 32:
		return "too long (" + phoneForm + ")"
	}
	return "want " + phoneForm
}

// Validate checks shapes only; nothing is required.
func (c Caller) Validate() error {
	return errors.Join(
		checkText("caller.name", c.Name, 64, false),
		checkText("caller.employer", c.Employer, 128, false),
		checkText("caller.address", c.Address, 256, false),
		func() error {
			if c.Phone != "" && !phonePattern.MatchString(c.Phone) {
				// The number itself stays out of the message: it identifies the caller.
				return invalid("caller.phone", "", phoneProblem(c.Phone))
			}
			return nil
		}(),
	)
}

// Registration is the intake record (登记, C1; 000 三(一), 001 §五(一)1).
// Call IDs and materials are not part of it: they are linked after NewCase with
// LinkCall and AttachMaterial, so that each link has its own history entry.
type Registration struct {
	Number          CaseNumber      `json:"number"`
	Caller          Caller          `json:"caller"`
	ReceivedAt      time.Time       `json:"received_at"` // 来电时间
	Content         string          `json:"content"`     // 来电内容
	Category        Category        `json:"category"`
	Region          Region          `json:"region"`
	Urgency         Urgency         `json:"urgency"`
	Confidentiality Confidentiality `json:"confidentiality"`
	Channel         Channel         `json:"channel"`
	// HandlingMode is the way chosen at intake; Transfer may still decide another
	// transfer mode, and the case keeps the current one.
	HandlingMode HandlingMode `json:"handling_mode"`
	// QueryCode lets the citizen hear the case's status by phone (T10). Optional;
	// generated outside like the number.
	QueryCode string `json:"query_code,omitempty"`
}

var queryCodePattern = regexp.MustCompile(`^[0-9]{4,12}$`)

// maxContentRunes bounds a single request; longer texts belong in materials.
const maxContentRunes = 20000

// Validate reports every problem at once (errors.Join of *ValidationError), so a
// form can mark all bad fields in one round trip.
func (r Registration) Validate() error {
	var errs []error
	if _, err := ParseCaseNumber(string(r.Number)); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, r.Caller.Validate())
	if r.ReceivedAt.IsZero() {
		errs = append(errs, invalid("received_at", "", "missing"))
	}
	errs = append(errs,
		checkText("content", r.Content, maxContentRunes, true),
		categoryEnum.check(r.Category),
		urgencyEnum.check(r.Urgency),
		confidentialityEnum.check(r.Confidentiality),
		channelEnum.check(r.Channel),
		modeEnum.check(r.HandlingMode),
	)
	if !r.Region.Valid() {
		errs = append(errs, invalid("region", string(r.Region), "want 1-32 letters, digits, '_' or '-'"))
	}
	if r.QueryCode != "" && !queryCodePattern.MatchString(r.QueryCode) {
		errs = append(errs, invalid("query_code", "", "want 4-12 digits"))
	}
	return errors.Join(errs...)
}

// Protected reports whether the caller's identity must be hidden from units:
// every report (举报, 001 §五(一)1 "隐去来话人姓名及电话号码") and every case the
// agent marked confidential (004 第十五条).
func (r Registration) Protected() bool {
	return r.Category == CategoryReport || r.Confidentiality == ConfidentialityConfidential
}
