package event

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzDecode: whatever arrives on the wire either decodes into an envelope
// that passes Validate and survives a round trip, or is refused as ErrInvalid
// (parked by the consumer) — never a panic, never another kind of error that
// the consumer would retry for ever. Payload decoding of every known type must
// fail cleanly on garbage too.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":"0190f1f2-7b1c-7d3e-8f00-0123456789ab","v":1,"type":"call.started","time":"2026-11-30T10:00:00Z","source":"callsvc/a","call_id":"n-1.2","payload":{"caller":"13800138000","called":"12345","direction":"inbound","anonymous":false,"staffed":true}}`))
	f.Add([]byte(`{"id":"0190f1f2-7b1c-7d3e-8f00-0123456789ab","v":1,"type":"call.voicemail_left","time":"2026-11-30T10:00:00Z","payload":{"message_id":"x","uri":"/proc/self/environ"}}`))
	f.Add([]byte(`{"id":"x","v":0,"type":"a b","payload":"`))
	f.Add([]byte(`[]`))
	payloads := map[Type]func() any{
		CallStarted: func() any { return &CallStartedPayload{} }, CallEnded: func() any { return &CallEndedPayload{} },
		MenuChoice: func() any { return &MenuChoicePayload{} }, VoicemailLeft: func() any { return &VoicemailPayload{} },
		FaxReceived: func() any { return &FaxPayload{} }, CallbackRequested: func() any { return &CallbackRequestedPayload{} },
		CallbackResult: func() any { return &CallbackPayload{} }, CaseChanged: func() any { return &CaseChangedPayload{} },
		ThreeWayFailed: func() any { return &ThreeWayPayload{} }, RecordingSaved: func() any { return &RecordingSavedPayload{} },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode error %v is not ErrInvalid", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("decoded envelope does not validate: %v", err)
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("round trip of %s: %v", again, err)
		}
		if mk, ok := payloads[e.Type]; ok {
			_ = e.DecodePayload(mk()) // an error is fine; a panic is not
		}
	})
}
