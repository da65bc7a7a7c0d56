package routing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// command is an agent's request about their current call (from the HTTP API).
type command struct {
	op           string // threeway_join, threeway_leave, threeway_drop, polite_end, transfer
	unitID       string
	confidential bool
	toStaff      string // transfer: the agent's staff number, "" for the queue
	caseRef      string // case: the case's ID or number
	token        string
	reply        chan error
}

// Operations on a live call.
const (
	opJoin      = "threeway_join"
	opLeave     = "threeway_leave"
	opDrop      = "threeway_drop"
	opPoliteEnd = "polite_end"
	opTransfer  = "transfer"
	opCase      = "case"
)

// liveCall is an agent's current conversation, reachable from the HTTP API.
type liveCall struct {
	callID string
	staff  string
	cmds   chan command
	done   chan struct{}
}

// do sends a command to the call's goroutine and waits for its result.
func (lc *liveCall) do(ctx context.Context, cmd command) error {
	cmd.reply = make(chan error, 1)
	select {
	case lc.cmds <- cmd:
	case <-lc.done:
		return ErrNotOnCall
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cmd.reply:
		return err
	case <-lc.done:
		return ErrNotOnCall
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dutyLinePattern repeats the unit directory's rule (casework/store): a phone
// number through a named trunk, nothing else. A directory entry that does not
// match is refused here too.
var dutyLinePattern = regexp.MustCompile(`^PJSIP/\+?[0-9]{1,20}@([A-Za-z][0-9A-Za-z_-]{0,39})$`)

// usableDutyLine tells whether a directory entry may be dialled: the pattern,
// and a trunk on the allow-list (never the carrier: a duty line is not a way to
// reach arbitrary PSTN numbers).
func usableDutyLine(dial string, trunks []string) bool {
	m := dutyLinePattern.FindStringSubmatch(dial)
	return m != nil && slices.Contains(trunks, m[1])
}

// watch returns a channel closed when chID hangs up (or ctx ends).
func (c *callState) watch(ctx context.Context, chID string) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		if err := c.sess.WaitHangup(ctx, chID); errors.Is(err, ari.ErrHangup) {
			close(gone)
		}
	}()
	return gone
}

// converse announces the agent, bridges caller and agent, records, pops the
// agent's screen and serves the agent's requests until the conversation ends.
// It returns a waiter when the caller is transferred back into the queue.
func (c *callState) converse(staff, agentCh string) (*waiter, error) {
	s := c.s
	log := c.log.With(zap.String("staff", staff))
	connected := time.Now()
	talking := false
	defer func() {
		if !talking { // talk accounts for the agent's call from the bridge on
			s.pool.callEnded(staff, time.Since(connected))
		}
	}()
	hangup := c.hangup

	// The agent's requests are accepted from the answer on; they are served
	// once caller and agent are bridged.
	lc := &liveCall{callID: c.call.ID(), staff: staff, cmds: make(chan command), done: make(chan struct{})}
	s.setLive(staff, lc)
	defer func() {
		close(lc.done)
		s.clearLive(staff, lc)
	}()

	// T5: "X号话务员为您服务" before the bridge.
	c.leaveHold()
	media := []string{}
	if p, err := s.speaker.RenderText(c.ctx, prompts.Digits(staff)); err == nil {
		media = append(media, prompts.SoundURI(p))
	} else {
		log.Warn("staff number not rendered", zap.Error(err))
	}
	media = append(media, s.sound(prompts.AgentIntro))
	if _, err := c.sess.PlayAll(c.ctx, c.ch, media, false); err != nil {
		hangup(agentCh)
		if c.callerGone() {
			return nil, c.hangupErr()
		}
		return nil, err
	}
	if c.bridge == "" {
		b, err := c.sess.CreateBridge(c.ctx, "mixing")
		if err != nil {
			hangup(agentCh)
			return nil, err
		}
		c.bridge = b
	}
	for _, id := range []string{c.ch, agentCh} {
		if err := c.sess.AddToBridge(c.ctx, c.bridge, id); err != nil {
			hangup(agentCh)
			if c.callerGone() {
				return nil, c.hangupErr()
			}
			return nil, err
		}
	}
	c.startRecording()
	c.call.SetOutcome(event.OutcomeAgent)
	// From here the conversation needs no process: Asterisk bridges and
	// records it. Its record lets the next process adopt it after a crash.
	c.saveConversation(staff, agentCh, connected, talkState{})
	log.Info("caller connected to agent")

	s.screenPop(c.ctx, c.call.ID(), staff, c.sess.Caller())
	talking = true
	return c.talk(staff, agentCh, connected, lc, talkState{})
}

