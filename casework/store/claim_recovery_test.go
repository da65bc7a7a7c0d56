package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// inboxItems is what the claim recovery contract needs of the voicemail and the
// fax store: items put in through their projection, and the filing steps.
type inboxItems struct {
	kind    domain.MaterialKind
	table   string
	add     func(t *testing.T, es *store.EventStore) (id, ref string) // a new item and its material ref
	claim   func(ctx context.Context, pool *pgxpool.Pool, id, by string, at time.Time) error
	release func(ctx context.Context, pool *pgxpool.Pool, id, by string) error
	recover func(ctx context.Context, pool *pgxpool.Pool, before time.Time) (linked, released int, err error)
	open    func(ctx context.Context, pool *pgxpool.Pool) ([]string, error) // IDs listed as new
	getCase func(ctx context.Context, pool *pgxpool.Pool, id string) (string, error)
}

var voicemailItems = inboxItems{
	kind: domain.MaterialVoicemail, table: "voicemails",
	add: func(t *testing.T, es *store.EventStore) (string, string) {
		id := uuid.NewString()
		uri := "/var/lib/hotline12345/voicemail/" + id + ".wav"
		handle(t, es, mustEvent(t, event.VoicemailLeft, "node-1.1", event.VoicemailPayload{
			MessageID: id, Caller: "13800138000", URI: uri, DurationMS: 4200, Reason: "hangup"}))
		return id, uri
	},
	claim: func(ctx context.Context, pool *pgxpool.Pool, id, by string, at time.Time) error {
		return store.NewVoicemails(pool).ClaimForCase(ctx, id, by, at)
	},
	release: func(ctx context.Context, pool *pgxpool.Pool, id, by string) error {
		return store.NewVoicemails(pool).Release(ctx, id, by)
	},
	recover: func(ctx context.Context, pool *pgxpool.Pool, before time.Time) (int, int, error) {
		return store.NewVoicemails(pool).RecoverStaleClaims(ctx, before)
	},
	open: func(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
		vs, err := store.NewVoicemails(pool).ListOpen(ctx, nil, 100)
		var ids []string
		for _, v := range vs {
			ids = append(ids, v.ID)
		}
		return ids, err
	},
	getCase: func(ctx context.Context, pool *pgxpool.Pool, id string) (string, error) {
		v, err := store.NewVoicemails(pool).Get(ctx, id)
		return v.CaseID, err
	},
}

var faxItems = inboxItems{
	kind: domain.MaterialFax, table: "faxes",
	add: func(t *testing.T, es *store.EventStore) (string, string) {
		id := uuid.NewString()
		tiff := "/var/lib/hotline12345/fax/" + id + ".tiff"
		pdf := "/var/lib/hotline12345/fax/" + id + ".pdf"
		handle(t, es, mustEvent(t, event.FaxReceived, "node-1.2", event.FaxPayload{
			FaxID: id, Pages: 2, Status: "success", URI: tiff, PDFURI: pdf}))
		return id, pdf // the API files the PDF copy when there is one
	},
	claim: func(ctx context.Context, pool *pgxpool.Pool, id, by string, at time.Time) error {
		return store.NewFaxes(pool).ClaimForCase(ctx, id, by, at)
	},
	release: func(ctx context.Context, pool *pgxpool.Pool, id, by string) error {
		return store.NewFaxes(pool).Release(ctx, id, by)
	},
	recover: func(ctx context.Context, pool *pgxpool.Pool, before time.Time) (int, int, error) {
		return store.NewFaxes(pool).RecoverStaleClaims(ctx, before)
	},
	open: func(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
		fs, err := store.NewFaxes(pool).ListReceivedOpen(ctx, nil, 100)
		var ids []string
		for _, f := range fs {
			ids = append(ids, f.ID)
		}
		return ids, err
	},
	getCase: func(ctx context.Context, pool *pgxpool.Pool, id string) (string, error) {
		f, err := store.NewFaxes(pool).Get(ctx, id)
		return f.CaseID, err
	},
}

func TestVoicemailFiling(t *testing.T)        { filingContract(t, voicemailItems) }
func TestFaxFiling(t *testing.T)              { filingContract(t, faxItems) }
func TestVoicemailClaimRecovery(t *testing.T) { claimRecoveryContract(t, voicemailItems) }
func TestFaxClaimRecovery(t *testing.T)       { claimRecoveryContract(t, faxItems) }

