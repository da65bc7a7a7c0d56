package event

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestNewRoundTrip(t *testing.T) {
	in := CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"}
	env, err := New(CallStarted, "callsvc/test", "node1-1700000000.1", in)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(wire)
	if err != nil {
		t.Fatalf("decode own event: %v", err)
	}
	if got.ID != env.ID || got.Type != CallStarted || got.CallID != env.CallID || got.Version != Version {
		t.Fatalf("round trip changed the envelope: %+v", got)
	}
	var out CallStartedPayload
	if err := got.DecodePayload(&out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("payload %+v, want %+v", out, in)
	}
}

func TestIDsAreUniqueAndTimeOrdered(t *testing.T) {
	var prev string
	for range 1000 {
		env, err := New(CallEnded, "s", "c", struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		if env.ID <= prev {
			t.Fatalf("id %s not after %s", env.ID, prev)
		}
		prev = env.ID
	}
}

func TestDecodeRejects(t *testing.T) {
	good := `{"id":"0190f5d2-8a4e-7c3b-9a1e-2b3c4d5e6f70","v":1,"type":"call.started","time":"2026-11-21T08:00:00Z","source":"x","payload":{}}`
	if _, err := Decode([]byte(good)); err != nil {
		t.Fatalf("good event refused: %v", err)
	}
	cases := map[string]string{
		"not json":       `{"id":`,
		"no id":          `{"v":1,"type":"call.started","time":"2026-11-21T08:00:00Z","payload":{}}`,
		"bad id":         `{"id":"42","v":1,"type":"call.started","time":"2026-11-21T08:00:00Z","payload":{}}`,
		"no version":     `{"id":"0190f5d2-8a4e-7c3b-9a1e-2b3c4d5e6f70","type":"call.started","time":"2026-11-21T08:00:00Z","payload":{}}`,
		"wildcard type":  `{"id":"0190f5d2-8a4e-7c3b-9a1e-2b3c4d5e6f70","v":1,"type":"call.>","time":"2026-11-21T08:00:00Z","payload":{}}`,
		"no time":        `{"id":"0190f5d2-8a4e-7c3b-9a1e-2b3c4d5e6f70","v":1,"type":"call.started","payload":{}}`,
		"no payload":     `{"id":"0190f5d2-8a4e-7c3b-9a1e-2b3c4d5e6f70","v":1,"type":"call.started","time":"2026-11-21T08:00:00Z"}`,
		"array envelope": `[]`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode([]byte(in)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode(%s) = %v, want ErrInvalid", in, err)
			}
		})
	}
}

func TestUnknownTypeAndNewerVersionAreAccepted(t *testing.T) {
	in := `{"id":"0190f5d2-8a4e-7c3b-9a1e-2b3c4d5e6f70","v":7,"type":"call.hologram","time":"2026-11-21T08:00:00Z","source":"future","payload":{"x":1},"extra":true}`
	if _, err := Decode([]byte(in)); err != nil {
		t.Fatalf("tolerant reader refused a future event: %v", err)
	}
}

func TestSubject(t *testing.T) {
	if got := Subject(DefaultSubjectRoot, CallStarted); got != "hotline.call.started" {
		t.Fatalf("Subject = %q", got)
	}
}

// TestSchemaMatchesPayloads keeps schema.json and the Go structs in step: every field a
// payload writes is declared in its schema definition, and every required one is written.
func TestSchemaMatchesPayloads(t *testing.T) {
	var schema struct {
		Defs map[string]struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema, &schema); err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	now := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	// Samples fill every field, so that the marshalled keys are the full field set.
	samples := map[string]any{
		"callStarted":       CallStartedPayload{"1", "n", true, "12345", "inbound", "c", "n", true},
		"callEnded":         CallEndedPayload{now, now, now, 1, HangupByCaller, 16, "Normal Clearing", "greeted"},
		"menuChoice":        MenuChoicePayload{"m", "1", "selfservice", 1},
		"selfServiceLookup": SelfServiceLookupPayload{"n", true, true},
		"callQueued":        CallQueuedPayload{"q", 1},
		"callAbandoned":     CallAbandonedPayload{"q", 1, true},
		"agentAnswered":     AgentAnsweredPayload{"1001", 1},
		"recordingSaved":    RecordingSavedPayload{"r", "u", 1, "wav"},
		"threeWay":          ThreeWayPayload{"u", "d", "1001", "busy", 17, true},
		"politeEnding":      PoliteEndingPayload{"1001"},
		"voicemail":         VoicemailPayload{"m", "1", "u", 1, "wav", "dtmf"},
		"fax":               FaxPayload{"f", "d", 1, "success", "e", "u", "p", "r"},
		"callbackRequested": CallbackRequestedPayload{"n", "1"},
		"callback":          CallbackPayload{"n", 1, Satisfied},
		"caseChanged":       CaseChangedPayload{"n", 1, "a", "f", "t", "id", "agent", now, "x", now, true},
		"agentState":        AgentStatePayload{"1001", "ready", "break", "paused", 1, "u-sup"},
	}
	for name, sample := range samples {
		t.Run(name, func(t *testing.T) {
			def, ok := schema.Defs[name]
			if !ok {
				t.Fatalf("schema has no $defs/%s", name)
			}
			raw, err := json.Marshal(sample)
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatal(err)
			}
			for k := range fields {
				if _, ok := def.Properties[k]; !ok {
					t.Errorf("field %q is written but not in the schema", k)
				}
			}
			for _, k := range def.Required {
				if _, ok := fields[k]; !ok {
					t.Errorf("required field %q is not written", k)
				}
			}
			for k := range def.Properties {
				if _, ok := fields[k]; !ok && !slices.Contains(def.Required, k) {
					t.Errorf("schema property %q has no Go field", k)
				}
			}
		})
	}
}

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{
		"13912345678":    "139****5678",
		"+8613912345678": "+86****5678",
		"01065123456":    "010****3456",
		"12345":          "***45",
		"88":             "**",
		"anonymous":      "anonymous",
		"":               "",
	} {
		if got := MaskNumber(in); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCauseText(t *testing.T) {
	for cause, want := range map[int]string{0: "Unknown", 16: "Normal Clearing", 17: "User busy", 4: "Send special information tone", 250: "Cause 250"} {
		if got := CauseText(cause); got != want {
			t.Errorf("CauseText(%d) = %q, want %q", cause, got, want)
		}
	}
}

func TestDialOutcome(t *testing.T) {
	for cause, want := range map[int]string{17: DialBusy, 0: DialNoAnswer, 16: DialNoAnswer, 19: DialNoAnswer,
		21: DialRefused, 34: DialCongestion, 1: DialCongestion, 111: DialError} {
		if got := DialOutcome(cause); got != want {
			t.Errorf("DialOutcome(%d) = %q, want %q", cause, got, want)
		}
	}
}
