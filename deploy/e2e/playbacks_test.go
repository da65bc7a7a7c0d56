package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
	"github.com/CyCoreSystems/ari/v5/client/native"
)

// playbackWatch records every playback Asterisk starts, on any channel, from
// ARI's own events: an ARI application of the test's, subscribed to all of
// Asterisk's events. It is the proof that a prompt was played on a call.
// Asterisk's log files cannot be it: they keep verbose messages up to level 2
// only, because the dial code logs a satisfaction callback's dial string, the
// caller's number, at level 3 (issue 14, docs/security.md), and the
// "Playing '…'" lines are level 3 too.
type playbackWatch struct {
	mu      sync.Mutex
	started []ariv5.PlaybackData
}

// watchPlaybacks starts recording before the test's call is placed (a playback
// started before it would be missed) and stops when the test ends.
func watchPlaybacks(t *testing.T) *playbackWatch {
	t.Helper()
	cl, err := native.Connect(&native.Options{
		Application:  fmt.Sprintf("e2e-playbacks-%d-%s", time.Now().UnixNano(), filepath.Base(t.Name())),
		URL:          fmt.Sprintf("http://127.0.0.1:%d/ari", st.httpPort),
		WebsocketURL: fmt.Sprintf("ws://127.0.0.1:%d/ari/events", st.httpPort),
		Username:     st.ariUser,
		Password:     st.ariPass,
		SubscribeAll: true,
	})
	if err != nil {
		t.Fatalf("ARI connection for the playback watch: %v", err)
	}
	w := &playbackWatch{}
	sub := cl.Bus().Subscribe(nil, ariv5.Events.PlaybackStarted)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.Events():
				if !ok {
					return
				}
				if ps, ok := e.(*ariv5.PlaybackStarted); ok {
					w.mu.Lock()
					w.started = append(w.started, ps.Playback)
					w.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		sub.Cancel()
		cl.Close()
	})
	return w
}

// played tells whether media was started on the channel with this ID.
func (w *playbackWatch) played(channelID, media string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.ContainsFunc(w.started, func(p ariv5.PlaybackData) bool {
		return p.TargetURI == "channel:"+channelID && p.MediaURI == media
	})
}

// waitPromptPlayed waits until Asterisk has started the prompt on this
// hotline's (first) call.
func (h *hotline) waitPromptPlayed(w *playbackWatch, prompt string) {
	h.t.Helper()
	h.waitEventType("call.started", 30*time.Second)
	var callID string
	if err := h.pool.QueryRow(context.Background(),
		`SELECT call_id FROM events WHERE type = 'call.started' ORDER BY occurred_at LIMIT 1`).Scan(&callID); err != nil {
		h.t.Fatalf("the call's ID: %v", err)
	}
	media := "sound:" + filepath.Join(st.dataDir, "sounds", "hotline", prompt)
	eventually(h.t, 30*time.Second, "the "+prompt+" prompt played on call "+callID, func() bool {
		return w.played(callID, media)
	})
}
