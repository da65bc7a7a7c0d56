package ivr

// The front door's side of crash recovery and zero-downtime restarts (see
// package ari, recovery.go): every inbound call has a durable record from its
// call.started to its call.ended; a call adopted from an earlier process goes
// on where it was, or back to the menu with an apology; a call whose process
// died and whose caller is gone is ended with hangup_by=system.

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// The recovery outcomes, named here for this package's readers; the contract
// spells them (casework/event).
const (
	// OutcomeInterrupted: the call service process died and the caller hung up
	// before another process could take the call back.
	OutcomeInterrupted = event.OutcomeInterrupted
	// OutcomeFallback: handed to the dialplan's fallback (apology and native
	// voicemail) when the service stopped.
	OutcomeFallback = event.OutcomeFallback
)

// startCall writes the call's record with its call.started, then sends it: the
// event in the record is what a later process republishes (same ID) if this
// one dies before the send.
func (s *Service) startCall(call *Call, p event.CallStartedPayload) {
	env, err := call.build(event.CallStarted, p)
	if err != nil {
		call.Log.Error("event not recorded", zap.String("type", string(event.CallStarted)), zap.Error(err))
		return
	}
	raw, _ := json.Marshal(env)
	_ = call.S.BeginRecord(ari.CallRecord{
		StartedAt: call.started.UTC(), Staffed: p.Staffed, Phase: ari.PhaseGreeting, Outcome: event.OutcomeGreeted, Started: raw,
		AnsweredAt: call.S.Caller().AnsweredAt,
	})
	_ = call.publish(env)
}

// finishCall ends the call's account (deferred by HandleCall and ResumeCall):
// unless the call was left to the next process, call.ended is sent. A caller
// still in the voice flow when the drain of a SIGTERM ends goes to the
// dialplan's fallback (apology, message) rather than being hung up.
func (s *Service) finishCall(ctx context.Context, call *Call, staffed bool) {
	if call.S.Kept() {
		return
	}
	ch := call.ChannelID()
	if ctx.Err() != nil && call.S.Detaching() && call.S.Alive(ch) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		if err := call.S.SendToFallback(fctx, ch); err != nil {
			call.Log.Warn("caller not sent to the fallback; hung up", zap.Error(err))
		} else {
			call.SetOutcome(OutcomeFallback)
			call.mu.Lock()
			call.bySystem = true
			call.mu.Unlock()
			call.Log.Info("service stopping: caller sent to the dialplan fallback")
		}
		cancel()
	}
	p := call.end(staffed)
	s.metrics.ended.WithLabelValues(p.Outcome, p.HangupBy).Inc()
	s.metrics.duration.Observe(float64(p.DurationMS) / 1000)
}

// ResumeCall takes over a call an earlier process left in Asterisk
// (ari.Resumer). Its call.started is sent again under its own ID in case the
// earlier process died before sending it; casework stores it once.
func (s *Service) ResumeCall(ctx context.Context, sess *ari.Session) {
	s.resumeCall(ctx, sess, sess.Log)
}

// resumeCall is ResumeCall on the call operations alone.
func (s *Service) resumeCall(ctx context.Context, sess Session, log *zap.Logger) {
	rec := sess.CallRecord()
	left := s.cfg.MaxCallTime - time.Since(rec.StartedAt)
	ctx, cancel := context.WithTimeout(ctx, max(left, time.Minute))
	defer cancel()
	call := newCall(sess, log, s.sink, s.cfg.Source)
	if !rec.StartedAt.IsZero() {
		call.started = rec.StartedAt
	}
	call.outcome = nonEmpty(rec.Outcome, event.OutcomeGreeted)
	call.caseID = rec.CaseID
	call.republish(rec.Started)
	call.Log.Info("call resumed", zap.String("phase", rec.Phase), zap.String("outcome", rec.Outcome),
		zap.Duration("age", time.Since(rec.StartedAt)))
	defer s.finishCall(ctx, call, rec.Staffed)
	if len(rec.Ended) > 0 {
		// The earlier process had finished the call and died before its
		// call.ended was sent: send that one, end the rest.
		call.republish(rec.Ended)
		_ = sess.ForgetRecord()
		sess.Keep() // nothing more to account for; the channel is hung up below
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		_ = sess.Hangup(hctx, call.ChannelID(), "normal")
		hcancel()
		return
	}
	if err := sess.Follow(ctx, call.ChannelID()); err != nil {
		call.Log.Warn("cannot follow the channel outside the application", zap.Error(err))
	}
	err := s.resume(ctx, call, rec)
	if err != nil && !errors.Is(err, ari.ErrHangup) && !errors.Is(err, ari.ErrDetached) && ctx.Err() == nil {
		call.Log.Error("resumed call flow failed", zap.Error(err))
		call.SetOutcome(event.OutcomeFailed)
	}
}

