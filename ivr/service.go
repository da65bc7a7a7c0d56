package ivr

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// Config is what the front door needs to know.
type Config struct {
	// SoundsDir holds the rendered prompts (<id>.wav); the same path inside
	// Asterisk's root, which bind-mounts the data directory.
	SoundsDir string
	// Source names this service and node in events.
	Source string
	// MaxCallTime bounds a call that nothing else ends.
	MaxCallTime time.Duration
	// Human is the agent queue (nil: none; a caller in staffed hours hears that
	// all agents are busy and gets the menu).
	Human HumanService
	// Hours decides staffed hours (nil: staffed whenever Human is set).
	Hours ServiceHours
	// Now is the clock for service hours (nil: time.Now).
	Now func() time.Time
	// Menu bounds the voice menu.
	Menu MenuConfig
	// Voicemail configures messages (留言).
	Voicemail VoicemailConfig
	// Lookup reads case status for voice self-service (nil: the option says
	// the service is unavailable and returns to the menu).
	Lookup CaseLookup
	// Speech renders dynamic text (case status) to audio (nil: no self-service).
	Speech Speaker
	// Fax is the fax service (nil: the option says the service is unavailable).
	Fax *FaxCatalogue
}

// Metrics are the front door's series.
type Metrics struct {
	started     *prometheus.CounterVec
	ended       *prometheus.CounterVec
	duration    prometheus.Histogram
	menuChoices *prometheus.CounterVec
	menuLatency prometheus.Histogram
	voicemails  *prometheus.CounterVec
	vmSeconds   prometheus.Histogram
	lookups     *prometheus.CounterVec
	faxes       *prometheus.CounterVec
	callbacks   *prometheus.CounterVec
	// fallbackImports counts messages of the dialplan fallback's native
	// mailbox imported into the inbox (imported) or not (failed).
	fallbackImports *prometheus.CounterVec
	// quarantined counts damaged spool files set aside (.bad) at start.
	quarantined *prometheus.CounterVec
	// storeFailures counts audio that could not be stored durably (disk
	// full): the Asterisk copy is kept.
	storeFailures *prometheus.CounterVec
}

// NewMetrics registers the front door's series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_total", Help: "Calls that reached the hotline, by direction.",
		}, []string{"direction"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_calls_ended_total", Help: "Finished calls by outcome and who hung up.",
		}, []string{"outcome", "hangup_by"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_call_duration_seconds", Help: "Call duration from arrival to hang-up.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 3600},
		}),
		menuChoices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_menu_choices_total", Help: "Voice menu inputs by menu and choice (including invalid, timeout, default).",
		}, []string{"menu", "choice"}),
		menuLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_menu_key_latency_seconds", Help: "From the start of the menu prompt to the caller's key.",
			Buckets: []float64{0.5, 1, 2, 4, 6, 8, 10, 15, 20},
		}),
		voicemails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_voicemails_total", Help: "Voice messages by result (left, discarded) and reason.",
		}, []string{"result", "reason"}),
		vmSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hotline_voicemail_length_seconds", Help: "Length of kept voice messages.",
			Buckets: []float64{2, 5, 10, 20, 30, 60, 90, 120, 180},
		}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_selfservice_lookups_total", Help: "Voice self-service case lookups by result (detailed, status_only, not_found, error).",
		}, []string{"result"}),
		faxes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_faxes_total", Help: "Faxes by direction (sent, received) and status.",
		}, []string{"direction", "status"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hotline_callbacks_total", Help: "Satisfaction callback attempts (kind=attempt) and final results (kind=result).",
		}, []string{"kind", "result"}),
	}
	m.fallbackImports = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_fallback_voicemails_total",
		Help: "Messages left in the dialplan fallback (call service down, draining or restarting), imported into the inbox or failed.",
	}, []string{"result"})
	m.quarantined = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_spool_files_quarantined_total",
		Help: "Damaged spool files moved aside (.bad) instead of stopping the service, by spool.",
	}, []string{"spool"})
	m.storeFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hotline_store_failures_total",
		Help: "Audio not stored durably (disk full?), by what; Asterisk's copy is kept.",
	}, []string{"what"})
	reg.MustRegister(m.started, m.ended, m.duration, m.menuChoices, m.menuLatency, m.voicemails, m.vmSeconds,
		m.lookups, m.faxes, m.callbacks, m.fallbackImports, m.quarantined, m.storeFailures)
	m.quarantined.WithLabelValues("callbacks")
	m.storeFailures.WithLabelValues("voicemail")
	m.fallbackImports.WithLabelValues("imported")
	m.fallbackImports.WithLabelValues("failed")
	// The label values dashboards and alerts read exist from the start, so a quiet
	// hotline shows zeros rather than gaps.
	m.started.WithLabelValues("inbound")
	for _, c := range []string{"selfservice", "voicemail", "fax", "repeat", "invalid", "timeout", "default"} {
		m.menuChoices.WithLabelValues(MainMenu, c)
	}
	m.voicemails.WithLabelValues("left", "dtmf")
	m.voicemails.WithLabelValues("discarded", "silence")
	for _, r := range []string{"detailed", "status_only", "not_found", "error"} {
		m.lookups.WithLabelValues(r)
	}
	for _, d := range []string{"sent", "received"} {
		m.faxes.WithLabelValues(d, "success")
		m.faxes.WithLabelValues(d, "failed")
	}
	for _, r := range []string{"satisfied", "basically_satisfied", "dissatisfied", "unreachable"} {
		m.callbacks.WithLabelValues("result", r)
	}
	return m
}

// Service answers calls to 12345. It implements ari.Handler.
type Service struct {
	cfg     Config
	sink    Sink
	metrics *Metrics
	log     *zap.Logger
}