// talkState is a conversation's three-way part.
type talkState struct {
	unit     Unit
	unitCh   string
	unitConf bool
}

// talk serves a bridged conversation (new, or adopted from an earlier
// process) until it ends: hang-ups of agent and unit, and the agent's
// requests. It returns a waiter when the caller is transferred back into the
// queue, and ari.ErrDetached when the service stops and leaves the
// conversation running for the next process.
func (c *callState) talk(staff, agentCh string, connected time.Time, lc *liveCall, ts talkState) (*waiter, error) {
	cv := &conversation{c: c, log: c.log.With(zap.String("staff", staff)),
		staff: staff, agentCh: agentCh, connected: connected, agentOn: true, talkState: ts}
	defer cv.endAgent()
	if agentCh != "" {
		cv.agentGone = c.watch(c.ctx, agentCh)
	} else {
		cv.endAgent() // adopted after the agent had left a three-way call
	}
	if ts.unitCh != "" {
		cv.unitGone = c.watch(c.ctx, ts.unitCh)
	}
	for {
		var st step
		select {
		case <-c.ctx.Done():
			st = cv.callEnding()
		case <-cv.agentGone:
			st = cv.agentLeft()
		case <-cv.unitGone:
			st = cv.unitLeft()
		case cmd := <-lc.cmds:
			st = cv.serve(cmd)
		}
		if st.end {
			return st.next, st.err
		}
	}
}

// conversation is one bridged conversation of the caller with an agent (and
// a unit's duty line), as talk serves it: its state, and one method per
// thing that can happen to it, the agent's commands above all.
type conversation struct {
	c   *callState
	log *zap.Logger

	staff     string
	agentCh   string // "" once the agent has left
	connected time.Time
	// agentOn: the agent is still accounted as on this call (endAgent ends it
	// once, whichever way the agent goes).
	agentOn bool
	talkState
	agentGone, unitGone <-chan struct{}
}

// step is what one event makes of the conversation: go on, or end it (next:
// the caller goes back into the queue; err: why it ended otherwise).
type step struct {
	end  bool
	next *waiter
	err  error
}

var goOn = step{}

// endAgent ends the agent's part of the call (wrap-up starts), once.
func (cv *conversation) endAgent() {
	if cv.agentOn {
		cv.agentOn = false
		cv.c.s.pool.callEnded(cv.staff, time.Since(cv.connected))
	}
}

func (cv *conversation) hangup(id string) { cv.c.hangup(id) }

// cleanupBound bounds one hang-up or bridge change that must go out even when
// the call's context has ended. Each gets its own deadline: one deadline for a
// whole conversation ran out five seconds in, after which drop, leave,
// transfer and polite ending no longer hung anyone up.
var cleanupBound = 5 * time.Second

// hangup hangs a channel of the call up ("" is none).
func (c *callState) hangup(id string) {
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), cleanupBound)
	defer cancel()
	_ = c.sess.Hangup(ctx, id, "normal")
}

// unbridge takes a channel out of the conversation's bridge.
func (c *callState) unbridge(id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), cleanupBound)
	defer cancel()
	_ = c.sess.RemoveFromBridge(ctx, c.bridge, id)
}

// save writes the conversation into the call's record.
func (cv *conversation) save() {
	cv.c.saveConversation(cv.staff, cv.agentCh, cv.connected, cv.talkState)
}

// threeWay emits a three-way event about the current unit.
func (cv *conversation) threeWay(t event.Type, withStaff bool) {
	p := event.ThreeWayPayload{UnitID: cv.unit.ID, DutyLine: cv.unit.DutyLine, Confidential: cv.unitConf}
	if withStaff {
		p.StaffNumber = cv.staff
	}
	cv.c.call.Emit(t, p)
}

