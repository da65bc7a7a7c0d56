package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/cmd/internal/svc"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/routing"
)

// config is everything the call service reads from the environment.
type config struct {
	Profile   string
	LogLevel  string
	HTTPAddr  string
	DataDir   string
	SoundsDir string
	SpoolDir  string
	// CalendarCache keeps the last calendar received from casework, so a
	// restart while NATS is down starts with it (HOTLINE_CALENDAR_CACHE).
	CalendarCache string
	ARI           ari.Config
	Bus           eventbus.Config
	// DrainTimeout is how long live calls may go on after SIGTERM before they are
	// ended; new calls go to the dialplan fallback meanwhile.
	DrainTimeout time.Duration
	MaxCallTime  time.Duration
	// Pprof serves net/http/pprof on the ops address (HOTLINE_PPROF).
	Pprof bool

	// Service hours (SPEC T2) and the voice menu (T3).
	ServiceMode calendar.Mode
	OfficeHours calendar.OfficeHours
	Staffed24h  bool
	Menu        ivr.MenuConfig
	// Voicemail (T9).
	Voicemail ivr.VoicemailConfig
	// Casework API for voice self-service (T10); empty URL: self-service off.
	CaseworkURL   string
	CaseworkToken string
	// Satisfaction callbacks (T12).
	Callback ivr.CallbackConfig
	// CallbackDays is HOTLINE_CALLBACK_DAYS (callbackWorkingDays or
	// callbackEveryDay); run sets Callback.Days from it, as the calendar is
	// loaded there.
	CallbackDays string
	// Fax service (T11); nil docs dir: fax off.
	Fax ivr.FaxConfig
	// Crash recovery and restarts (issue 11).
	Recovery recoveryConfig
	// The agent queue (issue 5).
	Routing routingConfig
	// SIP guard: failed authentications and contact takeovers (issue 14).
	SIPGuard sipGuardConfig
	// SoftphoneACL is the named ACL of the browser softphones' endpoints.
	SoftphoneACL string
}

// defaultCaseworkURL is where the agents' API finds casework when
// HOTLINE_CASEWORK_URL is not set (self-service is then off).
const defaultCaseworkURL = "http://127.0.0.1:9102"

// HOTLINE_CALLBACK_DAYS values.
const (
	callbackWorkingDays = "working"
	callbackEveryDay    = "every"
)

