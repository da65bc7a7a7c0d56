package main

import (
	"path/filepath"
	"time"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// config is everything the call service reads from the environment.
type config struct {
	Profile   string
	LogLevel  string
	HTTPAddr  string
	DataDir   string
	SoundsDir string
	SpoolDir  string
	ARI       ari.Config
	Bus       eventbus.Config
	// DrainTimeout is how long live calls may go on after SIGTERM before they are
	// ended; new calls go to the dialplan fallback meanwhile.
	DrainTimeout time.Duration
	MaxCallTime  time.Duration
}

func loadConfig(getenv func(string) string) (config, error) {
	e := svc.NewEnv(getenv)
	var c config
	c.Profile = e.OneOf("HOTLINE_PROFILE", svc.ProfileProduction, svc.ProfileDemo, svc.ProfileProduction)
	c.LogLevel = e.Str("HOTLINE_LOG_LEVEL", "info")
	c.HTTPAddr = e.Str("HOTLINE_CALLSVC_HTTP_ADDR", "127.0.0.1:9101")
	c.DataDir = e.Str("HOTLINE_DATA_DIR", "/var/lib/hotline12345")
	c.SoundsDir = e.Str("HOTLINE_SOUNDS_DIR", filepath.Join(c.DataDir, "sounds", "hotline"))
	c.SpoolDir = e.Str("HOTLINE_SPOOL_DIR", filepath.Join(c.DataDir, "spool", "callsvc"))
	c.ARI = ari.Config{
		URL:          e.Str("HOTLINE_ARI_URL", "http://127.0.0.1:8088/ari"),
		Username:     e.Required("HOTLINE_ARI_USER"),
		Password:     e.Secret("HOTLINE_ARI_PASSWORD", c.Profile),
		Application:  e.Str("HOTLINE_ARI_APP", "hotline"),
		DrainContext: e.Str("HOTLINE_DRAIN_CONTEXT", "from-carrier"),
	}
	c.Bus = eventbus.Config{
		URL:         e.Str("HOTLINE_NATS_URL", "nats://127.0.0.1:4222"),
		Stream:      e.Str("HOTLINE_STREAM", "HOTLINE"),
		SubjectRoot: e.Str("HOTLINE_SUBJECT_ROOT", event.DefaultSubjectRoot),
	}
	c.DrainTimeout = e.Duration("HOTLINE_DRAIN_TIMEOUT", 30*time.Second)
	c.MaxCallTime = e.Duration("HOTLINE_MAX_CALL_TIME", 2*time.Hour)
	if err := e.Err(); err != nil {
		return c, err
	}
	if err := c.ARI.Validate(); err != nil {
		return c, err
	}
	return c, c.Bus.Validate()
}
