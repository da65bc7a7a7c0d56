package main

import (
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// config is everything the casework service reads from the environment.
type config struct {
	Profile     string
	LogLevel    string
	HTTPAddr    string
	DatabaseURL string
	Bus         eventbus.Config
	// Durable is the JetStream consumer name; every casework instance shares it.
	Durable string
}

func loadConfig(getenv func(string) string) (config, error) {
	e := svc.NewEnv(getenv)
	var c config
	c.Profile = e.OneOf("HOTLINE_PROFILE", svc.ProfileProduction, svc.ProfileDemo, svc.ProfileProduction)
	c.LogLevel = e.Str("HOTLINE_LOG_LEVEL", "info")
	c.HTTPAddr = e.Str("HOTLINE_CASEWORK_HTTP_ADDR", "127.0.0.1:9102")
	c.DatabaseURL = e.Required("HOTLINE_DATABASE_URL")
	c.Bus = eventbus.Config{
		URL:         e.Str("HOTLINE_NATS_URL", "nats://127.0.0.1:4222"),
		Stream:      e.Str("HOTLINE_STREAM", "HOTLINE"),
		SubjectRoot: e.Str("HOTLINE_SUBJECT_ROOT", event.DefaultSubjectRoot),
	}
	c.Durable = e.Str("HOTLINE_CONSUMER", "casework")
	if err := e.Err(); err != nil {
		return c, err
	}
	return c, c.Bus.Validate()
}
