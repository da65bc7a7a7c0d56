package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/ivr/prompts"
)

// VoicemailConfig configures messages (留言, SPEC T9).
type VoicemailConfig struct {
	// Dir is the durable store: messages go to Dir/YYYY/MM/DD/<id>.wav (date in
	// Asia/Shanghai) with <id>.json beside them.
	Dir string
	// MaxDuration bounds a message.
	MaxDuration time.Duration
	// MaxSilence ends a message after this much silence.
	MaxSilence time.Duration
	// MinVoiced is how much sound a message needs to be kept; less is
	// discarded as silence.
	MinVoiced time.Duration
}

func (c VoicemailConfig) withDefaults() VoicemailConfig {
	if c.MaxDuration <= 0 {
		c.MaxDuration = 120 * time.Second
	}
	if c.MaxSilence <= 0 {
		c.MaxSilence = 5 * time.Second
	}
	if c.MinVoiced <= 0 {
		c.MinVoiced = 400 * time.Millisecond
	}
	return c
}

// How a kept message ended, or why one was discarded (VoicemailPayload.Reason).
const (
	VMEndDTMF      = "dtmf"
	VMEndHangup    = "hangup"
	VMEndMaxLength = "max_length"
	VMEndSilence   = "silence_after_speech"

	VMDiscardSilence = "silence"
	VMDiscardError   = "error"
	// VMDiscardStoreFailed: the message could not be stored (disk full); the
	// recording stays in Asterisk's spool under vm-<message_id>.
	VMDiscardStoreFailed = "store_failed"
)

// VoicemailMeta is the metadata stored beside a message's audio.
type VoicemailMeta struct {
	MessageID  string    `json:"message_id"`
	CallID     string    `json:"call_id"`
	Caller     string    `json:"caller,omitempty"`
	LeftAt     time.Time `json:"left_at"`
	DurationMS int64     `json:"duration_ms"`
	VoicedMS   int64     `json:"voiced_ms"`
	Format     string    `json:"format"`
	EndedBy    string    `json:"ended_by"`
	Node       string    `json:"node,omitempty"`
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// voicemail takes a message: instructions, beep, recording until #, silence,
// the maximum length or hang-up. A hang-up keeps what was said; a message with
// no sound is discarded with a reason.
func (s *Service) voicemail(ctx context.Context, call *Call) error {
	ch := call.ChannelID()
	cfg := s.cfg.Voicemail
	call.SetOutcome(event.OutcomeVoicemail)
	call.S.FlushDigits(ch)
	if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.VoicemailInstructions)), false); err != nil {
		return err
	}
	// Keys pressed during the instructions must not end the message at once.
	call.S.FlushDigits(ch)
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("voicemail id: %w", err)
	}
	msgID := id.String()
	name := "vm-" + msgID
	// The message's recording is in the call's record: a process that dies
	// while the caller speaks leaves it to the next one, which stores it.
	_ = call.S.UpdateRecord(func(r *ari.CallRecord) {
		r.Phase, r.VMRecording, r.VMMessageID = ari.PhaseVoicemail, name, msgID
	})
	res, err := call.S.Record(ctx, ch, ari.RecordOptions{
		Name: name, Format: "wav", MaxDuration: cfg.MaxDuration, MaxSilence: cfg.MaxSilence,
		Beep: true, TerminateOn: "#",
	})
	if err != nil && ctx.Err() != nil && call.S.Detaching() && call.S.Alive(ch) {
		// SIGTERM's drain is over while the caller speaks: the recording goes
		// on in Asterisk and the next process stores it.
		call.S.Keep()
		return ari.ErrDetached
	}
	return s.keepVoicemail(ctx, call, msgID, name, res, err)
}

