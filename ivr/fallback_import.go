package ivr

// Messages left in the dialplan's fallback (SPEC T1: the call service down,
// draining or restarting → apology and Asterisk's own VoiceMail into mailbox
// 12345@hotline) reach the agents' inbox like any other: the call service scans
// that mailbox's INBOX, copies each complete message into the voicemail store
// (fsynced), sends call.voicemail_left with the caller's number, and only then
// deletes Asterisk's copy. The message ID is derived from Asterisk's own
// message ID, so an import interrupted after the event and before the delete
// is stored once when it runs again.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
)

// fallbackNS namespaces the IDs of imported fallback messages.
var fallbackNS = uuid.MustParse("6f1c2a4e-5b7d-4e8a-9c3f-12345a0fa11b")

// FallbackMessage is one message of the native mailbox, as its .txt describes it.
type FallbackMessage struct {
	Base     string // path without extension (…/INBOX/msg0000)
	MsgID    string // Asterisk's msg_id
	Caller   string // number, "" when withheld
	OrigTime time.Time
	Duration time.Duration
	Channel  string
}

// ID is the message's ID in the hotline's store.
func (m FallbackMessage) ID() string {
	return uuid.NewSHA1(fallbackNS, []byte(m.MsgID+"|"+strconv.FormatInt(m.OrigTime.Unix(), 10)+"|"+m.Channel)).String()
}

var callerIDNumber = regexp.MustCompile(`<([^>]*)>`)

// ParseFallbackMessage reads Asterisk's message information file. ok is false
// while the file is incomplete (no duration yet).
func ParseFallbackMessage(base string, txt []byte) (m FallbackMessage, ok bool) {
	m.Base = base
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(txt))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, ";") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, found := strings.Cut(line, "="); found {
			kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	dur, err := strconv.Atoi(kv["duration"])
	if err != nil {
		return m, false
	}
	m.Duration = time.Duration(dur) * time.Second
	if t, err := strconv.ParseInt(kv["origtime"], 10, 64); err == nil {
		m.OrigTime = time.Unix(t, 0).UTC()
	}
	m.MsgID, m.Channel = kv["msg_id"], kv["callerchan"]
	if m.MsgID == "" {
		m.MsgID = filepath.Base(base)
	}
	cid := kv["callerid"]
	if sub := callerIDNumber.FindStringSubmatch(cid); sub != nil {
		cid = sub[1]
	}
	cid = strings.Trim(cid, `" `)
	if anonymous(cid) || strings.EqualFold(cid, "unknown") {
		cid = ""
	}
	m.Caller = cid
	return m, true
}

// ImportFallbackMessages imports every complete message in inbox once;
// it returns how many were imported.
func (s *Service) ImportFallbackMessages(ctx context.Context, inbox string) (int, error) {
	entries, err := os.ReadDir(inbox)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil // no message was ever left
	}
	if err != nil {
		return 0, fmt.Errorf("fallback mailbox %s: %w", inbox, err)
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, "msg") && strings.HasSuffix(n, ".txt") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	imported := 0
	var errs []error
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		base := filepath.Join(inbox, strings.TrimSuffix(n, ".txt"))
		txt, err := os.ReadFile(base + ".txt")
		if err != nil {
			continue // deleted meanwhile
		}
		m, ok := ParseFallbackMessage(base, txt)
		if !ok {
			continue // Asterisk is still writing it
		}
		if st, err := os.Stat(base + ".wav"); err != nil || time.Since(st.ModTime()) < time.Second {
			continue // not complete yet
		}
		if err := s.importFallback(m); err != nil {
			s.metrics.fallbackImports.WithLabelValues("failed").Inc()
			errs = append(errs, err)
			continue
		}
		s.metrics.fallbackImports.WithLabelValues("imported").Inc()
		imported++
	}
	return imported, errors.Join(errs...)
}

// importFallback copies one message into the store, announces it and deletes
// Asterisk's copy — in that order, so that a failure at any step loses nothing.
func (s *Service) importFallback(m FallbackMessage) error {
	id := m.ID()
	log := s.log.With(zap.String("message_id", id), zap.String("asterisk_msg_id", m.MsgID))
	audio, err := os.ReadFile(m.Base + ".wav")
	if err != nil {
		return fmt.Errorf("fallback message %s: %w", m.Base, err)
	}
	meta := VoicemailMeta{MessageID: id, CallID: "fallback-" + m.MsgID, Caller: m.Caller, LeftAt: m.OrigTime,
		DurationMS: m.Duration.Milliseconds(), Format: "wav", EndedBy: "fallback"}
	if meta.LeftAt.IsZero() {
		meta.LeftAt = time.Now().UTC()
	}
	if lvl, err := measureWAV(bytes.NewReader(audio)); err == nil {
		meta.DurationMS, meta.VoicedMS = lvl.Duration.Milliseconds(), lvl.Voiced.Milliseconds()
	}
	dst := s.voicemailPath(meta)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("voicemail store: %w", err)
	}
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	if err := ari.WriteFileSync(dst+".json", mj, 0o640); err != nil {
		return fmt.Errorf("voicemail metadata: %w", err)
	}
	if err := ari.WriteFileSync(dst+".wav", audio, 0o640); err != nil {
		return fmt.Errorf("voicemail store: %w", err)
	}
	env, err := event.New(event.VoicemailLeft, s.cfg.Source, meta.CallID, event.VoicemailPayload{
		MessageID: id, Caller: m.Caller, URI: dst + ".wav", DurationMS: meta.DurationMS, Format: "wav", Reason: "fallback",
	})
	if err != nil {
		return err
	}
	env.Time = meta.LeftAt
	if err := s.sink.Publish(env); err != nil {
		return fmt.Errorf("fallback message %s: %w", id, err)
	}
	// Asterisk's copy goes only now: the message is stored and announced.
	for _, ext := range []string{".wav", ".WAV", ".gsm", ".txt"} {
		if err := os.Remove(m.Base + ext); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.Warn("fallback message left in Asterisk's mailbox", zap.Error(err))
		}
	}
	log.Info("fallback voicemail imported", zap.String("caller", event.MaskNumber(m.Caller)), zap.Int64("duration_ms", meta.DurationMS),
		zap.Time("left_at", meta.LeftAt))
	return nil
}

// RunFallbackImport imports fallback messages every interval until ctx ends.
func (s *Service) RunFallbackImport(ctx context.Context, inbox string, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.ImportFallbackMessages(ctx, inbox); err != nil {
			s.log.Error("fallback voicemail import", zap.Error(err))
		} else if n > 0 {
			s.log.Warn("messages left in the dialplan fallback imported into the inbox", zap.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
