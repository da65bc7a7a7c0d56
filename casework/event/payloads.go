package event

import (
	"strings"
	"time"
)

// CallStartedPayload: a call reached the hotline (inbound) or was placed by it (outbound).
type CallStartedPayload struct {
	// Caller is the calling number as the carrier presented it; empty when withheld.
	Caller string `json:"caller,omitempty"`
	// CallerName is the presented display name, if any.
	CallerName string `json:"caller_name,omitempty"`
	// Anonymous is true when the caller withheld the number (accepted, never refused).
	Anonymous bool   `json:"anonymous"`
	Called    string `json:"called"`
	// Direction is "inbound" or "outbound".
	Direction string `json:"direction"`
	// Channel is the Asterisk channel name, for correlating with Asterisk's own logs.
	Channel string `json:"channel,omitempty"`
	// Node is the Asterisk entity that carries the call.
	Node string `json:"node,omitempty"`
	// Staffed tells whether the call arrived in staffed hours (human service).
	Staffed bool `json:"staffed"`
}

// WithheldNumber tells whether a calling number as Asterisk presents it is the
// carrier's marker for a withheld number rather than a number. Producers put ""
// in Caller fields for these; consumers check too, for events of older producers.
// Both sides share the list so that a marker is never taken for a number.
func WithheldNumber(n string) bool {
	switch n {
	case "", "anonymous", "Anonymous", "unknown", "restricted":
		return true
	}
	return false
}

// PresentedNumber is n, or "" when n is a withheld marker.
func PresentedNumber(n string) string {
	if WithheldNumber(n) {
		return ""
	}
	return n
}

// MaskNumber is a phone number as logs may show it: the first three and last
// four digits (13912345678 → 139****5678), enough to tell calls apart, not
// enough to identify a caller, who may be a whistleblower (T13). Short numbers
// keep only their last two digits; withheld markers stay as they are.
func MaskNumber(n string) string {
	if WithheldNumber(n) {
		return n
	}
	r := []rune(n)
	switch {
	case len(r) >= 9:
		return string(r[:3]) + "****" + string(r[len(r)-4:])
	case len(r) > 2:
		return strings.Repeat("*", len(r)-2) + string(r[len(r)-2:])
	}
	return strings.Repeat("*", len(r))
}

// Call outcomes (CallEndedPayload.Outcome): the last thing the call achieved.
// The call service sets them, the calls projection stores them and the reports
// count them; this list is the one place they are spelled.
const (
	OutcomeGreeted      = "greeted"       // answered, greeted, nothing more
	OutcomeMenu         = "menu"          // reached the voice menu
	OutcomeSelfService  = "selfservice"   // voice self-service
	OutcomeVoicemail    = "voicemail"     // left a message
	OutcomeFax          = "fax"           // fax sent or received
	OutcomeQueued       = "queued"        // waited for an agent (and left by the dialplan)
	OutcomeAgent        = "agent"         // talked with an agent
	OutcomePoliteEnding = "polite_ending" // ended by the agent's polite closing prompt
	OutcomeAbandoned    = "abandoned"     // hung up while waiting for an agent
	OutcomeCallback     = "callback"      // an outbound satisfaction callback (callback_<result> once answered)
	OutcomeFailed       = "failed"        // the hotline failed the call
	OutcomeInterrupted  = "interrupted"   // ended by a crash of the call service (crash recovery)
	OutcomeFallback     = "fallback"      // handed to the dialplan's fallback when the service stopped
)

// CallbackOutcome is the outcome of a callback that got a result.
func CallbackOutcome(result string) string { return OutcomeCallback + "_" + result }

// Hang-up sides of CallEndedPayload.HangupBy.
const (
	HangupByCaller = "caller"
	HangupBySystem = "system"
	HangupByAgent  = "agent"
)

