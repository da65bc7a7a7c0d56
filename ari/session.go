package ari

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
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
}

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
		}
		ch.info.HungUp = true
		if ch.info.Cause == 0 {
			ch.info.Cause = e.Cause
		}
	case *ariv5.ChannelDestroyed:
		ch := s.channel(e.Channel.ID)
		ch.info.HungUp = true
		ch.info.Cause, ch.info.CauseText = e.Cause, e.CauseTxt
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

// rest runs a library REST call (which takes no context) so that the caller stops
// waiting when ctx ends; the request itself is bounded by native.RequestTimeout.
func (s *Session) rest(ctx context.Context, op string, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			s.c.metrics.restErrors.WithLabelValues(op).Inc()
			if native.CodeFromError(err) == 404 {
				return fmt.Errorf("%s: %w", op, ErrNotFound)
			}
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
}

func chKey(id string) *ariv5.Key { return ariv5.NewKey(ariv5.ChannelKey, id) }

// Answer answers the channel.
func (s *Session) Answer(ctx context.Context, id string) error {
	err := s.rest(ctx, "answer", func() error { return s.c.rest.Channel().Answer(chKey(id)) })
	if err != nil {
		s.mu.Lock()
		herr := s.hangupErr(id)
		s.mu.Unlock()
		return errors.Join(herr, err)
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
	ch.info.BySystem = true
	s.mu.Unlock()
	err := s.rest(ctx, "hangup", func() error { return s.c.rest.Channel().Hangup(chKey(id), reason) })
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Continue hands the channel back to the dialplan (e.g. for SendFAX).
func (s *Session) Continue(ctx context.Context, id, dpContext, exten string, priority int) error {
	return s.rest(ctx, "continue", func() error { return s.c.rest.Channel().Continue(chKey(id), dpContext, exten, priority) })
}

// SetVar sets a channel variable.
func (s *Session) SetVar(ctx context.Context, id, name, value string) error {
	return s.rest(ctx, "setvar", func() error { return s.c.rest.Channel().SetVariable(chKey(id), name, value) })
}

// GetVar reads a channel variable (or dialplan function, e.g. CHANNEL(rtp,...)).
func (s *Session) GetVar(ctx context.Context, id, name string) (string, error) {
	var v string
	err := s.rest(ctx, "getvar", func() error {
		var err error
		v, err = s.c.rest.Channel().GetVariable(chKey(id), name)
		return err
	})
	return v, err
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
func (s *Session) reconcile() {
	for _, id := range s.liveChannels() {
		if _, err := s.c.rest.Channel().Data(chKey(id)); native.CodeFromError(err) == 404 {
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
		if _, err := s.c.rest.Playback().Data(ariv5.NewKey(ariv5.PlaybackKey, id)); native.CodeFromError(err) == 404 {
			s.mu.Lock()
			s.playbacks[id] = "done"
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
		}
	}
}
