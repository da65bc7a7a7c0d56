package ivr

import (
	"time"

	"github.com/hotline12345/hotline/ivr/prompts"
)

// MenuConfig bounds the main voice menu (SPEC T3).
type MenuConfig struct {
	// FirstTimeout is how long the caller has for a key after the menu prompt.
	FirstTimeout time.Duration
	// InterTimeout is the longest gap between the keys of a number (case
	// numbers, document numbers) before the input counts as finished.
	InterTimeout time.Duration
	// MaxErrors is how many timeouts or invalid keys in a row a caller gets
	// before the default route (voicemail) is taken.
	MaxErrors int
	// MaxRepeats bounds "0 repeat" so that a stuck key cannot hold a line forever.
	MaxRepeats int
	// BurstWindow: an invalid key less than this after the previous invalid
	// key is part of the same burst ("*#*#9" mashed 285 ms apart) and no new
	// error; the caller hears the re-prompt instead of losing every retry in
	// under a second. Valid keys are always taken.
	BurstWindow time.Duration
}

func (c MenuConfig) withDefaults() MenuConfig {
	if c.FirstTimeout <= 0 {
		c.FirstTimeout = 6 * time.Second
	}
	if c.InterTimeout <= 0 {
		c.InterTimeout = 4 * time.Second
	}
	if c.MaxErrors <= 0 {
		c.MaxErrors = 3
	}
	if c.MaxRepeats <= 0 {
		c.MaxRepeats = 5
	}
	if c.BurstWindow <= 0 {
		c.BurstWindow = time.Second
	}
	return c
}

// Route is where the menu sends the caller.
type Route string

// Routes of the main menu. The keys are SPEC §4's: 1 self-service, 2 voicemail,
// 3 fax, 0 repeat.
const (
	RouteNone        Route = "" // play the menu again
	RouteSelfService Route = "selfservice"
	RouteVoicemail   Route = "voicemail"
	RouteFax         Route = "fax"
)

// DefaultRoute is taken after too many errors: a message reaches a person the
// next working day, which is what a caller who cannot use the keypad needs.
const DefaultRoute = RouteVoicemail

// Menu choices as they appear in call.menu_choice events and metrics.
const (
	ChoiceSelfService = "selfservice"
	ChoiceVoicemail   = "voicemail"
	ChoiceFax         = "fax"
	ChoiceRepeat      = "repeat"
	ChoiceInvalid     = "invalid"
	ChoiceTimeout     = "timeout"
	ChoiceDefault     = "default"
)

var menuKeys = map[string]struct {
	choice string
	route  Route
}{
	"1": {ChoiceSelfService, RouteSelfService},
	"2": {ChoiceVoicemail, RouteVoicemail},
	"3": {ChoiceFax, RouteFax},
	"0": {ChoiceRepeat, RouteNone},
}

// menuStep is what one input (a key or a timeout) leads to.
type menuStep struct {
	Key     string
	Choice  string
	Attempt int
	// Prompt is played before the menu is offered again or the route taken
	// ("" none): a short re-prompt for an invalid key, "no input" on timeout,
	// "too many errors" before the default route.
	Prompt prompts.ID
	// Route is where to go; RouteNone means offer the menu again.
	Route Route
	// Default is true when Route was taken because the retries ran out.
	Default bool
	// Burst is true for an invalid key that belongs to the burst of the
	// previous one: not counted, not an attempt; the re-prompt plays again.
	Burst bool
}

// menuMachine is the main menu's decision logic, free of I/O so that it is
// tested on its own: it counts consecutive errors and repeats and decides.
type menuMachine struct {
	cfg         MenuConfig
	attempt     int
	errors      int
	repeats     int
	lastInvalid time.Time // when the last invalid key came, for bursts
}

func newMenuMachine(cfg MenuConfig) *menuMachine { return &menuMachine{cfg: cfg.withDefaults()} }

// input takes one key ("" for a timeout) without timing: every key counts.
func (m *menuMachine) input(key string) menuStep { return m.inputAt(key, time.Time{}) }

// inputAt takes one key ("" for a timeout) that came at at and decides. An
// invalid key within BurstWindow of the previous invalid one is a Burst step.
func (m *menuMachine) inputAt(key string, at time.Time) menuStep {
	if _, valid := menuKeys[key]; key != "" && !valid && !at.IsZero() {
		burst := !m.lastInvalid.IsZero() && at.Sub(m.lastInvalid) < m.cfg.BurstWindow
		m.lastInvalid = at // a burst slides: each of its keys extends it
		if burst {
			return menuStep{Key: key, Choice: ChoiceInvalid, Attempt: m.attempt, Prompt: prompts.InvalidKey, Burst: true}
		}
	}
	m.attempt++
	st := menuStep{Key: key, Attempt: m.attempt}
	k, ok := menuKeys[key]
	switch {
	case key == "":
		st.Choice, st.Prompt = ChoiceTimeout, prompts.NoInput
		m.errors++
	case !ok:
		st.Choice, st.Prompt = ChoiceInvalid, prompts.InvalidKey
		m.errors++
	case k.route == RouteNone: // repeat
		st.Choice = k.choice
		m.repeats++
		if m.repeats > m.cfg.MaxRepeats {
			st.Route, st.Default, st.Prompt = DefaultRoute, true, prompts.TooManyErrors
		}
		return st
	default:
		st.Choice, st.Route = k.choice, k.route
		m.errors, m.repeats = 0, 0
		return st
	}
	if m.errors >= m.cfg.MaxErrors {
		st.Route, st.Default, st.Prompt = DefaultRoute, true, prompts.TooManyErrors
	}
	return st
}

// back is called when the caller returns to the menu from a service: they
// start afresh.
func (m *menuMachine) back() { m.errors, m.repeats, m.lastInvalid = 0, 0, time.Time{} }
