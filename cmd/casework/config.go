package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// config is everything the casework service reads from the environment.
type config struct {
	Profile     string
	LogLevel    string
	HTTPAddr    string
	DatabaseURL string
	Bus         eventbus.Config
	// Durable is the JetStream consumer name; every casework instance shares it.
	Durable string
	// DutyLineTrunks are the PJSIP trunks a unit's duty line may be dialled through.
	DutyLineTrunks []string
	// Policy is the city's deadline policy profile (casework/policy/profiles).
	Policy string
	// SelfServiceToken is the bearer token the call service presents for voice
	// self-service lookups; empty disables the endpoint.
	SelfServiceToken string
	// EscalationInterval is the time between reminder/supervision passes.
	EscalationInterval time.Duration
	// ClaimTimeout is how long a voicemail or fax may stay claimed for filing
	// before the claim is taken as left by a process that died (linked or released).
	ClaimTimeout time.Duration
	// CalendarRefresh is the time between checks for imported holiday notices.
	CalendarRefresh time.Duration
	// Desk is the agent desktop's settings (desk.go).
	Desk deskConfig
}

func loadConfig(getenv func(string) string) (config, error) {
	e := svc.NewEnv(getenv)
	var c config
	c.Profile = e.OneOf("HOTLINE_PROFILE", svc.ProfileProduction, svc.ProfileDemo, svc.ProfileProduction)
	c.LogLevel = e.Str("HOTLINE_LOG_LEVEL", "info")
	c.HTTPAddr = e.Str("HOTLINE_CASEWORK_HTTP_ADDR", "127.0.0.1:9102")
	c.DatabaseURL = e.Required("HOTLINE_DATABASE_URL")
	c.Bus = eventbus.Config{
		URL:         e.Str("HOTLINE_NATS_URL", "nats://127.0.0.1:4222"),
		Stream:      e.Str("HOTLINE_STREAM", "HOTLINE"),
		SubjectRoot: e.Str("HOTLINE_SUBJECT_ROOT", event.DefaultSubjectRoot),
	}
	c.Durable = e.Str("HOTLINE_CONSUMER", "casework")
	// HOTLINE_DUTYLINE_TRUNKS [dutylines]: comma-separated; the same list the call
	// service and hotlinectl use, so the directory only holds dialable duty lines.
	for _, t := range strings.Split(e.Str("HOTLINE_DUTYLINE_TRUNKS", "dutylines"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.DutyLineTrunks = append(c.DutyLineTrunks, t)
		}
	}
	// HOTLINE_POLICY [shijiazhuang]: one of policy.Names().
	c.Policy = e.Str("HOTLINE_POLICY", policy.Default)
	if _, err := policy.Load(c.Policy); err != nil {
		e.Check(true, fmt.Sprintf("HOTLINE_POLICY=%q: want one of %v", c.Policy, policy.Names()))
	}
	// HOTLINE_CASEWORK_TOKEN [empty]: the same value the call service sends.
	c.SelfServiceToken = e.Str("HOTLINE_CASEWORK_TOKEN", "")
	e.Check(c.Profile != svc.ProfileDemo && slices.Contains(svc.DemoSecrets, c.SelfServiceToken),
		"HOTLINE_CASEWORK_TOKEN uses a demo value outside the demo profile")
	e.Check(c.Profile != svc.ProfileDemo && c.SelfServiceToken != "" && len(c.SelfServiceToken) < 16, "HOTLINE_CASEWORK_TOKEN must be at least 16 characters")
	// HOTLINE_ESCALATION_INTERVAL [1m]: reminder and supervision passes.
	c.EscalationInterval = e.Duration("HOTLINE_ESCALATION_INTERVAL", time.Minute)
	// HOTLINE_CLAIM_TIMEOUT [5m]: far longer than a filing takes, so a
	// registration in progress is never released under an agent.
	c.ClaimTimeout = e.Duration("HOTLINE_CLAIM_TIMEOUT", 5*time.Minute)
	e.Check(c.ClaimTimeout <= 0, "HOTLINE_CLAIM_TIMEOUT must be positive")
	// HOTLINE_CALENDAR_REFRESH [15s]: how often the imported holiday notices
	// are checked; an import through the API applies at once, one made with
	// hotlinectl within this (the issue asks for under a minute).
	c.CalendarRefresh = e.Duration("HOTLINE_CALENDAR_REFRESH", 15*time.Second)
	e.Check(c.CalendarRefresh <= 0 || c.CalendarRefresh > time.Minute, "HOTLINE_CALENDAR_REFRESH must be between 0 and 1m")
	c.Desk = loadDeskConfig(e)
	if err := e.Err(); err != nil {
		return c, err
	}
	return c, c.Bus.Validate()
}
