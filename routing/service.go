package routing

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// Config is the queue's and the connection's settings (cmd/callsvc/config.go
// reads them from the environment).
type Config struct {
	Queue     string // queue name in events (default "default")
	SoundsDir string // rendered prompts, as for the front door
	// RingTimeout is how long an agent's phone rings before the offer moves on.
	RingTimeout time.Duration
	// MaxWait is the longest a caller waits before the front door offers voicemail.
	MaxWait time.Duration
	// FirstAnnounce and AnnounceEvery time the position/estimated wait prompts.
	FirstAnnounce, AnnounceEvery time.Duration
	// ShortAbandon: callers hanging up sooner are counted as short abandons.
	ShortAbandon time.Duration
	// MOHClass is the music-on-hold class callers hear while waiting.
	MOHClass string
	// HotlineNumber is the caller ID a duty line sees for confidential callers
	// (T13), and what an agent sees for a withheld number.
	HotlineNumber string
	// DutyLineTimeout is how long a duty line rings.
	DutyLineTimeout time.Duration
	// DutyLineTrunks are the PJSIP endpoints duty lines may be dialled through
	// (default: dutylines).
	DutyLineTrunks []string
	// RecordingsDir is where agent call recordings are stored
	// ($HOTLINE_DATA_DIR/recordings).
	RecordingsDir string
	// StateFile keeps the agents' states across restarts ("": in memory only).
	StateFile string
	Pool      PoolConfig
}

func (c *Config) defaults() {
	if c.Queue == "" {
		c.Queue = "default"
	}
	if c.RingTimeout <= 0 {
		c.RingTimeout = 15 * time.Second
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 3 * time.Minute
	}
	if c.FirstAnnounce <= 0 {
		c.FirstAnnounce = 5 * time.Second
	}
	if c.AnnounceEvery <= 0 {
		c.AnnounceEvery = 30 * time.Second
	}
	if c.ShortAbandon <= 0 {
		c.ShortAbandon = 5 * time.Second
	}
	if c.MOHClass == "" {
		c.MOHClass = "default"
	}
	if c.HotlineNumber == "" {
		c.HotlineNumber = "12345"
	}
	if len(c.DutyLineTrunks) == 0 {
		c.DutyLineTrunks = []string{"dutylines"}
	}
	if c.DutyLineTimeout <= 0 {
		c.DutyLineTimeout = 30 * time.Second
	}
}

// Speaker renders dynamic text (the staff number) to a sound file path without
// extension; prompts.Renderer implements it.
type Speaker interface {
	RenderText(ctx context.Context, text string) (string, error)
}

// Directory is what routing asks the casework service: a unit's duty line (for
// three-way calls) and a caller's earlier cases (for screen pop). token is the
// agent's own bearer token, so casework's access rules apply.
type Directory interface {
	Unit(ctx context.Context, token, unitID string) (Unit, error)
	EarlierCases(ctx context.Context, token, phone string) ([]CaseSummary, error)
	Case(ctx context.Context, token, ref string) (CaseRef, error)
}

// CaseRef is what routing needs of the case a call is about.
type CaseRef struct {
	ID              string `json:"id"`
	Number          string `json:"number"`
	Category        string `json:"category"`
	Confidentiality string `json:"confidentiality"`
}

// Confidential tells whether the caller's identity must be withheld from units
// (T13): reports (举报) and cases marked confidential.
func (c CaseRef) Confidential() bool {
	return c.Category == "report" || (c.Confidentiality != "" && c.Confidentiality != "none")
}

// Unit is the part of a directory entry a three-way call needs.
type Unit struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	DutyLine string `json:"duty_line"`
	Active   bool   `json:"active"`
}

// RecordingStore fetches a finished recording from Asterisk into dst (ARI's
// stored-recordings API, so it works with Asterisk on another machine).
type RecordingStore interface {
	FetchRecording(ctx context.Context, name, format, dst string) error
}