// NewService wires the front door.
func NewService(cfg Config, sink Sink, m *Metrics, log *zap.Logger) *Service {
	if cfg.MaxCallTime == 0 {
		cfg.MaxCallTime = 2 * time.Hour
	}
	cfg.Menu = cfg.Menu.withDefaults()
	cfg.Voicemail = cfg.Voicemail.withDefaults()
	return &Service{cfg: cfg, sink: sink, metrics: m, log: log}
}

// Sound returns the media URI of a rendered prompt.
func (s *Service) Sound(id string) string {
	return "sound:" + filepath.Join(s.cfg.SoundsDir, id)
}

// HandleCall runs one inbound call from arrival to hang-up.
func (s *Service) HandleCall(ctx context.Context, sess *ari.Session) { s.handle(ctx, sess, sess.Log) }

// handle is HandleCall on the call operations alone (tests drive it with a
// scripted session).
func (s *Service) handle(ctx context.Context, sess Session, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxCallTime)
	defer cancel()
	call := newCall(sess, log, s.sink, s.cfg.Source)
	info := sess.Caller()
	staffed := s.staffed(call)
	// Answer first: the call record and call.started are fsynced, and the
	// caller must not wait for the disk (two fsyncs sat in every answer). A
	// crash in between leaves a channel without a record, which recovery
	// treats as a call that has just arrived. A failed answer (the caller
	// hung up while it rang) is still recorded as a call, and ended below.
	answerErr := sess.Answer(ctx, call.ChannelID())
	s.metrics.started.WithLabelValues("inbound").Inc()
	started := inboundStarted(info, staffed)
	started.Node = sess.Node()
	s.startCall(call, started)
	call.Log.Info("call started", zap.String("caller", event.MaskNumber(info.CallerNumber)), zap.String("called", info.Dialed),
		zap.Bool("staffed", staffed))
	defer s.finishCall(ctx, call, staffed)

	// The dialplan's fax tone detection may take the channel out of the
	// application at any moment; whoever holds the call then (menu, queue)
	// must learn quickly whether it went there or hung up (see
	// ari.Session.Follow). Without it the answer only takes longer, so the
	// call goes on.
	if err := sess.Follow(ctx, call.ChannelID()); err != nil {
		call.Log.Warn("cannot follow the channel outside the application", zap.Error(err))
	}
	err := answerErr
	if err == nil {
		err = s.run(ctx, call, staffed)
	}
	if s.cfg.Fax != nil {
		// The dialplan's fax tone (CNG) detection takes the channel out of
		// Stasis into from-carrier,fax, which sends it straight back with
		// "fax-detected": a fax machine called 12345. Take its fax. The flow
		// saw that as a hang-up wherever it was (greeting, menu, queue), so
		// its error says nothing: ask the session whether the channel left
		// without hanging up (WaitReturn returns at once otherwise).
		if args, ok := sess.WaitReturn(ctx, call.ChannelID(), 3*time.Second); ok && len(args) > 0 && args[0] == "fax-detected" {
			call.Log.Info("fax tone detected: receiving a fax")
			s.menuEvent(call, MainMenu, "", "fax_detected", 0)
			call.SetOutcome(event.OutcomeFax)
			err = s.receiveFax(ctx, call, false)
		}
	}
	if err != nil && !errors.Is(err, ari.ErrHangup) && ctx.Err() == nil {
		call.Log.Error("call flow failed", zap.Error(err))
		call.SetOutcome(event.OutcomeFailed)
	}
}

// staffed asks the service hours about now.
func (s *Service) staffed(call *Call) bool {
	now := time.Now
	if s.cfg.Now != nil {
		now = s.cfg.Now
	}
	staffed, err := s.staffedAt(now())
	if err != nil {
		call.Log.Error("service hours unknown; offering human service", zap.Error(err))
	}
	return staffedOrHuman(staffed, err)
}

// staffedAt tells whether agents take calls at t: the service hours when they
// are configured, otherwise whether there is human service at all.
func (s *Service) staffedAt(t time.Time) (bool, error) {
	if s.cfg.Hours == nil {
		return s.cfg.Human != nil, nil
	}
	return s.cfg.Hours.Staffed(t)
}

// inboundStarted is the call.started of a citizen's call as it arrived.
func inboundStarted(info ari.ChannelInfo, staffed bool) event.CallStartedPayload {
	return event.CallStartedPayload{
		Caller:     event.PresentedNumber(info.CallerNumber),
		CallerName: info.CallerName,
		Anonymous:  anonymous(info.CallerNumber),
		Called:     info.Dialed,
		Direction:  "inbound",
		Channel:    info.Name,
		Staffed:    staffed,
	}
}

// run is the front door (the caller is answered): greeting, then in staffed hours the recording notice
// and human service (no menu in front of an agent); outside them, or when human
// service declines (nobody logged in, queue overflow), the voice menu.
func (s *Service) run(ctx context.Context, call *Call, staffed bool) error {
	ch := call.ChannelID()
	// Keys pressed during the greeting are kept: a regular caller may type the
	// menu choice ahead.
	if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.Greeting)), false); err != nil {
		return err
	}
	intro := prompts.ClosedHours
	if staffed {
		// Agent calls are recorded (T6): say so before anyone answers.
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.RecordingNotice)), false); err != nil {
			return err
		}
		if s.cfg.Human != nil {
			err := s.cfg.Human.Serve(ctx, call)
			if !errors.Is(err, ErrNoAgent) {
				return err
			}
			call.Log.Info("human service declined; voice menu")
		}
		intro = prompts.AllAgentsBusy
	}
	return s.menu(ctx, call, intro)
}

// anonymous tells whether the carrier withheld the caller's number.
func anonymous(number string) bool { return event.WithheldNumber(number) }