// loadConfig reads every setting of the call service from getenv, one default
// per setting, and reports every problem at once.
func loadConfig(getenv func(string) string) (config, error) {
	e := svc.NewEnv(getenv)
	var c config
	c.Profile = e.OneOf("HOTLINE_PROFILE", svc.ProfileProduction, svc.ProfileDemo, svc.ProfileProduction)
	c.LogLevel = e.Str("HOTLINE_LOG_LEVEL", "info")
	c.HTTPAddr = e.Str("HOTLINE_CALLSVC_HTTP_ADDR", "127.0.0.1:9101")
	c.DataDir = e.Str("HOTLINE_DATA_DIR", "/var/lib/hotline12345")
	c.SoundsDir = e.Str("HOTLINE_SOUNDS_DIR", filepath.Join(c.DataDir, "sounds", "hotline"))
	c.SpoolDir = e.Str("HOTLINE_SPOOL_DIR", filepath.Join(c.DataDir, "spool", "callsvc"))
	c.CalendarCache = e.Str("HOTLINE_CALENDAR_CACHE", filepath.Join(c.DataDir, "calendar", "callsvc.json"))
	c.ARI = ari.Config{
		URL:          e.Str("HOTLINE_ARI_URL", "http://127.0.0.1:8088/ari"),
		Username:     e.Required("HOTLINE_ARI_USER"),
		Password:     e.Secret("HOTLINE_ARI_PASSWORD", c.Profile),
		Application:  e.Str("HOTLINE_ARI_APP", "hotline"),
		DrainContext: e.Str("HOTLINE_DRAIN_CONTEXT", "from-carrier"),
		// HOTLINE_ARI_MAX_CONNS [32]: persistent HTTP connections to ARI;
		// REST requests past it wait for one (Asterisk's sessionlimit is 200).
		MaxConns: e.Int("HOTLINE_ARI_MAX_CONNS", ari.DefaultMaxConns),
		// HOTLINE_ARI_REQUEST_TIMEOUT [5s]: deadline of every ARI REST request.
		RequestTimeout: e.Duration("HOTLINE_ARI_REQUEST_TIMEOUT", ari.DefaultRequestTimeout),
		// HOTLINE_MAX_ACTIVE_CALLS [0 = unlimited]: calls handled at once; a
		// new call past it goes straight to HOTLINE_DRAIN_CONTEXT's fallback.
		MaxActiveCalls: e.Int("HOTLINE_MAX_ACTIVE_CALLS", 0),
	}
	e.Check(c.ARI.MaxConns < 1, "HOTLINE_ARI_MAX_CONNS must be at least 1")
	e.Check(c.ARI.RequestTimeout <= 0, "HOTLINE_ARI_REQUEST_TIMEOUT must be positive")
	// HOTLINE_PPROF [false]: /debug/pprof/ on HOTLINE_CALLSVC_HTTP_ADDR.
	c.Pprof = e.Bool("HOTLINE_PPROF", false)
	c.Bus = svc.BusConfig(e, c.Profile)
	c.DrainTimeout = e.Duration("HOTLINE_DRAIN_TIMEOUT", 30*time.Second)
	c.MaxCallTime = e.Duration("HOTLINE_MAX_CALL_TIME", 2*time.Hour)

	// HOTLINE_SERVICE_MODE [calendar]: open | closed | calendar. Forces the
	// service hours for drills and tests; calendar follows the official
	// working-day calendar (调休 included) and HOTLINE_OFFICE_HOURS.
	mode, err := calendar.ParseMode(e.Str("HOTLINE_SERVICE_MODE", "calendar"))
	e.Check(err != nil, fmt.Sprint(err))
	c.ServiceMode = mode
	// HOTLINE_OFFICE_HOURS [08:30-12:00,13:30-17:30]: staffed periods of a
	// working day, Asia/Shanghai clock time.
	hours, err := calendar.ParseOfficeHours(e.Str("HOTLINE_OFFICE_HOURS", calendar.DefaultOfficeHours))
	e.Check(err != nil, fmt.Sprint(err))
	c.OfficeHours = hours
	// HOTLINE_STAFFED_24H [false]: 24-hour human service (in calendar mode).
	c.Staffed24h = e.Bool("HOTLINE_STAFFED_24H", false)
	// HOTLINE_MENU_FIRST_TIMEOUT [6s]: time for the first key after a prompt.
	// HOTLINE_MENU_INTER_TIMEOUT [4s]: longest gap between keys of a number.
	// HOTLINE_MENU_MAX_ERRORS [3]: timeouts/invalid keys in a row before the
	// default route (voicemail).
	c.Menu = ivr.MenuConfig{
		FirstTimeout: e.Duration("HOTLINE_MENU_FIRST_TIMEOUT", 6*time.Second),
		InterTimeout: e.Duration("HOTLINE_MENU_INTER_TIMEOUT", 4*time.Second),
		MaxErrors:    e.Int("HOTLINE_MENU_MAX_ERRORS", 3),
	}
	e.Check(c.Menu.FirstTimeout < time.Second, "HOTLINE_MENU_FIRST_TIMEOUT must be at least 1s")
	e.Check(c.Menu.InterTimeout < time.Second, "HOTLINE_MENU_INTER_TIMEOUT must be at least 1s")
	e.Check(c.Menu.MaxErrors < 1, "HOTLINE_MENU_MAX_ERRORS must be at least 1")
	// HOTLINE_VOICEMAIL_DIR [$HOTLINE_DATA_DIR/voicemail]: durable message store
	// (YYYY/MM/DD/<id>.wav + .json); casework reads the files from here.
	// HOTLINE_VOICEMAIL_MAX_DURATION [120s]: longest message.
	// HOTLINE_VOICEMAIL_MAX_SILENCE [5s]: silence that ends a message.
	// HOTLINE_VOICEMAIL_MIN_VOICED [400ms]: sound a message needs to be kept.
	c.Voicemail = ivr.VoicemailConfig{
		Dir:         e.Str("HOTLINE_VOICEMAIL_DIR", filepath.Join(c.DataDir, "voicemail")),
		MaxDuration: e.Duration("HOTLINE_VOICEMAIL_MAX_DURATION", 120*time.Second),
		MaxSilence:  e.Duration("HOTLINE_VOICEMAIL_MAX_SILENCE", 5*time.Second),
		MinVoiced:   e.Duration("HOTLINE_VOICEMAIL_MIN_VOICED", 400*time.Millisecond),
	}
	e.Check(c.Voicemail.MaxDuration < 5*time.Second, "HOTLINE_VOICEMAIL_MAX_DURATION must be at least 5s")
	e.Check(c.Voicemail.MaxSilence < time.Second, "HOTLINE_VOICEMAIL_MAX_SILENCE must be at least 1s")
	// HOTLINE_CASEWORK_URL [empty]: casework service base URL (e.g.
	// http://127.0.0.1:9102) for voice self-service; empty turns it off.
	// HOTLINE_CASEWORK_TOKEN [empty]: the call service's own bearer token for
	// the self-service endpoint; self-service is on only with URL and token (the
	// agent queue uses the URL with agents' own tokens).
	c.CaseworkURL = e.Str("HOTLINE_CASEWORK_URL", "")
	if c.CaseworkURL != "" {
		u, err := url.Parse(c.CaseworkURL)
		e.Check(err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "",
			fmt.Sprintf("HOTLINE_CASEWORK_URL=%q must be http(s)://host:port", c.CaseworkURL))
	}
	c.CaseworkToken = e.Str("HOTLINE_CASEWORK_TOKEN", "")
	if c.CaseworkToken != "" && c.Profile != svc.ProfileDemo {
		e.Check(slices.Contains(svc.DemoSecrets, c.CaseworkToken), "HOTLINE_CASEWORK_TOKEN uses a demo value outside the demo profile")
	}
	// HOTLINE_CALLBACK_ENABLED [true]: consume case.callback_requested.
	// HOTLINE_CALLBACK_DIAL [PJSIP/{number}@carrier]: dial string; {number} is
	// replaced by the case's caller number, the only number ever dialled.
	// HOTLINE_CALLBACK_CALLERID [12345]: what the citizen sees.
	// HOTLINE_CALLBACK_HOURS [09:00-12:00,14:00-20:00]: calling hours of each
	// calling day, Asia/Shanghai; requests outside them wait.
	// HOTLINE_CALLBACK_DAYS [working]: calling days. working: official working
	// days by the working-day calendar (调休 makeup Saturdays in, holidays out;
	// a date the calendar cannot answer, e.g. a year without the State Council
	// notice, waits rather than risk a holiday); every: every day.
	// HOTLINE_CALLBACK_ATTEMPTS [3]: tries before "unreachable".
	// HOTLINE_CALLBACK_RETRY_DELAY [10m]: wait between tries.
	// HOTLINE_CALLBACK_RING_TIMEOUT [30s]: ringing before "no answer".
	// HOTLINE_CALLBACK_DURABLE [callsvc-callbacks]: JetStream durable consumer name.
	// HOTLINE_CALLBACK_SPOOL_DIR [<dir of HOTLINE_SPOOL_DIR>/callbacks]: accepted
	// requests until their final result (survives restarts).
	// HOTLINE_CALLBACK_CONCURRENCY [4]: simultaneous outbound callback calls.
	cbHours, err := ivr.ParseCallingHours(e.Str("HOTLINE_CALLBACK_HOURS", "09:00-12:00,14:00-20:00"))
	e.Check(err != nil, fmt.Sprint(err))
	c.Callback = ivr.CallbackConfig{
		Enabled:     e.Bool("HOTLINE_CALLBACK_ENABLED", true),
		Dial:        e.Str("HOTLINE_CALLBACK_DIAL", "PJSIP/{number}@carrier"),
		CallerID:    e.Str("HOTLINE_CALLBACK_CALLERID", "12345"),
		Hours:       cbHours,
		Attempts:    e.Int("HOTLINE_CALLBACK_ATTEMPTS", 3),
		RetryDelay:  e.Duration("HOTLINE_CALLBACK_RETRY_DELAY", 10*time.Minute),
		RingTimeout: e.Duration("HOTLINE_CALLBACK_RING_TIMEOUT", 30*time.Second),
		Durable:     e.Str("HOTLINE_CALLBACK_DURABLE", "callsvc-callbacks"),
		SpoolDir:    e.Str("HOTLINE_CALLBACK_SPOOL_DIR", filepath.Join(filepath.Dir(c.SpoolDir), "callbacks")),
		Concurrency: e.Int("HOTLINE_CALLBACK_CONCURRENCY", 4),
	}
	e.Check(!strings.Contains(c.Callback.Dial, "{number}"), "HOTLINE_CALLBACK_DIAL must contain {number}")
	e.Check(c.Callback.Attempts < 1, "HOTLINE_CALLBACK_ATTEMPTS must be at least 1")
	// HOTLINE_CALLBACK_NUMBERS [domestic: ivr.DomesticNumbers]: the regular
	// expression a case's number must match to be called back (toll fraud).
	if pat := e.Str("HOTLINE_CALLBACK_NUMBERS", ""); pat != "" {
		re, err := regexp.Compile(pat)
		e.Check(err != nil, fmt.Sprintf("HOTLINE_CALLBACK_NUMBERS: %v", err))
		e.Check(err == nil && !strings.HasPrefix(pat, "^"), "HOTLINE_CALLBACK_NUMBERS must be anchored (start with ^ and end with $)")
		c.Callback.Numbers = re
	}
	c.CallbackDays = e.OneOf("HOTLINE_CALLBACK_DAYS", callbackWorkingDays, callbackWorkingDays, callbackEveryDay)
	// HOTLINE_FAX_DOCS_DIR [$HOTLINE_DATA_DIR/fax/documents]: catalogue PDFs,
	// "<number>-<title>.pdf"; rendered to fax TIFF with ghostscript at start.
	// When the directory does not exist the fax option says it is unavailable.
	// HOTLINE_FAX_DIR [$HOTLINE_DATA_DIR/fax]: fax store, same path for Asterisk
	// (catalogue/, received/YYYY/MM/DD/<id>.tiff and .pdf).
	// HOTLINE_FAX_CONTEXT [hotline-fax]: dialplan context with send/receive.
	c.Fax = ivr.FaxConfig{
		DocsDir: e.Str("HOTLINE_FAX_DOCS_DIR", filepath.Join(c.DataDir, "fax", "documents")),
		Dir:     e.Str("HOTLINE_FAX_DIR", filepath.Join(c.DataDir, "fax")),
		Context: e.Str("HOTLINE_FAX_CONTEXT", "hotline-fax"),
	}
	c.Recovery = recoverySettings(e, c)
	c.Routing = routingSettings(e, c)
	c.SIPGuard = sipGuardSettings(e, c.Profile)
	c.SoftphoneACL = e.Str("HOTLINE_SOFTPHONE_ACL", "agent-desk")
	if err := e.Err(); err != nil {
		return c, err
	}
	if err := c.ARI.Validate(); err != nil {
		return c, err
	}
	return c, c.Bus.Validate()
}