// keepVoicemail stores a finished message recording (or discards it with a
// reason), says so to a caller still there and ends the call.
func (s *Service) keepVoicemail(ctx context.Context, call *Call, msgID, name string, res ari.RecordResult, err error) error {
	ch := call.ChannelID()
	cfg := s.cfg.Voicemail
	if err != nil && !errors.Is(err, ari.ErrHangup) {
		s.discardVoicemail(call, msgID, 0, VMDiscardError)
		return fmt.Errorf("voicemail %s: %w", msgID, err)
	}
	endedBy := VMEndSilence
	switch {
	case res.HungUp || !call.S.Alive(ch):
		endedBy = VMEndHangup
	case strings.Contains(call.S.PendingDigits(ch), "#"):
		endedBy = VMEndDTMF
	case res.Duration >= cfg.MaxDuration-time.Second:
		endedBy = VMEndMaxLength
	}
	call.S.FlushDigits(ch)
	// The store works on the recording even when the caller is gone: the
	// call's context may end with the call, the message must not.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	meta, kept, err := s.storeVoicemail(sctx, call, msgID, name, endedBy)
	if err != nil {
		// Disk full or the like: Asterisk keeps the recording (its name is in
		// the log and the event), the caller hears an apology.
		s.metrics.storeFailures.WithLabelValues("voicemail").Inc()
		call.Log.Error("voicemail not stored; Asterisk's recording kept", zap.String("message_id", msgID),
			zap.String("asterisk_recording", name), zap.Error(err))
		s.discardVoicemail(call, msgID, 0, VMDiscardStoreFailed)
		if call.S.Alive(ch) {
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.SystemBusy)), false); err != nil {
				return err
			}
		}
		return nil
	}
	if !kept {
		s.discardVoicemail(call, msgID, meta.DurationMS, VMDiscardSilence)
		if call.S.Alive(ch) {
			if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.VoicemailTooShort)), false); err != nil {
				return err
			}
			return s.goodbye(ctx, call)
		}
		return nil
	}
	uri := s.voicemailPath(meta)
	_ = call.S.UpdateRecord(func(r *ari.CallRecord) { r.VMRecording, r.VMMessageID = "", "" })
	s.metrics.voicemails.WithLabelValues("left", endedBy).Inc()
	s.metrics.vmSeconds.Observe(float64(meta.DurationMS) / 1000)
	call.Emit(event.VoicemailLeft, event.VoicemailPayload{
		MessageID: msgID, Caller: meta.Caller, URI: uri + ".wav", DurationMS: meta.DurationMS,
		Format: "wav", Reason: endedBy,
	})
	call.Log.Info("voicemail left", zap.String("message_id", msgID), zap.Int64("duration_ms", meta.DurationMS),
		zap.Int64("voiced_ms", meta.VoicedMS), zap.String("ended_by", endedBy))
	if !call.S.Alive(ch) {
		return nil
	}
	if _, err := call.S.Play(ctx, ch, s.Sound(string(prompts.VoicemailSaved)), false); err != nil {
		return err
	}
	return s.goodbye(ctx, call)
}

func (s *Service) discardVoicemail(call *Call, msgID string, durMS int64, reason string) {
	s.metrics.voicemails.WithLabelValues("discarded", reason).Inc()
	call.Emit(event.VoicemailDiscarded, event.VoicemailPayload{
		MessageID: msgID, Caller: event.PresentedNumber(call.S.Caller().CallerNumber), DurationMS: durMS, Reason: reason,
	})
	call.Log.Info("voicemail discarded", zap.String("message_id", msgID), zap.String("reason", reason),
		zap.Int64("duration_ms", durMS))
}

// voicemailPath is the message's durable path without extension.
func (s *Service) voicemailPath(m VoicemailMeta) string {
	d := m.LeftAt.In(shanghai)
	return filepath.Join(s.cfg.Voicemail.Dir, d.Format("2006"), d.Format("01"), d.Format("02"), m.MessageID)
}

// storeVoicemail copies the recording out of Asterisk, measures it, and either
// stores it durably with its metadata (kept) or drops it. Asterisk's copy is
// deleted only when the message is safely stored (fsynced) or not worth
// keeping: when the store fails (disk full) it stays in Asterisk's recording
// spool under its name, nothing is lost.
func (s *Service) storeVoicemail(ctx context.Context, call *Call, msgID, name, endedBy string) (VoicemailMeta, bool, error) {
	meta := VoicemailMeta{MessageID: msgID, CallID: call.ID(), Caller: event.PresentedNumber(call.S.Caller().CallerNumber),
		LeftAt: time.Now().UTC(), Format: "wav", EndedBy: endedBy, Node: call.S.Node()}
	settled := false
	defer func() {
		if !settled {
			return
		}
		if err := call.S.DeleteRecording(ctx, name); err != nil {
			call.Log.Warn("recording left in Asterisk", zap.String("recording", name), zap.Error(err))
		}
	}()
	var audio bytes.Buffer
	_, err := call.S.CopyRecording(ctx, name, &audio)
	if errors.Is(err, ari.ErrRecordingMissing) {
		// Asterisk drops a recording that never received audio.
		return meta, false, nil
	}
	if err != nil {
		return meta, false, err
	}
	lvl, err := measureWAV(bytes.NewReader(audio.Bytes()))
	if err != nil {
		settled = true // not audio: nothing to keep
		return meta, false, fmt.Errorf("voicemail %s: %w", msgID, err)
	}
	meta.DurationMS, meta.VoicedMS = lvl.Duration.Milliseconds(), lvl.Voiced.Milliseconds()
	if lvl.Voiced < s.cfg.Voicemail.MinVoiced {
		settled = true
		return meta, false, nil
	}
	base := s.voicemailPath(meta)
	if err := os.MkdirAll(filepath.Dir(base), 0o750); err != nil {
		return meta, false, fmt.Errorf("voicemail store: %w", err)
	}
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return meta, false, err
	}
	// Audio first, metadata last: a .json never points at a missing .wav.
	if err := ari.WriteFileSync(base+".wav", audio.Bytes(), 0o640); err != nil {
		return meta, false, fmt.Errorf("voicemail store: %w", err)
	}
	if err := ari.WriteFileSync(base+".json", mj, 0o640); err != nil {
		_ = os.Remove(base + ".wav")
		return meta, false, fmt.Errorf("voicemail metadata: %w", err)
	}
	settled = true
	return meta, true, nil
}
