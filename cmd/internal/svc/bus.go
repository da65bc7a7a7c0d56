package svc

import (
	"fmt"
	"os"
	"strings"
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
//
// Credentials and TLS (BusCredentials) are read here too; outside the demo
// profile a service without NATS credentials refuses to start.
func BusConfig(e *Env, profile string) eventbus.Config {
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
	BusCredentials(e, profile, &c)
	return c
}

// BusCredentials reads who the program is on NATS and how it checks the
// server (issue 14):
//
//	HOTLINE_NATS_USER            the program's NATS user (callsvc, casework, hotlinectl)
//	HOTLINE_NATS_PASSWORD        its password, or
//	HOTLINE_NATS_PASSWORD_FILE   a file holding it (mode 0600; wins over the variable)
//	HOTLINE_NATS_CA_FILE         CA that signed the server's certificate (TLS on)
//	HOTLINE_NATS_CERT_FILE       client certificate for a server that asks for one
//	HOTLINE_NATS_KEY_FILE        and its key
//
// Outside the demo profile user and password are required, and a tls://
// URL needs the CA file (no fallback to the system's roots for a private CA
// that is then not checked at all).
func BusCredentials(e *Env, profile string, c *eventbus.Config) {
	c.User = e.Str("HOTLINE_NATS_USER", "")
	c.Password = e.Str("HOTLINE_NATS_PASSWORD", "")
	if f := e.Str("HOTLINE_NATS_PASSWORD_FILE", ""); f != "" {
		b, err := os.ReadFile(f)
		switch {
		case err != nil:
			e.Check(true, fmt.Sprintf("HOTLINE_NATS_PASSWORD_FILE: %v", err))
		case strings.TrimSpace(string(b)) == "":
			e.Check(true, "HOTLINE_NATS_PASSWORD_FILE "+f+" is empty")
		default:
			c.Password = strings.TrimSpace(string(b))
		}
	}
	c.CAFile = e.Str("HOTLINE_NATS_CA_FILE", "")
	c.CertFile = e.Str("HOTLINE_NATS_CERT_FILE", "")
	c.KeyFile = e.Str("HOTLINE_NATS_KEY_FILE", "")
	for key, f := range map[string]string{"HOTLINE_NATS_CA_FILE": c.CAFile, "HOTLINE_NATS_CERT_FILE": c.CertFile, "HOTLINE_NATS_KEY_FILE": c.KeyFile} {
		if f != "" {
			_, err := os.Stat(f)
			e.Check(err != nil, fmt.Sprintf("%s: %v", key, err))
		}
	}
	e.Check((c.CertFile == "") != (c.KeyFile == ""), "HOTLINE_NATS_CERT_FILE and HOTLINE_NATS_KEY_FILE go together")
	e.Check(c.User != "" && c.Password == "", "HOTLINE_NATS_USER is set without HOTLINE_NATS_PASSWORD or HOTLINE_NATS_PASSWORD_FILE")
	e.Check(c.User == "" && c.Password != "", "a NATS password is set without HOTLINE_NATS_USER")
	if profile == ProfileDemo {
		return
	}
	e.Check(c.User == "", "HOTLINE_NATS_USER and HOTLINE_NATS_PASSWORD(_FILE) are required outside the demo profile "+
		"(NATS without credentials lets anyone read callers' numbers and forge events; `hotlinectl nats-config` renders the server's users)")
	e.Check(c.Password != "" && len(c.Password) < 16, "the NATS password must be at least 16 characters outside the demo profile")
	for _, d := range DemoSecrets {
		e.Check(c.Password == d, "the NATS password is a demo value outside the demo profile")
	}
	e.Check(strings.HasPrefix(c.URL, "tls://") && c.CAFile == "", "a tls:// HOTLINE_NATS_URL needs HOTLINE_NATS_CA_FILE")
}
