package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/region"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// config is everything the casework service reads from the environment.
type config struct {
	Profile     string
	LogLevel    string
	HTTPAddr    string
	DatabaseURL string
	// MigrateDatabaseURL is the schema owner's connection for migrations.
	MigrateDatabaseURL string
	// VoicemailDir and FaxDir are where the call service stores messages and
	// received faxes; casework serves files only from inside them.
	VoicemailDir, FaxDir string
	// RecordingsDir is where the call service stores agent call recordings;
	// the supervisor's case file serves them only from inside it.
	RecordingsDir string
	// DBStatementTimeout and DBConnectTimeout bound every statement and dial.
	DBStatementTimeout time.Duration
	DBConnectTimeout   time.Duration
	Bus                eventbus.Config
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
	// Regions are the area codes cases may be registered in.
	Regions *region.List
	// Desk is the agent desktop's settings (desk.go).
	Desk deskConfig
	// Webhook is the units' webhook delivery settings.
	Webhook webhookConfig
}

func loadConfig(getenv func(string) string) (config, error) {
	e := svc.NewEnv(getenv)
	var c config
	c.Profile = e.OneOf("HOTLINE_PROFILE", svc.ProfileProduction, svc.ProfileDemo, svc.ProfileProduction)
	c.LogLevel = e.Str("HOTLINE_LOG_LEVEL", "info")
	c.HTTPAddr = e.Str("HOTLINE_CASEWORK_HTTP_ADDR", "127.0.0.1:9102")
	c.DatabaseURL = e.Required("HOTLINE_DATABASE_URL")
	// HOTLINE_VOICEMAIL_DIR, HOTLINE_FAX_DIR [$HOTLINE_DATA_DIR/voicemail, /fax]:
	// the same settings (and defaults) as the call service's.
	dataDir := e.Str("HOTLINE_DATA_DIR", "/var/lib/hotline12345")
	c.VoicemailDir = e.Str("HOTLINE_VOICEMAIL_DIR", filepath.Join(dataDir, "voicemail"))
	c.FaxDir = e.Str("HOTLINE_FAX_DIR", filepath.Join(dataDir, "fax"))
	c.RecordingsDir = e.Str("HOTLINE_RECORDINGS_DIR", filepath.Join(dataDir, "recordings"))
	// HOTLINE_MIGRATE_DATABASE_URL [empty: HOTLINE_DATABASE_URL]: the schema
	// owner, used only for the migrations at start, so that the role the
	// service runs as (a member of hotline_runtime) owns nothing and cannot
	// disable the history's protection.
	c.MigrateDatabaseURL = e.Str("HOTLINE_MIGRATE_DATABASE_URL", c.DatabaseURL)
	for _, u := range []string{c.DatabaseURL, c.MigrateDatabaseURL} {
		if pu, err := url.Parse(u); err == nil && pu.User != nil {
			pw, _ := pu.User.Password()
			e.Check(c.Profile != svc.ProfileDemo && slices.Contains(svc.DemoSecrets, pw),
				"the database URL uses a demo password outside the demo profile")
		}
	}
	c.Bus = svc.BusConfig(e, c.Profile)
	c.Bus.Manage = true // casework owns the stream's settings
	// HOTLINE_EVENT_MAX_ATTEMPTS [10]: deliveries of an event that keeps failing
	// (not an outage) before it is parked in dead_events (hotlinectl events replay).
	// HOTLINE_EVENT_TIMEOUT [20s]: bound of one event's handling.
	c.Bus.MaxAttempts = e.Int("HOTLINE_EVENT_MAX_ATTEMPTS", 10)
	c.Bus.HandlerTimeout = e.Duration("HOTLINE_EVENT_TIMEOUT", 20*time.Second)
	e.Check(c.Bus.MaxAttempts < 1, "HOTLINE_EVENT_MAX_ATTEMPTS must be at least 1")
	e.Check(c.Bus.HandlerTimeout < time.Second || c.Bus.HandlerTimeout >= 30*time.Second,
		"HOTLINE_EVENT_TIMEOUT must be between 1s and the consumer's 30s ack wait")
	// HOTLINE_DB_STATEMENT_TIMEOUT [30s]: no statement runs longer (a lock or a
	// runaway query must not hold a consumer or an API request).
	// HOTLINE_DB_CONNECT_TIMEOUT [5s]: dialing PostgreSQL.
	c.DBStatementTimeout = e.Duration("HOTLINE_DB_STATEMENT_TIMEOUT", 30*time.Second)
	c.DBConnectTimeout = e.Duration("HOTLINE_DB_CONNECT_TIMEOUT", 5*time.Second)
	e.Check(c.DBStatementTimeout < time.Second, "HOTLINE_DB_STATEMENT_TIMEOUT must be at least 1s")
	e.Check(c.DBConnectTimeout < time.Second, "HOTLINE_DB_CONNECT_TIMEOUT must be at least 1s")
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
	// HOTLINE_REGIONS [empty: the embedded list of the demo city, 北京市]: a
	// "code,name" CSV of the city's GB/T 2260 codes (casework/region/default.csv
	// shows the form). Read now, so that a bad file stops the start, not a case.
	c.Regions = region.Default()
	if path := e.Str("HOTLINE_REGIONS", ""); path != "" {
		l, err := region.Load(path)
		e.Check(err != nil, fmt.Sprintf("HOTLINE_REGIONS: %v", err))
		c.Regions = l
	}
	c.Desk = loadDeskConfig(e)
	// Units' webhooks (issue 13): a pass every HOTLINE_WEBHOOK_INTERVAL [2s];
	// a failed attempt is retried after HOTLINE_WEBHOOK_BACKOFF [10s], doubled
	// each time up to HOTLINE_WEBHOOK_MAX_BACKOFF [30m], HOTLINE_WEBHOOK_ATTEMPTS
	// [15] attempts in all (about four days); one attempt is bounded by
	// HOTLINE_WEBHOOK_TIMEOUT [10s].
	c.Webhook.Interval = e.Duration("HOTLINE_WEBHOOK_INTERVAL", 2*time.Second)
	c.Webhook.Backoff = e.Duration("HOTLINE_WEBHOOK_BACKOFF", 10*time.Second)
	c.Webhook.MaxBackoff = e.Duration("HOTLINE_WEBHOOK_MAX_BACKOFF", 30*time.Minute)
	c.Webhook.Timeout = e.Duration("HOTLINE_WEBHOOK_TIMEOUT", 10*time.Second)
	c.Webhook.Attempts = e.Int("HOTLINE_WEBHOOK_ATTEMPTS", 15)
	e.Check(c.Webhook.Interval <= 0 || c.Webhook.Backoff <= 0 || c.Webhook.Timeout <= 0,
		"HOTLINE_WEBHOOK_INTERVAL, HOTLINE_WEBHOOK_BACKOFF and HOTLINE_WEBHOOK_TIMEOUT must be positive")
	e.Check(c.Webhook.MaxBackoff < c.Webhook.Backoff, "HOTLINE_WEBHOOK_MAX_BACKOFF must be at least HOTLINE_WEBHOOK_BACKOFF")
	e.Check(c.Webhook.Attempts < 1 || c.Webhook.Attempts > 100, "HOTLINE_WEBHOOK_ATTEMPTS must be 1 to 100")
	if err := e.Err(); err != nil {
		return c, err
	}
	return c, c.Bus.Validate()
}

// webhookConfig is the units' webhook delivery part of the environment.
type webhookConfig struct {
	Interval, Backoff, MaxBackoff, Timeout time.Duration
	Attempts                               int
}
