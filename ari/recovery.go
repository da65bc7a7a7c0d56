package ari

// Crash recovery and zero-downtime restarts.
//
// Asterisk keeps a Stasis application's channels and bridges when the
// application's websocket goes away (a crash, kill -9, a deploy): callers stay
// in their bridges, agents keep talking, music on hold goes on, a live
// recording keeps recording. What dies with the process is the knowledge of
// what each channel was doing, so a restarted service would see only unrouted
// events. Each call therefore has a CallRecord in the Journal (fsynced files)
// from its arrival until its call.ended is spooled, and on every (re)connect
// the client compares the journal with what Asterisk still has:
//
//   - a journaled call whose caller channel still exists is adopted: a session
//     is rebuilt from the record and handed to the Resumer, which goes on
//     where the call was (conversation, queue) or takes the caller back to the
//     menu with an apology;
//   - a journaled call whose channel is gone is ended (call.ended,
//     hangup_by=system) by the Resumer;
//   - a channel of the application that no record claims is either a caller
//     who arrived just before the crash (handled as a new call) or a leftover
//     of a call (agent leg, snoop) and hung up.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"
)

// ErrDetached is returned by call flows that left their call running in
// Asterisk for the next process (zero-downtime restart, see Client.Detach).
var ErrDetached = errors.New("call left to the next process")

// Resumer is implemented by a Handler that can take over calls an earlier
// process left behind.
type Resumer interface {
	// ResumeCall runs a call adopted from the journal; s.CallRecord() says how far
	// it got. It runs in its own goroutine like HandleCall.
	ResumeCall(ctx context.Context, s *Session)
	// EndLostCall finishes the account of a journaled call whose channel is
	// gone (it ended while no process watched it). The record is removed
	// when it returns nil.
	EndLostCall(rec CallRecord) error
}

// SetJournal turns crash recovery on: calls are recorded in j and adopted from
// it at every (re)connect. Call before Run.
func (c *Client) SetJournal(j *Journal) { c.journal = j }

// Detach makes calls that can go on without this process (agent
// conversations, callers waiting in the queue) leave their flows without
// hanging up when their context ends (Session.Detaching): the next process
// adopts them. Used at the end of the drain on SIGTERM.
func (c *Client) Detach() { c.detaching.Store(true) }

// Detaching tells whether the service is handing its calls to the next process.
func (s *Session) Detaching() bool { return s.c.detaching.Load() }

// Keep marks the call as left running in Asterisk: ending the session hangs
// nothing up and the call's record stays for the next process.
func (s *Session) Keep() {
	s.mu.Lock()
	s.kept = true
	s.mu.Unlock()
	s.Log.Info("call left running in Asterisk for the next process")
}

// Kept tells whether Keep was called.
func (s *Session) Kept() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kept
}

// CallRecord returns a copy of the call's record (zero when it has none).
func (s *Session) CallRecord() CallRecord {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.rec == nil {
		return CallRecord{}
	}
	return *s.rec
}

// BeginRecord starts the call's record (an inbound call the front door took):
// from now on a crash does not lose the call. Calls without one (outbound
// callbacks) are not recovered.
func (s *Session) BeginRecord(rec CallRecord) error {
	s.recMu.Lock()
	s.rec = &rec
	s.recMu.Unlock()
	return s.UpdateRecord(func(*CallRecord) {})
}

// UpdateRecord changes the call's record, if it has one, and writes it
// durably. Without a journal the record only lives in memory. A write error
// is counted and returned; the call goes on.
func (s *Session) UpdateRecord(fn func(r *CallRecord)) error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.rec == nil {
		return nil
	}
	fn(s.rec)
	s.rec.CallID = s.id
	if s.c.journal == nil {
		return nil
	}
	if err := s.c.journal.Save(s.rec); err != nil {
		s.c.metrics.journalErrors.Inc()
		s.Log.Error("call record not written: a crash would lose this call", zap.Error(err))
		return err
	}
	return nil
}

// ForgetRecord removes the call's record: its last event is safely spooled.
func (s *Session) ForgetRecord() error {
	s.recMu.Lock()
	defer s.recMu.Unlock()
	if s.c.journal == nil || s.rec == nil {
		return nil
	}
	if err := s.c.journal.Remove(s.id); err != nil {
		s.c.metrics.journalErrors.Inc()
		return err
	}
	return nil
}

// SendToFallback hands the caller to the dialplan's fallback (apology and
// native voicemail, imported into the inbox later) and waits briefly for the
// channel to leave the application.
func (s *Session) SendToFallback(ctx context.Context, id string) error {
	if s.c.cfg.DrainContext == "" {
		return errors.New("no fallback context configured")
	}
	if err := s.Continue(ctx, id, s.c.cfg.DrainContext, "fallback", 1); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_ = s.wait(wctx, func() (bool, error) { return !s.channels[id].inApp, nil })
	return nil
}

