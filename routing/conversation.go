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
	target       string // transfer: staff number, "" for the queue; case: the case ID or number
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
	hctx, hcancel := context.WithTimeout(context.WithoutCancel(c.ctx), 5*time.Second)
	defer hcancel()
	hangup := func(id string) {
		if id != "" {
			_ = c.sess.Hangup(hctx, id, "normal")
		}
	}

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
	c.call.SetOutcome("agent")
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
	s := c.s
	log := c.log.With(zap.String("staff", staff))
	agentOn := true
	endAgent := func() {
		if agentOn {
			agentOn = false
			s.pool.callEnded(staff, time.Since(connected))
		}
	}
	defer endAgent()
	hctx, hcancel := context.WithTimeout(context.WithoutCancel(c.ctx), 5*time.Second)
	defer hcancel()
	hangup := func(id string) {
		if id != "" {
			_ = c.sess.Hangup(hctx, id, "normal")
		}
	}
	var agentGone <-chan struct{}
	if agentCh != "" {
		agentGone = c.watch(c.ctx, agentCh)
	} else {
		endAgent() // adopted after the agent had left a three-way call
	}
	unitCh, unit, unitConf := ts.unitCh, ts.unit, ts.unitConf
	var unitGone <-chan struct{}
	if unitCh != "" {
		unitGone = c.watch(c.ctx, unitCh)
	}
	save := func() { c.saveConversation(staff, agentCh, connected, talkState{unit, unitCh, unitConf}) }
	threeWay := func(t event.Type, withStaff bool) {
		p := event.ThreeWayPayload{UnitID: unit.ID, DutyLine: unit.DutyLine, Confidential: unitConf}
		if withStaff {
			p.StaffNumber = staff
		}
		c.call.Emit(t, p)
	}
	for {
		select {
		case <-c.ctx.Done():
			if c.detach() {
				// SIGTERM's drain is over: the conversation goes on in Asterisk
				// and the next process adopts it (zero-downtime restart).
				return nil, ari.ErrDetached
			}
			hangup(agentCh)
			hangup(unitCh)
			if c.callerGone() {
				return nil, c.hangupErr()
			}
			return nil, context.Cause(c.ctx)

		case <-agentGone:
			agentGone = nil
			endAgent()
			if unitCh != "" {
				// The agent left citizen and unit talking (T7).
				threeWay(event.ThreeWayLeft, true)
				log.Info("agent left the three-way call")
				agentCh = ""
				save()
				continue
			}
			log.Info("agent hung up")
			return nil, nil

		case <-unitGone:
			unitGone = nil
			threeWay(event.ThreeWayLeft, false)
			log.Info("unit left the three-way call", zap.String("unit", unit.ID))
			unitCh = ""
			save()
			if !agentOn {
				return nil, nil
			}

		case cmd := <-lc.cmds:
			switch cmd.op {
			case opJoin:
				if unitCh != "" {
					cmd.reply <- fmt.Errorf("%w: unit %s is already in the call", ErrBusyCall, unit.ID)
					continue
				}
				u, ch, err := c.joinUnit(staff, cmd)
				if err == nil {
					unit, unitCh, unitConf = u, ch, cmd.confidential || c.confidential
					unitGone = c.watch(c.ctx, unitCh)
					save()
				}
				cmd.reply <- err
			case opLeave:
				if unitCh == "" {
					cmd.reply <- ErrNoThreeWay
					continue
				}
				_ = c.sess.RemoveFromBridge(hctx, c.bridge, agentCh)
				hangup(agentCh)
				cmd.reply <- nil
				// agentGone reports it and emits threeway_left.
			case opDrop:
				if unitCh == "" {
					cmd.reply <- ErrNoThreeWay
					continue
				}
				hangup(unitCh)
				cmd.reply <- nil
			case opPoliteEnd:
				cmd.reply <- nil
				_ = c.sess.RemoveFromBridge(hctx, c.bridge, c.ch)
				hangup(agentCh)
				hangup(unitCh)
				endAgent()
				c.call.Emit(event.PoliteEnding, event.PoliteEndingPayload{StaffNumber: staff})
				c.call.SetOutcome("polite_ending")
				log.Info("polite ending")
				if _, err := c.sess.Play(c.ctx, c.ch, s.sound(prompts.AbusiveCallEnd), false); err != nil && c.callerGone() {
					return nil, c.hangupErr()
				}
				return nil, nil
			case opTransfer:
				if unitCh != "" || !agentOn {
					cmd.reply <- fmt.Errorf("%w: transfer during a three-way call", ErrBadState)
					continue
				}
				if cmd.target != "" {
					if a, ok := s.pool.Agent(cmd.target); !ok || a.State == LoggedOut || cmd.target == staff {
						cmd.reply <- fmt.Errorf("%w: %s is not logged in", ErrUnknownAgent, cmd.target)
						continue
					}
				}
				cmd.reply <- nil
				_ = c.sess.RemoveFromBridge(hctx, c.bridge, c.ch)
				_ = c.sess.RemoveFromBridge(hctx, c.bridge, agentCh)
				hangup(agentCh)
				endAgent()
				log.Info("blind transfer", zap.String("to", nonEmpty(cmd.target, "queue")))
				return &waiter{callID: c.call.ID(), only: cmd.target, tried: map[string]bool{staff: true}}, nil
			case opCase:
				cmd.reply <- c.attachCase(cmd)
			default:
				cmd.reply <- fmt.Errorf("unknown operation %q", cmd.op)
			}
		}
	}
}

// attachCase links the call to its case: later events (the recording above all)
// carry the case ID, and a report or confidential case makes the caller
// confidential for three-way calls.
func (c *callState) attachCase(cmd command) error {
	if c.s.dir == nil {
		return fmt.Errorf("%w: no casework configured", ErrUnknownCase)
	}
	ref, err := c.s.dir.Case(c.ctx, cmd.token, cmd.target)
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