// Crash recovery and zero-downtime restart settings (issue 11), read from the
// environment with these defaults:
//
//	HOTLINE_CALLS_DIR        [<dir of HOTLINE_SPOOL_DIR>/calls]  one fsynced record per call in
//	                                  progress; the next process adopts or ends each call
//	HOTLINE_AGENTS_STATE     [<dir of HOTLINE_SPOOL_DIR>/agents.json]  agents' states, kept across restarts
//	HOTLINE_DRAIN_HANDOVER   [on]    at the end of the SIGTERM drain, agent conversations and
//	                                  waiting callers stay in Asterisk for the next process
//	                                  (off: they are hung up, as before)
//	HOTLINE_FALLBACK_MAILBOX [$HOTLINE_DATA_DIR/asterisk/dev/spool/voicemail/hotline/12345/INBOX]
//	                                  the dialplan fallback's native mailbox, imported into the
//	                                  voicemail inbox ("off": not imported)
//	HOTLINE_FALLBACK_SCAN    [10s]   how often that mailbox is scanned
type recoveryConfig struct {
	CallsDir      string
	AgentsState   string
	Handover      bool
	FallbackInbox string
	FallbackScan  time.Duration
}

func recoverySettings(e *svc.Env, cfg config) recoveryConfig {
	base := filepath.Dir(cfg.SpoolDir)
	r := recoveryConfig{
		CallsDir:      e.Str("HOTLINE_CALLS_DIR", filepath.Join(base, "calls")),
		AgentsState:   e.Str("HOTLINE_AGENTS_STATE", filepath.Join(base, "agents.json")),
		Handover:      e.OneOf("HOTLINE_DRAIN_HANDOVER", "on", "on", "off") == "on",
		FallbackInbox: e.Str("HOTLINE_FALLBACK_MAILBOX", filepath.Join(cfg.DataDir, "asterisk", "dev", "spool", "voicemail", "hotline", "12345", "INBOX")),
		FallbackScan:  e.Duration("HOTLINE_FALLBACK_SCAN", 10*time.Second),
	}
	if r.FallbackInbox == "off" {
		r.FallbackInbox = ""
	}
	e.Check(r.FallbackScan < time.Second, "HOTLINE_FALLBACK_SCAN must be at least 1s")
	e.Check(r.CallsDir == cfg.SpoolDir, "HOTLINE_CALLS_DIR must not be the event spool")
	return r
}

