// Package ivr is the hotline's front door: it answers calls to 12345, greets the
// caller, decides between human service and the voice menu by service hours, and
// runs the voice services (self-service, voicemail, fax, callbacks). Every step
// becomes a case event.
package ivr

import (
	"context"
	"encoding/json"
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
	S       Session
	Log     *zap.Logger
	sink    Sink
	source  string
	started time.Time

	mu      sync.Mutex
	outcome string
	caseID  string
	// bySystem: the service ended the call without hanging it up itself (it
	// sent the caller to the dialplan fallback).
	bySystem bool
}

// NewCall makes a Call of a session, as the front door does when a call
// arrives: for a HumanService tested on its own (routing's tests drive the
// queue with a scripted session).
func NewCall(s Session, log *zap.Logger, sink Sink, source string) *Call {
	return newCall(s, log, sink, source)
}

func newCall(s Session, log *zap.Logger, sink Sink, source string) *Call {
	return &Call{S: s, Log: log, sink: sink, source: source, started: time.Now(), outcome: event.OutcomeGreeted}
}

// ID is the call ID carried by every event.
func (c *Call) ID() string { return c.S.ID() }

// Session is the call's ARI session (its channels, bridges, media).
func (c *Call) Session() Session { return c.S }

// ChannelID is the caller's channel.
func (c *Call) ChannelID() string { return c.S.ID() }

// SetOutcome records the furthest the call has got (voicemail, agent, ...).
func (c *Call) SetOutcome(o string) {
	c.mu.Lock()
	c.outcome = o
	c.mu.Unlock()
	_ = c.S.UpdateRecord(func(r *ari.CallRecord) { r.Outcome = o })
}

// SetCase attaches the case the call is about to its later events.
func (c *Call) SetCase(id string) {
	c.mu.Lock()
	c.caseID = id
	c.mu.Unlock()
	_ = c.S.UpdateRecord(func(r *ari.CallRecord) { r.CaseID = id })
}

// SetPhase records durably where the call is (ari.Phase*), for the process
// that adopts it after a crash or a restart.
func (c *Call) SetPhase(phase string) {
	_ = c.S.UpdateRecord(func(r *ari.CallRecord) { r.Phase = phase })
}

// Emit publishes one event of this call. A failure to spool is logged and counted
// by the caller's metrics but never ends the call: the citizen comes first.
func (c *Call) Emit(t event.Type, payload any) {
	env, err := c.build(t, payload)
	if err != nil {
		c.Log.Error("event not recorded", zap.String("type", string(t)), zap.Error(err))
		return
	}
	_ = c.publish(env)
}

// build makes an event of this call without sending it.
func (c *Call) build(t event.Type, payload any) (event.Envelope, error) {
	env, err := event.New(t, c.source, c.ID(), payload)
	if err != nil {
		return env, err
	}
	c.mu.Lock()
	env.CaseID = c.caseID
	c.mu.Unlock()
	return env, nil
}

func (c *Call) publish(env event.Envelope) error {
	if err := c.sink.Publish(env); err != nil {
		c.Log.Error("event not recorded", zap.String("type", string(env.Type)), zap.String("event_id", env.ID), zap.Error(err))
		return err
	}
	c.Log.Debug("event", zap.String("type", string(env.Type)), zap.String("event_id", env.ID))
	return nil
}

// republish sends a journaled event again under its own ID (JetStream's
// duplicate window and casework's event key store it once).
func (c *Call) republish(raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var env event.Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		c.Log.Error("journaled event unreadable", zap.Error(err))
		return
	}
	_ = c.publish(env)
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
	c.mu.Lock()
	outcome, bySystem := c.outcome, c.bySystem
	c.mu.Unlock()
	if outcome != OutcomeFallback {
		// StasisEnd or a hang-up request may come first, without the true
		// Q.850 cause; ChannelDestroyed has it and follows at once. (A caller
		// sent to the fallback is destroyed only when that call ends.)
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		_ = c.S.WaitDestroyed(dctx, chID)
		dcancel()
	}
	info := c.S.Caller()
	ended := time.Now()
	by := event.HangupByCaller
	if info.BySystem || bySystem {
		by = event.HangupBySystem
	}
	cause, causeText := info.Cause, info.CauseText
	if causeText == "" {
		causeText = event.CauseText(cause) // Asterisk gave the code alone
	}
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
	// The call.ended goes into the call's record before it is sent: a crash in
	// between makes the next process send this one, not a second of its own.
	if env, err := c.build(event.CallEnded, p); err != nil {
		c.Log.Error("event not recorded", zap.String("type", string(event.CallEnded)), zap.Error(err))
	} else {
		if raw, err := json.Marshal(env); err == nil {
			_ = c.S.UpdateRecord(func(r *ari.CallRecord) { r.Ended = raw })
		}
		if c.publish(env) == nil {
			if err := c.S.ForgetRecord(); err != nil {
				c.Log.Warn("call record not removed; the next start sends its call.ended again (stored once)", zap.Error(err))
			}
		}
	}
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
