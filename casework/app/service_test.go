package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/app/apptest"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/policy"
)

var _ app.Repository = (*apptest.Memory)(nil)

// memService is the service over the in-memory repository on a fixed clock.
func memService(t *testing.T, p policy.Profile) (*app.Service, *apptest.Memory) {
	t.Helper()
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	repo := apptest.NewMemory()
	now := time.Date(2026, 9, 25, 16, 0, 0, 0, cst) // Mid-Autumn day off, before the National Day holiday
	return app.New(app.Config{Repo: repo, Policy: p, Calendar: cal,
		Clock: func() time.Time { now = now.Add(time.Minute); return now },
		Units: func(_ context.Context, id string) (domain.Unit, error) {
			if id == d1.ID {
				return d1, nil
			}
			return domain.Unit{}, domain.ErrNotFound
		}}), repo
}

func TestDeadlinesAndExtensionCapsFollowThePolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		profile string
		mode    domain.HandlingMode
		due     string // deadline after transfer, Asia/Shanghai
		// extensions: working days asked in turn, and whether each is refused
		ask     []int
		refused []bool
	}{
		// 7 working days from Fri 25 Sep 2026 (the 2026 notice: 25-27 Sep Mid-Autumn
		// and 1-7 Oct National Day off, Sat 10 Oct a makeup working day): 28, 29,
		// 30 Sep, 8, 9, 10, 12 Oct; due at the end of Monday 12 Oct.
		{"shijiazhuang", domain.ModeWrittenTransfer, "2026-10-13T00:00:00+08:00", []int{5, 1}, []bool{false, true}},
		{"shijiazhuang", domain.ModePhoneTransfer, "2026-10-01T00:00:00+08:00", nil, nil},
		// Chongqing: no count cap, 30 working days in all (7 + 20 + 3).
		{"chongqing", domain.ModeWrittenTransfer, "", []int{20, 3, 1}, []bool{false, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.profile+"/"+string(tc.mode), func(t *testing.T) {
			p, err := policy.Load(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			svc, _ := memService(t, p)
			c, err := svc.Register(ctx, agent, app.RegisterInput{Content: "噪音扰民", Category: domain.CategoryComplaint,
				Region: "110101", Urgency: domain.UrgencyNormal, Confidentiality: domain.ConfidentialityNone,
				Channel: domain.ChannelPhone, HandlingMode: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			if c, err = svc.Transfer(ctx, agent, c.ID(), app.TransferInput{Lead: "D1", Mode: tc.mode}); err != nil {
				t.Fatal(err)
			}
			if tc.due != "" && c.Deadline().Format(time.RFC3339) != tc.due {
				t.Fatalf("deadline %s, want %s", c.Deadline().Format(time.RFC3339), tc.due)
			}
			if _, err := svc.Accept(ctx, d1User, c.ID(), ""); err != nil {
				t.Fatal(err)
			}
			for i, days := range tc.ask {
				_, err := svc.RequestExtension(ctx, d1User, c.ID(), days, "工程量大")
				if refused := errors.Is(err, domain.ErrExtensionLimit); refused != tc.refused[i] {
					t.Fatalf("extension %d (%d days): %v, want refused=%v", i, days, err, tc.refused[i])
				}
				if err == nil {
					before, _ := svc.Get(ctx, c.ID())
					after, err := svc.ApproveExtension(ctx, superv, c.ID(), "")
					if err != nil {
						t.Fatal(err)
					}
					if !after.Deadline().After(before.Deadline()) {
						t.Fatalf("extension did not move the deadline")
					}
				}
			}
		})
	}
}

func TestCompletionAsksForACallbackOnlyWithConsent(t *testing.T) {
	ctx := context.Background()
	p, _ := policy.Load(policy.Default)
	for _, consent := range []bool{true, false} {
		svc, repo := memService(t, p)
		c, err := svc.Register(ctx, agent, app.RegisterInput{Caller: domain.Caller{Phone: "13900139000"},
			Content: "噪音扰民", Category: domain.CategoryComplaint, Region: "110101", Urgency: domain.UrgencyNormal,
			Confidentiality: domain.ConfidentialityNone, Channel: domain.ChannelPhone,
			HandlingMode: domain.ModeWrittenTransfer, CallbackConsent: consent})
		if err != nil {
			t.Fatal(err)
		}
		id := c.ID()
		for _, step := range []func() (*domain.Case, error){
			func() (*domain.Case, error) { return svc.Transfer(ctx, agent, id, app.TransferInput{Lead: "D1"}) },
			func() (*domain.Case, error) { return svc.Accept(ctx, d1User, id, "") },
			func() (*domain.Case, error) { return svc.Reply(ctx, d1User, id, "已处理") },
			func() (*domain.Case, error) { return svc.Review(ctx, superv, id, app.ReviewInput{Accept: true}) },
			func() (*domain.Case, error) { return svc.LinkCall(ctx, agent, id, "node-3.3") },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
		n := 0
		for _, e := range repo.Events {
			if e.Type == event.CallbackRequested {
				n++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[consent]; n != want {
			t.Errorf("consent %v: %d callback requests, want %d", consent, n, want)
		}
	}
}
