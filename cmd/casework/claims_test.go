package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

type fakeRecoverer struct {
	mu      sync.Mutex
	results []fakeResult // one per pass; the last repeats
	cutoffs []time.Time
}

type fakeResult struct {
	linked, released int
	err              error
}

func (f *fakeRecoverer) RecoverStaleClaims(_ context.Context, before time.Time) (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cutoffs = append(f.cutoffs, before)
	r := f.results[min(len(f.cutoffs), len(f.results))-1]
	return r.linked, r.released, r.err
}

func (f *fakeRecoverer) passes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.cutoffs)
}

// TestClaimRecoveryLogsOnlyWhatHappened: a pass at start and then every interval,
// with the cut-off the timeout before now; Info when claims were settled, Error
// when the store failed, nothing when there was nothing to do; Run ends with its
// context.
func TestClaimRecoveryLogsOnlyWhatHappened(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rec := &fakeRecoverer{results: []fakeResult{{linked: 1, released: 2}, {err: errors.New("connection refused")}, {}}}
	core, logs := observer.New(zapcore.DebugLevel)
	r := &claimRecovery{Stores: map[string]claimRecoverer{"fax": rec}, Timeout: 5 * time.Minute,
		Interval: 10 * time.Millisecond, Log: zap.New(core), Clock: func() time.Time { return now }}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for rec.passes() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
	if rec.passes() < 5 {
		t.Fatalf("%d passes in 10s at a 10ms interval", rec.passes())
	}
	if want := now.Add(-5 * time.Minute); !rec.cutoffs[0].Equal(want) {
		t.Errorf("cut-off %v, want %v", rec.cutoffs[0], want)
	}

	entries := logs.AllUntimed()
	if len(entries) != 2 {
		t.Fatalf("logged %d entries, want 2 (settled, failed): %v", len(entries), entries)
	}
	info, fail := entries[0], entries[1]
	f := info.ContextMap()
	if info.Level != zapcore.InfoLevel || f["kind"] != "fax" || f["linked"] != int64(1) || f["released"] != int64(2) {
		t.Errorf("settled entry: %v %s %v", info.Level, info.Message, f)
	}
	if fail.Level != zapcore.ErrorLevel || !strings.Contains(fail.ContextMap()["error"].(string), "connection refused") {
		t.Errorf("failed entry: %v %s %v", fail.Level, fail.Message, fail.ContextMap())
	}
}

func TestConfigClaimTimeout(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 5 * time.Minute, "30s": 30 * time.Second, "0": 0, "-1m": 0, "soon": 0} {
		cfg, err := loadConfig(func(k string) string {
			return map[string]string{"HOTLINE_NATS_USER": "casework", "HOTLINE_NATS_PASSWORD": "nats-secret-for-tests", "HOTLINE_DATABASE_URL": "postgres://x/y", "HOTLINE_CLAIM_TIMEOUT": v}[k]
		})
		switch {
		case want == 0 && (err == nil || !strings.Contains(err.Error(), "HOTLINE_CLAIM_TIMEOUT")):
			t.Errorf("HOTLINE_CLAIM_TIMEOUT=%q: %v, want it refused", v, err)
		case want != 0 && (err != nil || cfg.ClaimTimeout != want):
			t.Errorf("HOTLINE_CLAIM_TIMEOUT=%q: %v %v, want %v", v, cfg.ClaimTimeout, err, want)
		}
	}
}
