package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/calendar"
)

// The calendar in force travels from casework (which keeps the imports in
// PostgreSQL) to the call service (which has no database) through a JetStream
// key-value bucket: the call service watches it, so an import reaches service
// hours and callback days within seconds, and the bucket keeps the last value
// while casework is down.

// CalendarKey is the bucket's only key: all imported notices in one value, so
// a watcher never sees half of an update.
const CalendarKey = "imported"

// CalendarBucket is the key-value bucket of a stream's hotline.
func CalendarBucket(stream string) string { return stream + "_CALENDAR" }

// CalendarSnapshot is the value under CalendarKey: the notices imported at run
// time (the embedded ones are in every binary) and the import revision they
// stand for.
type CalendarSnapshot struct {
	Revision    int64             `json:"revision"`
	Notices     []calendar.Notice `json:"notices"`
	PublishedAt time.Time         `json:"published_at"`
}

// Calendar builds the calendar of the snapshot on top of the embedded notices.
func (s CalendarSnapshot) Calendar() (*calendar.Calendar, error) {
	embedded, err := calendar.Embedded()
	if err != nil {
		return nil, err
	}
	return calendar.Build(calendar.Merge(embedded, s.Notices))
}

// PublishCalendar puts the snapshot into the bucket, creating it if needed.
func PublishCalendar(ctx context.Context, js jetstream.JetStream, bucket string, s CalendarSnapshot) error {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Description: "hotline working-day calendar: imported holiday notices", History: 5,
	})
	if err != nil {
		return fmt.Errorf("calendar bucket %s: %w", bucket, err)
	}
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode calendar snapshot: %w", err)
	}
	if _, err := kv.Put(ctx, CalendarKey, body); err != nil {
		return fmt.Errorf("publish calendar revision %d: %w", s.Revision, err)
	}
	return nil
}

// WatchCalendar calls apply with every snapshot put into the bucket, the
// current one first, until ctx ends. A missing bucket (casework has not run
// yet), a lost connection or a watcher that stops are retried every retry; a
// value that does not decode is logged and skipped, never applied.
func WatchCalendar(ctx context.Context, js jetstream.JetStream, bucket string, retry time.Duration, log *zap.Logger, apply func(CalendarSnapshot)) error {
	if retry <= 0 {
		retry = 10 * time.Second
	}
	for {
		err := watchCalendarOnce(ctx, js, bucket, log, apply)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			log.Debug("calendar bucket not there yet", zap.String("bucket", bucket))
		} else {
			log.Warn("calendar watch interrupted; retrying", zap.String("bucket", bucket), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
	}
}

func watchCalendarOnce(ctx context.Context, js jetstream.JetStream, bucket string, log *zap.Logger, apply func(CalendarSnapshot)) error {
	kv, err := js.KeyValue(ctx, bucket)
	if err != nil {
		return err
	}
	w, err := kv.Watch(ctx, CalendarKey)
	if err != nil {
		return fmt.Errorf("watch %s: %w", bucket, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watcher closed")
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // nil marks the end of the initial values
			}
			var s CalendarSnapshot
			if err := json.Unmarshal(e.Value(), &s); err != nil {
				log.Error("calendar snapshot does not decode; keeping the calendar in force",
					zap.Uint64("kv_revision", e.Revision()), zap.Error(err))
				continue
			}
			apply(s)
		}
	}
}

// SaveCalendarCache writes the snapshot to path atomically (fsynced), so a
// call service that restarts while NATS is down starts with the calendar it
// last had instead of the embedded floor alone.
func SaveCalendarCache(path string, s CalendarSnapshot) error {
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode calendar cache: %w", err)
	}
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("calendar cache dir: %w", err)
	}
	if err := writeFileSync(dir, name, body); err != nil {
		return fmt.Errorf("write calendar cache %s: %w", path, err)
	}
	return nil
}

// LoadCalendarCache reads what SaveCalendarCache wrote; os.ErrNotExist (wrapped)
// when there is none yet.
func LoadCalendarCache(path string) (CalendarSnapshot, error) {
	var s CalendarSnapshot
	body, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read calendar cache: %w", err)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return s, fmt.Errorf("calendar cache %s: %w", path, err)
	}
	return s, nil
}