// CallEndedPayload: the call is over.
type CallEndedPayload struct {
	StartedAt  time.Time `json:"started_at"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	EndedAt    time.Time `json:"ended_at"`
	// DurationMS runs from arrival to hang-up.
	DurationMS int64 `json:"duration_ms"`
	// HangupBy says who ended it: caller, system or agent.
	HangupBy string `json:"hangup_by"`
	// HangupCause is the Q.850 cause Asterisk reported (16 normal clearing, ...).
	HangupCause     int    `json:"hangup_cause"`
	HangupCauseText string `json:"hangup_cause_text,omitempty"`
	// Outcome is the last thing the call achieved: one of the Outcome* constants.
	Outcome string `json:"outcome"`
}

// MenuChoicePayload: the caller chose (or failed to choose) in a voice menu.
type MenuChoicePayload struct {
	Menu string `json:"menu"`
	// Key is the DTMF digit, or empty on timeout.
	Key string `json:"key,omitempty"`
	// Choice is what the key means ("selfservice", "voicemail", "fax", "repeat"),
	// or "invalid", "timeout", "default".
	Choice  string `json:"choice"`
	Attempt int    `json:"attempt"`
}

// SelfServiceLookupPayload: the caller asked for a case's status (自动语音服务).
type SelfServiceLookupPayload struct {
	CaseNumber string `json:"case_number"`
	// Found is false for unknown numbers.
	Found bool `json:"found"`
	// Detailed is true when the caller was entitled to hear unit and deadline.
	Detailed bool `json:"detailed"`
}

// CallQueuedPayload: the caller entered the agent queue.
type CallQueuedPayload struct {
	Queue    string `json:"queue"`
	Position int    `json:"position"`
}

// CallAbandonedPayload: the caller hung up while waiting.
type CallAbandonedPayload struct {
	Queue  string `json:"queue"`
	WaitMS int64  `json:"wait_ms"`
	// Short is true when the wait was under the short-abandon threshold.
	Short bool `json:"short"`
}

// AgentAnsweredPayload: an agent took the call.
type AgentAnsweredPayload struct {
	StaffNumber string `json:"staff_number"`
	WaitMS      int64  `json:"wait_ms"`
}

// RecordingSavedPayload: a recording (agent call, three-way call) is stored.
type RecordingSavedPayload struct {
	RecordingID string `json:"recording_id"`
	// URI is where the casework service can read the file (path or URL).
	URI        string `json:"uri"`
	DurationMS int64  `json:"duration_ms"`
	Format     string `json:"format"`
}

// ThreeWayPayload: three-way call (三方通话) with a unit's duty line.
type ThreeWayPayload struct {
	UnitID      string `json:"unit_id"`
	DutyLine    string `json:"duty_line"`
	StaffNumber string `json:"staff_number,omitempty"`
	// Reason on failure: no_answer, busy, congestion, refused, error.
	Reason string `json:"reason,omitempty"`
	// HangupCause is the Q.850 cause of a failed attempt.
	HangupCause int `json:"hangup_cause,omitempty"`
	// Confidential is true when the caller's identity was withheld from the unit.
	Confidential bool `json:"confidential,omitempty"`
}

// AgentStatePayload: an agent's state changed. The event has no call ID unless
// a call caused the change (answer, hang-up).
type AgentStatePayload struct {
	StaffNumber string `json:"staff_number"`
	// State is logged_out, ready, on_call, wrap_up or paused.
	State string `json:"state"`
	// Reason of a pause (break, logged_in, no_answer, ...).
	Reason string `json:"reason,omitempty"`
	// Previous state and the time spent in it.
	Previous   string `json:"previous"`
	PreviousMS int64  `json:"previous_ms"`
	// ForcedBy is the supervisor (user ID) who ordered the change; casework
	// writes it to the audit log.
	ForcedBy string `json:"forced_by,omitempty"`
}

// PoliteEndingPayload: an agent ended an abusive call with the recorded prompt.
type PoliteEndingPayload struct {
	StaffNumber string `json:"staff_number"`
}

// VoicemailPayload: a message (留言) was left or discarded.
type VoicemailPayload struct {
	MessageID string `json:"message_id"`
	// Caller is the calling number; empty when withheld.
	Caller string `json:"caller,omitempty"`
	// URI of the stored audio (absent when discarded).
	URI        string `json:"uri,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Format     string `json:"format,omitempty"`
	// Reason a message was discarded (silence, too_short, error) or how it ended
	// (dtmf, hangup, max_length, silence_after_speech).
	Reason string `json:"reason,omitempty"`
}

// FaxPayload: a fax was sent to or received from the caller.
type FaxPayload struct {
	FaxID      string `json:"fax_id"`
	DocumentID string `json:"document_id,omitempty"`
	Pages      int    `json:"pages"`
	// Status is "success" or "failed".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// URI of the stored TIFF (received faxes); PDFURI of its PDF copy.
	URI    string `json:"uri,omitempty"`
	PDFURI string `json:"pdf_uri,omitempty"`
	Remote string `json:"remote_station,omitempty"`
}

// CallbackRequestedPayload: casework asks for a satisfaction callback (回访).
type CallbackRequestedPayload struct {
	CaseNumber string `json:"case_number"`
	// Number is the case's caller number: the only number a callback may dial.
	Number string `json:"number"`
}

// Satisfaction answers of a callback survey.
const (
	Satisfied          = "satisfied"
	BasicallySatisfied = "basically_satisfied"
	Dissatisfied       = "dissatisfied"
	Unreachable        = "unreachable"
)

// CallbackPayload: one callback attempt or its final result.
type CallbackPayload struct {
	CaseNumber string `json:"case_number"`
	Attempt    int    `json:"attempt"`
	// Result is satisfied, basically_satisfied, dissatisfied or unreachable (final),
	// or no_answer, busy, failed, no_input for a single attempt.
	Result string `json:"result"`
}

// CaseChangedPayload: one immutable history entry of a case.
type CaseChangedPayload struct {
	CaseNumber string    `json:"case_number"`
	Seq        int       `json:"seq"`
	Action     string    `json:"action"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to"`
	ActorID    string    `json:"actor_id"`
	ActorRole  string    `json:"actor_role"`
	At         time.Time `json:"at"`
	Note       string    `json:"note,omitempty"`
	// Deadline is the time limit in force after the action; DeadlineProvisional
	// says it was counted on a year without the official holiday notice, so it
	// moves (action recompute_deadline) when the notice is imported.
	Deadline            time.Time `json:"deadline,omitzero"`
	DeadlineProvisional bool      `json:"deadline_provisional,omitempty"`
}
