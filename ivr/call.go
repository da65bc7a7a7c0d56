// Package ivr is the hotline's front door: it answers calls to 12345, greets the
// caller, decides between human service and the voice menu by service hours, and
// runs the voice services (self-service, voicemail, fax, callbacks). Every step
// becomes a case event.
package ivr

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// Sink takes events for the casework service. Publish must be durable when it
// returns (the call service's spooling publisher is).
type Sink interface {
	Publish(env event.Envelope) error
}

// Call is one call being handled, with the events it has produced so far.
type Call struct {
	S       *ari.Session
	Log     *zap.Logger
	sink    Sink
	source  string
	started time.Time

	mu      sync.Mutex
	outcome string
	caseID  string
}

func newCall(s *ari.Session, sink Sink, source string) *Call {
	return &Call{S: s, Log: s.Log, sink: sink, source: source, started: time.Now(), outcome: "greeted"}
}

// ID is the call ID carried by every event.
func (c *Call) ID() string { return c.S.ID() }

// Session is the call's ARI session (its channels, bridges, media).
func (c *Call) Session() *ari.Session { return c.S }

// ChannelID is the caller's channel.
func (c *Call) ChannelID() string { return c.S.ID() }

// SetOutcome records the furthest the call has got (voicemail, agent, ...).
func (c *Call) SetOutcome(o string) {
	c.mu.Lock()
	c.outcome = o
	c.mu.Unlock()
}

// SetCase attaches the case the call is about to its later events.
func (c *Call) SetCase(id string) {
	c.mu.Lock()
	c.caseID = id
	c.mu.Unlock()
}

// Emit publishes one event of this call. A failure to spool is logged and counted
// by the caller's metrics but never ends the call: the citizen comes first.
func (c *Call) Emit(t event.Type, payload any) {
	env, err := event.New(t, c.source, c.ID(), payload)
	if err == nil {
		c.mu.Lock()
		env.CaseID = c.caseID
		c.mu.Unlock()
		err = c.sink.Publish(env)
	}
	if err != nil {
		c.Log.Error("event not recorded", zap.String("type", string(t)), zap.Error(err))
		return
	}
	c.Log.Debug("event", zap.String("type", string(t)), zap.String("event_id", env.ID))
}

// end hangs up the caller if still there and emits call.ended with who hung up,
// the cause and the outcome.
func (c *Call) end(staffed bool) event.CallEndedPayload {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	chID := c.ChannelID()
	if c.S.Alive(chID) {
		_ = c.S.Hangup(ctx, chID, "normal")
	}
	// Wait briefly for Asterisk's own account of the hang-up (its cause).
	_ = c.S.WaitHangup(ctx, chID)
	info := c.S.Caller()
	ended := time.Now()
	by := event.HangupByCaller
	if info.BySystem {
		by = event.HangupBySystem
	}
	cause, causeText := info.Cause, info.CauseText
	c.mu.Lock()
	outcome := c.outcome
	c.mu.Unlock()
	p := event.CallEndedPayload{
		StartedAt:       c.started.UTC(),
		AnsweredAt:      utcOrZero(info.AnsweredAt),
		EndedAt:         ended.UTC(),
		DurationMS:      ended.Sub(c.started).Milliseconds(),
		HangupBy:        by,
		HangupCause:     cause,
		HangupCauseText: causeText,
		Outcome:         outcome,
	}
	c.Emit(event.CallEnded, p)
	c.Log.Info("call ended", zap.String("hangup_by", by), zap.Int("cause", cause),
		zap.String("outcome", outcome), zap.Duration("duration", ended.Sub(c.started)), zap.Bool("staffed", staffed))
	return p
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
