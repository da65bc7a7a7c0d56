// Command casework is the hotline's casework service: it stores every call and case
// event from NATS JetStream in PostgreSQL, drives cases through their lifecycle and
// serves the HTTP API for agents, supervisors and units. Configuration: config.go.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "casework:", err)
		os.Exit(1)
	}
}
