package ari

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/google/uuid"
)

// PlayResult says how a playback ended.
type PlayResult struct {
	// Interrupted is true when a DTMF digit stopped it (the digit stays buffered for
	// ReadDigits, so callers can type ahead of a prompt).
	Interrupted bool
}

// Play plays media (e.g. "sound:/var/lib/hotline12345/sounds/hotline/greeting") to a
// channel and waits for it to finish. With stopOnDigit, a key press stops it early.
func (s *Session) Play(ctx context.Context, chID, media string, stopOnDigit bool) (PlayResult, error) {
	if stopOnDigit && s.hasDigits(chID) {
		return PlayResult{Interrupted: true}, nil
	}
	pbID := uuid.NewString()
	s.mu.Lock()
	s.playbacks[pbID] = "queued"
	s.mu.Unlock()
	s.own(ariv5.PlaybackKey, pbID)
	err := s.chRest(ctx, "play", chID, http.MethodPost, chPath(chID, "play", pbID), struct {
		Media string `json:"media"`
	}{media}, nil)
	if err != nil {
		return PlayResult{}, err
	}
	var res PlayResult
	err = s.wait(ctx, func() (bool, error) {
		if herr := s.hangupErr(chID); herr != nil {
			return true, herr
		}
		if s.playbacks[pbID] == "done" {
			return true, nil
		}
		if stopOnDigit && len(s.channels[chID].digits) > 0 {
			res.Interrupted = true
			return true, nil
		}
		return false, nil
	})
	if res.Interrupted || err != nil {
		s.stopPlayback(chID, pbID)
	}
	return res, err
}

// PlayAll plays several media in order; with stopOnDigit, a key stops the rest.
func (s *Session) PlayAll(ctx context.Context, chID string, media []string, stopOnDigit bool) (PlayResult, error) {
	for _, m := range media {
		res, err := s.Play(ctx, chID, m, stopOnDigit)
		if err != nil || res.Interrupted {
			return res, err
		}
	}
	return PlayResult{}, nil
}

