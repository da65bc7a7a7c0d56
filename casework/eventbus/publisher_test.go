package eventbus_test

import (
	"context"
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

// TestSpoolDepthWhenTheLoopOvertakesPublish: the sending loop lists the spool
// on its own schedule, so it can find, send and forget an event in the moment
// between Publish writing the file and Publish returning. The depth (Depth and
// the hotline_event_spool_depth gauge behind the spool backlog alert) must
// still come back to zero; counted after the write, it stayed one too high
// for ever.
func TestSpoolDepthWhenTheLoopOvertakesPublish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := natstest.Config(t, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := eventbus.EnsureStream(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	pub, err := eventbus.NewPublisher(nc, cfg, t.TempDir(), zaptest.NewLogger(t), eventbus.NewPublisherMetrics(reg))
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	eventbus.AfterSpoolWrite(pub, func() {
		n, err := eventbus.Drain(ctx, pub)
		if err != nil {
			t.Errorf("drain inside Publish: %v", err)
		}
		sent += n
	})

	const events = 3
	for range events {
		env, err := event.New(event.CallStarted, "test", "c-1", event.CallStartedPayload{Called: "12345", Direction: "inbound"})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(env); err != nil {
			t.Fatal(err)
		}
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sent != events || info.State.Msgs != events {
		t.Fatalf("sent %d, stream holds %d; want %d each", sent, info.State.Msgs, events)
	}
	if d := pub.Depth(); d != 0 {
		t.Errorf("Depth() = %d with every event sent", d)
	}
	if g := spoolDepth(t, reg); g != 0 {
		t.Errorf("hotline_event_spool_depth = %v with every event sent", g)
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
