package app

import (
	"fmt"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
)

// CallService is the actor of changes the call service causes through events.
var CallService = domain.Actor{ID: "callservice", Role: domain.RoleSystem}

// CallEventChange decides what a call event does to a case (call ↔ case, T6,
// T9, T11, T12, T14): the case it names (ID or number) and the change. ok is false
// for events that concern no case. The store's case projector applies the change
// in the event's transaction, so it happens exactly once per event.
//
//   - call.ended with a case ID links the call;
//   - voicemail, received fax and recording events with a case ID file the media
//     as case material;
//   - call.callback_result (final answers only) records the callback; a
//     dissatisfied citizen reopens the case with a fresh time limit.
func (s *Service) CallEventChange(env event.Envelope) (ref string, change func(*domain.Case, bool) ([]event.Envelope, error), ok bool, err error) {
	at := env.Time
	wrap := func(fn func(c *domain.Case) error) func(*domain.Case, bool) ([]event.Envelope, error) {
		return func(c *domain.Case, consent bool) ([]event.Envelope, error) {
			if err := fn(c); err != nil {
				return nil, err
			}
			return s.derived(c, consent)
		}
	}
	attach := func(kind domain.MaterialKind, ref string) func(*domain.Case, bool) ([]event.Envelope, error) {
		return wrap(func(c *domain.Case) error {
			if err := c.LinkCall(CallService, at, env.CallID); err != nil && env.CallID != "" {
				return err
			}
			return c.AttachMaterial(CallService, at, domain.MaterialRef{Kind: kind, Ref: ref})
		})
	}
	switch env.Type {
	case event.CallEnded:
		if env.CaseID == "" || env.CallID == "" {
			return "", nil, false, nil
		}
		return env.CaseID, wrap(func(c *domain.Case) error { return c.LinkCall(CallService, at, env.CallID) }), true, nil
	case event.VoicemailLeft:
		var p event.VoicemailPayload
		if err := env.DecodePayload(&p); err != nil {
			return "", nil, false, err
		}
		if env.CaseID == "" || (p.URI == "" && p.MessageID == "") {
			return "", nil, false, nil
		}
		return env.CaseID, attach(domain.MaterialVoicemail, firstNonEmpty(p.URI, "voicemail:"+p.MessageID)), true, nil
	case event.FaxReceived:
		var p event.FaxPayload
		if err := env.DecodePayload(&p); err != nil {
			return "", nil, false, err
		}
		if env.CaseID == "" || p.Status != "success" {
			return "", nil, false, nil
		}
		return env.CaseID, attach(domain.MaterialFax, firstNonEmpty(p.PDFURI, p.URI, "fax:"+p.FaxID)), true, nil
	case event.RecordingSaved:
		var p event.RecordingSavedPayload
		if err := env.DecodePayload(&p); err != nil {
			return "", nil, false, err
		}
		if env.CaseID == "" {
			return "", nil, false, nil
		}
		return env.CaseID, attach(domain.MaterialRecording, firstNonEmpty(p.URI, "recording:"+p.RecordingID)), true, nil
	case event.CallbackResult:
		var p event.CallbackPayload
		if err := env.DecodePayload(&p); err != nil {
			return "", nil, false, err
		}
		sat, err := domain.ParseSatisfaction(p.Result)
		if err != nil {
			return "", nil, false, nil // a single attempt (no_answer, busy...), not a result
		}
		ref := firstNonEmpty(env.CaseID, p.CaseNumber)
		if ref == "" {
			return "", nil, false, fmt.Errorf("callback result without case: %w", domain.ErrInvalid)
		}
		return ref, wrap(func(c *domain.Case) error {
			return s.recordCallback(c, CallService, at, CallbackInput{Satisfaction: sat, CallID: env.CallID})
		}), true, nil
	}
	return "", nil, false, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" && s != "voicemail:" && s != "fax:" && s != "recording:" {
			return s
		}
	}
	return ""
}
