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
}

// menuMachine is the main menu's decision logic, free of I/O so that it is
// tested on its own: it counts consecutive errors and repeats and decides.
type menuMachine struct {
	cfg     MenuConfig
	attempt int
	errors  int
	repeats int
}

func newMenuMachine(cfg MenuConfig) *menuMachine { return &menuMachine{cfg: cfg.withDefaults()} }

// input takes one key ("" for a timeout) and decides.
func (m *menuMachine) input(key string) menuStep {
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
func (m *menuMachine) back() { m.errors, m.repeats = 0, 0 }
