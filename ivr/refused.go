package ivr

import (
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// RecordRefused keeps the account of a call the ARI client sent to the dialplan's
// fallback without handing it to the front door (past capacity, or while the
// service drains; ari.RefusalRecorder): a call.started and at once a call.ended
// with outcome fallback, hung up by the system, so that every call to 12345 is in
// the record and reports count the calls the service could not take. What the
// caller did in the fallback (a message) comes in later by the fallback import.
func (s *Service) RecordRefused(rc ari.RefusedCall) {
	log := s.log.With(zap.String("call_id", rc.Info.ID))
	info := rc.Info
	st, err := s.staffedAt(rc.At)
	staffed := err == nil && st
	ended := time.Now()
	text := "sent to the dialplan fallback: " + rc.Reason
	if !rc.Sent {
		text = "could not be sent to the dialplan fallback: " + rc.Reason
	}
	started, err := event.New(event.CallStarted, s.cfg.Source, info.ID, inboundStarted(info, staffed))
	if err != nil {
		log.Error("event not recorded", zap.String("type", string(event.CallStarted)), zap.Error(err))
		return
	}
	endedEnv, err := event.New(event.CallEnded, s.cfg.Source, info.ID, event.CallEndedPayload{
		StartedAt:       rc.At.UTC(),
		EndedAt:         ended.UTC(),
		DurationMS:      ended.Sub(rc.At).Milliseconds(),
		HangupBy:        event.HangupBySystem,
		HangupCauseText: text,
		Outcome:         OutcomeFallback,
	})
	if err != nil {
		log.Error("event not recorded", zap.String("type", string(event.CallEnded)), zap.Error(err))
		return
	}
	for _, env := range []event.Envelope{started, endedEnv} {
		if err := s.sink.Publish(env); err != nil {
			log.Error("event not recorded", zap.String("type", string(env.Type)), zap.String("event_id", env.ID), zap.Error(err))
			return
		}
	}
	s.metrics.started.WithLabelValues("inbound").Inc()
	s.metrics.ended.WithLabelValues(OutcomeFallback, event.HangupBySystem).Inc()
}
