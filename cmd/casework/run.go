package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/calendarsync"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/escalation"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/notify/webhook"
	"github.com/hotline12345/hotline/casework/policy"
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

	// The embedded notices until the first calendar pass lays the imported
	// ones over them (before the API serves, below).
	cal, err := calendar.Load()
	if err != nil {
		return fmt.Errorf("working-day calendar: %w", err)
	}
	calSource := calendar.NewSource(cal)
	prof, err := policy.Load(cfg.Policy)
	if err != nil {
		return err
	}

	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	// Bounded database work: a dial, a statement, a transaction left idle.
	pcfg.ConnConfig.ConnectTimeout = cfg.DBConnectTimeout
	pcfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(cfg.DBStatementTimeout.Milliseconds())
	pcfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = fmt.Sprint((2 * cfg.DBStatementTimeout).Milliseconds())
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	applied, err := migrate(mctx, pool, cfg)
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
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}

	// The case side: repository with the escalation due index, the use cases, the
	// projections that let call events change cases, the outbox relay and the
	// scheduler.
	rules := escalation.Rules{Policy: prof, Calendar: calSource}
	cases := store.NewCases(pool, store.WithDue(rules.Due), store.WithSource("casework/"+host))
	units := store.NewUnits(pool, nil)
	service := app.New(app.Config{Repo: cases, Policy: prof, Calendar: calSource, Source: "casework/" + host, Regions: cfg.Regions,
		Units: func(ctx context.Context, id string) (domain.Unit, error) {
			u, err := units.Get(ctx, id)
			if err != nil {
				return domain.Unit{}, err
			}
			if !u.Active {
				return domain.Unit{}, &domain.ValidationError{Field: "unit", Value: id, Reason: "unit is no longer active"}
			}
			return u.Unit, nil
		}})
	events := store.NewEventStore(pool)
	caseProjector := cases.CaseProjector(service.CallEventChange, func(env event.Envelope, err error) {
		log.Warn("call event did not change its case", zap.String("event_id", env.ID), zap.String("type", string(env.Type)),
			zap.String("call_id", env.CallID), zap.String("case_id", env.CaseID), zap.Error(err))
	})
	for _, t := range []event.Type{event.CallEnded, event.VoicemailLeft, event.FaxReceived, event.RecordingSaved, event.CallbackResult} {
		events.Project(t, caseProjector)
	}
	events.Project(event.ThreeWayFailed, store.DutyLineFailureProjector)
	// Agent queue: call_agents, queue_abandons, call_recordings (0005).
	store.RegisterRoutingProjections(events)
	store.RegisterVoiceProjections(events) // voice services: voicemails and faxes tables
	relay := store.NewOutboxRelay(pool, js, cfg.Bus.SubjectRoot, log, reg)
	scheduler := &escalation.Scheduler{Store: cases, Rules: rules, Metrics: escalation.NewMetrics(reg),
		Log: log.Named("escalation"), Interval: cfg.EscalationInterval}
	// Working-day calendar: imported notices in force, shared with the call
	// service through the KV bucket, provisional deadlines recomputed.
	calendars := store.NewCalendars(pool)
	calBucket := eventbus.CalendarBucket(cfg.Bus.Stream)
	calSync := calendarsync.New(calendarsync.Syncer{Source: calSource, Imports: calendars, Cases: cases,
		Recompute: service, Metrics: calendarsync.NewMetrics(reg, true), Log: log.Named("calendar"),
		Interval: cfg.CalendarRefresh,
		Publish: func(ctx context.Context, s eventbus.CalendarSnapshot) error {
			return eventbus.PublishCalendar(ctx, js, calBucket, s)
		}})
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = calSync.RunOnce(cctx)
	cancel()
	if err != nil {
		log.Error("calendar pass at start failed; serving on the embedded notices until the next", zap.Error(err))
	}

	apiSrv, err := api.New(api.Config{Pool: pool, Log: log.Named("api"), Registerer: reg, DutyLineTrunks: cfg.DutyLineTrunks})
	if err != nil {
		return err
	}
	apiSrv.MountCases(api.CaseRoutes{Service: service, Cases: cases, Reports: cases, SelfServiceToken: cfg.SelfServiceToken,
		CodeAttempts: store.NewCodeAttempts(pool), Idempotency: store.NewIdempotencyKeys(pool),
		Assessor: app.Assessor{Feed: cases, Units: func(ctx context.Context) ([]string, error) {
			all, err := units.All(ctx)
			if err != nil {
				return nil, err
			}
			var ids []string
			for _, u := range all {
				if u.Active && u.Level != domain.LevelCenter {
					ids = append(ids, u.ID)
				}
			}
			return ids, nil
		}}})

	voicemails, faxes := store.NewVoicemails(pool), store.NewFaxes(pool)
	apiSrv.MountVoicemails(api.VoicemailRoutes{Service: service, Voicemails: voicemails, Dir: cfg.VoicemailDir}) // voice services (T9)
	apiSrv.MountFaxes(api.FaxRoutes{Service: service, Faxes: faxes, Dir: cfg.FaxDir})                            // voice services (T11)
	// Supervisor screens (issue 13): wallboard from the call projections, the
	// case file's recordings from the call service's store.
	apiSrv.MountSupervise(api.SuperviseRoutes{Service: service, Boards: store.NewBoards(pool), RecordingsDir: cfg.RecordingsDir})
	apiSrv.MountCalendar(api.CalendarRoutes{Store: calendars, Source: calSource, Applied: calSync.Kick})
	// Units' portal (issue 13): inbox by deadline, notifications (written with
	// the case changes that cause them), webhooks delivered by the dispatcher.
	notes := store.NewNotifications(pool)
	apiSrv.MountPortal(api.PortalRoutes{Cases: cases, Notifications: notes, Calendar: calSource})
	hooks := &webhook.Dispatcher{Store: notes, Client: &http.Client{Timeout: cfg.Webhook.Timeout}, Log: log.Named("webhook"),
		Interval: cfg.Webhook.Interval, Backoff: cfg.Webhook.Backoff, MaxBackoff: cfg.Webhook.MaxBackoff,
		MaxAttempts: cfg.Webhook.Attempts}
	hooks.NewMetrics(reg)
	claims := &claimRecovery{Stores: map[string]claimRecoverer{"voicemail": voicemails, "fax": faxes},
		Timeout: cfg.ClaimTimeout, Interval: claimRecoveryInterval, Log: log.Named("claims")}

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
	ops.Mux.Handle(api.Prefix+"/", apiSrv.Handler())
	ops.Mux.Handle(api.Open311Prefix+"/", apiSrv.Handler())
	if err := mountDesk(cfg.Desk, pool, apiSrv, ops.Mux, log.Named("desk")); err != nil { // agent desktop (issue 12)
		return err
	}
	log.Info("casework service starting", zap.String("http", ops.Addr), zap.String("stream", cfg.Bus.Stream),
		zap.String("profile", cfg.Profile), zap.String("policy", prof.Name), zap.Int("calendar_last_year", calSource.LastYear()),
		zap.String("regions", cfg.Regions.Source), zap.Int("region_count", len(cfg.Regions.Codes())),
		zap.Bool("selfservice", cfg.SelfServiceToken != ""))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ops.Run(gctx) })
	g.Go(func() error { return consumer.Run(gctx, events) })
	g.Go(func() error { return relay.Run(gctx) })
	g.Go(func() error { return scheduler.Run(gctx) })
	g.Go(func() error { return claims.Run(gctx) })
	g.Go(func() error { return calSync.Run(gctx) })
	g.Go(func() error { return hooks.Run(gctx) })
	if err := g.Wait(); err != nil {
		return fmt.Errorf("casework service: %w", err)
	}
	log.Info("casework service stopped")
	return nil
}

// migrate applies the migrations as the schema owner: on the service's own pool
// when no separate owner is configured, otherwise on a short-lived connection
// of the owner's.
func migrate(ctx context.Context, pool *pgxpool.Pool, cfg config) ([]int, error) {
	if cfg.MigrateDatabaseURL == "" || cfg.MigrateDatabaseURL == cfg.DatabaseURL {
		return store.Migrate(ctx, pool)
	}
	owner, err := pgxpool.New(ctx, cfg.MigrateDatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("migration database: %w", err)
	}
	defer owner.Close()
	return store.Migrate(ctx, owner)
}
