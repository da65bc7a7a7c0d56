package ari

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"go.uber.org/zap"
)

// ErrHangup matches every *HangupError.
var ErrHangup = errors.New("channel hung up")

// HangupError says that a channel a call operation needed is gone, and why.
type HangupError struct {
	ChannelID string
	Cause     int
	CauseText string
	// BySystem is true when this service asked for the hang-up.
	BySystem bool
}

func (e *HangupError) Error() string {
	return fmt.Sprintf("channel %s hung up (cause %d %s)", e.ChannelID, e.Cause, e.CauseText)
}

// Is makes errors.Is(err, ErrHangup) true.
func (e *HangupError) Is(target error) bool { return target == ErrHangup }

// ErrNotFound is returned for operations on channels, bridges or playbacks Asterisk no
// longer knows.
var ErrNotFound = errors.New("not found in Asterisk")

// ChannelInfo is what the session knows of one of its channels.
type ChannelInfo struct {
	ID, Name, State string
	CallerNumber    string
	CallerName      string
	Dialed          string // the extension the channel entered Stasis from
	Args            []string
	Created         time.Time
	AnsweredAt      time.Time
	HungUp          bool
	Cause           int
	CauseText       string
	BySystem        bool
	DialStatus      string
}

type channelState struct {
	info   ChannelInfo
	digits []string
	inApp  bool
	// left is set by StasisEnd: the channel went to the dialplan, which is not
	// a hang-up until a cause arrives. WaitReturn and ContinueAndReturn take it
	// back when it re-enters (StasisStart).
	left bool
	// softHangup: Asterisk reported a soft hang-up request (its own, not the
	// far end's), which makes the hang-up the system's whatever we asked.
	softHangup bool
	// farEnd: the first hang-up request was not soft, i.e. the far end's BYE
	// or CANCEL.
	farEnd bool
}

// causeNormalClearing is Q.850 cause 16. chan_pjsip reports a BYE or CANCEL
// from the far end with no cause at all (0, "Unknown" in ChannelDestroyed;
// measured on Asterisk 22.10.1), which would make every caller's ordinary
// hang-up look like a fault in the call records; a SIP BYE maps to 16 (RFC
// 3398, BYE → REL cause 16).
const causeNormalClearing = 16

type recordingState struct {
	state    string // queued, recording, done, failed, canceled
	cause    string
	duration time.Duration
	talking  time.Duration
	silence  time.Duration
}

// Session is one call as the service handles it: the caller's channel and every
// channel, bridge, playback and recording the handler creates for it. Events for any
// of them update the session's state; the blocking operations wait for state
// changes, so an event that arrives before anyone waits for it is never lost.
type Session struct {
	c   *Client
	id  string
	Log *zap.Logger

	mu         sync.Mutex
	changed    chan struct{}
	channels   map[string]*channelState
	playbacks  map[string]string
	recordings map[string]*recordingState
	bridges    []string
	// kept: the handler left the call running in Asterisk for the next
	// process (Keep); ending the session then hangs nothing up.
	kept bool

	// recMu serialises the call record's updates and their (fsynced) writes,
	// outside mu so that events are not held up by the disk.
	recMu sync.Mutex
	rec   *CallRecord
}

func newSession(c *Client, id string, log *zap.Logger) *Session {
	return &Session{c: c, id: id, Log: log, changed: make(chan struct{}),
		channels: map[string]*channelState{}, playbacks: map[string]string{}, recordings: map[string]*recordingState{}}
}

// ID is the call's ID: the Asterisk unique ID of the channel that started it.
func (s *Session) ID() string { return s.id }

// Node is the Asterisk entity carrying the call.
func (s *Session) Node() string { return s.c.Node() }

// Channel returns what is known of one of the session's channels.
func (s *Session) Channel(id string) (ChannelInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[id]
	if !ok {
		return ChannelInfo{}, false
	}
	info := ch.info
	info.Args = slices.Clone(info.Args)
	return info, true
}

// Caller returns the first channel's information.
func (s *Session) Caller() ChannelInfo {
	info, _ := s.Channel(s.id)
	return info
}

// own routes events about kind/id to this session.
func (s *Session) own(kind, id string) { s.c.register(s, kind, id) }

