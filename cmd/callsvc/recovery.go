package main

import (
	"path/filepath"
	"time"

	"github.com/hotline12345/hotline/cmd/internal/svc"
)

// Crash recovery and zero-downtime restart settings (issue 11), read from the
// environment with these defaults:
//
//	HOTLINE_CALLS_DIR        [<dir of HOTLINE_SPOOL_DIR>/calls]  one fsynced record per call in
//	                                  progress; the next process adopts or ends each call
//	HOTLINE_AGENTS_STATE     [<dir of HOTLINE_SPOOL_DIR>/agents.json]  agents' states, kept across restarts
//	HOTLINE_DRAIN_HANDOVER   [on]    at the end of the SIGTERM drain, agent conversations and
//	                                  waiting callers stay in Asterisk for the next process
//	                                  (off: they are hung up, as before)
//	HOTLINE_FALLBACK_MAILBOX [$HOTLINE_DATA_DIR/asterisk/dev/spool/voicemail/hotline/12345/INBOX]
//	                                  the dialplan fallback's native mailbox, imported into the
//	                                  voicemail inbox ("off": not imported)
//	HOTLINE_FALLBACK_SCAN    [10s]   how often that mailbox is scanned
type recoveryConfig struct {
	CallsDir      string
	AgentsState   string
	Handover      bool
	FallbackInbox string
	FallbackScan  time.Duration
}

func loadRecoveryConfig(getenv func(string) string, cfg config) (recoveryConfig, error) {
	e := svc.NewEnv(getenv)
	base := filepath.Dir(cfg.SpoolDir)
	r := recoveryConfig{
		CallsDir:      e.Str("HOTLINE_CALLS_DIR", filepath.Join(base, "calls")),
		AgentsState:   e.Str("HOTLINE_AGENTS_STATE", filepath.Join(base, "agents.json")),
		Handover:      e.OneOf("HOTLINE_DRAIN_HANDOVER", "on", "on", "off") == "on",
		FallbackInbox: e.Str("HOTLINE_FALLBACK_MAILBOX", filepath.Join(cfg.DataDir, "asterisk", "dev", "spool", "voicemail", "hotline", "12345", "INBOX")),
		FallbackScan:  e.Duration("HOTLINE_FALLBACK_SCAN", 10*time.Second),
	}
	if r.FallbackInbox == "off" {
		r.FallbackInbox = ""
	}
	e.Check(r.FallbackScan < time.Second, "HOTLINE_FALLBACK_SCAN must be at least 1s")
	e.Check(r.CallsDir == cfg.SpoolDir, "HOTLINE_CALLS_DIR must not be the event spool")
	return r, e.Err()
}