// Service is the agent queue. It implements ivr.HumanService.
type Service struct {
	cfg     Config
	pool    *Pool
	metrics *Metrics
	log     *zap.Logger
	speaker Speaker
	dir     Directory
	pop     *popHub
	recs    RecordingStore

	mu    sync.Mutex
	live  map[string]*liveCall // by staff number
	token map[string]string    // last bearer token each agent used (for lookups on their behalf)
}

// Deps are the Service's collaborators.
type Deps struct {
	Speaker    Speaker
	Directory  Directory
	Recordings RecordingStore
	// Notify publishes screen pops on the message bus (core NATS); nil: SSE only.
	Notify Notifier
	// PopSubject returns the subject of an agent's screen pops.
	PopSubject func(staff string) string
	// Events, when set, gets agent.state_changed events (staff report), as
	// Source.
	Events EventSink
	Source string
}

// EventSink takes events for the casework service (the call service's spooling
// publisher).
type EventSink interface {
	Publish(env event.Envelope) error
}

// New builds the service.
func New(cfg Config, deps Deps, m *Metrics, log *zap.Logger) *Service {
	cfg.defaults()
	s := &Service{
		cfg: cfg, metrics: m, log: log,
		pool:    NewPool(cfg.Pool, m, nil),
		speaker: deps.Speaker, dir: deps.Directory, recs: deps.Recordings,
		pop:  newPopHub(deps.Notify, deps.PopSubject, log),
		live: map[string]*liveCall{}, token: map[string]string{},
	}
	if cfg.StateFile != "" {
		if err := s.pool.persist(cfg.StateFile, log); err != nil {
			log.Error("agents' states not restored", zap.Error(err))
		}
	}
	if deps.Events != nil {
		s.pool.onState = func(a Agent, prev State, spent time.Duration) {
			callID := ""
			if a.State == OnCall || a.State == WrapUp || prev == OnCall {
				callID = a.CallID
			}
			env, err := event.New(event.AgentStateChanged, deps.Source, callID, event.AgentStatePayload{
				StaffNumber: a.Staff, State: string(a.State), Reason: nonEmpty(a.Reason, a.forcedReason), Previous: string(prev),
				PreviousMS: spent.Milliseconds(), ForcedBy: a.ForcedBy,
			})
			if err == nil {
				err = deps.Events.Publish(env)
			}
			if err != nil {
				log.Error("agent state event not recorded", zap.String("staff", a.Staff), zap.Error(err))
			}
		}
	}
	return s
}

// Pool exposes the agents and the queue (for the HTTP API and tests).
func (s *Service) Pool() *Pool { return s.pool }

func (s *Service) sound(id prompts.ID) string {
	return prompts.SoundURI(filepath.Join(s.cfg.SoundsDir, string(id)))
}

// Serve queues the caller, connects them to an agent and holds them until the
// conversation is over. It returns ivr.ErrNoAgent when nobody is logged in or the
// maximum wait passed, and the caller's *ari.HangupError when they hung up.
func (s *Service) Serve(ctx context.Context, call *ivr.Call) error {
	log := call.Log.With(zap.String("queue", s.cfg.Queue))
	if s.pool.loggedIn() == 0 {
		s.metrics.overflow.Inc()
		log.Info("no agent logged in: caller goes to the voice menu")
		return ivr.ErrNoAgent
	}
	sess, ch := call.Session(), call.ChannelID()
	// cctx ends when the caller hangs up: every operation of this call stops then.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := sess.WaitHangup(cctx, ch); errors.Is(err, ari.ErrHangup) {
			cancel()
		}
	}()

	c := &callState{s: s, call: call, sess: sess, ch: ch, log: log, ctx: cctx}
	defer c.finish()
	return c.queueAndConverse(&waiter{callID: call.ID()})
}