// Agent queue settings (issue 5), read from the environment with these defaults:
//
//	HOTLINE_HUMAN_SERVICE         [on]   "off": no agent queue, every caller gets the voice menu
//	HOTLINE_CASEWORK_URL          (above; when empty http://127.0.0.1:9102 here) casework API:
//	                                     agents' bearer tokens (GET /api/v1/me), unit directory
//	                                     and earlier cases, always with the agent's own token
//	HOTLINE_AGENT_AUTH_CACHE      [0s]   how long a verified agent token is trusted without asking casework
//	                                     (0: every request asks, so a revoked token or disabled user stops at once)
//	HOTLINE_QUEUE_NAME            [default]  queue name in events
//	HOTLINE_QUEUE_RING_TIMEOUT    [15s]  an agent's phone rings this long before the next agent is tried
//	HOTLINE_QUEUE_MAX_WAIT        [3m]   then the caller goes back to the front door (voicemail offer)
//	HOTLINE_QUEUE_FIRST_ANNOUNCE  [5s]   first position/estimated-wait announcement
//	HOTLINE_QUEUE_ANNOUNCE_EVERY  [30s]  later announcements
//	HOTLINE_QUEUE_SHORT_ABANDON   [5s]   callers hanging up sooner count as short abandons
//	HOTLINE_QUEUE_MOH_CLASS       [default]  music-on-hold class while waiting
//	HOTLINE_QUEUE_INITIAL_AHT     [3m]   average handling time assumed before any call (estimated wait)
//	HOTLINE_AGENT_WRAPUP          [15s]  after-call work before the next offer
//	HOTLINE_AGENT_MAX_MISSED      [2]    unanswered offers in a row before the agent is paused (no_answer)
//	HOTLINE_NUMBER                [12345]  caller ID duty lines see for confidential (举报) callers
//	HOTLINE_DUTYLINE_TIMEOUT      [30s]  a duty line rings this long (no answer → call.threeway_failed)
//	HOTLINE_DUTYLINE_TRUNKS       [dutylines]  comma-separated PJSIP trunks a directory duty line may use;
//	                                     anything else in the directory is refused, not dialled
//	HOTLINE_AGENTS_STATE          (recovery, below)  agents' states across restarts
//	HOTLINE_RECORDINGS_DIR        [$HOTLINE_DATA_DIR/recordings]  agent call recordings (YYYY/MM/DD/...)
//	HOTLINE_SCREENPOP_SUBJECT     [<HOTLINE_SUBJECT_ROOT>_agents]  screen pops go to core NATS subject
//	                                     <this>.<staff>.screenpop; deliberately NOT under the
//	                                     event stream's "<root>.>" so the citizen's number is not
//	                                     stored in the stream and casework does not park them
type routingConfig struct {
	Enabled     bool
	CaseworkURL string
	AuthCache   time.Duration
	PopSubject  string
	Service     routing.Config
}

