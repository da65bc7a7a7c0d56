package ari

// Operations the agent queue (package routing) needs beyond the front door's:
// snooping on a channel (so a recording follows the caller across bridge
// changes), recordings that run in the background, and fetching a finished
// recording over ARI. (Bridge music and bridge playback would need Asterisk's
// chan_bridge_media, which modules.conf does not load: waiting callers get
// music on their own channel.)

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

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
	err := s.rest(ctx, "snoop", func() error {
		_, err := s.c.rest.Channel().Snoop(chKey(chID), id, &ariv5.SnoopOptions{
			App: s.c.cfg.Application, Spy: ariv5.Direction(spy), Whisper: ariv5.Direction(whisper),
		})
		return err
	})
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
	err := s.rest(ctx, "record", func() error {
		_, err := s.c.rest.Channel().Record(chKey(chID), o.Name, &ariv5.RecordingOptions{
			Format: o.Format, MaxDuration: o.MaxDuration, MaxSilence: o.MaxSilence,
			Beep: o.Beep, Terminate: o.TerminateOn, Exists: "fail",
		})
		return err
	})
	if err != nil {
		return "", err
	}
	return o.Name, nil
}

// StopRecording ends a live recording (the file is kept).
func (s *Session) StopRecording(ctx context.Context, name string) error {
	err := s.rest(ctx, "record_stop", func() error {
		return s.c.rest.LiveRecording().Stop(ariv5.NewKey(ariv5.LiveRecordingKey, name))
	})
	if err != nil && strings.Contains(err.Error(), ErrNotFound.Error()) {
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
	u := strings.TrimRight(c.cfg.URL, "/") + "/recordings/stored/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/file", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetch recording %s: %w", name, err)
	}
	defer resp.Body.Close()
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
	del, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	if err == nil {
		del.SetBasicAuth(c.cfg.Username, c.cfg.Password)
		if r, err := http.DefaultClient.Do(del); err == nil {
			r.Body.Close()
		}
	}
	_ = format // Asterisk serves the stored format; kept for the interface
	return nil
}