// queueAndConverse waits for an agent and talks, again after each blind
// transfer back into the queue, until the conversation ends.
func (c *callState) queueAndConverse(w *waiter) error {
	for {
		staff, agentCh, err := c.wait(w)
		if err != nil {
			return err
		}
		next, err := c.converse(staff, agentCh)
		if err != nil || next == nil {
			return err
		}
		w = next // blind transfer: back into the queue
	}
}

// callState is one caller's way through the queue and conversations.
type callState struct {
	s    *Service
	call *ivr.Call
	sess ivr.Session
	ch   string
	log  *zap.Logger
	ctx  context.Context

	firstQueued time.Time
	// confidential is set when the call's case is a report or confidential: the
	// caller's number is then never shown to a unit, whatever the agent asks.
	confidential bool
	// linked: the call is linked to a case the service has read. Until then
	// nobody knows it is not a report, so the caller is confidential too.
	linked     bool
	recording  string // live recording name, "" until the first agent answers
	snoop      string
	recStart   time.Time
	bridge     string // mixing bridge: caller, agent, unit
	holdBridge string // holding bridge the caller waits in, with music
	inHold     bool
}

// hold puts the caller into a holding bridge (one per wait; music is started
// by the caller of hold, see music).
func (c *callState) hold() {
	if c.inHold {
		return
	}
	b, err := c.sess.CreateBridge(c.ctx, "holding")
	if err != nil {
		c.log.Warn("holding bridge", zap.Error(err))
		return
	}
	c.holdBridge = b
	if err := c.sess.AddToBridge(c.ctx, b, c.ch); err != nil {
		if !c.callerGone() {
			c.log.Warn("caller not put on hold", zap.Error(err))
		}
		return
	}
	c.inHold = true
}

// music plays music on hold to the waiting caller (the caller's own channel:
// bridge music needs Asterisk's chan_bridge_media, which is not loaded).
func (c *callState) music() {
	if err := c.sess.StartMOH(c.ctx, c.ch, c.s.cfg.MOHClass); err != nil && !c.callerGone() {
		c.log.Warn("music on hold", zap.Error(err))
	}
}

// leaveHold takes the caller out of the holding bridge and destroys it.
func (c *callState) leaveHold() {
	if c.holdBridge == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 5*time.Second)
	defer cancel()
	if c.inHold {
		_ = c.sess.StopMOH(ctx, c.ch)
		if err := c.sess.RemoveFromBridge(ctx, c.holdBridge, c.ch); err != nil && !c.callerGone() {
			c.log.Warn("caller not taken off hold", zap.Error(err))
		}
	}
	_ = c.sess.DestroyBridge(ctx, c.holdBridge)
	c.holdBridge, c.inHold = "", false
}

// callerGone tells whether the caller hung up (as opposed to ctx ending).
func (c *callState) callerGone() bool { return !c.sess.Alive(c.ch) }

func (c *callState) hangupErr() error {
	info, _ := c.sess.Channel(c.ch)
	return &ari.HangupError{ChannelID: c.ch, Cause: info.Cause, CauseText: info.CauseText}
}

