package store_test

import (
	"context"
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
	setCase func(ctx context.Context, pool *pgxpool.Pool, id, caseID string) error
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
	setCase: func(ctx context.Context, pool *pgxpool.Pool, id, caseID string) error {
		return store.NewVoicemails(pool).SetCase(ctx, id, caseID)
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
	setCase: func(ctx context.Context, pool *pgxpool.Pool, id, caseID string) error {
		return store.NewFaxes(pool).SetCase(ctx, id, caseID)
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

func TestVoicemailClaimRecovery(t *testing.T) { claimRecoveryContract(t, voicemailItems) }
func TestFaxClaimRecovery(t *testing.T)       { claimRecoveryContract(t, faxItems) }

// claimRecoveryContract: a filing whose process died after the claim is released
// (nothing registered) or linked (registered, not linked); a claim younger than
// the cut-off and an item on a case are left as they are.
func claimRecoveryContract(t *testing.T, items inboxItems) {
	claimedAt := t0.Add(time.Hour)
	later := claimedAt.Add(5 * time.Minute)

	// registerWith creates a case holding ref as a material of kind, as
	// svc.Register does for a filing.
	registerWith := func(t *testing.T, pool *pgxpool.Pool, kind domain.MaterialKind, ref string) string {
		t.Helper()
		c := newCase(t, "case-"+uuid.NewString())
		if err := c.AttachMaterial(agent, claimedAt.Add(time.Second), domain.MaterialRef{Kind: kind, Ref: ref}); err != nil {
			t.Fatal(err)
		}
		if err := store.NewCases(pool).Create(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		return c.ID()
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
				caseID := registerWith(t, pool, items.kind, ref)
				if err := items.setCase(context.Background(), pool, id, caseID); err != nil {
					t.Fatal(err)
				}
				return caseID
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
