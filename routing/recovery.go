package routing

// Crash recovery and zero-downtime restarts of the agent side (see package ari,
// recovery.go). Asterisk keeps a waiting caller in the holding bridge with music
// and a conversation in its mixing bridge, recorded by the snoop, when the call
// service goes away; the next process adopts both from the call's record:
// the waiting caller keeps their place in the queue (by the time they were
// first queued), the conversation goes on with the agent API, three-way calls
// and the same recording. Agents' states are kept in a small file, so a
// restart does not log everyone out.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ivr"
)

// adoptionGrace is how long an agent who was on a call when the service
// stopped stays out of the queue after a restart, waiting for that call to be
// adopted; then the agent is ready again.
const adoptionGrace = 15 * time.Second

// Resume takes over a call of an earlier process that was waiting in the queue
// or talking with an agent (ivr.HumanResumer).
func (s *Service) Resume(ctx context.Context, call *ivr.Call) error {
	rec := call.Session().CallRecord()
	log := call.Log.With(zap.String("queue", s.cfg.Queue), zap.Bool("adopted", true))
	sess, ch := call.Session(), call.ChannelID()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if err := sess.WaitHangup(cctx, ch); errors.Is(err, ari.ErrHangup) {
			cancel()
		}
	}()
	c := &callState{s: s, call: call, sess: sess, ch: ch, log: log, ctx: cctx,
		firstQueued: rec.QueuedAt, confidential: rec.Confidential, bridge: rec.Bridge,
		recording: rec.Recording, snoop: rec.Snoop, recStart: rec.RecStart}
	defer c.finish()
	var w *waiter
	switch {
	case rec.Phase == ari.PhaseAgent && rec.Staff != "" && sess.Alive(ch):
		if rec.HoldBridge != "" {
			c.holdBridge = rec.HoldBridge
			c.leaveHold()
		}
		if !sess.Alive(rec.AgentChannel) && rec.UnitChannel == "" {
			// The agent hung up while nobody listened: the conversation is over.
			log.Info("adopted conversation: the agent had already hung up")
			s.pool.restoreOnCall(rec.Staff, call.ID())
			s.pool.callEnded(rec.Staff, time.Since(rec.ConnectedAt))
			return nil
		}
		s.pool.restoreOnCall(rec.Staff, call.ID())
		log.Info("conversation adopted", zap.String("staff", rec.Staff))
		next, err := c.adoptConversation(rec)
		if err != nil || next == nil {
			return err
		}
		w = next
	case rec.Phase == ari.PhaseQueue:
		if rec.HoldBridge != "" {
			c.holdBridge, c.inHold = rec.HoldBridge, true
		}
		if s.pool.loggedIn() == 0 {
			c.leaveHold()
			s.metrics.overflow.Inc()
			log.Info("adopted waiting caller: no agent logged in, voice menu")
			return ivr.ErrNoAgent
		}
		log.Info("waiting caller adopted", zap.Time("queued_at", rec.QueuedAt))
		w = &waiter{callID: call.ID(), since: rec.QueuedAt, resumed: true}
	default:
		return ivr.ErrNoAgent
	}
	return c.queueAndConverse(w)
}

// adoptConversation goes on with a conversation an earlier process bridged.
func (c *callState) adoptConversation(rec ari.CallRecord) (*waiter, error) {
	s := c.s
	lc := &liveCall{callID: c.call.ID(), staff: rec.Staff, cmds: make(chan command), done: make(chan struct{})}
	s.setLive(rec.Staff, lc)
	defer func() {
		close(lc.done)
		s.clearLive(rec.Staff, lc)
	}()
	connected := rec.ConnectedAt
	if connected.IsZero() {
		connected = time.Now()
	}
	agentCh := rec.AgentChannel
	if !c.sess.Alive(agentCh) {
		agentCh = ""
	}
	u := Unit{ID: rec.UnitID, DutyLine: rec.DutyLine}
	return c.talk(rec.Staff, agentCh, connected, lc, talkState{unit: u, unitCh: rec.UnitChannel, unitConf: rec.Confidential})
}

// saveRecord writes where the conversation is into the call's record.
func (c *callState) saveConversation(staff, agentCh string, connected time.Time, ts talkState) {
	_ = c.sess.UpdateRecord(func(r *ari.CallRecord) {
		r.Phase, r.HoldBridge = ari.PhaseAgent, ""
		r.Bridge, r.AgentChannel, r.Staff, r.ConnectedAt = c.bridge, agentCh, staff, connected
		r.Snoop, r.Recording, r.RecStart = c.snoop, c.recording, c.recStart
		r.UnitChannel, r.UnitID, r.DutyLine = ts.unitCh, ts.unit.ID, ts.unit.DutyLine
		r.Confidential = ts.unitConf || c.confidential
	})
}

// detach leaves the call to the next process when the service is stopping
// (ari.Client.Detach); false when it is not.
func (c *callState) detach() bool {
	if !c.sess.Detaching() || c.callerGone() {
		return false
	}
	c.sess.Keep()
	return true
}

// agentSnapshot is the persisted form of the agents' states.
type agentSnapshot struct {
	Saved  time.Time `json:"saved"`
	Agents []Agent   `json:"agents"`
}

// persist makes the pool keep its agents' states in path (fsynced at every
// change) and restores the states saved there by an earlier process: agents
// stay logged in across a restart. Agents who were on a call wait
// adoptionGrace for it to be adopted, then are ready again.
func (p *Pool) persist(path string, log *zap.Logger) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stateFile, p.log = path, log
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	var snap agentSnapshot
	if err == nil {
		err = json.Unmarshal(data, &snap)
	}
	if err != nil {
		// A damaged file must not stop the service: agents log in again.
		_ = os.Rename(path, path+".bad")
		return fmt.Errorf("agent states %s unreadable, quarantined as .bad: %w", path, err)
	}
	now := p.now()
	for _, a := range snap.Agents {
		if !ValidStaff(a.Staff) || a.State == LoggedOut {
			continue
		}
		a := a
		a.Offering = ""
		switch a.State {
		case OnCall, WrapUp:
			a.State, a.Since = WrapUp, now
			p.wrapEnds[a.Staff] = now.Add(adoptionGrace)
		}
		p.agents[a.Staff] = &a
	}
	p.gauges()
	log.Info("agents' states restored", zap.Int("agents", len(p.agents)), zap.Time("saved", snap.Saved))
	return nil
}

// saveLocked writes the agents' states (callers hold p.mu).
func (p *Pool) saveLocked() {
	if p.stateFile == "" {
		return
	}
	snap := agentSnapshot{Saved: p.now().UTC()}
	for _, a := range p.agents {
		snap.Agents = append(snap.Agents, *a)
	}
	slices.SortFunc(snap.Agents, func(x, y Agent) int { return compareStrings(x.Staff, y.Staff) })
	data, err := json.Marshal(snap)
	if err == nil {
		err = ari.WriteFileSync(p.stateFile, data, 0o640)
	}
	if err != nil && p.log != nil {
		p.log.Error("agents' states not saved: a restart would log them out", zap.Error(err))
	}
}

// restoreOnCall puts an agent back on an adopted call (logged in if the
// states were lost).
func (p *Pool) restoreOnCall(staff, callID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.agents[staff]
	if !ok {
		a = &Agent{Staff: staff, State: LoggedOut}
		p.agents[staff] = a
	}
	a.CallID, a.Offering = callID, ""
	p.setState(a, OnCall, "")
}