// journaledCall returns the record of a call an earlier process left, unless a
// session of this process already owns it.
func (c *Client) journaledCall(chID string) (CallRecord, bool) {
	if c.journal == nil {
		return CallRecord{}, false
	}
	c.mu.Lock()
	_, owned := c.routes[ariv5.ChannelKey+":"+chID]
	c.mu.Unlock()
	if owned {
		return CallRecord{}, false
	}
	return c.journal.Get(chID)
}

// rawChannel is GET /channels/{id}, with the dialplan application the library's
// type lacks (it tells whether the channel is in Stasis right now).
type rawChannel struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Caller struct {
		Name   string `json:"name"`
		Number string `json:"number"`
	} `json:"caller"`
	Dialplan struct {
		Context  string `json:"context"`
		Exten    string `json:"exten"`
		Priority int    `json:"priority"`
		AppName  string `json:"app_name"`
		AppData  string `json:"app_data"`
	} `json:"dialplan"`
}

func (r rawChannel) inStasis() bool { return strings.EqualFold(r.Dialplan.AppName, "Stasis") }

func (c *Client) getJSON(ctx context.Context, path string, dst any) error {
	return c.api.do(ctx, http.MethodGet, path, nil, dst)
}

func (c *Client) channelData(ctx context.Context, id string) (rawChannel, error) {
	var ch rawChannel
	err := c.getJSON(ctx, "/channels/"+url.PathEscape(id), &ch)
	return ch, err
}

// recoverCalls settles every journaled call no session of this process owns,
// then the application's channels nobody claims.
func (c *Client) recoverCalls(ctx, callCtx context.Context, h Handler) {
	if c.journal == nil || c.draining.Load() {
		return
	}
	r, ok := h.(Resumer)
	if !ok {
		return
	}
	recs, bad, err := c.journal.Load()
	if err != nil {
		c.log.Error("call journal unreadable: calls of an earlier process are not recovered", zap.Error(err))
		return
	}
	for _, b := range bad {
		c.metrics.journalBad.Inc()
		c.log.Error("damaged call record quarantined (.bad)", zap.String("record", b))
	}
	claimed := map[string]bool{}
	c.mu.Lock()
	for k := range c.routes {
		if id, ok := strings.CutPrefix(k, ariv5.ChannelKey+":"); ok {
			claimed[id] = true
		}
	}
	c.mu.Unlock()
	for _, rec := range recs {
		for _, id := range rec.channels() {
			claimed[id] = true
		}
		if _, ok := c.journaledCall(rec.CallID); !ok {
			continue // a live session of ours
		}
		log := c.log.With(zap.String("call_id", rec.CallID), zap.String("phase", rec.Phase))
		data, err := c.channelData(ctx, rec.CallID)
		switch {
		case errors.Is(err, ErrNotFound):
			if err := r.EndLostCall(rec); err != nil {
				log.Error("call of an earlier process not ended; retried at the next connect", zap.Error(err))
				continue
			}
			if err := c.journal.Remove(rec.CallID); err != nil {
				c.metrics.journalErrors.Inc()
			}
			c.metrics.recovered.WithLabelValues("ended").Inc()
			log.Info("call of an earlier process ended while nobody watched it: recorded as ended")
		case err != nil:
			log.Warn("call of an earlier process not checked; retried at the next connect", zap.Error(err))
		default:
			c.adoptChannel(callCtx, r, rec, data)
		}
	}
	c.recoverOrphans(ctx, callCtx, h, claimed)
}

// adoptChannel rebuilds a session for a journaled call from Asterisk's account
// of its channels and runs the Resumer on it.
func (c *Client) adoptChannel(callCtx context.Context, r Resumer, rec CallRecord, data rawChannel) {
	s := c.rebuild(callCtx, rec)
	s.mu.Lock()
	ch := s.channel(rec.CallID)
	ch.inApp = data.inStasis()
	ch.left = !ch.inApp
	ch.info.Name, ch.info.State = data.Name, data.State
	ch.info.CallerNumber, ch.info.CallerName = data.Caller.Number, data.Caller.Name
	s.mu.Unlock()
	c.startAdopted(callCtx, r, s)
}

// adopt takes over a journaled call whose channel re-entered the application.
func (c *Client) adopt(callCtx context.Context, r Resumer, rec CallRecord, start *ariv5.StasisStart) {
	s := c.rebuild(callCtx, rec)
	s.apply(start)
	c.startAdopted(callCtx, r, s)
}

