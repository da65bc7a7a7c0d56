package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/app"
	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/policy"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

var (
	cst    = time.FixedZone("CST", 8*3600)
	agent  = domain.Actor{ID: "1001", Role: domain.RoleAgent}
	superv = domain.Actor{ID: "s01", Role: domain.RoleSupervisor}
	d1     = domain.Unit{ID: "D1", Name: "东区人民政府", Level: domain.LevelDepartment, ParentID: "C"}
	d1User = domain.Actor{ID: "u-d1", Role: domain.RoleUnit, UnitID: "D1"}
)

type fixture struct {
	pool    *pgxpool.Pool
	cases   *store.Cases
	svc     *app.Service
	events  *store.EventStore
	mu      sync.Mutex
	skipped []error
	now     time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pool: pool, cases: store.NewCases(pool), now: time.Date(2026, 3, 2, 9, 0, 0, 0, cst)}
	f.svc = f.serviceOn(t, cal)
	f.events = store.NewEventStore(pool)
	proj := f.cases.CaseProjector(f.svc.CallEventChange, func(_ event.Envelope, err error) {
		f.mu.Lock()
		f.skipped = append(f.skipped, err)
		f.mu.Unlock()
	})
	for _, typ := range []event.Type{event.CallEnded, event.VoicemailLeft, event.FaxReceived, event.RecordingSaved, event.CallbackResult} {
		f.events.Project(typ, proj)
	}
	f.events.Project(event.ThreeWayFailed, store.DutyLineFailureProjector)
	return f
}

// serviceOn is the fixture's service on a calendar, with its clock and unit D1.
func (f *fixture) serviceOn(t *testing.T, cal app.Calendar) *app.Service {
	t.Helper()
	prof, err := policy.Load(policy.Default)
	if err != nil {
		t.Fatal(err)
	}
	return app.New(app.Config{Repo: f.cases, Policy: prof, Calendar: cal,
		Clock: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.now = f.now.Add(time.Minute)
			return f.now
		},
		Units: func(_ context.Context, id string) (domain.Unit, error) {
			if id == d1.ID {
				return d1, nil
			}
			return domain.Unit{}, domain.ErrNotFound
		}})
}

func (f *fixture) completedCase(t *testing.T) *domain.Case {
	t.Helper()
	ctx := context.Background()
	c, err := f.svc.Register(ctx, agent, app.RegisterInput{
		Caller: domain.Caller{Phone: "13900139000"}, Content: "噪音扰民", Category: domain.CategoryComplaint,
		Region: "110101", Urgency: domain.UrgencyNormal, Confidentiality: domain.ConfidentialityNone,
		Channel: domain.ChannelPhone, HandlingMode: domain.ModeWrittenTransfer, CallbackConsent: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() (*domain.Case, error){
		func() (*domain.Case, error) { return f.svc.Transfer(ctx, agent, c.ID(), app.TransferInput{Lead: "D1"}) },
		func() (*domain.Case, error) { return f.svc.Accept(ctx, d1User, c.ID(), "") },
		func() (*domain.Case, error) { return f.svc.Reply(ctx, d1User, c.ID(), "已处理") },
		func() (*domain.Case, error) { return f.svc.Review(ctx, superv, c.ID(), app.ReviewInput{Accept: true}) },
	}
	for _, s := range steps {
		if c, err = s(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func envelope(t *testing.T, typ event.Type, callID, caseID string, payload any) event.Envelope {
	t.Helper()
	env, err := event.New(typ, "callservice", callID, payload)
	if err != nil {
		t.Fatal(err)
	}
	env.CaseID = caseID
	return env
}

func TestCallEventsChangeCasesExactlyOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.completedCase(t)
	at := time.Now()
	evs := []event.Envelope{
		envelope(t, event.CallEnded, "node-1.1", c.ID(), event.CallEndedPayload{StartedAt: at, EndedAt: at, Outcome: "agent"}),
		envelope(t, event.RecordingSaved, "node-1.1", c.ID(), event.RecordingSavedPayload{RecordingID: "rec-1", URI: "file:///rec/1.wav"}),
		envelope(t, event.VoicemailLeft, "node-1.2", c.ID(), event.VoicemailPayload{MessageID: "vm-1", URI: "file:///vm/1.wav"}),
		envelope(t, event.FaxReceived, "node-1.3", c.ID(), event.FaxPayload{FaxID: "fax-1", Status: "success", URI: "file:///fax/1.tif"}),
		// A survey attempt that did not reach anyone is not a result.
		envelope(t, event.CallbackResult, "node-1.4", "", event.CallbackPayload{CaseNumber: string(c.Number()), Attempt: 1, Result: "no_answer"}),
		// The citizen is dissatisfied: the case reopens.
		envelope(t, event.CallbackResult, "node-1.5", "", event.CallbackPayload{CaseNumber: string(c.Number()), Attempt: 2, Result: "dissatisfied"}),
		envelope(t, event.ThreeWayFailed, "node-1.6", "", event.ThreeWayPayload{UnitID: "D1", DutyLine: "PJSIP/8801@dutylines", Reason: "no_answer"}),
		// Unknown cases are stored as events and skipped, not retried forever.
		envelope(t, event.CallEnded, "node-1.7", "no-such-case", event.CallEndedPayload{StartedAt: at, EndedAt: at}),
	}
	for range 2 { // the second round is a redelivery of everything
		for _, env := range evs {
			if err := f.events.Handle(ctx, env); err != nil {
				t.Fatalf("%s: %v", env.Type, err)
			}
		}
	}
	got, err := f.cases.Get(ctx, c.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got.State() != domain.StateTransferred || got.Redos() != 1 {
		t.Fatalf("after dissatisfied callback: %s, redos %d", got.State(), got.Redos())
	}
	if calls := got.CallIDs(); len(calls) != 4 {
		t.Errorf("linked calls %v", calls)
	}
	if m := got.Materials(); len(m) != 3 {
		t.Errorf("materials %v", m)
	}
	var n int
	_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM duty_line_failures WHERE unit_id = 'D1'`).Scan(&n)
	if n != 1 {
		t.Errorf("duty line failures %d", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.skipped) != 1 || !errors.Is(f.skipped[0], domain.ErrNotFound) {
		t.Errorf("skipped %v", f.skipped)
	}
	// The completion had asked for a callback (consenting caller).
	_ = f.pool.QueryRow(ctx, `SELECT count(*) FROM case_outbox WHERE type = 'case.callback_requested'`).Scan(&n)
	if n != 1 {
		t.Errorf("callback requests %d", n)
	}
}

func TestConcurrentRegistrationsGetDistinctNumbers(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[domain.CaseNumber]bool{}
	for range 20 {
		wg.Go(func() {
			c, err := f.svc.Register(ctx, agent, app.RegisterInput{
				Content: "咨询社保", Category: domain.CategoryInquiry, Region: "110101", Urgency: domain.UrgencyNormal,
				Confidentiality: domain.ConfidentialityNone, Channel: domain.ChannelWeb, HandlingMode: domain.ModeDirectAnswer,
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[c.Number()] {
				t.Errorf("number %s twice", c.Number())
			}
			seen[c.Number()] = true
		})
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("%d numbers", len(seen))
	}
}