// wait holds the caller in the queue until an agent answers an offer; it
// returns the agent and their channel.
func (c *callState) wait(w *waiter) (string, string, error) {
	s := c.s
	pos := s.pool.enqueue(w)
	defer s.pool.dequeue(w)
	if c.firstQueued.IsZero() {
		c.firstQueued = w.enqueued
	}
	if !w.resumed { // an adopted caller's call.queued was sent by the earlier process
		c.call.Emit(event.CallQueued, event.CallQueuedPayload{Queue: s.cfg.Queue, Position: pos})
		c.call.SetOutcome(event.OutcomeQueued)
	}
	c.log.Info("caller queued", zap.Int("position", pos), zap.Bool("adopted", w.resumed))
	moh := func() {
		c.hold()
		c.music()
	}
	moh()
	// Waiting needs no process either (holding bridge, music on the channel):
	// the record lets the next one keep the caller's place.
	_ = c.sess.UpdateRecord(func(r *ari.CallRecord) {
		r.Phase, r.QueuedAt, r.HoldBridge = ari.PhaseQueue, c.firstQueued, c.holdBridge
		r.AgentChannel, r.Staff = "", ""
	})
	maxWait := time.NewTimer(s.cfg.MaxWait)
	defer maxWait.Stop()
	announce := time.NewTimer(s.cfg.FirstAnnounce)
	defer announce.Stop()
	wrapTimer := time.NewTimer(time.Hour) // next wrap-up end: an agent may become ready
	defer wrapTimer.Stop()
	for {
		if staff := s.pool.reserve(w); staff != "" {
			agentCh, err := c.offer(w, staff)
			if err == nil {
				waited := time.Since(w.enqueued)
				s.metrics.wait.WithLabelValues("answered").Observe(waited.Seconds())
				s.metrics.answered.WithLabelValues(fmt.Sprint(time.Since(c.firstQueued) <= 15*time.Second)).Inc()
				c.call.Emit(event.AgentAnswered, event.AgentAnsweredPayload{StaffNumber: staff, WaitMS: time.Since(c.firstQueued).Milliseconds()})
				return staff, agentCh, nil
			}
			if c.ctx.Err() != nil {
				return "", "", c.abandoned(w)
			}
			moh()
			continue
		}
		changed := s.pool.Changed()
		var wrapEnd <-chan time.Time
		wrapTimer.Stop()
		if next := s.pool.endWrapUps(); !next.IsZero() {
			wrapTimer.Reset(time.Until(next))
			wrapEnd = wrapTimer.C
		}
		select {
		case <-wrapEnd:
		case <-c.ctx.Done():
			return "", "", c.abandoned(w)
		case <-maxWait.C:
			s.metrics.overflow.Inc()
			s.metrics.wait.WithLabelValues("overflow").Observe(time.Since(w.enqueued).Seconds())
			c.leaveHold()
			c.log.Info("maximum wait passed: caller goes to voicemail", zap.Duration("waited", time.Since(w.enqueued)))
			return "", "", ivr.ErrNoAgent
		case <-announce.C:
			c.announce(w)
			moh()
			announce.Reset(s.cfg.AnnounceEvery)
		case <-changed:
		}
	}
}

// abandoned records a caller who hung up while waiting (or the call's end).
func (c *callState) abandoned(w *waiter) error {
	if c.detach() {
		return ari.ErrDetached // the next process keeps the caller's place
	}
	if !c.callerGone() {
		return context.Cause(c.ctx)
	}
	s := c.s
	waited := time.Since(c.firstQueued)
	if c.sess.CameBack(context.WithoutCancel(c.ctx), c.ch, 2*time.Second) {
		// Not a hang-up: the dialplan took the channel and sent it back (a fax
		// machine's tone was heard while it waited). The front door takes it;
		// counting it as abandoned would blame the queue for a fax. The wait is
		// bounded and short: both a return and a hang-up's end arrive within
		// milliseconds of StasisEnd.
		c.log.Info("caller left the queue for the dialplan (fax tone?)", zap.Duration("waited", waited))
		return c.hangupErr()
	}
	short := waited < s.cfg.ShortAbandon
	s.metrics.abandoned.WithLabelValues(fmt.Sprint(short)).Inc()
	s.metrics.wait.WithLabelValues("abandoned").Observe(waited.Seconds())
	c.call.Emit(event.CallAbandoned, event.CallAbandonedPayload{Queue: s.cfg.Queue, WaitMS: waited.Milliseconds(), Short: short})
	c.call.SetOutcome(event.OutcomeAbandoned)
	c.log.Info("caller abandoned the queue", zap.Duration("waited", waited), zap.Bool("short", short))
	return c.hangupErr()
}