func (c *Client) startAdopted(callCtx context.Context, r Resumer, s *Session) {
	c.metrics.recovered.WithLabelValues("adopted").Inc()
	rec := s.CallRecord()
	s.Log.Info("call of an earlier process adopted", zap.String("phase", rec.Phase), zap.String("staff", rec.Staff))
	c.runSession(s, func() { r.ResumeCall(callCtx, s) })
}

// rebuild makes a session from a record: its channels, bridges and recordings,
// each checked against Asterisk (a leg that hung up meanwhile is gone).
func (c *Client) rebuild(ctx context.Context, rec CallRecord) *Session {
	s := newSession(c, rec.CallID, c.log.With(zap.String("call_id", rec.CallID), zap.Bool("adopted", true)))
	r := rec
	s.rec = &r
	s.mu.Lock()
	caller := s.channel(rec.CallID)
	caller.info.Created = rec.StartedAt
	caller.info.AnsweredAt = rec.AnsweredAt
	s.mu.Unlock()
	for _, id := range rec.channels()[1:] {
		data, err := c.channelData(ctx, id)
		s.mu.Lock()
		leg := s.channel(id)
		if errors.Is(err, ErrNotFound) {
			leg.info.HungUp = true
		} else {
			leg.inApp = err != nil || data.inStasis()
			leg.info.Name, leg.info.State = data.Name, data.State
		}
		s.mu.Unlock()
		s.own(ariv5.ChannelKey, id)
	}
	for _, b := range []string{rec.Bridge, rec.HoldBridge} {
		if b != "" {
			s.bridges = append(s.bridges, b)
			s.own(ariv5.BridgeKey, b)
		}
	}
	for _, name := range []string{rec.Recording, rec.VMRecording} {
		if name == "" {
			continue
		}
		state := "recording"
		var live struct {
			State string `json:"state"`
		}
		if err := c.getJSON(ctx, "/recordings/live/"+url.PathEscape(name), &live); errors.Is(err, ErrNotFound) {
			// Finished while nobody listened: stored, or lost.
			state = "failed"
			var stored struct {
				Name string `json:"name"`
			}
			if c.getJSON(ctx, "/recordings/stored/"+url.PathEscape(name), &stored) == nil {
				state = "done"
			}
		}
		s.mu.Lock()
		s.recording(name).state = state
		s.mu.Unlock()
		s.own(ariv5.LiveRecordingKey, name)
	}
	return s
}

// recoverOrphans looks at the application's channels nobody claims: a caller
// who entered it just before a crash, before any record was written, is taken
// as a new call; anything else (an agent's or a duty line's leg, a snoop, a
// callback) has lost its call and is hung up rather than left in silence.
func (c *Client) recoverOrphans(ctx, callCtx context.Context, h Handler, claimed map[string]bool) {
	var app struct {
		ChannelIDs []string `json:"channel_ids"`
	}
	if err := c.getJSON(ctx, "/applications/"+url.PathEscape(c.cfg.Application), &app); err != nil {
		c.log.Warn("application's channels not listed: orphans not checked", zap.Error(err))
		return
	}
	for _, id := range app.ChannelIDs {
		if claimed[id] {
			continue
		}
		c.mu.Lock()
		_, owned := c.routes[ariv5.ChannelKey+":"+id]
		c.mu.Unlock()
		if owned {
			continue
		}
		data, err := c.channelData(ctx, id)
		if err != nil || !data.inStasis() {
			// Outside Stasis (e.g. a caller the last process sent to the
			// fallback, still followed): the dialplan has it, not us.
			continue
		}
		log := c.log.With(zap.String("channel", id), zap.String("name", data.Name))
		if data.Dialplan.Context == c.cfg.DrainContext && !strings.HasPrefix(data.Name, "Snoop/") {
			c.metrics.recovered.WithLabelValues("new").Inc()
			log.Info("caller of an earlier process without a record: handled as a new call")
			start := &ariv5.StasisStart{Channel: ariv5.ChannelData{ID: data.ID, Name: data.Name, State: data.State,
				Caller:   &ariv5.CallerID{Name: data.Caller.Name, Number: data.Caller.Number},
				Dialplan: &ariv5.DialplanCEP{Context: data.Dialplan.Context, Exten: data.Dialplan.Exten, Priority: int64(data.Dialplan.Priority)}}}
			if args := strings.SplitN(data.Dialplan.AppData, ",", 2); len(args) == 2 {
				start.Args = strings.Split(args[1], ",")
			}
			c.startSession(callCtx, h, start)
			continue
		}
		c.metrics.recovered.WithLabelValues("orphan_hungup").Inc()
		log.Info("leftover channel of an earlier process hung up")
		_ = c.api.do(ctx, http.MethodDelete, chPath(id)+"?reason=normal", nil, nil)
	}
}