// claimRecoveryContract: a filing whose process died after the claim is released
// (nothing registered) or linked (registered, not linked); a claim younger than
// the cut-off and an item on a case are left as they are.
func claimRecoveryContract(t *testing.T, items inboxItems) {
	claimedAt := t0.Add(time.Hour)
	later := claimedAt.Add(5 * time.Minute)

	// registerWith creates a case holding ref as a material of kind, as
	// svc.Register does for a filing, but without marking the item filed: the
	// state a casework process left before the filing was atomic.
	registerWith := func(t *testing.T, pool *pgxpool.Pool, kind domain.MaterialKind, ref string) string {
		t.Helper()
		return registerFiled(t, pool, claimedAt.Add(time.Second), kind, ref, nil)
	}

	for _, tc := range []struct {
		name string
		// file runs the filing steps that happened before the process died (or
		// all of them) and returns the case ID the item should then have: "" for
		// claimed, "-" for released.
		file         func(t *testing.T, pool *pgxpool.Pool, id, ref string) (want string)
		cutoff       time.Time
		linked, rels int
	}{
		{name: "claim then nothing is released", cutoff: later, rels: 1,
			file: func(t *testing.T, pool *pgxpool.Pool, id, ref string) string {
				mustClaim(t, items, pool, id, claimedAt)
				return "-"
			}},
		{name: "claim then only a material of another kind with the same ref is released", cutoff: later, rels: 1,
			file: func(t *testing.T, pool *pgxpool.Pool, id, ref string) string {
				mustClaim(t, items, pool, id, claimedAt)
				registerWith(t, pool, domain.MaterialDocument, ref)
				return "-"
			}},
		{name: "claim then case registered is linked to that case", cutoff: later, linked: 1,
			file: func(t *testing.T, pool *pgxpool.Pool, id, ref string) string {
				mustClaim(t, items, pool, id, claimedAt)
				return registerWith(t, pool, items.kind, ref)
			}},
		{name: "fresh claim is untouched", cutoff: claimedAt,
			file: func(t *testing.T, pool *pgxpool.Pool, id, ref string) string {
				mustClaim(t, items, pool, id, claimedAt)
				return ""
			}},
		{name: "fresh claim with its case registered is untouched", cutoff: claimedAt.Add(-time.Minute),
			file: func(t *testing.T, pool *pgxpool.Pool, id, ref string) string {
				mustClaim(t, items, pool, id, claimedAt)
				registerWith(t, pool, items.kind, ref)
				return ""
			}},
		{name: "item on a case is untouched", cutoff: later,
			file: func(t *testing.T, pool *pgxpool.Pool, id, ref string) string {
				mustClaim(t, items, pool, id, claimedAt)
				return registerFiled(t, pool, claimedAt.Add(time.Second), items.kind, ref,
					&domain.Filing{Kind: items.kind, ID: id, ClaimedBy: agent.ID})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			es := store.NewEventStore(pool)
			store.RegisterVoiceProjections(es)
			id, ref := items.add(t, es)
			bystander, _ := items.add(t, es) // never claimed: must stay listed

			want := tc.file(t, pool, id, ref)
			linked, released, err := items.recover(ctx, pool, tc.cutoff)
			if err != nil {
				t.Fatal(err)
			}
			if linked != tc.linked || released != tc.rels {
				t.Errorf("recovery linked %d, released %d; want %d, %d", linked, released, tc.linked, tc.rels)
			}

			got, err := items.getCase(ctx, pool, id)
			if err != nil {
				t.Fatal(err)
			}
			open, err := items.open(ctx, pool)
			if err != nil {
				t.Fatal(err)
			}
			var claimed bool
			var by *string
			err = pool.QueryRow(ctx, `SELECT case_id IS NOT NULL, case_by FROM `+items.table+` WHERE id = $1`, id).Scan(&claimed, &by)
			if err != nil {
				t.Fatal(err)
			}
			switch want {
			case "-": // released: listed as new again, with no trace of the claim
				if claimed || by != nil || !slices.Contains(open, id) {
					t.Errorf("released item: claimed %v, case_by %v, listed %v (%v)", claimed, by, slices.Contains(open, id), open)
				}
			default: // claimed or linked: the claim's actor stays, the item is not listed
				if got != want || !claimed || by == nil || *by != agent.ID || slices.Contains(open, id) {
					t.Errorf("item: case %q (want %q), claimed %v, case_by %v, listed %v", got, want, claimed, by, slices.Contains(open, id))
				}
			}
			if !slices.Contains(open, bystander) {
				t.Errorf("unclaimed item %s no longer listed: %v", bystander, open)
			}

			// A second pass finds nothing left to do.
			if l, r, err := items.recover(ctx, pool, tc.cutoff); err != nil || l+r != 0 {
				t.Errorf("second pass: linked %d, released %d, %v; want nothing", l, r, err)
			}
		})
	}
}