// callEnding: the call's context ended (caller gone, service stopping).
func (cv *conversation) callEnding() step {
	c := cv.c
	if c.detach() {
		// SIGTERM's drain is over: the conversation goes on in Asterisk
		// and the next process adopts it (zero-downtime restart).
		return step{end: true, err: ari.ErrDetached}
	}
	cv.hangup(cv.agentCh)
	cv.hangup(cv.unitCh)
	if c.callerGone() {
		return step{end: true, err: c.hangupErr()}
	}
	return step{end: true, err: context.Cause(c.ctx)}
}

// agentLeft: the agent's channel hung up.
func (cv *conversation) agentLeft() step {
	cv.agentGone = nil
	cv.endAgent()
	if cv.unitCh != "" {
		// The agent left citizen and unit talking (T7).
		cv.threeWay(event.ThreeWayLeft, true)
		cv.log.Info("agent left the three-way call")
		cv.agentCh = ""
		cv.save()
		return goOn
	}
	cv.log.Info("agent hung up")
	return step{end: true}
}

// unitLeft: the duty line hung up.
func (cv *conversation) unitLeft() step {
	cv.unitGone = nil
	cv.threeWay(event.ThreeWayLeft, false)
	cv.log.Info("unit left the three-way call", zap.String("unit", cv.unit.ID))
	cv.unitCh = ""
	cv.save()
	if !cv.agentOn {
		return step{end: true}
	}
	return goOn
}

// serve runs one of the agent's commands; each replies on cmd.reply.
func (cv *conversation) serve(cmd command) step {
	switch cmd.op {
	case opJoin:
		cmd.reply <- cv.join(cmd)
	case opLeave:
		cmd.reply <- cv.leave()
	case opDrop:
		cmd.reply <- cv.drop()
	case opPoliteEnd:
		return cv.politeEnd(cmd)
	case opTransfer:
		return cv.transfer(cmd)
	case opCase:
		cmd.reply <- cv.c.attachCase(cmd)
	default:
		cmd.reply <- fmt.Errorf("unknown operation %q", cmd.op)
	}
	return goOn
}

// join adds the unit's duty line (three-way call).
func (cv *conversation) join(cmd command) error {
	if cv.unitCh != "" {
		return fmt.Errorf("%w: unit %s is already in the call", ErrBusyCall, cv.unit.ID)
	}
	u, ch, err := cv.c.joinUnit(cv.staff, cmd)
	if err != nil {
		return err
	}
	cv.unit, cv.unitCh, cv.unitConf = u, ch, cmd.confidential || cv.c.confidential
	cv.unitGone = cv.c.watch(cv.c.ctx, ch)
	cv.save()
	return nil
}

// leave takes the agent out of a three-way call; agentLeft reports it and
// emits threeway_left.
func (cv *conversation) leave() error {
	if cv.unitCh == "" {
		return ErrNoThreeWay
	}
	cv.c.unbridge(cv.agentCh)
	cv.hangup(cv.agentCh)
	return nil
}

// drop hangs up the unit; unitLeft reports it.
func (cv *conversation) drop() error {
	if cv.unitCh == "" {
		return ErrNoThreeWay
	}
	cv.hangup(cv.unitCh)
	return nil
}

// politeEnd plays the closing prompt to the caller alone and ends the
// conversation (the front door hangs up). The agent is answered first: the
// prompt is the caller's, not the agent's wait.
func (cv *conversation) politeEnd(cmd command) step {
	c := cv.c
	cmd.reply <- nil
	c.unbridge(c.ch)
	cv.hangup(cv.agentCh)
	cv.hangup(cv.unitCh)
	cv.endAgent()
	c.call.Emit(event.PoliteEnding, event.PoliteEndingPayload{StaffNumber: cv.staff})
	c.call.SetOutcome(event.OutcomePoliteEnding)
	cv.log.Info("polite ending")
	if _, err := c.sess.Play(c.ctx, c.ch, c.s.sound(prompts.AbusiveCallEnd), false); err != nil && c.callerGone() {
		return step{end: true, err: c.hangupErr()}
	}
	return step{end: true}
}