// stopPlayback stops a playback that may still be running. A playback that
// finished, or whose channel is gone (the hang-up ended it), is not asked
// about: that request could only fail (404), and at load every failed request
// is a connection's worth of work for Asterisk.
func (s *Session) stopPlayback(chID, pbID string) {
	s.mu.Lock()
	pointless := s.playbacks[pbID] == "done" || s.hangupErr(chID) != nil
	s.mu.Unlock()
	if pointless {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.rest(ctx, "stop_playback", http.MethodDelete, "/playbacks/"+esc(pbID), nil, nil)
}

func (s *Session) hasDigits(chID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[chID]
	return ok && len(ch.digits) > 0
}

// FlushDigits forgets keys pressed so far (before a prompt that must not be skipped).
func (s *Session) FlushDigits(chID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[chID]; ok {
		ch.digits = nil
	}
}

// ReadOptions bound a digit collection.
type ReadOptions struct {
	// Max digits to collect; 0 means until the terminator.
	Max int
	// Terminators end the input and are not part of it (e.g. "#").
	Terminators string
	// FirstTimeout waits for the first key; InterTimeout between keys.
	FirstTimeout, InterTimeout time.Duration
}

// ErrNoInput is returned by ReadDigits when the caller pressed nothing in time.
var ErrNoInput = errors.New("no DTMF input")

// ReadDigits collects keys already typed ahead and new ones. It returns what was
// collected when a terminator arrives, Max is reached, or the inter-digit timeout
// passes after at least one key; ErrNoInput when the first key never comes.
func (s *Session) ReadDigits(ctx context.Context, chID string, o ReadOptions) (string, error) {
	return CollectDigits(ctx, o, func() (string, <-chan struct{}, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.hangupErr(chID); err != nil {
			return "", nil, err
		}
		ch := s.channel(chID)
		var digit string
		if len(ch.digits) > 0 {
			digit, ch.digits = ch.digits[0], ch.digits[1:]
		}
		return digit, s.changed, nil
	})
}

// CollectDigits is ReadDigits' rule for ending a read, shared with the
// scripted fake (ari/aritest) so a voice menu tested there reads keys exactly
// as it does on Asterisk. next takes the oldest key not yet read ("" when
// none), a channel closed when more may have arrived, and an error (the
// channel hung up) that ends the read.
func CollectDigits(ctx context.Context, o ReadOptions, next func() (digit string, wake <-chan struct{}, err error)) (string, error) {
	var sb strings.Builder
	timer := time.NewTimer(o.FirstTimeout)
	defer timer.Stop()
	for {
		digit, wake, err := next()
		if err != nil {
			return sb.String(), err
		}
		if digit != "" {
			if strings.Contains(o.Terminators, digit) {
				return sb.String(), nil
			}
			sb.WriteString(digit)
			if o.Max > 0 && sb.Len() >= o.Max {
				return sb.String(), nil
			}
			timer.Reset(o.InterTimeout)
			continue
		}
		select {
		case <-ctx.Done():
			return sb.String(), ctx.Err()
		case <-timer.C:
			if sb.Len() == 0 {
				return "", ErrNoInput
			}
			return sb.String(), nil
		case <-wake:
		}
	}
}

// RecordOptions configure a recording of a channel.
type RecordOptions struct {
	// Name is the recording's name, unique per Asterisk (a path under its
	// recording directory); empty means a fresh UUID.
	Name        string
	Format      string // wav by default
	MaxDuration time.Duration
	MaxSilence  time.Duration
	Beep        bool
	// TerminateOn is "none", "any", "*" or "#".
	TerminateOn string
}

// RecordResult describes a finished recording.
type RecordResult struct {
	Name     string
	Format   string
	Duration time.Duration
	Talking  time.Duration
	Silence  time.Duration
	// HungUp is true when the caller hung up during the recording; what was said
	// before is kept (Asterisk finishes the file on hang-up).
	HungUp bool
}

// Record records the channel until the caller presses the terminator, stays silent
// for MaxSilence, MaxDuration passes, or hangs up.
func (s *Session) Record(ctx context.Context, chID string, o RecordOptions) (RecordResult, error) {
	o = o.withDefaults()
	if _, err := s.StartRecording(ctx, chID, o); err != nil {
		return RecordResult{Name: o.Name, Format: o.Format}, err
	}
	res, err := s.WaitRecording(ctx, o.Name)
	res.Format = o.Format
	s.mu.Lock()
	res.HungUp = s.hangupErr(chID) != nil
	s.mu.Unlock()
	return res, err
}

func (o RecordOptions) withDefaults() RecordOptions {
	if o.Name == "" {
		o.Name = uuid.NewString()
	}
	if o.Format == "" {
		o.Format = "wav"
	}
	if o.TerminateOn == "" {
		o.TerminateOn = "none"
	}
	return o
}

// OriginateRequest describes an outbound channel placed for this call.
type OriginateRequest struct {
	Endpoint string // e.g. PJSIP/8801@dutylines
	CallerID string // what the called party sees
	Timeout  time.Duration
	AppArgs  string
	// Variables set on the new channel before it dials.
	Variables map[string]string
	// ChannelID names the new channel; empty means a fresh UUID.
	ChannelID string
}

// Originate places an outbound channel that enters our application owned by this
// session (its StasisStart comes here, not to the Handler), and returns its ID.
func (s *Session) Originate(ctx context.Context, r OriginateRequest) (string, error) {
	id := r.ChannelID
	if id == "" {
		id = uuid.NewString()
	}
	s.mu.Lock()
	s.channel(id)
	s.mu.Unlock()
	s.own(ariv5.ChannelKey, id)
	secs := int(r.Timeout / time.Second)
	if secs <= 0 {
		secs = 30
	}
	err := s.rest(ctx, "originate", http.MethodPost, "/channels", ariv5.OriginateRequest{
		Endpoint: r.Endpoint, CallerID: r.CallerID, Timeout: secs,
		App: s.c.cfg.Application, AppArgs: r.AppArgs, ChannelID: id, Variables: r.Variables,
	}, nil)
	if err != nil {
		s.mu.Lock()
		s.channel(id).info.HungUp = true
		s.mu.Unlock()
		return "", err
	}
	return id, nil
}

// WaitUp waits until an originated channel is answered and in our application, or
// returns its HangupError (busy, no answer, ...).
func (s *Session) WaitUp(ctx context.Context, id string) error {
	return s.wait(ctx, func() (bool, error) {
		if herr := s.hangupErr(id); herr != nil {
			return true, herr
		}
		ch := s.channels[id]
		return ch.inApp && ch.info.State == "Up", nil
	})
}

// CreateBridge creates a bridge owned by the session ("mixing", "holding", ...).
func (s *Session) CreateBridge(ctx context.Context, kind string) (string, error) {
	id := uuid.NewString()
	s.own(ariv5.BridgeKey, id)
	err := s.rest(ctx, "bridge_create", http.MethodPost, "/bridges/"+esc(id), struct {
		ID   string `json:"bridgeId,omitempty"`
		Type string `json:"type,omitempty"`
		Name string `json:"name,omitempty"`
	}{id, kind, id}, nil)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.bridges = append(s.bridges, id)
	s.mu.Unlock()
	return id, nil
}

// AddToBridge puts a channel into a bridge.
func (s *Session) AddToBridge(ctx context.Context, bridgeID, chID string) error {
	return s.chRest(ctx, "bridge_add", chID, http.MethodPost, "/bridges/"+esc(bridgeID)+"/addChannel", bridgeChannel{chID}, nil)
}

// RemoveFromBridge takes a channel out of a bridge.
func (s *Session) RemoveFromBridge(ctx context.Context, bridgeID, chID string) error {
	return s.rest(ctx, "bridge_remove", http.MethodPost, "/bridges/"+esc(bridgeID)+"/removeChannel", bridgeChannel{chID}, nil)
}

// DestroyBridge deletes a bridge.
func (s *Session) DestroyBridge(ctx context.Context, bridgeID string) error {
	err := s.rest(ctx, "bridge_delete", http.MethodDelete, "/bridges/"+esc(bridgeID), nil, nil)
	s.mu.Lock()
	for i, b := range s.bridges {
		if b == bridgeID {
			s.bridges = append(s.bridges[:i], s.bridges[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// StartMOH plays music on hold to a channel until StopMOH.
func (s *Session) StartMOH(ctx context.Context, chID, class string) error {
	return s.chRest(ctx, "moh_start", chID, http.MethodPost, chPath(chID, "moh"), struct {
		Class string `json:"mohClass,omitempty"`
	}{class}, nil)
}

// StopMOH stops music on hold.
func (s *Session) StopMOH(ctx context.Context, chID string) error {
	return s.chRest(ctx, "moh_stop", chID, http.MethodDelete, chPath(chID, "moh"), nil, nil)
}

type bridgeChannel struct {
	ChannelID string `json:"channel"`
}
