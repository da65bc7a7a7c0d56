package svc

import (
	"time"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
)

// BusConfig reads the event bus settings both services share, with one
// default each:
//
//	HOTLINE_NATS_URL                 [nats://127.0.0.1:4222]
//	HOTLINE_STREAM                   [HOTLINE]
//	HOTLINE_SUBJECT_ROOT             [hotline]
//	HOTLINE_STREAM_REPLICAS          [1]     3 on a NATS cluster
//	HOTLINE_STREAM_MAX_AGE           [720h]  the database is the record
//	HOTLINE_STREAM_MAX_BYTES         [0]     0: bounded by age only
//	HOTLINE_STREAM_DUPLICATE_WINDOW  [24h]   covers a spooled event resent after an outage
//
// Only casework applies them to an existing stream (eventbus.Config.Manage).
func BusConfig(e *Env) eventbus.Config {
	c := eventbus.Config{
		URL:             e.Str("HOTLINE_NATS_URL", "nats://127.0.0.1:4222"),
		Stream:          e.Str("HOTLINE_STREAM", "HOTLINE"),
		SubjectRoot:     e.Str("HOTLINE_SUBJECT_ROOT", event.DefaultSubjectRoot),
		Replicas:        e.Int("HOTLINE_STREAM_REPLICAS", 1),
		MaxAge:          e.Duration("HOTLINE_STREAM_MAX_AGE", 30*24*time.Hour),
		MaxBytes:        int64(e.Int("HOTLINE_STREAM_MAX_BYTES", 0)),
		DuplicateWindow: e.Duration("HOTLINE_STREAM_DUPLICATE_WINDOW", eventbus.DefaultDuplicateWindow),
	}
	e.Check(c.Replicas < 1 || c.Replicas > 5, "HOTLINE_STREAM_REPLICAS must be 1 to 5")
	e.Check(c.MaxAge < time.Hour, "HOTLINE_STREAM_MAX_AGE must be at least 1h")
	e.Check(c.DuplicateWindow < time.Minute || c.DuplicateWindow > c.MaxAge,
		"HOTLINE_STREAM_DUPLICATE_WINDOW must be between 1m and HOTLINE_STREAM_MAX_AGE")
	return c
}
