// Package eventbus carries hotline events over NATS JetStream: the stream, a publisher
// that spools to disk so no event is lost while NATS is down, and a durable consumer
// that acknowledges an event only after its handler has committed it.
package eventbus

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
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
	// MaxBytes bounds the stream's size (0: no bound but MaxAge).
	MaxBytes int64
	// Replicas is the stream's replication in a NATS cluster (1 on one server).
	Replicas int
	// DuplicateWindow is how long JetStream remembers Nats-Msg-Id values. A spooled
	// event whose acknowledgement was lost is sent again when the broker is back,
	// possibly hours later: within the window the server drops the copy, outside
	// it the database's unique key still stores it once and the callbacks keep
	// their own record of requests done (ivr), so the default covers a day.
	DuplicateWindow time.Duration
	// Manage: this service owns the stream's settings and brings an existing
	// stream up to them (casework). Others only create it when missing, and never
	// reset what an operator or the owner set.
	Manage bool
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

	// User and Password are this service's NATS credentials (access.go has
	// what each user may do). Empty only in the demo profile against a
	// server without authorization.
	User     string
	Password string
	// CAFile verifies the server's certificate (tls:// URLs); CertFile and
	// KeyFile present a client certificate to a server that asks for one.
	CAFile   string
	CertFile string
	KeyFile  string
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
	if (c.User == "") != (c.Password == "") {
		problems = append(problems, "NATS user and password go together")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		problems = append(problems, "NATS client certificate and key go together")
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
		c.DuplicateWindow = min(DefaultDuplicateWindow, c.MaxAge) // JetStream refuses a window past the age
	}
	if c.Replicas == 0 {
		c.Replicas = 1
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
	opts, err := DialOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
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
		// Permission violations and refused logins arrive asynchronously: a
		// publish the rules deny is dropped by the server, and this is the
		// only place the service hears of it.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			f := []zap.Field{zap.String("user", cfg.User), zap.Error(err)}
			if sub != nil {
				f = append(f, zap.String("subject", sub.Subject))
			}
			log.Error("nats error", f...)
		}),
	)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", cfg.URL, err)
	}
	return nc, nil
}

// DialOptions are the credentials and TLS settings of cfg as nats.go options,
// for Connect and for the one-shot connections of hotlinectl. With a user the
// reply inbox is the user's own (InboxPrefix), the only one the rules let it
// subscribe to.
func DialOptions(cfg Config) ([]nats.Option, error) {
	var opts []nats.Option
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password), nats.CustomInboxPrefix(InboxPrefix(cfg.User)))
	}
	// Secure first: it replaces the TLS config the options below fill in.
	if cfg.CAFile != "" || cfg.CertFile != "" || strings.HasPrefix(cfg.URL, "tls://") {
		opts = append(opts, nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	if cfg.CAFile != "" {
		if _, err := os.Stat(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("nats CA file: %w", err)
		}
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	return opts, nil
}

// DefaultDuplicateWindow: a day of event IDs (see Config.DuplicateWindow).
const DefaultDuplicateWindow = 24 * time.Hour

// EnsureStream creates the stream if it is missing. An existing stream is
// brought up to the configured subjects, limits and replicas only by the
// service that manages it (Config.Manage), and only where they differ; others
// leave it as they find it.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg Config) (jetstream.Stream, error) {
	cfg = cfg.withDefaults()
	want := jetstream.StreamConfig{
		Name:        cfg.Stream,
		Description: "12345 hotline call and case events",
		Subjects:    []string{cfg.SubjectRoot + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.MaxAge,
		MaxBytes:    cfg.MaxBytes,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.DuplicateWindow,
	}
	if want.MaxBytes == 0 {
		want.MaxBytes = -1
	}
	s, err := js.Stream(ctx, cfg.Stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.Stream(ctx, cfg.Stream) // another service created it meanwhile
		}
	}
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", cfg.Stream, err)
	}
	if !cfg.Manage {
		return s, nil
	}
	have := s.CachedInfo().Config
	if slices.Equal(have.Subjects, want.Subjects) && have.MaxAge == want.MaxAge && have.MaxBytes == want.MaxBytes &&
		have.Replicas == want.Replicas && have.Duplicates == want.Duplicates {
		return s, nil
	}
	next := have
	next.Subjects, next.MaxAge, next.MaxBytes, next.Replicas, next.Duplicates =
		want.Subjects, want.MaxAge, want.MaxBytes, want.Replicas, want.Duplicates
	if s, err = js.UpdateStream(ctx, next); err != nil {
		return nil, fmt.Errorf("update stream %s to the configured limits: %w", cfg.Stream, err)
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
