package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/calendarsync"
	"github.com/hotline12345/hotline/casework/eventbus"
)

// calendarFeed keeps the call service's working-day calendar (service hours,
// callback days) in step with the notices operators import in casework: it
// starts from the embedded notices plus the last snapshot cached on disk,
// watches the KV bucket casework publishes to, and caches every snapshot it
// applies. With casework or NATS down it keeps the last calendar it had.
type calendarFeed struct {
	source  *calendar.Source
	cache   string
	bucket  string
	metrics *calendarsync.Metrics
	log     *zap.Logger
	rev     atomic.Int64 // revision in force; read by the ops handler
}

func newCalendarFeed(cachePath, bucket string, metrics *calendarsync.Metrics, log *zap.Logger) (*calendarFeed, error) {
	cal, err := calendar.Load()
	if err != nil {
		return nil, err
	}
	f := &calendarFeed{source: calendar.NewSource(cal), cache: cachePath, bucket: bucket, metrics: metrics, log: log}
	snap, err := eventbus.LoadCalendarCache(cachePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		log.Info("no cached calendar yet: embedded notices until casework's arrives", zap.String("cache", cachePath))
	case err != nil:
		// A damaged cache must not stop the hotline: the bucket brings it back.
		log.Warn("cached calendar unreadable; embedded notices until casework's arrives", zap.Error(err))
	default:
		f.apply(snap, false)
	}
	f.observe()
	return f, nil
}

// apply puts a snapshot in force if it builds, and caches it.
func (f *calendarFeed) apply(s eventbus.CalendarSnapshot, save bool) {
	cal, err := s.Calendar()
	if err != nil {
		f.log.Error("calendar snapshot does not build; keeping the one in force", zap.Int64("revision", s.Revision), zap.Error(err))
		return
	}
	f.source.Set(cal)
	f.rev.Store(s.Revision)
	f.observe()
	f.log.Info("calendar in force", zap.Int64("revision", s.Revision), zap.Int("official_last_year", cal.LastYear()))
	if save {
		if err := eventbus.SaveCalendarCache(f.cache, s); err != nil {
			f.log.Warn("calendar cache not written", zap.Error(err))
		}
	}
}

func (f *calendarFeed) observe() { f.metrics.Observe(f.source.Current(), time.Now(), f.rev.Load()) }

// run watches the bucket until ctx ends, and refreshes the gauges hourly (the
// days until a provisional year change with the date, not with imports).
func (f *calendarFeed) run(ctx context.Context, js jetstream.JetStream) error {
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.observe()
			}
		}
	}()
	return eventbus.WatchCalendar(ctx, js, f.bucket, 10*time.Second, f.log, func(s eventbus.CalendarSnapshot) { f.apply(s, true) })
}

// handler answers on the ops port what the call service decides for a moment:
// GET /calendar?at=2027-01-01T10:00:00+08:00 (default now) gives the working
// day, staffed (the service-hours decision callers get), whether the day is
// provisional and the calendar revision in force. Operators check an import
// with it; the tests too.
func (f *calendarFeed) handler(cfg config) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		if v := r.URL.Query().Get("at"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				http.Error(w, "at: want RFC 3339, e.g. 2027-01-01T10:00:00+08:00", http.StatusBadRequest)
				return
			}
			at = t
		}
		cal := f.source.Current()
		working, err := cal.IsWorkingDay(at)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		staffed, err := cal.Staffed(at, cfg.ServiceMode, cfg.OfficeHours, cfg.Staffed24h)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"at": at, "working_day": working, "staffed": staffed,
			"provisional": cal.Provisional(at), "revision": f.rev.Load(), "official_last_year": cal.LastYear()})
	}
}