// transfer sends the caller back into the queue, for one agent
// (cmd.toStaff) or any ("").
func (cv *conversation) transfer(cmd command) step {
	c := cv.c
	if cv.unitCh != "" || !cv.agentOn {
		cmd.reply <- fmt.Errorf("%w: transfer during a three-way call", ErrBadState)
		return goOn
	}
	if to := cmd.toStaff; to != "" {
		if a, ok := c.s.pool.Agent(to); !ok || a.State == LoggedOut || to == cv.staff {
			cmd.reply <- fmt.Errorf("%w: %s is not logged in", ErrUnknownAgent, to)
			return goOn
		}
	}
	cmd.reply <- nil
	c.unbridge(c.ch)
	c.unbridge(cv.agentCh)
	cv.hangup(cv.agentCh)
	cv.endAgent()
	cv.log.Info("blind transfer", zap.String("to", nonEmpty(cmd.toStaff, "queue")))
	return step{end: true, next: &waiter{callID: c.call.ID(), only: cmd.toStaff, tried: map[string]bool{cv.staff: true}}}
}

// attachCase links the call to its case: later events (the recording above all)
// carry the case ID, and a report or confidential case makes the caller
// confidential for three-way calls.
func (c *callState) attachCase(cmd command) error {
	if c.s.dir == nil {
		return fmt.Errorf("%w: no casework configured", ErrUnknownCase)
	}
	ref, err := c.s.dir.Case(c.ctx, cmd.token, cmd.caseRef)
	if err != nil {
		return err
	}
	c.call.SetCase(ref.ID)
	c.linked = true
	if ref.Confidential() {
		c.confidential = true
	}
	c.log.Info("call linked to case", zap.String("case_id", ref.ID), zap.String("case_number", ref.Number), zap.Bool("confidential", c.confidential))
	return nil
}

// joinUnit dials a unit's duty line from the directory and adds it to the call.
func (c *callState) joinUnit(staff string, cmd command) (Unit, string, error) {
	s := c.s
	log := c.log.With(zap.String("staff", staff), zap.String("unit", cmd.unitID))
	if s.dir == nil {
		return Unit{}, "", fmt.Errorf("%w: no unit directory configured", ErrNotInDirectory)
	}
	u, err := s.dir.Unit(c.ctx, cmd.token, cmd.unitID)
	if err != nil {
		s.metrics.threeway.WithLabelValues("refused").Inc()
		return Unit{}, "", err
	}
	if !u.Active || !usableDutyLine(u.DutyLine, s.cfg.DutyLineTrunks) {
		s.metrics.threeway.WithLabelValues("refused").Inc()
		log.Warn("three-way refused: no usable duty line in the directory", zap.String("duty_line", u.DutyLine), zap.Bool("active", u.Active))
		return u, "", fmt.Errorf("%w: unit %s has no usable duty line", ErrNotInDirectory, u.ID)
	}
	// T13: a confidential (举报) caller's number never reaches the unit. The
	// service decides from the case: the agent may ask for more discretion,
	// never for less, and a call linked to no case is confidential.
	cmd.confidential = cmd.confidential || c.confidential || !c.linked
	name, num := "12345", s.cfg.HotlineNumber
	if !cmd.confidential {
		if n := c.sess.Caller().CallerNumber; !anonymousNumber(n) {
			name, num = n, n
		}
	}
	payload := event.ThreeWayPayload{UnitID: u.ID, DutyLine: u.DutyLine, StaffNumber: staff, Confidential: cmd.confidential}
	log.Info("dialling duty line", zap.String("duty_line", u.DutyLine), zap.Bool("confidential", cmd.confidential))
	ch, err := c.sess.Originate(c.ctx, ari.OriginateRequest{
		Endpoint: u.DutyLine, CallerID: fmt.Sprintf("%q <%s>", name, num), Timeout: s.cfg.DutyLineTimeout,
	})
	if err == nil {
		wctx, cancel := context.WithTimeout(c.ctx, s.cfg.DutyLineTimeout+5*time.Second)
		err = c.sess.WaitUp(wctx, ch)
		cancel()
	}
	if err == nil {
		if _, perr := c.sess.Play(c.ctx, ch, s.sound(prompts.DutylineIntro), false); perr != nil {
			err = perr
		} else {
			err = c.sess.AddToBridge(c.ctx, c.bridge, ch)
		}
	}
	if err != nil {
		if ch != "" {
			hctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 3*time.Second)
			_ = c.sess.Hangup(hctx, ch, "normal")
			cancel()
		}
		de := dialError(u.DutyLine, err)
		payload.Reason, payload.HangupCause = de.Reason, de.Cause
		c.call.Emit(event.ThreeWayFailed, payload)
		s.metrics.threeway.WithLabelValues(de.MetricLabel()).Inc()
		log.Warn("duty line did not join", zap.String("reason", de.Reason), zap.Int("cause", de.Cause), zap.Error(err))
		return u, "", de
	}
	c.call.Emit(event.ThreeWayJoined, payload)
	s.metrics.threeway.WithLabelValues("joined").Inc()
	log.Info("duty line joined")
	return u, ch, nil
}

