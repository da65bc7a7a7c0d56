package eventbus_test

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// BenchmarkPublish measures what durability costs: events through the spooling
// publisher (fsync to disk, then JetStream, then delete) against a direct
// JetStream publish of the same events (the baseline, in the same run).
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	cfg := natstest.Config(b, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := eventbus.EnsureStream(ctx, js, cfg); err != nil {
		b.Fatal(err)
	}
	mk := func() event.Envelope {
		env, err := event.New(event.CallStarted, "bench", "c-1", event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
		if err != nil {
			b.Fatal(err)
		}
		return env
	}
	var base time.Duration
	b.Run("direct", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			env := mk()
			data, _ := json.Marshal(env)
			if _, err := js.Publish(ctx, event.Subject(cfg.SubjectRoot, env.Type), data, jetstream.WithMsgID(env.ID)); err != nil {
				b.Fatal(err)
			}
		}
		base = time.Since(start) / time.Duration(b.N)
	})
	b.Run("spooled", func(b *testing.B) {
		pub, err := eventbus.NewPublisher(nc, cfg, b.TempDir(), zap.NewNop(), eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { _ = pub.Run(rctx) }()
		start := time.Now()
		for b.Loop() {
			if err := pub.Publish(mk()); err != nil {
				b.Fatal(err)
			}
		}
		for pub.Depth() > 0 {
			time.Sleep(time.Millisecond)
		}
		per := time.Since(start) / time.Duration(b.N)
		if base > 0 {
			b.ReportMetric(float64(per)/float64(base), "x_direct")
		}
	})
}

// BenchmarkSpoolGroupCommit measures Publish (spooling only: nothing is sent)
// from 32 concurrent calls with group commit against one file and two
// fsyncs per event (the baseline, in the same run); x_per_event is the ratio
// of time per event (below 1: group commit is faster).
func BenchmarkSpoolGroupCommit(b *testing.B) {
	cfg := natstest.Config(b, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	mk := func() event.Envelope {
		env, err := event.New(event.CallStarted, "bench", "c-1", event.CallStartedPayload{Caller: "13800138000", Called: "12345", Direction: "inbound"})
		if err != nil {
			b.Fatal(err)
		}
		return env
	}
	run := func(b *testing.B, perEvent bool) time.Duration {
		pub, err := eventbus.NewPublisher(nc, cfg, b.TempDir(), zap.NewNop(), eventbus.NewPublisherMetrics(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		if perEvent {
			eventbus.PerEventSync(pub)
		}
		b.SetParallelism(32 / max(1, runtime.GOMAXPROCS(0))) // 32 publishers, as many calls
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := pub.Publish(mk()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		return time.Since(start) / time.Duration(b.N)
	}
	var base time.Duration
	b.Run("per_event_fsync", func(b *testing.B) { base = run(b, true) })
	b.Run("group_commit", func(b *testing.B) {
		per := run(b, false)
		if base > 0 {
			b.ReportMetric(float64(per)/float64(base), "x_per_event")
		}
	})
}
