package ivr

// Fast tests of the front door's call flow against the scripted fake of the
// call operations (ari/aritest): what the end-to-end tests show through
// Asterisk, minus the audio, in milliseconds.

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ari/aritest"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

var _ Session = (*aritest.Session)(nil)

// memSink keeps the events a call sends.
type memSink struct {
	mu  sync.Mutex
	evs []event.Envelope
}

func (m *memSink) Publish(env event.Envelope) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.evs = append(m.evs, env)
	return nil
}

func (m *memSink) events() []event.Envelope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.evs)
}

// types lists the events' types in order.
func (m *memSink) types() []event.Type {
	var out []event.Type
	for _, e := range m.events() {
		out = append(out, e.Type)
	}
	return out
}

// choices lists the main menu's choices in order.
func (m *memSink) choices(t *testing.T, menu string) []string {
	t.Helper()
	var out []string
	for _, e := range m.events() {
		if e.Type != event.MenuChoice {
			continue
		}
		var p event.MenuChoicePayload
		if err := e.DecodePayload(&p); err != nil {
			t.Fatal(err)
		}
		if p.Menu == menu {
			out = append(out, p.Choice)
		}
	}
	return out
}

// ended returns the call.ended payload.
func (m *memSink) ended(t *testing.T) event.CallEndedPayload {
	t.Helper()
	for _, e := range m.events() {
		if e.Type == event.CallEnded {
			var p event.CallEndedPayload
			if err := e.DecodePayload(&p); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no call.ended in %v", m.types())
	return event.CallEndedPayload{}
}

const testCaller = "13800000001"

// newFront is a front door with short menu timeouts.
func newFront(t *testing.T, cfg Config) (*Service, *memSink) {
	t.Helper()
	sink := &memSink{}
	cfg.SoundsDir, cfg.Source = "/snd", "test"
	if cfg.Menu.FirstTimeout == 0 {
		cfg.Menu.FirstTimeout = 20 * time.Millisecond
	}
	return NewService(cfg, sink, NewMetrics(prometheus.NewRegistry()), zaptest.NewLogger(t)), sink
}

func newCallerSession() *aritest.Session {
	return aritest.NewSession("caller-1", ari.ChannelInfo{Name: "PJSIP/carrier-1", CallerNumber: testCaller, Dialed: "12345"})
}

// handle runs one call to its end (bounded: a stuck flow fails the test).
func handle(t *testing.T, s *Service, f *aritest.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.handle(ctx, f, zaptest.NewLogger(t))
	if ctx.Err() != nil {
		t.Fatalf("call flow did not end; operations: %v", f.Ops())
	}
}

// played lists the prompts played to the caller, in order.
func played(f *aritest.Session) []string {
	var out []string
	for _, o := range f.Ops() {
		if o.Name == "play" && o.Channel == f.ID() {
			out = append(out, o.Media[len("sound:/snd/"):])
		}
	}
	return out
}

// TestCallGreetedAndEnded: answer, call.started, greeting, the caller hangs
// up: call.ended by the caller, and the call record is removed.
func TestCallGreetedAndEnded(t *testing.T) {
	s, sink := newFront(t, Config{})
	f := newCallerSession()
	f.Once(aritest.Played(string(prompts.Greeting)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
	handle(t, s, f)
	if got := f.Ops(); got[0].Name != "answer" {
		t.Errorf("first operation %v, want answer", got[0])
	}
	types := sink.types()
	if types[0] != event.CallStarted || types[len(types)-1] != event.CallEnded {
		t.Errorf("events %v, want call.started first and call.ended last", types)
	}
	p := sink.ended(t)
	if p.HangupBy != event.HangupByCaller || p.HangupCause != 16 || p.Outcome != "greeted" || p.AnsweredAt.IsZero() {
		t.Errorf("call.ended %+v, want by the caller (16), greeted, answered", p)
	}
	if !f.Forgotten() {
		t.Error("call record kept after call.ended was sent")
	}
}

// TestMenuFlow drives the main menu (closed hours) with keys and silences.
func TestMenuFlow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(f *aritest.Session)
		// choices are the main menu's menu_choice events; prompts the
		// caller's prompts from the first menu on (the greeting and
		// closed-hours intro are before).
		choices []string
		prompts []string
		outcome string
	}{{
		name: "three timeouts take the default route",
		script: func(f *aritest.Session) {
			f.Once(aritest.Played(string(prompts.VoicemailInstructions)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
		},
		choices: []string{"timeout", "timeout", "timeout", "default"},
		prompts: []string{"menu-main", "no-input", "menu-main", "no-input", "menu-main", "too-many-errors", "voicemail-instructions"},
		outcome: "voicemail",
	}, {
		name: "invalid key then voicemail by key, hang-up in the message",
		script: func(f *aritest.Session) {
			f.Once(aritest.Played(string(prompts.MenuMain)), func(o aritest.Op) { f.Press(o.Channel, "7") })
			f.Once(aritest.Played(string(prompts.InvalidKey)), func(o aritest.Op) { f.Press(o.Channel, "2") })
			f.Once(aritest.Played(string(prompts.VoicemailInstructions)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
		},
		choices: []string{"invalid", "voicemail"},
		// The key interrupts the re-prompt: the menu is not played again.
		prompts: []string{"menu-main", "invalid-key", "voicemail-instructions"},
		outcome: "voicemail",
	}, {
		name: "a wrong key's leftovers do not answer the menu again",
		script: func(f *aritest.Session) {
			f.Once(aritest.Played(string(prompts.MenuMain)), func(o aritest.Op) { f.Press(o.Channel, "55") })
			f.On(aritest.Played(string(prompts.InvalidKey)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
		},
		choices: []string{"invalid"},
		prompts: []string{"menu-main", "invalid-key"},
		outcome: "menu",
	}, {
		name: "repeat then hang-up",
		script: func(f *aritest.Session) {
			n := 0
			f.On(aritest.Played(string(prompts.MenuMain)), func(o aritest.Op) {
				if n++; n == 1 {
					f.Press(o.Channel, "0")
				} else {
					f.HangUp(o.Channel, 16)
				}
			})
		},
		choices: []string{"repeat"},
		prompts: []string{"menu-main", "menu-main"},
		outcome: "menu",
	}, {
		name: "keys typed during the greeting answer the menu",
		script: func(f *aritest.Session) {
			f.Once(aritest.Played(string(prompts.Greeting)), func(o aritest.Op) { f.Press(o.Channel, "2") })
			f.Once(aritest.Played(string(prompts.VoicemailInstructions)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
		},
		choices: []string{"voicemail"},
		prompts: []string{"voicemail-instructions"},
		outcome: "voicemail",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s, sink := newFront(t, Config{})
			f := newCallerSession()
			tc.script(f)
			handle(t, s, f)
			if got := sink.choices(t, MainMenu); !slices.Equal(got, tc.choices) {
				t.Errorf("menu choices %v, want %v", got, tc.choices)
			}
			got := played(f)
			if len(got) < 2 || got[0] != "greeting" || got[1] != "closed-hours" && tc.prompts[0] != "voicemail-instructions" {
				t.Fatalf("prompts %v, want the greeting and the closed-hours intro first", got)
			}
			if i := slices.Index(got, tc.prompts[0]); i < 0 || !slices.Equal(got[i:], tc.prompts) {
				t.Errorf("prompts %v, want them to end with %v", got, tc.prompts)
			}
			if p := sink.ended(t); p.Outcome != tc.outcome || p.HangupBy != event.HangupByCaller {
				t.Errorf("call.ended outcome %q by %s, want %q by the caller", p.Outcome, p.HangupBy, tc.outcome)
			}
		})
	}
}

// TestMenuKeyBurstCountsOnce is defect 4 through the flow: a wrong key, then
// "*#*#9" mashed 20 ms apart while the menu waits. The burst is one error (the
// machine's burst window), so the caller still has a try left and the next
// valid key is taken; counted key by key, "too many errors" would have sent
// the caller to voicemail by default.
func TestMenuKeyBurstCountsOnce(t *testing.T) {
	const window = 100 * time.Millisecond
	s, sink := newFront(t, Config{Menu: MenuConfig{FirstTimeout: 2 * time.Second, BurstWindow: window}})
	f := newCallerSession()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Once(aritest.Played(string(prompts.Greeting)), func(o aritest.Op) { f.Press(o.Channel, "7") })
	f.Once(aritest.Played(string(prompts.InvalidKey)), func(o aritest.Op) {
		// Out of the first key's window, then within each other's.
		f.PressLater(ctx, o.Channel, 2*window, window/5, "*#*#9")
		f.PressLater(ctx, o.Channel, 2*window+window/5*4+3*window, 0, "2")
	})
	f.Once(aritest.Played(string(prompts.VoicemailInstructions)), func(o aritest.Op) { f.HangUp(o.Channel, 16) })
	handle(t, s, f)
	if got, want := sink.choices(t, MainMenu), []string{"invalid", "invalid", "voicemail"}; !slices.Equal(got, want) {
		t.Errorf("menu choices %v, want %v: the burst counted more than once", got, want)
	}
}
