package ari

// Operations the voice services (voicemail, fax, callbacks) need beyond the
// basic call operations: fetching a finished recording over ARI, handing a
// channel to the dialplan and taking it back, and outbound calls that start
// without an inbound caller.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
)

// ErrRecordingMissing means Asterisk has no stored recording of that name (it
// drops a recording that ended before any audio was written).
var ErrRecordingMissing = errors.New("stored recording not found")

// storedRecordingPath is the ARI path of a stored recording (op "" for its
// metadata, "file" for its audio).
func storedRecordingPath(name, op string) string {
	u := "/recordings/stored/" + esc(name)
	if op != "" {
		u += "/" + op
	}
	return u
}

// CopyRecording writes a finished recording's audio to w. It is fetched over
// ARI (GET /recordings/stored/{name}/file) rather than read from Asterisk's
// spool directory, so the call service need not share a disk with Asterisk.
func (s *Session) CopyRecording(ctx context.Context, name string, w io.Writer) (int64, error) {
	resp, cancel, err := s.c.api.stream(ctx, http.MethodGet, storedRecordingPath(name, "file"))
	if err != nil {
		return 0, fmt.Errorf("fetch recording %s: %w", name, err)
	}
	defer cancel()
	defer drainClose(resp.Body)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("fetch recording %s: %w", name, ErrRecordingMissing)
	case resp.StatusCode/100 != 2:
		return 0, fmt.Errorf("fetch recording %s: %s", name, resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("fetch recording %s: %w", name, err)
	}
	return n, nil
}

// DeleteRecording removes a stored recording from Asterisk (after it has been
// copied to durable storage, or when it is discarded). A missing one is fine.
func (s *Session) DeleteRecording(ctx context.Context, name string) error {
	if err := s.c.api.do(ctx, http.MethodDelete, storedRecordingPath(name, ""), nil, nil); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("delete recording %s: %w", name, err)
	}
	return nil
}

// PendingDigits returns the keys typed so far without consuming them.
func (s *Session) PendingDigits(chID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[chID]; ok {
		return strings.Join(ch.digits, "")
	}
	return ""
}

// ContinueAndReturn hands the channel to the dialplan (e.g. a context running
// SendFAX) and waits until the dialplan sends it back into our application
// (StasisStart again) or the channel is gone. The dialplan's result is then read
// with GetVar. The application subscribes to the channel first: outside Stasis
// Asterisk would otherwise stop telling us about it, and a hang-up in the
// dialplan would go unnoticed. StasisEnd marks a channel gone for every other
// operation, so the return is what clears that mark.
func (s *Session) ContinueAndReturn(ctx context.Context, id, dpContext, exten string, priority int) error {
	if err := s.Follow(ctx, id); err != nil {
		return err
	}
	if err := s.Continue(ctx, id, dpContext, exten, priority); err != nil {
		return err
	}
	left := false
	return s.wait(ctx, func() (bool, error) {
		ch := s.channels[id]
		// Gone means destroyed (ChannelDestroyed always has a cause text), not
		// just asked to hang up: the dialplan's h extension runs in between, and
		// it leaves results the caller of this wants to read.
		if ch.info.CauseText != "" {
			return true, &HangupError{ChannelID: id, Cause: ch.info.Cause, CauseText: ch.info.CauseText}
		}
		if !ch.inApp {
			left = true
			return false, nil
		}
		if left {
			ch.info.HungUp, ch.left = false, false
			return true, nil
		}
		return false, nil
	})
}

// Follow keeps the channel's events coming after it leaves our application
// (StasisEnd), so that whoever asks later learns whether it hung up or came
// back. Without it Asterisk stops telling us about a channel at StasisEnd, and
// StasisEnd is sent on the application's own topic, ahead of a hang-up
// published on the channel's: a caller hanging up in a bridge can look like a
// channel that went to the dialplan. Asterisk drops the subscription when the
// channel is destroyed.
func (s *Session) Follow(ctx context.Context, id string) error {
	source := "channel:" + id
	path := "/applications/" + esc(s.c.cfg.Application) + "/subscription?eventSource=" + url.QueryEscape(source)
	if err := s.c.api.do(ctx, http.MethodPost, path, nil, nil); err != nil {
		return fmt.Errorf("subscribe to %s: %w", source, err)
	}
	return nil
}

