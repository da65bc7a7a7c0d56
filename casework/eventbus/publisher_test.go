package eventbus_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// TestSpoolDepthFollowsTheSpool: events published from several goroutines while
// the sending loop runs all reach the stream, and the depth (Depth and the
// hotline_event_spool_depth gauge) comes back to zero with the spool. The loop
// can send an event before Publish has finished with it; a depth counted after
// the file was written would then stay above zero for ever and page ops.
func TestSpoolDepthFollowsTheSpool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := natstest.Config(t, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	reg := prometheus.NewRegistry()
	m := eventbus.NewPublisherMetrics(reg)
	spool := t.TempDir()
	pub, err := eventbus.NewPublisher(nc, cfg, spool, zaptest.NewLogger(t), m)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = pub.Run(rctx) }()
	defer func() { stop(); <-done }()

	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				env, err := event.New(event.CallStarted, "test", "c-"+string(rune('a'+w)), event.CallStartedPayload{Called: "12345", Direction: "inbound"})
				if err != nil {
					t.Error(err)
					return
				}
				if err := pub.Publish(env); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()

	js, _ := jetstream.New(nc)
	for {
		s, err := js.Stream(ctx, cfg.Stream)
		if err == nil {
			info, err := s.Info(ctx)
			if err == nil && info.State.Msgs == writers*each {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the stream never held all %d events", writers*each)
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Everything is in the stream: the spool empties and the depth must follow.
	var files int
	for {
		entries, err := os.ReadDir(spool)
		if err != nil {
			t.Fatal(err)
		}
		files = 0
		for _, e := range entries {
			if !e.IsDir() {
				files++
			}
		}
		if files == 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if files != 0 {
		t.Fatalf("%d files left in the spool", files)
	}
	if d := pub.Depth(); d != 0 {
		t.Errorf("Depth() = %d with an empty spool", d)
	}
	if g := spoolDepth(t, reg); g != 0 {
		t.Errorf("hotline_event_spool_depth = %v with an empty spool", g)
	}
}

// spoolDepth reads the hotline_event_spool_depth gauge from reg.
func spoolDepth(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "hotline_event_spool_depth" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no hotline_event_spool_depth gauge")
	return 0
}
