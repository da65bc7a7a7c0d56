package main

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api"
	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
	"github.com/hotline12345/hotline/routing"
)

// TestCaseworkResolvesCaseNumbers: the call service's casework client finds the
// case a call is linked to by its ID or by its case number (routing/openapi.yaml
// POST /agent/call/case), against the real casework API on its own database.
func TestCaseworkResolvesCaseNumbers(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	srv, err := api.New(api.Config{Pool: pool, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := policy.Load(policy.Default)
	if err != nil {
		t.Fatal(err)
	}
	cases := store.NewCases(pool)
	svc := app.New(app.Config{Repo: cases, Policy: prof, Calendar: cal,
		Units: func(context.Context, string) (domain.Unit, error) { return domain.Unit{}, domain.ErrNotFound }})
	srv.MountCases(api.CaseRoutes{Service: svc, Cases: cases, Assessor: app.Assessor{Feed: cases}})
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	users := store.NewUsers(pool)
	_, token := agentToken(t, users)
	agent := domain.Actor{ID: "1001", Role: domain.RoleAgent}
	in := app.RegisterInput{Content: "举报工地夜间施工", Category: domain.CategoryReport, Region: "110101",
		Urgency: domain.UrgencyNormal, Confidentiality: domain.ConfidentialityNone, Channel: domain.ChannelPhone,
		HandlingMode: domain.ModeWrittenTransfer}
	c, err := svc.Register(ctx, agent, in)
	if err != nil {
		t.Fatal(err)
	}
	// A second case whose content holds the first one's number: a text match
	// must not be taken for the case with that number.
	in.Content = "群众称此前案件 " + string(c.Number()) + " 未办结"
	in.Category = domain.CategoryComplaint
	if _, err := svc.Register(ctx, agent, in); err != nil {
		t.Fatal(err)
	}
	unknownDay := time.Now().AddDate(0, 0, -3).Format("20060102") + "9999"

	cw := routing.NewCasework(hs.URL, time.Minute)
	for _, tc := range []struct {
		name, ref string
		unknown   bool
	}{
		{name: "by ID", ref: c.ID()},
		{name: "by case number", ref: string(c.Number())},
		{name: "unknown case number", ref: unknownDay, unknown: true},
		{name: "unknown ID", ref: "0190f0f0-0000-7000-8000-000000000000", unknown: true},
		{name: "neither", ref: "case one", unknown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := cw.Case(ctx, token, tc.ref)
			if tc.unknown {
				if !errors.Is(err, routing.ErrUnknownCase) {
					t.Fatalf("%+v, %v; want ErrUnknownCase", ref, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ref.ID != c.ID() || ref.Number != string(c.Number()) || !ref.Confidential() {
				t.Fatalf("case %+v, want %s / %s, a report (confidential)", ref, c.ID(), c.Number())
			}
		})
	}
}

// A revoked token stops working on the call service at once: by default the
// agents' API asks casework on every request (HOTLINE_AGENT_AUTH_CACHE=0).
func TestRevokedTokenStopsAtOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	srv, err := api.New(api.Config{Pool: pool, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	users := store.NewUsers(pool)
	tok, secret := agentToken(t, users)
	cfg, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	rc := cfg.Routing
	if rc.AuthCache != 0 {
		t.Fatalf("default agent auth cache %v, want 0", rc.AuthCache)
	}
	cw := routing.NewCasework(hs.URL, rc.AuthCache)
	if id, err := cw.Verify(ctx, secret); err != nil || id.StaffNumber != "1001" {
		t.Fatalf("Verify before revocation: %+v, %v", id, err)
	}
	if _, err := users.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.Verify(ctx, secret); !errors.Is(err, routing.ErrUnauthorized) {
		t.Fatalf("Verify right after revocation: %v, want ErrUnauthorized", err)
	}
}

// agentToken creates agent 1001 and a bearer token for it.
func agentToken(t *testing.T, users *store.Users) (store.Token, string) {
	t.Helper()
	ctx := context.Background()
	u, err := users.Create(ctx, store.NewUser{Name: "张敏", Role: domain.RoleAgent, Staff: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := access.IssueToken(ctx, users, u.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}
