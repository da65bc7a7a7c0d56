// Package event is the contract between the call service and the casework service:
// the versioned envelope every hotline event travels in, the event types, their
// payloads and the JetStream subjects they are published on.
//
// Both sides import this package and nothing else of each other, so it depends on the
// standard library only. The JSON schema of the wire format is schema.json beside this
// file (also available as Schema).
//
// Compatibility rules: a field is never renamed or re-typed within a Version; new
// optional payload fields may be added without bumping it; consumers must ignore
// unknown fields and store events of unknown types instead of failing on them.
package event

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is the envelope schema version this build writes.
const Version = 1

// Schema is the JSON schema (draft 2020-12) of the envelope and payloads.
//
//go:embed schema.json
var Schema []byte

// Type names what happened. It is also the subject suffix: an event of type
// "call.started" is published on "<root>.call.started".
type Type string

// Call events, written by the call service.
const (
	CallStarted        Type = "call.started"
	CallEnded          Type = "call.ended"
	MenuChoice         Type = "call.menu_choice"
	SelfServiceLookup  Type = "call.selfservice_lookup"
	CallQueued         Type = "call.queued"
	CallAbandoned      Type = "call.abandoned"
	AgentAnswered      Type = "call.agent_answered"
	RecordingSaved     Type = "call.recording_saved"
	ThreeWayJoined     Type = "call.threeway_joined"
	ThreeWayFailed     Type = "call.threeway_failed"
	ThreeWayLeft       Type = "call.threeway_left"
	PoliteEnding       Type = "call.polite_ending"
	VoicemailLeft      Type = "call.voicemail_left"
	VoicemailDiscarded Type = "call.voicemail_discarded"
	FaxSent            Type = "call.fax_sent"
	FaxReceived        Type = "call.fax_received"
	CallbackAttempt    Type = "call.callback_attempt"
	CallbackResult     Type = "call.callback_result"
)

// Agent events, written by the call service's agent queue.
const (
	// AgentStateChanged: an agent's state changed (staff report: work, talk,
	// wrap-up, pause and idle time per agent, C11).
	AgentStateChanged Type = "agent.state_changed"
)

// Case events, written by the casework service.
const (
	// CaseChanged carries one immutable history entry of a case.
	CaseChanged Type = "case.changed"
	// CallbackRequested asks the call service to call a citizen back (回访).
	CallbackRequested Type = "case.callback_requested"
)

// DefaultSubjectRoot is the subject root of production: every subject is under "hotline.".
const DefaultSubjectRoot = "hotline"

// Subject returns the subject an event of type t is published on under root.
func Subject(root string, t Type) string { return root + "." + string(t) }

// Envelope is one event on the wire and one row in the casework event store.
type Envelope struct {
	// ID is unique per event (a UUIDv7, so IDs sort by creation time). It is the
	// JetStream Nats-Msg-Id (publish deduplication) and the database key (store once).
	ID      string    `json:"id"`
	Version int       `json:"v"`
	Type    Type      `json:"type"`
	Time    time.Time `json:"time"`
	// Source names the producer (service and node), for tracing a bad event home.
	Source string `json:"source"`
	CallID string `json:"call_id,omitempty"`
	CaseID string `json:"case_id,omitempty"`
	// Payload is the type-specific body; see the payload structs in this package.
	Payload json.RawMessage `json:"payload"`
}

// New builds an envelope with a fresh ID, the current time and the payload encoded.
func New(t Type, source, callID string, payload any) (Envelope, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Envelope{}, fmt.Errorf("event id: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s payload: %w", t, err)
	}
	return Envelope{
		ID:      id.String(),
		Version: Version,
		Type:    t,
		Time:    time.Now().UTC(),
		Source:  source,
		CallID:  callID,
		Payload: body,
	}, nil
}

// ErrInvalid marks an envelope that breaks the contract; consumers park such events
// instead of retrying them forever.
var ErrInvalid = errors.New("invalid event")

// Validate checks what every consumer relies on. It does not reject unknown types or
// newer versions: those are stored as they came (tolerant reader).
func (e Envelope) Validate() error {
	var problems []string
	if _, err := uuid.Parse(e.ID); err != nil {
		problems = append(problems, "id is not a UUID")
	}
	if e.Version < 1 {
		problems = append(problems, "version must be >= 1")
	}
	if e.Type == "" || strings.ContainsAny(string(e.Type), " *>") {
		problems = append(problems, "type must be a non-empty subject token")
	}
	if e.Time.IsZero() {
		problems = append(problems, "time is missing")
	}
	if len(e.Payload) == 0 || !json.Valid(e.Payload) {
		problems = append(problems, "payload must be JSON")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// Decode parses and validates one envelope from the wire.
func Decode(data []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// DecodePayload unmarshals the payload into dst (a pointer to a payload struct).
func (e Envelope) DecodePayload(dst any) error {
	if err := json.Unmarshal(e.Payload, dst); err != nil {
		// A payload that does not decode breaks the contract: retrying cannot help.
		return fmt.Errorf("%w: decode %s payload of event %s: %w", ErrInvalid, e.Type, e.ID, err)
	}
	return nil
}