// OutboundCall is an outbound call that no inbound caller started (a
// satisfaction callback): its own session, released with End.
type OutboundCall struct {
	*Session
	c *Client
}

// ChannelID is the outbound channel (also the session's ID).
func (o *OutboundCall) ChannelID() string { return o.ID() }

// End hangs up what is left of the call and forgets its routes.
func (o *OutboundCall) End() {
	o.c.endSession(o.Session)
	o.c.wg.Done()
}

// Dial places an outbound call in a session of its own; the channel enters our
// application when answered (WaitUp). The client's Wait covers it until End.
func (c *Client) Dial(ctx context.Context, log *zap.Logger, r OriginateRequest) (*OutboundCall, error) {
	id := uuid.NewString()
	s := newSession(c, id, log.With(zap.String("call_id", id)))
	c.mu.Lock()
	c.sessions[s] = struct{}{}
	c.metrics.sessions.Set(float64(len(c.sessions)))
	c.mu.Unlock()
	c.wg.Add(1)
	o := &OutboundCall{Session: s, c: c}
	r.ChannelID = id
	if _, err := s.Originate(ctx, r); err != nil {
		o.End()
		return nil, err
	}
	return o, nil
}

// GlobalVar reads a global variable or dialplan function of the Asterisk
// (GET /asterisk/variable), e.g. DB_DELETE(family/key) for results the dialplan
// left after the channel was gone.
func (s *Session) GlobalVar(ctx context.Context, name string) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	if err := s.c.api.do(ctx, http.MethodGet, "/asterisk/variable?variable="+url.QueryEscape(name), nil, &v); err != nil {
		return "", fmt.Errorf("get %s: %w", name, err)
	}
	return v.Value, nil
}

// SetGlobalVar sets (or, with "", clears) a global variable of the Asterisk.
func (s *Session) SetGlobalVar(ctx context.Context, name, value string) error {
	path := "/asterisk/variable?variable=" + url.QueryEscape(name) + "&value=" + url.QueryEscape(value)
	if err := s.c.api.do(ctx, http.MethodPost, path, nil, nil); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// CameBack waits up to limit to learn how a channel that left our application
// (StasisEnd) went on: true when it re-entered (StasisStart again, e.g. the
// dialplan's fax tone detection sent it back), false when it hung up, never
// left, or the wait ended. StasisEnd alone cannot tell: a caller hanging up
// in a bridge may be seen leaving before any hang-up cause arrives, which is
// only decided quickly for a channel the session Follows. It only looks;
// WaitReturn takes the channel back.
func (s *Session) CameBack(ctx context.Context, id string, limit time.Duration) bool {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	back := false
	err := s.wait(wctx, func() (bool, error) {
		ch, ok := s.channels[id]
		if !ok || !ch.left || ch.info.Cause != 0 || ch.info.CauseText != "" {
			return true, nil
		}
		back = ch.inApp
		return back, nil
	})
	// How long the answer took is what tells whether Follow did its job.
	s.Log.Debug("channel's way out of the application", zap.String("channel", id),
		zap.Bool("came_back", back), zap.Bool("undecided", err != nil), zap.Duration("took", time.Since(start)))
	return back
}

// WaitReturn is for a channel that left our application without hanging up
// (StasisEnd, e.g. the dialplan's fax detection jumped to its "fax"
// extension): it waits up to limit for the channel to come back (StasisStart
// again; it may already be back) and returns the new Stasis arguments. ok is
// false when the channel hung up, never left, or did not come back.
//
// The return can race with the handler: the detection breaks a playback
// first (PlaybackFinished), so the handler may issue its next operation and
// only then see StasisEnd, by which time the channel can be back in Stasis.
// That is why "left" is remembered from StasisEnd instead of read from
// whether the channel is in the application now.
func (s *Session) WaitReturn(ctx context.Context, id string, limit time.Duration) (args []string, ok bool) {
	if !s.CameBack(ctx, id, limit) {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[id]
	if ch.info.Cause != 0 || ch.info.CauseText != "" {
		return nil, false // hung up since
	}
	ch.info.HungUp, ch.left = false, false
	return slices.Clone(ch.info.Args), true
}
