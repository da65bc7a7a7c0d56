package domain

import "regexp"

// Urgency decides the time limit policy: urgent cases (急办件) get their own
// deadline in hours instead of working days (002 二).
type Urgency string

const (
	UrgencyNormal Urgency = "normal" // 一般
	UrgencyUrgent Urgency = "urgent" // 紧急
)

var urgencyEnum = enum[Urgency]{
	field:  "urgency",
	codes:  []Urgency{UrgencyNormal, UrgencyUrgent},
	labels: []string{"一般", "紧急"},
}

// ParseUrgency accepts a code or a label.
func ParseUrgency(s string) (Urgency, error) { return urgencyEnum.parse(s) }

// Valid reports whether u is one of the codes.
func (u Urgency) Valid() bool { return urgencyEnum.valid(u) }

// Label is the Chinese name.
func (u Urgency) Label() string { return urgencyEnum.label(u) }

// UnmarshalText refuses unknown values at the JSON boundary.
func (u *Urgency) UnmarshalText(b []byte) error {
	v, err := ParseUrgency(string(b))
	*u = v
	return err
}

// Confidentiality is the 保密等级 the agent sets at intake (001 §五(一)1(2)).
// A confidential case hides the caller from units exactly like a report does.
type Confidentiality string

const (
	ConfidentialityNone         Confidentiality = "none"         // 普通
	ConfidentialityConfidential Confidentiality = "confidential" // 保密
)

var confidentialityEnum = enum[Confidentiality]{
	field:  "confidentiality",
	codes:  []Confidentiality{ConfidentialityNone, ConfidentialityConfidential},
	labels: []string{"普通", "保密"},
}

// ParseConfidentiality accepts a code or a label.
func ParseConfidentiality(s string) (Confidentiality, error) { return confidentialityEnum.parse(s) }

// Valid reports whether c is one of the codes.
func (c Confidentiality) Valid() bool { return confidentialityEnum.valid(c) }

// Label is the Chinese name.
func (c Confidentiality) Label() string { return confidentialityEnum.label(c) }

// UnmarshalText refuses unknown values at the JSON boundary.
func (c *Confidentiality) UnmarshalText(b []byte) error {
	v, err := ParseConfidentiality(string(b))
	*c = v
	return err
}

// Channel is how the request reached the hotline (C13: every channel enters the
// same flow).
type Channel string

const (
	ChannelPhone     Channel = "phone"     // 电话
	ChannelVoicemail Channel = "voicemail" // 留言
	ChannelFax       Channel = "fax"       // 传真
	ChannelMailbox   Channel = "mailbox"   // 市长信箱
	ChannelSMS       Channel = "sms"       // 短信
	ChannelWeb       Channel = "web"       // 网站
)

var channelEnum = enum[Channel]{
	field:  "channel",
	codes:  []Channel{ChannelPhone, ChannelVoicemail, ChannelFax, ChannelMailbox, ChannelSMS, ChannelWeb},
	labels: []string{"电话", "留言", "传真", "市长信箱", "短信", "网站"},
}

// ParseChannel accepts a code or a label.
func ParseChannel(s string) (Channel, error) { return channelEnum.parse(s) }

// Valid reports whether c is one of the codes.
func (c Channel) Valid() bool { return channelEnum.valid(c) }

// Label is the Chinese name.
func (c Channel) Label() string { return channelEnum.label(c) }

// UnmarshalText refuses unknown values at the JSON boundary.
func (c *Channel) UnmarshalText(b []byte) error {
	v, err := ParseChannel(string(b))
	*c = v
	return err
}

// HandlingMode is the 处理方式 (001 §五(一)1(2)). The two transfer modes carry
// different time limits (002 二: written 7 working days, phone/SMS 3), and only a
// written transfer requires a written reply, which matters for assessment ground (二).
type HandlingMode string

const (
	ModeDirectAnswer    HandlingMode = "direct_answer"    // 直接答复
	ModeWrittenTransfer HandlingMode = "written_transfer" // 书面交办
	ModePhoneTransfer   HandlingMode = "phone_transfer"   // 电话、短信交办
)

var modeEnum = enum[HandlingMode]{
	field:  "handling_mode",
	codes:  []HandlingMode{ModeDirectAnswer, ModeWrittenTransfer, ModePhoneTransfer},
	labels: []string{"直接答复", "书面交办", "电话交办"},
}

// ParseHandlingMode accepts a code or a label.
func ParseHandlingMode(s string) (HandlingMode, error) { return modeEnum.parse(s) }

// Valid reports whether m is one of the codes.
func (m HandlingMode) Valid() bool { return modeEnum.valid(m) }

// Label is the Chinese name.
func (m HandlingMode) Label() string { return modeEnum.label(m) }

// IsTransfer reports whether the mode hands the case to a unit.
func (m HandlingMode) IsTransfer() bool { return m == ModeWrittenTransfer || m == ModePhoneTransfer }

// UnmarshalText refuses unknown values at the JSON boundary.
func (m *HandlingMode) UnmarshalText(b []byte) error {
	v, err := ParseHandlingMode(string(b))
	*m = v
	return err
}

// Region is an administrative area code (e.g. the 6-digit 行政区划代码). The domain
// does not know the city's list of regions; it only keeps codes well-formed so they
// can be grouped in reports.
type Region string

var regionPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$`)

// ParseRegion checks the code's shape.
func ParseRegion(s string) (Region, error) {
	if !regionPattern.MatchString(s) {
		return "", invalid("region", s, "want 1-32 letters, digits, '_' or '-'")
	}
	return Region(s), nil
}

// Valid reports whether r is well-formed.
func (r Region) Valid() bool { return regionPattern.MatchString(string(r)) }

// UnmarshalText refuses malformed codes at the JSON boundary.
func (r *Region) UnmarshalText(b []byte) error {
	v, err := ParseRegion(string(b))
	*r = v
	return err
}