// resume goes on with the call from its phase.
func (s *Service) resume(ctx context.Context, call *Call, rec ari.CallRecord) error {
	ch := call.ChannelID()
	switch rec.Phase {
	case ari.PhaseAgent, ari.PhaseQueue:
		if hr, ok := s.cfg.Human.(HumanResumer); ok {
			err := hr.Resume(ctx, call)
			if !errors.Is(err, ErrNoAgent) {
				return err
			}
			return s.menu(ctx, call, prompts.AllAgentsBusy)
		}
	case ari.PhaseFax:
		// The fax ran in the dialplan; its result went with the process. A
		// machine still exchanging pages is left to finish, then thanked.
		if !call.S.Alive(ch) {
			if _, ok := call.S.WaitReturn(ctx, ch, 10*time.Minute); !ok {
				return nil
			}
		}
		return s.goodbye(ctx, call)
	case ari.PhaseVoicemail:
		if rec.VMRecording != "" {
			return s.resumeVoicemail(ctx, call, rec)
		}
	}
	// Anywhere else in the voice flow (greeting, menu, self-service): the
	// prompt that was playing has ended, and the caller has been hearing
	// silence since. Apologise, then the menu again (in staffed hours the
	// queue).
	if !call.S.Alive(ch) {
		return call.S.WaitHangup(ctx, ch)
	}
	if call.S.Caller().State != "Up" {
		if err := call.S.Answer(ctx, ch); err != nil {
			return err
		}
	}
	if rec.Phase == ari.PhaseGreeting && rec.Staffed && s.cfg.Human != nil {
		if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.CallResumed)), false); err != nil {
			return err
		}
		err := s.cfg.Human.Serve(ctx, call)
		if !errors.Is(err, ErrNoAgent) {
			return err
		}
		return s.menu(ctx, call, prompts.AllAgentsBusy)
	}
	call.S.FlushDigits(ch)
	return s.menu(ctx, call, prompts.CallResumed)
}

// resumeVoicemail finishes a message the caller was leaving when the earlier
// process stopped: the recording went on in Asterisk; it is stopped if still
// running (the caller has been speaking into silence), stored and announced.
func (s *Service) resumeVoicemail(ctx context.Context, call *Call, rec ari.CallRecord) error {
	ch := call.ChannelID()
	call.SetOutcome(event.OutcomeVoicemail)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = call.S.StopRecording(sctx, rec.VMRecording)
	res, err := call.S.WaitRecording(sctx, rec.VMRecording)
	res.Name, res.Format = rec.VMRecording, "wav"
	res.HungUp = !call.S.Alive(ch)
	if err != nil && res.HungUp {
		err = nil // finished by the hang-up: what was said is stored
	}
	return s.keepVoicemail(ctx, call, rec.VMMessageID, rec.VMRecording, res, err)
}

// EndLostCall accounts for a call whose process died and whose caller hung up
// before another took it back (ari.Resumer): its call.started again (same ID),
// and its call.ended — the one the earlier process had built, or one saying the
// system ended it, since nobody can tell when the caller left.
func (s *Service) EndLostCall(rec ari.CallRecord) error {
	log := s.log.With(zap.String("call_id", rec.CallID))
	for _, raw := range []json.RawMessage{rec.Started, rec.Ended} {
		if len(raw) == 0 {
			continue
		}
		var env event.Envelope
		if err := json.Unmarshal(raw, &env); err != nil {
			log.Error("journaled event unreadable", zap.Error(err))
			continue
		}
		if err := s.sink.Publish(env); err != nil {
			return err
		}
	}
	if len(rec.Ended) > 0 {
		return nil
	}
	now := time.Now().UTC()
	var answered time.Time
	if !rec.AnsweredAt.IsZero() {
		answered = rec.AnsweredAt.UTC()
	}
	p := event.CallEndedPayload{
		StartedAt:       rec.StartedAt.UTC(),
		AnsweredAt:      answered,
		EndedAt:         now,
		DurationMS:      now.Sub(rec.StartedAt).Milliseconds(),
		HangupBy:        event.HangupBySystem,
		HangupCauseText: "call service restarted; the caller had gone (last phase " + nonEmpty(rec.Phase, "unknown") + ")",
		Outcome:         OutcomeInterrupted,
	}
	env, err := event.New(event.CallEnded, s.cfg.Source, rec.CallID, p)
	if err != nil {
		return err
	}
	env.CaseID = rec.CaseID
	if err := s.sink.Publish(env); err != nil {
		return err
	}
	s.metrics.ended.WithLabelValues(p.Outcome, p.HangupBy).Inc()
	log.Info("call of an earlier process ended", zap.String("phase", rec.Phase), zap.String("outcome", p.Outcome))
	return nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
