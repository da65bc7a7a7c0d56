package prompts

// ID names a prompt of the table in prompts.tsv. Use the constants below so
// that a typo is a compile error, not silence on a call.
type ID string

// Prompt IDs; prompts_test.go checks that this list and prompts.tsv agree.
const (
	Greeting        ID = "greeting"
	FallbackApology ID = "fallback-apology"
	RecordingNotice ID = "recording-notice"
	SystemBusy      ID = "system-busy"
	PleaseHold      ID = "please-hold"
	Goodbye         ID = "goodbye"
	// CallResumed apologises to a caller whose call the service took back
	// after a crash or restart, before the menu again.
	CallResumed ID = "call-resumed"

	ClosedHours   ID = "closed-hours"
	AllAgentsBusy ID = "all-agents-busy"
	MenuMain      ID = "menu-main"
	InvalidKey    ID = "invalid-key"
	NoInput       ID = "no-input"
	TooManyErrors ID = "too-many-errors"
	// ServiceUnavailable: a menu option whose service is not configured or failed.
	ServiceUnavailable ID = "service-unavailable"

	QueueConnecting     ID = "queue-connecting"
	QueuePositionBefore ID = "queue-position-before"
	QueuePositionAfter  ID = "queue-position-after"
	QueueWaitBefore     ID = "queue-wait-before"
	QueueWaitAfter      ID = "queue-wait-after"
	QueueOverflow       ID = "queue-overflow"
	AgentIntro          ID = "agent-intro"

	AbusiveCallEnd ID = "abusive-call-end"

	VoicemailInstructions ID = "voicemail-instructions"
	VoicemailSaved        ID = "voicemail-saved"
	VoicemailTooShort     ID = "voicemail-too-short"

	SelfServiceEnterCase   ID = "selfservice-enter-case"
	SelfServiceNotFound    ID = "selfservice-not-found"
	SelfServiceStatusIntro ID = "selfservice-status-intro"
	SelfServiceRepeat      ID = "selfservice-repeat"
	SelfServiceCode        ID = "selfservice-code"
	SelfServiceCodeWrong   ID = "selfservice-code-wrong"
	SelfServiceCodeLocked  ID = "selfservice-code-locked"

	FaxSelect ID = "fax-select"
	// FaxMenu offers documents by number, or receiving the caller's fax (bare #).
	FaxMenu       ID = "fax-menu"
	FaxNoDocument ID = "fax-no-document"
	FaxStart      ID = "fax-start"
	FaxReceive    ID = "fax-receive"
	FaxFailed     ID = "fax-failed"

	DutylineIntro ID = "dutyline-intro"

	CallbackIntro  ID = "callback-intro"
	CallbackSurvey ID = "callback-survey"
	CallbackThanks ID = "callback-thanks"
	CallbackCase   ID = "callback-case"
)

// AllIDs lists every constant above, in table order.
var AllIDs = []ID{
	Greeting, FallbackApology, RecordingNotice, SystemBusy, PleaseHold, Goodbye, CallResumed,
	ClosedHours, AllAgentsBusy, MenuMain, InvalidKey, NoInput, TooManyErrors, ServiceUnavailable,
	QueueConnecting, QueuePositionBefore, QueuePositionAfter, QueueWaitBefore, QueueWaitAfter, QueueOverflow, AgentIntro,
	AbusiveCallEnd,
	VoicemailInstructions, VoicemailSaved, VoicemailTooShort,
	SelfServiceEnterCase, SelfServiceNotFound, SelfServiceStatusIntro, SelfServiceRepeat, SelfServiceCode, SelfServiceCodeWrong, SelfServiceCodeLocked,
	FaxSelect, FaxMenu, FaxNoDocument, FaxStart, FaxReceive, FaxFailed,
	DutylineIntro,
	CallbackIntro, CallbackSurvey, CallbackThanks, CallbackCase,
}
