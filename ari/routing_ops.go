package ari

// Operations the agent queue (package routing) needs beyond the front door's:
// snooping on a channel (so a recording follows the caller across bridge
// changes), recordings that run in the background, and fetching a finished
// recording over ARI. (Bridge music and bridge playback would need Asterisk's
// chan_bridge_media, which modules.conf does not load: waiting callers get
// music on their own channel.)

import (
	"context"
	"errors"
	"fmt"
	"go.uber.org/zap"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/google/uuid"
)

// Snoop creates a snoop channel on chID that enters our application owned by
// this session. spy is the direction heard (none, in, out, both); whisper the
// direction the snoop channel may speak into (normally none).
func (s *Session) Snoop(ctx context.Context, chID, spy, whisper string) (string, error) {
	id := uuid.NewString()
	s.mu.Lock()
	s.channel(id)
	s.mu.Unlock()
	s.own(ariv5.ChannelKey, id)
	err := s.rest(ctx, "snoop", http.MethodPost, chPath(chID, "snoop", id), &ariv5.SnoopOptions{
		App: s.c.cfg.Application, Spy: ariv5.Direction(spy), Whisper: ariv5.Direction(whisper),
	}, nil)
	if err != nil {
		s.mu.Lock()
		s.channel(id).info.HungUp = true
		s.mu.Unlock()
		return "", err
	}
	return id, nil
}

// WaitInApp waits until a channel this session created (snoop, originate) has
// entered the application, whatever its state.
func (s *Session) WaitInApp(ctx context.Context, id string) error {
	return s.wait(ctx, func() (bool, error) {
		if herr := s.hangupErr(id); herr != nil {
			return true, herr
		}
		return s.channels[id].inApp, nil
	})
}

// StartRecording starts recording chID in the background and returns at once;
// WaitRecording collects the result. The recording ends when the channel hangs
// up, StopRecording is called, or a limit in o passes.
func (s *Session) StartRecording(ctx context.Context, chID string, o RecordOptions) (string, error) {
	o = o.withDefaults()
	s.mu.Lock()
	s.recording(o.Name)
	s.mu.Unlock()
	s.own(ariv5.LiveRecordingKey, o.Name)
	err := s.chRest(ctx, "record", chID, http.MethodPost, chPath(chID, "record"), struct {
		Name        string `json:"name"`
		Format      string `json:"format"`
		MaxDuration int    `json:"maxDurationSeconds"`
		MaxSilence  int    `json:"maxSilenceSeconds"`
		IfExists    string `json:"ifExists,omitempty"`
		Beep        bool   `json:"beep"`
		TerminateOn string `json:"terminateOn,omitempty"`
	}{o.Name, o.Format, int(o.MaxDuration / time.Second), int(o.MaxSilence / time.Second), "fail", o.Beep, o.TerminateOn}, nil)
	if err != nil {
		return "", err
	}
	return o.Name, nil
}

// StopRecording ends a live recording (the file is kept).
func (s *Session) StopRecording(ctx context.Context, name string) error {
	err := s.rest(ctx, "record_stop", http.MethodPost, "/recordings/live/"+esc(name)+"/stop", nil, nil)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// WaitRecording waits for a recording started with StartRecording to finish.
func (s *Session) WaitRecording(ctx context.Context, name string) (RecordResult, error) {
	res := RecordResult{Name: name}
	err := s.wait(ctx, func() (bool, error) {
		r, ok := s.recordings[name]
		if !ok {
			return true, fmt.Errorf("recording %s: %w", name, ErrNotFound)
		}
		switch r.state {
		case "done":
			res.Duration, res.Talking, res.Silence = r.duration, r.talking, r.silence
			return true, nil
		case "failed":
			return true, fmt.Errorf("recording %s failed: %s", name, r.cause)
		}
		return false, nil
	})
	return res, err
}

// FetchRecording copies a finished (stored) recording from Asterisk to dst over
// ARI (GET /recordings/stored/{name}/file), then deletes it from Asterisk's
// spool. Going through ARI rather than the file system works with Asterisk on
// another machine.
func (c *Client) FetchRecording(ctx context.Context, name, format, dst string) error {
	path := "/recordings/stored/" + esc(name)
	resp, cancel, err := c.api.stream(ctx, http.MethodGet, path+"/file")
	if err != nil {
		return fmt.Errorf("fetch recording %s: %w", name, err)
	}
	defer cancel()
	defer drainClose(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch recording %s: %s", name, resp.Status)
	}
	tmp := dst + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("fetch recording %s: %w", name, err)
	}
	// Asterisk's copy is deleted below, so ours must be on disk first.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("fetch recording %s: fsync: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("fetch recording %s: %w", name, err)
	}
	if err := c.api.do(ctx, http.MethodDelete, path, nil, nil); err != nil && !errors.Is(err, ErrNotFound) {
		c.log.Warn("stored recording not deleted from Asterisk", zap.String("name", name), zap.Error(err))
	}
	_ = format // Asterisk serves the stored format; kept for the interface
	return nil
}