// registerFiled creates a case holding ref as a material of kind and, with
// filing, marks the item filed on it in the same transaction.
func registerFiled(t *testing.T, pool *pgxpool.Pool, at time.Time, kind domain.MaterialKind, ref string, filing *domain.Filing) string {
	t.Helper()
	c, err := fileCase(pool, at, kind, ref, filing)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fileCase(pool *pgxpool.Pool, at time.Time, kind domain.MaterialKind, ref string, filing *domain.Filing) (string, error) {
	c, err := domain.NewCase("case-"+uuid.NewString(), registration(nextNumber(), domain.CategoryComplaint), agent, t0)
	if err != nil {
		return "", err
	}
	if err := c.AttachMaterial(agent, at, domain.MaterialRef{Kind: kind, Ref: ref}); err != nil {
		return "", err
	}
	var filings []domain.Filing
	if filing != nil {
		filings = append(filings, *filing)
	}
	return c.ID(), store.NewCases(pool).CreateCase(context.Background(), c, false, nil, filings...)
}

func mustClaim(t *testing.T, items inboxItems, pool *pgxpool.Pool, id string, at time.Time) {
	t.Helper()
	if err := items.claim(context.Background(), pool, id, agent.ID, at); err != nil {
		t.Fatal(err)
	}
}

func handle(t *testing.T, es *store.EventStore, env event.Envelope) {
	t.Helper()
	if err := es.Handle(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

// filingContract: a case registered from a claimed item marks the item filed
// in the case's own transaction; when the claim is no longer the registering
// agent's, neither the case nor the mark is written (ErrFilingLost, a
// conflict), and a release by someone else leaves the holder's claim alone.
func filingContract(t *testing.T, items inboxItems) {
	ctx := context.Background()
	at := t0.Add(time.Hour)
	other := "someone-else"
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, pool *pgxpool.Pool, id string) // claims made before the registration
		lost    bool
		holder  string // who holds the claim afterwards ("" none)
	}{
		{name: "claimed by the agent: filed with the case",
			prepare: func(t *testing.T, pool *pgxpool.Pool, id string) { mustClaim(t, items, pool, id, at) }},
		{name: "claim released meanwhile: no case", lost: true,
			prepare: func(t *testing.T, pool *pgxpool.Pool, id string) {
				mustClaim(t, items, pool, id, at)
				if _, _, err := items.recover(ctx, pool, at.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "claimed by another agent: no case, their claim stays", lost: true, holder: other,
			prepare: func(t *testing.T, pool *pgxpool.Pool, id string) {
				if err := items.claim(ctx, pool, id, other, at); err != nil {
					t.Fatal(err)
				}
				// The losing agent gives back what it thinks is its claim.
				if err := items.release(ctx, pool, id, agent.ID); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := pgtest.NewPool(t)
			es := store.NewEventStore(pool)
			store.RegisterVoiceProjections(es)
			id, ref := items.add(t, es)
			tc.prepare(t, pool, id)

			caseID, err := fileCase(pool, at.Add(time.Second), items.kind, ref,
				&domain.Filing{Kind: items.kind, ID: id, ClaimedBy: agent.ID})
			got, gerr := items.getCase(ctx, pool, id)
			if gerr != nil {
				t.Fatal(gerr)
			}
			_, cerr := store.NewCases(pool).Get(ctx, caseID)
			if !tc.lost {
				if err != nil || cerr != nil || got != caseID {
					t.Fatalf("filing: %v; case stored: %v; item on case %q, want %q", err, cerr, got, caseID)
				}
				return
			}
			if !errors.Is(err, domain.ErrFilingLost) || !errors.Is(err, domain.ErrConflict) {
				t.Fatalf("filing a lost claim: %v, want ErrFilingLost (a conflict)", err)
			}
			if !errors.Is(cerr, domain.ErrNotFound) {
				t.Errorf("the case of a lost filing was stored: %v", cerr)
			}
			var by *string
			if err := pool.QueryRow(ctx, `SELECT case_by FROM `+items.table+` WHERE id = $1`, id).Scan(&by); err != nil {
				t.Fatal(err)
			}
			if tc.holder == "" && (got != "-" && got != "" || by != nil) || tc.holder != "" && (got != "" || by == nil || *by != tc.holder) {
				t.Errorf("item after the lost filing: case %q, claimed by %v; want holder %q", got, by, tc.holder)
			}
		})
	}
}
