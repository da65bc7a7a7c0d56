package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/cmd/internal/svc"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/ivr/prompts"
	"github.com/hotline12345/hotline/routing"
)

// Agent queue settings (issue 5), read from the environment with these defaults:
//
//	HOTLINE_HUMAN_SERVICE         [on]   "off": no agent queue, every caller gets the voice menu
//	HOTLINE_CASEWORK_URL          (config.go; when empty http://127.0.0.1:9102 here) casework API:
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

func loadRoutingConfig(getenv func(string) string, cfg config) (routingConfig, error) {
	e := svc.NewEnv(getenv)
	var r routingConfig
	r.Enabled = e.OneOf("HOTLINE_HUMAN_SERVICE", "on", "on", "off") == "on"
	// The front door's HOTLINE_CASEWORK_URL (config.go) when set; the agents'
	// API needs casework in any case, so it falls back to the local default.
	r.CaseworkURL = e.Str("HOTLINE_CASEWORK_URL", "")
	if r.CaseworkURL == "" {
		r.CaseworkURL = "http://127.0.0.1:9102"
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
		StateFile:       e.Str("HOTLINE_AGENTS_STATE", filepath.Join(filepath.Dir(cfg.SpoolDir), "agents.json")),
		Pool: routing.PoolConfig{
			WrapUp:     e.Duration("HOTLINE_AGENT_WRAPUP", 15*time.Second),
			MaxMissed:  e.Int("HOTLINE_AGENT_MAX_MISSED", 2),
			InitialAHT: e.Duration("HOTLINE_QUEUE_INITIAL_AHT", 3*time.Minute),
		},
	}
	e.Check(r.Service.Pool.MaxMissed < 1, "HOTLINE_AGENT_MAX_MISSED must be at least 1")
	e.Check(r.Service.RingTimeout < time.Second, "HOTLINE_QUEUE_RING_TIMEOUT must be at least 1s")
	return r, e.Err()
}

// humanDeps are what run.go hands the agent queue.
type humanDeps struct {
	Log        *zap.Logger
	Registerer prometheus.Registerer
	ARI        *ari.Client
	Sink       ivr.Sink
	Source     string
}

// humanService is the agent queue as the call service wires it: the front
// door's HumanService plus the agents' HTTP routes and screen-pop publisher.
type humanService struct {
	*routing.Service
	auth *routing.Casework
	pop  *lateNotifier
}

// lateNotifier forwards screen pops to the NATS connection once run.go has
// handed it over (attachHumanService); until then they go to SSE only.
type lateNotifier struct {
	mu sync.Mutex
	nc *nats.Conn
}

func (n *lateNotifier) Publish(subject string, data []byte) error {
	n.mu.Lock()
	nc := n.nc
	n.mu.Unlock()
	if nc == nil {
		return nil
	}
	return nc.Publish(subject, data)
}

// newHumanService builds the agent queue (nil when HOTLINE_HUMAN_SERVICE=off).
// It starts no goroutine of its own: wrap-ups end lazily and each caller's wait
// runs in that call's handler.
func newHumanService(cfg config, d humanDeps) (ivr.HumanService, error) {
	rc, err := loadRoutingConfig(os.Getenv, cfg)
	if err != nil {
		return nil, err
	}
	if !rc.Enabled {
		d.Log.Info("human service off: every caller gets the voice menu")
		return nil, nil
	}
	cw := routing.NewCasework(rc.CaseworkURL, rc.AuthCache)
	pop := &lateNotifier{}
	deps := routing.Deps{
		Speaker:    &prompts.Renderer{Dir: cfg.SoundsDir},
		Directory:  cw,
		Recordings: d.ARI,
		Notify:     pop,
		PopSubject: func(staff string) string { return rc.PopSubject + "." + staff + ".screenpop" },
		Events:     d.Sink,
		Source:     d.Source,
	}
	s := routing.New(rc.Service, deps, routing.NewMetrics(d.Registerer), d.Log.Named("routing"))
	d.Log.Info("agent queue ready", zap.String("casework", rc.CaseworkURL),
		zap.Duration("ring_timeout", rc.Service.RingTimeout), zap.Duration("max_wait", rc.Service.MaxWait),
		zap.String("screenpop_subject", rc.PopSubject+".<staff>.screenpop"))
	return &humanService{Service: s, auth: cw, pop: pop}, nil
}

// attachHumanService mounts the agents' API on the call service's ops mux and
// hands the NATS connection to the screen-pop publisher.
func attachHumanService(h ivr.HumanService, mux *http.ServeMux, nc *nats.Conn) {
	hs, ok := h.(*humanService)
	if !ok || hs == nil {
		return
	}
	hs.pop.mu.Lock()
	hs.pop.nc = nc
	hs.pop.mu.Unlock()
	hs.Routes(mux, hs.auth)
}