// startRecording records the caller's channel through a snoop channel (both
// directions), so the recording follows the caller across bridges: agent,
// three-way, transfer (T6). Once per call.
func (c *callState) startRecording() {
	if c.recording != "" {
		return
	}
	snoop, err := c.sess.Snoop(c.ctx, c.ch, "both", "none")
	if err == nil {
		err = c.sess.WaitInApp(c.ctx, snoop)
	}
	var name string
	if err == nil {
		name, err = c.sess.StartRecording(c.ctx, snoop, ari.RecordOptions{Name: "hotline-agent-" + c.call.ID(), Format: "wav"})
	}
	if err != nil {
		c.s.metrics.recordings.WithLabelValues("failed").Inc()
		c.log.Error("agent call not recorded", zap.Error(err))
		return
	}
	c.snoop, c.recording, c.recStart = snoop, name, time.Now()
}

// finish stops the recording and stores it under RecordingsDir.
func (c *callState) finish() {
	if c.recording == "" || c.sess.Kept() {
		return // none, or it goes on for the next process
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 15*time.Second)
	defer cancel()
	_ = c.sess.Hangup(ctx, c.snoop, "normal")
	res, err := c.sess.WaitRecording(ctx, c.recording)
	if err == nil {
		day := c.recStart.UTC()
		dst := filepath.Join(c.s.cfg.RecordingsDir, day.Format("2006"), day.Format("01"), day.Format("02"), c.recording+".wav")
		if err = os.MkdirAll(filepath.Dir(dst), 0o750); err == nil {
			err = c.s.recs.FetchRecording(ctx, c.recording, "wav", dst)
		}
		if err == nil {
			// The duration from the file: ARI reports whole seconds.
			dur := res.Duration
			if info, werr := prompts.ReadWAVInfo(dst); werr == nil {
				dur = info.Duration()
			}
			c.s.metrics.recordings.WithLabelValues("saved").Inc()
			c.call.Emit(event.RecordingSaved, event.RecordingSavedPayload{
				RecordingID: c.recording, URI: dst, DurationMS: dur.Milliseconds(), Format: "wav",
			})
			c.log.Info("recording saved", zap.String("path", dst), zap.Duration("duration", dur))
			return
		}
	}
	c.s.metrics.recordings.WithLabelValues("failed").Inc()
	c.log.Error("recording not saved", zap.String("recording", c.recording), zap.Error(err))
}

func (s *Service) setLive(staff string, lc *liveCall) {
	s.mu.Lock()
	s.live[staff] = lc
	s.mu.Unlock()
}

func (s *Service) clearLive(staff string, lc *liveCall) {
	s.mu.Lock()
	if s.live[staff] == lc {
		delete(s.live, staff)
	}
	s.mu.Unlock()
}

// CallOp runs an agent's request on their current call.
func (s *Service) callOp(ctx context.Context, staff string, cmd command) error {
	s.mu.Lock()
	lc := s.live[staff]
	s.mu.Unlock()
	if lc == nil {
		return ErrNotOnCall
	}
	return lc.do(ctx, cmd)
}
