package eventbus_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// The stream's limits are configuration: the managing service (casework)
// creates the stream with them and brings an existing stream up to them; the
// other service creates a missing stream but never resets one (an operator's
// or the owner's settings survive every restart of the call service).
func TestStreamSettingsAreConfiguration(t *testing.T) {
	ctx := context.Background()
	cfg := natstest.Config(t, natstest.URL())
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	info := func() jetstream.StreamConfig {
		t.Helper()
		s, err := js.Stream(ctx, cfg.Stream)
		if err != nil {
			t.Fatal(err)
		}
		i, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return i.Config
	}
	// The call service starts first: it creates the stream with the configured values.
	callsvc := cfg
	callsvc.MaxAge, callsvc.DuplicateWindow = 2*time.Hour, 30*time.Minute
	if _, err := eventbus.EnsureStream(ctx, js, callsvc); err != nil {
		t.Fatal(err)
	}
	if c := info(); c.MaxAge != 2*time.Hour || c.Duplicates != 30*time.Minute || c.Replicas != 1 {
		t.Fatalf("created with %v / %v / %d", c.MaxAge, c.Duplicates, c.Replicas)
	}
	// casework owns the settings and brings the stream up to its own.
	casework := cfg
	casework.Manage, casework.MaxAge, casework.MaxBytes, casework.DuplicateWindow = true, 3*time.Hour, 1<<30, time.Hour
	if _, err := eventbus.EnsureStream(ctx, js, casework); err != nil {
		t.Fatal(err)
	}
	if c := info(); c.MaxAge != 3*time.Hour || c.MaxBytes != 1<<30 || c.Duplicates != time.Hour {
		t.Fatalf("after the manager: %v / %d / %v", c.MaxAge, c.MaxBytes, c.Duplicates)
	}
	// A restart of the call service with its defaults resets nothing.
	if _, err := eventbus.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if c := info(); c.MaxAge != 3*time.Hour || c.Duplicates != time.Hour {
		t.Fatalf("the call service reset the stream: %v / %v", c.MaxAge, c.Duplicates)
	}
}
