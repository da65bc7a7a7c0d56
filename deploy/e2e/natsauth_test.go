package e2e

// NATS with the production rules (issue 14): the services run in the
// production profile and need credentials, so the package runs ONE private
// nats-server with the rules rendered from casework/eventbus/access.go for
// any stream and one-token subject root (each test keeps its own), and each
// service connects as its own user.

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// busServer is the package's authenticated server (startBus in setup).
var busServer *natstest.AuthServer

// startBus starts the package's server; stop ends it and removes its store.
func startBus() (stop func(), err error) {
	dir, err := os.MkdirTemp("", "hotline-e2e-nats")
	if err != nil {
		return nil, err
	}
	busServer, err = natstest.LaunchAuth(dir, eventbus.WildcardScope(), "")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start the e2e nats-server: %w", err)
	}
	return func() { busServer.Stop(); _ = os.RemoveAll(dir) }, nil
}

// busURL is where the tests' streams live.
func busURL() string { return busServer.URL }

// serviceUser is the NATS user of a program the tests start.
func serviceUser(program string) string {
	switch program {
	case "casework":
		return eventbus.UserCasework
	case "hotlinectl":
		return eventbus.UserOperator
	default:
		return eventbus.UserCallService
	}
}

// natsCreds are a program's credentials as environment variables.
func natsCreds(program string) []string {
	u := serviceUser(program)
	return []string{"HOTLINE_NATS_USER=" + u, "HOTLINE_NATS_PASSWORD=" + busServer.Passwords[u]}
}

// natsAs connects to url as user (a test acting as that service).
func natsAs(t *testing.T, url, user string) *nats.Conn {
	t.Helper()
	cfg := busServer.As(eventbus.Config{URL: url}, user)
	opts, err := eventbus.DialOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, append(opts, nats.Timeout(5*time.Second))...)
	if err != nil {
		t.Fatalf("nats as %s: %v", user, err)
	}
	return nc
}
