package main

import (
	"context"
	"errors"
	"fmt"
	"net/http/pprof"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/calendarsync"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/cmd/internal/svc"
	"github.com/hotline12345/hotline/ivr"
	"github.com/hotline12345/hotline/ivr/prompts"
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
	// Crash recovery: every call in progress has a durable record; at each
	// (re)connect the calls an earlier process left are adopted or ended.
	recovery := cfg.Recovery
	journal, err := ari.NewJournal(recovery.CallsDir)
	if err != nil {
		return err
	}
	client.SetJournal(journal)
	// Working-day calendar: embedded notices, the last snapshot cached, then
	// whatever casework publishes (imports take effect without a restart).
	calFeed, err := newCalendarFeed(cfg.CalendarCache, eventbus.CalendarBucket(cfg.Bus.Stream),
		calendarsync.NewMetrics(reg, false), log.Named("calendar"))
	if err != nil {
		return fmt.Errorf("working-day calendar: %w", err)
	}
	cal := calFeed.source
	// ---- Human service (agent queue): built by the routing engineer's
	// cmd/callsvc/routing.go (settings in config.go). nil means no queue: callers get the voice menu.
	human, err := newHumanService(cfg, humanDeps{Log: log, Registerer: reg, ARI: client, Sink: pub, Source: source})
	if err != nil {
		return fmt.Errorf("human service: %w", err)
	}
	speech := &prompts.Renderer{Dir: cfg.SoundsDir}
	var lookup ivr.CaseLookup
	if cfg.CaseworkURL != "" && cfg.CaseworkToken != "" {
		lookup = newCaseworkClient(cfg.CaseworkURL, cfg.CaseworkToken)
	}
	var fax *ivr.FaxCatalogue
	if _, err := os.Stat(cfg.Fax.DocsDir); err == nil {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		fax, err = ivr.LoadFaxCatalogue(lctx, cfg.Fax)
		cancel()
		if err != nil {
			return err
		}
		for _, d := range fax.Documents() {
			log.Info("fax document", zap.String("number", d.ID), zap.String("title", d.Title), zap.Int("pages", d.Pages))
		}
	} else {
		log.Warn("fax service off: no catalogue directory", zap.String("dir", cfg.Fax.DocsDir))
	}
	front := ivr.NewService(ivr.Config{
		SoundsDir:   cfg.SoundsDir,
		Source:      source,
		MaxCallTime: cfg.MaxCallTime,
		Human:       human, // <- routing: the agent queue (ivr.HumanService)
		Hours: ivr.CalendarHours{Calendar: cal, Mode: cfg.ServiceMode, Office: cfg.OfficeHours,
			Always24h: cfg.Staffed24h},
		Menu:      cfg.Menu,
		Voicemail: cfg.Voicemail,
		Lookup:    lookup,
		Speech:    speech,
		Fax:       fax,
	}, pub, ivr.NewMetrics(reg), log)
	var callbacks *ivr.Callbacks
	var cbConsumer *eventbus.Consumer
	if cfg.Callback.Enabled {
		if cfg.CallbackDays == callbackWorkingDays {
			cfg.Callback.Days = cal // no callbacks on weekends and public holidays
		}
		if callbacks, err = ivr.NewCallbacks(cfg.Callback, front, ivr.ARIDialer{Client: client}, log); err != nil {
			return err
		}
		cbReg := prometheus.WrapRegistererWith(prometheus.Labels{"consumer": "callbacks"}, reg)
		if cbConsumer, err = eventbus.NewConsumer(nc, cfg.Bus, cfg.Callback.Durable, log.Named("callback"),
			eventbus.NewConsumerMetrics(cbReg)); err != nil {
			return err
		}
	}
	log.Info("voice services", zap.String("service_mode", cfg.ServiceMode.String()),
		zap.String("office_hours", cfg.OfficeHours.String()), zap.Bool("staffed_24h", cfg.Staffed24h),
		zap.Bool("human_service", human != nil), zap.Bool("selfservice", lookup != nil),
		zap.String("voicemail_dir", cfg.Voicemail.Dir), zap.Bool("callbacks", callbacks != nil),
		zap.String("callback_days", cfg.CallbackDays))

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
	attachHumanService(human, ops.Mux, nc) // routing: agents' API on the ops mux + screen pops on NATS
	// desktop: browser softphones (issue 12)
	phones := attachSoftphones(human, ops.Mux, cfg, log)
	ops.Mux.HandleFunc("GET /calendar", calFeed.handler(cfg))
	if cfg.Pprof {
		// Off by default: profiles expose internals and cost CPU while taken.
		ops.Mux.HandleFunc("/debug/pprof/", pprof.Index)
		ops.Mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		ops.Mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		ops.Mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		ops.Mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	calJS, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	log.Info("call service starting", zap.String("ari", cfg.ARI.URL), zap.String("http", ops.Addr),
		zap.String("profile", cfg.Profile), zap.String("stream", cfg.Bus.Stream),
		zap.Int("ari_max_conns", cfg.ARI.MaxConns), zap.Duration("ari_request_timeout", cfg.ARI.RequestTimeout),
		zap.Int("max_active_calls", cfg.ARI.MaxActiveCalls), zap.Bool("pprof", cfg.Pprof))

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
	g.Go(func() error { return calFeed.run(pubCtx, calJS) })
	if recovery.FallbackInbox != "" {
		// Messages callers left in the dialplan fallback reach the inbox.
		g.Go(func() error { return front.RunFallbackImport(pubCtx, recovery.FallbackInbox, recovery.FallbackScan) })
	}
	if phones != nil {
		g.Go(func() error { return phones.Run(ariCtx) })
	}
	// SIP guard (issue 14): blocks password guessers, reports contact takeovers.
	for _, fn := range startSIPGuard(cfg, reg, log) {
		g.Go(func() error { return fn(ariCtx) })
	}
	if callbacks != nil {
		// Requests are taken and new callbacks started until SIGTERM; calls in
		// progress then finish within the drain like any other call.
		g.Go(func() error { return cbConsumer.RunFiltered(ctx, callbacks, event.CallbackRequested) })
		g.Go(func() error { return callbacks.Run(ctx, callCtx) })
	}

	<-ctx.Done()
	draining.Store(true)
	client.Drain()
	log.Info("draining: new calls go to the fallback", zap.Int("active_calls", client.Active()), zap.Duration("timeout", cfg.DrainTimeout))
	dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	if err := client.Wait(dctx); err != nil {
		log.Warn("drain timeout: ending remaining calls", zap.Error(err))
	}
	cancel()
	if recovery.Handover {
		// Conversations and waiting callers need no process: leave them in
		// Asterisk for the next one (zero-downtime restart); callers in the
		// voice flow go to the fallback.
		client.Detach()
	}
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
