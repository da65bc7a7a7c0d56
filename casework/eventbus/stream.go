// Package eventbus carries hotline events over NATS JetStream: the stream, a publisher
// that spools to disk so no event is lost while NATS is down, and a durable consumer
// that acknowledges an event only after its handler has committed it.
package eventbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Config names the stream and where it lives. Tests give every run its own stream
// name and subject root, so runs never see each other's events.
type Config struct {
	URL string
	// Stream is the JetStream stream name (HOTLINE in production).
	Stream string
	// SubjectRoot is the first subject token (hotline in production).
	SubjectRoot string
	// MaxAge bounds how long the stream keeps events; the database is the record.
	MaxAge time.Duration
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Id values. A spooled
	// event republished within it is dropped by the server; outside it, the database's
	// unique key still stores it once.
	DuplicateWindow time.Duration
	// AckWait is how long the consumer's handler may take before JetStream
	// redelivers the event (tests shorten it).
	AckWait time.Duration
	// HandlerTimeout bounds one handling of one event (a hung database call
	// must not hold the consumer); default two thirds of AckWait.
	HandlerTimeout time.Duration
	// MaxAttempts is how many times an event may fail for a reason that is
	// not an outage (network, timeout) before it is parked in dead_events
	// as poison (default 10). An event that breaks the contract is parked
	// at once.
	MaxAttempts int
}

// Validate reports configuration mistakes before anything connects.
func (c Config) Validate() error {
	var problems []string
	if c.URL == "" {
		problems = append(problems, "NATS URL is empty")
	}
	if c.Stream == "" || strings.ContainsAny(c.Stream, " .*>") {
		problems = append(problems, fmt.Sprintf("stream name %q must be a non-empty token without . * >", c.Stream))
	}
	if c.SubjectRoot == "" || strings.ContainsAny(c.SubjectRoot, " *>") {
		problems = append(problems, fmt.Sprintf("subject root %q must be non-empty, without * >", c.SubjectRoot))
	}
	if len(problems) > 0 {
		return fmt.Errorf("eventbus config: %s", strings.Join(problems, "; "))
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.MaxAge == 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = c.AckWait * 2 / 3
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	return c
}

// Connect dials NATS. It does not fail when NATS is down at start: the connection
// keeps retrying in the background, and publishers spool meanwhile, because a broker
// outage must not stop the hotline from answering calls.
func Connect(cfg Config, name string, log *zap.Logger) (*nats.Conn, error) {
	nc, err := nats.Connect(cfg.URL,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", zap.Error(err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", zap.String("url", nc.ConnectedUrlRedacted()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", cfg.URL, err)
	}
	return nc, nil
}

// EnsureStream creates the stream or brings its configuration up to date.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	cfg = cfg.withDefaults()
	sc := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "12345 hotline call and case events",
		Subjects:    []string{cfg.SubjectRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.MaxAge,
		Duplicates:  cfg.DuplicateWindow,
	}
	s, err := js.CreateOrUpdateStream(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Stream, err)
	}
	return s, nil
}

// waitForJetStream retries EnsureStream until it works or ctx ends; services call it
// at start so that they come up in any order with NATS.
func waitForJetStream(ctx context.Context, js jetstream.JetStream, cfg Config, log *zap.Logger) (jetstream.Stream, error) {
	backoff := 200 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := EnsureStream(attempt, js, cfg)
		cancel()
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, errors.Join(ctx.Err(), err)
		}
		log.Warn("jetstream not ready, retrying", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