// announce tells the caller their position and the estimated wait.
func (c *callState) announce(w *waiter) {
	pos, wait, known := c.s.pool.position(w)
	parts := announcement(pos, wait, known)
	if len(parts) == 0 {
		return
	}
	media := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.say == "" {
			media = append(media, c.s.sound(p.prompt))
			continue
		}
		path, err := c.s.speaker.RenderText(c.ctx, p.say)
		if err != nil {
			c.log.Warn("announcement not rendered", zap.Error(err))
			return
		}
		media = append(media, prompts.SoundURI(path))
	}
	_ = c.sess.StopMOH(c.ctx, c.ch)
	if _, err := c.sess.PlayAll(c.ctx, c.ch, media, false); err != nil && !c.callerGone() {
		c.log.Warn("position announcement", zap.Error(err))
	}
	c.log.Info("position announced", zap.Int("position", pos), zap.Duration("estimated_wait", wait), zap.Bool("estimate_known", known))
}

// part is one piece of an announcement: a prompt, or a number to speak.
type part struct {
	prompt prompts.ID
	say    string
}

// announcement is what a caller at position pos (1 = next) hears: how many
// callers are ahead ("您前面还有N位来电正在等待", or "正在为您转接话务员" when
// nobody is), then the estimated wait in minutes when it is known.
func announcement(pos int, wait time.Duration, known bool) []part {
	if pos <= 0 {
		return nil
	}
	var out []part
	if ahead := pos - 1; ahead > 0 {
		out = append(out, part{prompt: prompts.QueuePositionBefore}, part{say: fmt.Sprint(ahead)}, part{prompt: prompts.QueuePositionAfter})
	} else {
		out = append(out, part{prompt: prompts.QueueConnecting})
	}
	if known {
		out = append(out, part{prompt: prompts.QueueWaitBefore}, part{say: fmt.Sprint(waitMinutes(wait))}, part{prompt: prompts.QueueWaitAfter})
	}
	return out
}

// offer rings an agent; on answer the agent's channel is returned.
func (c *callState) offer(w *waiter, staff string) (string, error) {
	s := c.s
	log := c.log.With(zap.String("staff", staff))
	target := "PJSIP/" + staff
	info := c.sess.Caller()
	cid := info.CallerNumber
	if anonymousNumber(cid) {
		cid = s.cfg.HotlineNumber
	}
	log.Info("offering call to agent")
	agentCh, err := c.sess.Originate(c.ctx, ari.OriginateRequest{
		Endpoint: target, CallerID: fmt.Sprintf("\"12345\" <%s>", cid), Timeout: s.cfg.RingTimeout,
		Variables: map[string]string{"HOTLINE_CALL_ID": c.call.ID()},
	})
	if err == nil {
		wctx, cancel := context.WithTimeout(c.ctx, s.cfg.RingTimeout+5*time.Second)
		err = c.sess.WaitUp(wctx, agentCh)
		cancel()
	}
	if err != nil {
		if agentCh != "" {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 3*time.Second)
			_ = c.sess.Hangup(hctx, agentCh, "normal")
			cancel()
		}
		de := dialError(target, err)
		if c.ctx.Err() != nil {
			// The caller hung up while the agent's phone rang: not the agent's miss.
			de.Reason = "caller_gone"
			s.pool.offerCancelled(staff)
			log.Info("offer withdrawn: caller hung up")
			return "", de
		}
		s.pool.offerDone(w, staff, false)
		label := de.MetricLabel()
		switch label {
		case "no_answer", "busy":
		default:
			label = "failed"
		}
		s.metrics.offers.WithLabelValues(label).Inc()
		log.Info("offer not answered", zap.String("reason", de.Reason), zap.Int("cause", de.Cause), zap.Error(err))
		return "", de
	}
	s.pool.offerDone(w, staff, true)
	s.metrics.offers.WithLabelValues("answered").Inc()
	log.Info("agent answered")
	return agentCh, nil
}

// anonymousNumber tells whether the carrier withheld the caller's number.
func anonymousNumber(n string) bool { return event.WithheldNumber(n) }
