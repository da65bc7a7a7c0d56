package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/cmd/internal/svc"
	"github.com/hotline12345/hotline/ivr"
)

// run wires the call service and blocks until ctx ends, then shuts down in two
// phases: first no new calls (they go to the dialplan fallback) while live ones
// finish, up to DrainTimeout; then the rest is ended and the event spool flushed.
func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log, err := svc.NewLogger("callsvc", cfg.LogLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	host, _ := os.Hostname()
	source := "callsvc/" + host

	reg := svc.NewRegistry()
	nc, err := eventbus.Connect(cfg.Bus, source, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	pub, err := eventbus.NewPublisher(nc, cfg.Bus, cfg.SpoolDir, log, eventbus.NewPublisherMetrics(reg))
	if err != nil {
		return err
	}
	client, err := ari.New(cfg.ARI, log, ari.NewMetrics(reg))
	if err != nil {
		return err
	}
	front := ivr.NewService(ivr.Config{SoundsDir: cfg.SoundsDir, Source: source, MaxCallTime: cfg.MaxCallTime},
		pub, ivr.NewMetrics(reg), log)

	var draining atomic.Bool
	ops, err := svc.NewOps(cfg.HTTPAddr, reg, func() error {
		switch {
		case draining.Load():
			return errors.New("draining")
		case !client.Connected():
			return errors.New("ARI not connected")
		}
		return nil
	}, log)
	if err != nil {
		return err
	}
	log.Info("call service starting", zap.String("ari", cfg.ARI.URL), zap.String("http", ops.Addr),
		zap.String("profile", cfg.Profile), zap.String("stream", cfg.Bus.Stream))

	// Contexts, from the inside out: calls outlive the ARI connection's ctx by the
	// drain; the publisher outlives the calls so their last events get out.
	callCtx, endCalls := context.WithCancel(context.WithoutCancel(ctx))
	defer endCalls()
	pubCtx, stopPub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPub()
	ariCtx, stopARI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopARI()

	var g errgroup.Group
	g.Go(func() error { return ops.Run(pubCtx) })
	g.Go(func() error { return pub.Run(pubCtx) })
	g.Go(func() error { return client.Run(ariCtx, callCtx, front) })

	<-ctx.Done()
	draining.Store(true)
	client.Drain()
	log.Info("draining: new calls go to the fallback", zap.Int("active_calls", client.Active()), zap.Duration("timeout", cfg.DrainTimeout))
	dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	if err := client.Wait(dctx); err != nil {
		log.Warn("drain timeout: ending remaining calls", zap.Error(err))
	}
	cancel()
	endCalls()
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = client.Wait(wctx)
	cancel()
	stopARI()

	// Give the spool a bounded moment to reach JetStream; what is left is sent at
	// the next start.
	deadline := time.Now().Add(5 * time.Second)
	for pub.Depth() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if d := pub.Depth(); d > 0 {
		log.Warn("events left in spool for the next start", zap.Int("count", d))
	}
	stopPub()
	if err := g.Wait(); err != nil {
		return fmt.Errorf("call service: %w", err)
	}
	log.Info("call service stopped")
	return nil
}