// apply folds one event into the session's state and wakes every waiter.
func (s *Session) apply(ev ariv5.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := ev.(type) {
	case *ariv5.StasisStart:
		ch := s.channel(e.Channel.ID)
		ch.inApp = true
		ch.info.Args = e.Args
		fillChannel(ch, e.Channel)
	case *ariv5.StasisEnd:
		ch := s.channel(e.Channel.ID)
		ch.inApp = false
		ch.left = true
		ch.info.HungUp = true // left our control: for the handler, the channel is gone
	case *ariv5.ChannelStateChange:
		ch := s.channel(e.Channel.ID)
		fillChannel(ch, e.Channel)
	case *ariv5.ChannelHangupRequest:
		ch := s.channel(e.Channel.ID)
		if e.Soft && !ch.info.HungUp {
			// A soft hang-up is Asterisk's own (shutdown, timeout, ARI), not
			// the far end's BYE: the system ended the call.
			ch.info.BySystem = true
			ch.softHangup = true
		} else if !e.Soft && !ch.softHangup {
			ch.farEnd = true
		}
		ch.info.HungUp = true
		if ch.info.Cause == 0 {
			ch.info.Cause = e.Cause
		}
	case *ariv5.ChannelDestroyed:
		ch := s.channel(e.Channel.ID)
		ch.info.HungUp = true
		ch.info.Cause, ch.info.CauseText = e.Cause, e.CauseTxt
		if e.Cause == 0 && ch.farEnd {
			ch.info.Cause, ch.info.CauseText = causeNormalClearing, "Normal Clearing"
		}
	case *ariv5.ChannelDtmfReceived:
		ch := s.channel(e.Channel.ID)
		ch.digits = append(ch.digits, e.Digit)
	case *ariv5.Dial:
		if e.Peer.ID != "" && e.Dialstatus != "" {
			s.channel(e.Peer.ID).info.DialStatus = e.Dialstatus
		}
	case *ariv5.PlaybackStarted:
		if s.playbacks[e.Playback.ID] == "queued" {
			s.playbacks[e.Playback.ID] = "playing"
		}
	case *ariv5.PlaybackFinished:
		s.playbacks[e.Playback.ID] = "done"
	case *ariv5.RecordingStarted:
		s.recording(e.Recording.Name).state = "recording"
	case *ariv5.RecordingFinished:
		r := s.recording(e.Recording.Name)
		r.state = "done"
		r.duration = time.Duration(e.Recording.Duration)
		r.talking = time.Duration(e.Recording.Talking)
		r.silence = time.Duration(e.Recording.Silence)
	case *ariv5.RecordingFailed:
		r := s.recording(e.Recording.Name)
		r.state, r.cause = "failed", e.Recording.Cause
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func fillChannel(ch *channelState, d ariv5.ChannelData) {
	ch.info.ID = d.ID
	if d.Name != "" {
		ch.info.Name = d.Name
	}
	if d.State != "" {
		if d.State == "Up" && ch.info.AnsweredAt.IsZero() {
			ch.info.AnsweredAt = time.Now()
		}
		ch.info.State = d.State
	}
	if d.Caller != nil {
		ch.info.CallerNumber, ch.info.CallerName = d.Caller.Number, d.Caller.Name
	}
	if d.Dialplan != nil && d.Dialplan.Exten != "" && ch.info.Dialed == "" {
		ch.info.Dialed = d.Dialplan.Exten
	}
}

// channel returns the state of id, creating it (callers hold s.mu).
func (s *Session) channel(id string) *channelState {
	ch, ok := s.channels[id]
	if !ok {
		ch = &channelState{info: ChannelInfo{ID: id, Created: time.Now()}}
		s.channels[id] = ch
	}
	return ch
}

func (s *Session) recording(name string) *recordingState {
	r, ok := s.recordings[name]
	if !ok {
		r = &recordingState{state: "queued"}
		s.recordings[name] = r
	}
	return r
}

// wait blocks until cond (called with s.mu held) reports done or an error, or ctx ends.
func (s *Session) wait(ctx context.Context, cond func() (bool, error)) error {
	for {
		s.mu.Lock()
		done, err := cond()
		ch := s.changed
		s.mu.Unlock()
		if done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// hangupErr returns the channel's HangupError if it is gone (callers hold s.mu).
func (s *Session) hangupErr(id string) error {
	ch, ok := s.channels[id]
	if !ok || !ch.info.HungUp {
		return nil
	}
	return &HangupError{ChannelID: id, Cause: ch.info.Cause, CauseText: ch.info.CauseText, BySystem: ch.info.BySystem}
}

// Alive tells whether the channel is still there.
func (s *Session) Alive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hangupErr(id) == nil
}

// WaitHangup blocks until the channel is gone and returns its HangupError, or ctx's error.
func (s *Session) WaitHangup(ctx context.Context, id string) error {
	var herr error
	err := s.wait(ctx, func() (bool, error) { herr = s.hangupErr(id); return herr != nil, nil })
	if err != nil {
		return err
	}
	return herr
}

// rest sends one ARI request for op (a metric label) through the client's
// pool, bounded by ctx and the request deadline. A 404 matches ErrNotFound, a
// deadline past ErrRequestTimeout.
func (s *Session) rest(ctx context.Context, op, method, path string, body, out any) error {
	if err := s.c.api.do(ctx, method, path, body, out); err != nil {
		s.c.metrics.restErrors.WithLabelValues(op).Inc()
		if errors.Is(err, ErrRequestTimeout) {
			s.c.metrics.restTimeouts.WithLabelValues(op).Inc()
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// chPath is the ARI path of a channel (and of one of its resources).
func chPath(id string, sub ...string) string {
	return "/channels/" + esc(id) + strings.Join(append([]string{""}, sub...), "/")
}

// Answer answers the channel.
func (s *Session) Answer(ctx context.Context, id string) error {
	if err := s.chRest(ctx, "answer", id, http.MethodPost, chPath(id, "answer"), nil, nil); err != nil {
		return err
	}
	s.mu.Lock()
	if ch := s.channel(id); ch.info.AnsweredAt.IsZero() {
		ch.info.AnsweredAt = time.Now()
	}
	s.mu.Unlock()
	return nil
}

// Hangup hangs the channel up; reason is an ARI reason (normal, busy, congestion, ...).
func (s *Session) Hangup(ctx context.Context, id, reason string) error {
	s.mu.Lock()
	ch := s.channel(id)
	if ch.info.HungUp {
		s.mu.Unlock()
		return nil
	}
	// Marked before the request: our own hang-up's events may come back
	// before its answer does.
	ch.info.BySystem = true
	s.mu.Unlock()
	err := s.rest(ctx, "hangup", http.MethodDelete, chPath(id)+"?reason="+url.QueryEscape(nonEmptyReason(reason)), nil, nil)
	if errors.Is(err, ErrNotFound) {
		// The channel was gone before we asked: whoever ended it, it was
		// not this request (typically the caller, whose hang-up event is
		// still on its way).
		s.mu.Lock()
		ch.info.BySystem = hangupBySystem(false, ch.softHangup)
		s.mu.Unlock()
		return nil
	}
	return err
}

// hangupBySystem decides whether a channel's end counts as the system's:
// asked reports that our hang-up request took effect, soft that Asterisk
// itself ended the channel (shutdown, timeout).
func hangupBySystem(asked, soft bool) bool { return asked || soft }

// hangupSettle bounds how long a failed request about a channel waits for
// that channel's hang-up event (see settle).
const hangupSettle = time.Second

// chRest is rest for an operation on channel chID: a failure that the
// caller's hang-up caused is returned as that hang-up (settle).
func (s *Session) chRest(ctx context.Context, op, chID, method, path string, body, out any) error {
	return s.settle(ctx, chID, s.rest(ctx, op, method, path, body, out))
}

// settle tells a request that failed because the caller hung up from a real
// failure. A request about a channel the caller has just left fails (404
// not found, 409 not in the application, or no answer in time while
// Asterisk tears it down), and that answer usually overtakes the hang-up
// event on the websocket: stored as it came, the call would read
// outcome=failed, hangup_by=system. So on such an error settle waits a
// moment for the channel's hang-up and, if it comes, returns both (errors.Is
// ErrHangup holds).
func (s *Session) settle(ctx context.Context, chID string, err error) error {
	if err == nil || !raceCandidate(err) {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, hangupSettle)
	defer cancel()
	var herr error
	_ = s.wait(wctx, func() (bool, error) { herr = s.hangupErr(chID); return herr != nil, nil })
	return classifyFailure(err, herr)
}

// raceCandidate tells whether a request error is what a channel vanishing
// under the request produces.
func raceCandidate(err error) bool {
	var se *StatusError
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrRequestTimeout):
		return true
	case errors.As(err, &se):
		return se.Code == http.StatusConflict || se.Code == http.StatusUnprocessableEntity
	}
	return false
}

// classifyFailure is the decision: a failed request (err) on a channel that
// has hung up (herr, a *HangupError, or nil while it is alive) is that
// hang-up; otherwise it stays a failure.
func classifyFailure(err, herr error) error {
	if err == nil || herr == nil || !raceCandidate(err) {
		return err
	}
	return errors.Join(herr, err)
}

// WaitDestroyed waits until Asterisk has reported the channel destroyed
// (ChannelDestroyed, which carries the Q.850 cause), or ctx ends. A hang-up
// request or StasisEnd may come first, without the true cause.
func (s *Session) WaitDestroyed(ctx context.Context, id string) error {
	return s.wait(ctx, func() (bool, error) {
		ch, ok := s.channels[id]
		return !ok || ch.info.CauseText != "", nil
	})
}

// Continue hands the channel back to the dialplan (e.g. for SendFAX).
func (s *Session) Continue(ctx context.Context, id, dpContext, exten string, priority int) error {
	return s.chRest(ctx, "continue", id, http.MethodPost, chPath(id, "continue"), continueBody(dpContext, exten, priority), nil)
}

// SetVar sets a channel variable.
func (s *Session) SetVar(ctx context.Context, id, name, value string) error {
	body := struct {
		Name  string `json:"variable"`
		Value string `json:"value,omitempty"`
	}{name, value}
	return s.chRest(ctx, "setvar", id, http.MethodPost, chPath(id, "variable"), body, nil)
}

// GetVar reads a channel variable (or dialplan function, e.g. CHANNEL(rtp,...)).
func (s *Session) GetVar(ctx context.Context, id, name string) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	err := s.chRest(ctx, "getvar", id, http.MethodGet, chPath(id, "variable")+"?variable="+url.QueryEscape(name), nil, &v)
	return v.Value, err
}

// liveChannels lists channels not known to be gone (for cleanup).
func (s *Session) liveChannels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, ch := range s.channels {
		if !ch.info.HungUp {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Session) ownedBridges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bridges)
}

// reconcile settles channels and playbacks that ended while events could not arrive.
func (s *Session) reconcile(ctx context.Context) {
	for _, id := range s.liveChannels() {
		if err := s.c.api.do(ctx, http.MethodGet, chPath(id), nil, nil); errors.Is(err, ErrNotFound) {
			s.mu.Lock()
			ch := s.channel(id)
			ch.info.HungUp = true
			if ch.info.CauseText == "" {
				// Gone while we were not listening (an Asterisk restart ends
				// every channel): the system ended it, not the caller.
				ch.info.BySystem = true
				ch.info.CauseText = "channel gone from Asterisk while the event connection was down"
			}
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
	}
	s.mu.Lock()
	var pending []string
	for id, st := range s.playbacks {
		if st != "done" {
			pending = append(pending, id)
		}
	}
	s.mu.Unlock()
	for _, id := range pending {
		if err := s.c.api.do(ctx, http.MethodGet, "/playbacks/"+esc(id), nil, nil); errors.Is(err, ErrNotFound) {
			s.mu.Lock()
			s.playbacks[id] = "done"
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
	}
}

func nonEmptyReason(r string) string {
	if r == "" {
		return "normal"
	}
	return r
}

func continueBody(dpContext, exten string, priority int) any {
	return struct {
		Context   string `json:"context"`
		Extension string `json:"extension"`
		Priority  int    `json:"priority"`
	}{dpContext, exten, priority}
}