// routingSettings reads the agent queue's settings (after the front door's and
// the recovery settings, whose values it reuses).
func routingSettings(e *svc.Env, cfg config) routingConfig {
	var r routingConfig
	r.Enabled = e.OneOf("HOTLINE_HUMAN_SERVICE", "on", "on", "off") == "on"
	// The front door's HOTLINE_CASEWORK_URL when set; the agents' API needs
	// casework in any case, so it falls back to the local default.
	r.CaseworkURL = cfg.CaseworkURL
	if r.CaseworkURL == "" {
		r.CaseworkURL = defaultCaseworkURL
	}
	// Revocation must take effect at once everywhere (a guessed or leaked
	// token takes the agent's calls, whistleblowers' included); asking casework
	// costs a loopback round trip per agent request.
	r.AuthCache = e.Duration("HOTLINE_AGENT_AUTH_CACHE", 0)
	r.PopSubject = e.Str("HOTLINE_SCREENPOP_SUBJECT", cfg.Bus.SubjectRoot+"_agents")
	r.Service = routing.Config{
		Queue:           e.Str("HOTLINE_QUEUE_NAME", "default"),
		SoundsDir:       cfg.SoundsDir,
		RingTimeout:     e.Duration("HOTLINE_QUEUE_RING_TIMEOUT", 15*time.Second),
		MaxWait:         e.Duration("HOTLINE_QUEUE_MAX_WAIT", 3*time.Minute),
		FirstAnnounce:   e.Duration("HOTLINE_QUEUE_FIRST_ANNOUNCE", 5*time.Second),
		AnnounceEvery:   e.Duration("HOTLINE_QUEUE_ANNOUNCE_EVERY", 30*time.Second),
		ShortAbandon:    e.Duration("HOTLINE_QUEUE_SHORT_ABANDON", 5*time.Second),
		MOHClass:        e.Str("HOTLINE_QUEUE_MOH_CLASS", "default"),
		HotlineNumber:   e.Str("HOTLINE_NUMBER", "12345"),
		DutyLineTimeout: e.Duration("HOTLINE_DUTYLINE_TIMEOUT", 30*time.Second),
		DutyLineTrunks:  strings.Split(e.Str("HOTLINE_DUTYLINE_TRUNKS", "dutylines"), ","),
		RecordingsDir:   e.Str("HOTLINE_RECORDINGS_DIR", filepath.Join(cfg.DataDir, "recordings")),
		StateFile:       cfg.Recovery.AgentsState,
		Pool: routing.PoolConfig{
			WrapUp:     e.Duration("HOTLINE_AGENT_WRAPUP", 15*time.Second),
			MaxMissed:  e.Int("HOTLINE_AGENT_MAX_MISSED", 2),
			InitialAHT: e.Duration("HOTLINE_QUEUE_INITIAL_AHT", 3*time.Minute),
		},
	}
	e.Check(r.Service.Pool.MaxMissed < 1, "HOTLINE_AGENT_MAX_MISSED must be at least 1")
	e.Check(r.Service.RingTimeout < time.Second, "HOTLINE_QUEUE_RING_TIMEOUT must be at least 1s")
	return r
}
