package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// run wires the casework service and blocks until ctx ends. Migrations are applied
// at start (serialised across instances by an advisory lock).
func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log, err := svc.NewLogger("casework", cfg.LogLevel)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	host, _ := os.Hostname()

	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	applied, err := store.Migrate(mctx, pool)
	cancel()
	if err != nil {
		return err
	}
	log.Info("database migrated", zap.Ints("applied", applied))

	reg := svc.NewRegistry()
	nc, err := eventbus.Connect(cfg.Bus, "casework/"+host, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	consumer, err := eventbus.NewConsumer(nc, cfg.Bus, cfg.Durable, log, eventbus.NewConsumerMetrics(reg))
	if err != nil {
		return err
	}
	events := store.NewEventStore(pool)

	ops, err := svc.NewOps(cfg.HTTPAddr, reg, func() error {
		pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(pctx); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if !nc.IsConnected() {
			return fmt.Errorf("nats not connected")
		}
		return nil
	}, log)
	if err != nil {
		return err
	}
	log.Info("casework service starting", zap.String("http", ops.Addr), zap.String("stream", cfg.Bus.Stream),
		zap.String("profile", cfg.Profile))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ops.Run(gctx) })
	g.Go(func() error { return consumer.Run(gctx, events) })
	if err := g.Wait(); err != nil {
		return fmt.Errorf("casework service: %w", err)
	}
	log.Info("casework service stopped")
	return nil
}
