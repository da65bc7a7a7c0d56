// Command callsvc is the hotline's call service: it drives Asterisk through ARI,
// answers 12345, runs the voice menu, queue and voice services, and publishes every
// call's case events to NATS JetStream. Configuration: see config.go and README.
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
		fmt.Fprintln(os.Stderr, "callsvc:", err)
		os.Exit(1)
	}
}
