package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

func TestUsersCreateValidates(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := store.NewUnits(pool, nil).Import(ctx, strings.NewReader(demoCSV)); err != nil {
		t.Fatal(err)
	}
	users := store.NewUsers(pool)
	if _, err := users.Create(ctx, store.NewUser{Name: "张敏", Role: domain.RoleAgent, Staff: "1001"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		n     store.NewUser
		want  error
		field string
	}{
		{"ok unit user", store.NewUser{Name: "东城值班", Role: domain.RoleUnit, UnitID: "dongcheng"}, nil, ""},
		{"ok supervisor", store.NewUser{Name: "督查", Role: domain.RoleSupervisor}, nil, ""},
		{"ok admin", store.NewUser{Name: "管理员", Role: domain.RoleAdmin}, nil, ""},
		{"unit user without unit", store.NewUser{Name: "x", Role: domain.RoleUnit}, domain.ErrInvalid, "unit_id"},
		{"unit user of unknown unit", store.NewUser{Name: "x", Role: domain.RoleUnit, UnitID: "nope"}, domain.ErrInvalid, "unit_id"},
		{"agent with unit", store.NewUser{Name: "x", Role: domain.RoleAgent, Staff: "1002", UnitID: "dongcheng"}, domain.ErrInvalid, "unit_id"},
		{"agent without staff number", store.NewUser{Name: "x", Role: domain.RoleAgent}, domain.ErrInvalid, "staff_number"},
		{"staff number not digits", store.NewUser{Name: "x", Role: domain.RoleAgent, Staff: "A1"}, domain.ErrInvalid, "staff_number"},
		{"supervisor with staff number", store.NewUser{Name: "x", Role: domain.RoleSupervisor, Staff: "1003"}, domain.ErrInvalid, "staff_number"},
		{"system", store.NewUser{Name: "x", Role: domain.RoleSystem}, domain.ErrInvalid, "role"},
		{"unknown role", store.NewUser{Name: "x", Role: "mayor"}, domain.ErrInvalid, "role"},
		{"blank name", store.NewUser{Name: "  ", Role: domain.RoleAdmin}, domain.ErrInvalid, "name"},
		{"staff number taken", store.NewUser{Name: "x", Role: domain.RoleAgent, Staff: "1001"}, store.ErrConflict, ""},
	}
	for _, tt := range tests {
		u, err := users.Create(ctx, tt.n)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			got, err := users.Get(ctx, u.ID)
			if err != nil || got != u {
				t.Errorf("%s: get = %+v, %v; created %+v", tt.name, got, err, u)
			}
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			continue
		}
		var ve *domain.ValidationError
		if tt.field != "" && (!errors.As(err, &ve) || ve.Field != tt.field) {
			t.Errorf("%s: err = %v, want field %s", tt.name, err, tt.field)
		}
	}
	if _, err := users.Get(ctx, "not-a-uuid"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get malformed id: %v", err)
	}
}

func TestTokensLifecycle(t *testing.T) {
	ctx := context.Background()
	users := store.NewUsers(pgtest.NewPool(t))
	u, err := users.Create(ctx, store.NewUser{Name: "管理员", Role: domain.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("secret"))
	exp := time.Now().Add(time.Hour)
	tok, err := users.CreateToken(ctx, u.ID, hash[:], &exp)
	if err != nil {
		t.Fatal(err)
	}
	c, err := users.CredentialByHash(ctx, hash[:])
	if err != nil {
		t.Fatal(err)
	}
	if c.Token.ID != tok.ID || c.User != u || c.Token.Expires == nil || c.Token.Revoked != nil {
		t.Fatalf("credential %+v", c)
	}
	other := sha256.Sum256([]byte("other"))
	if _, err := users.CredentialByHash(ctx, other[:]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}
	if _, err := users.CreateToken(ctx, u.ID, hash[:], nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same hash twice: %v", err)
	}
	past := time.Now().Add(-time.Hour)
	if _, err := users.CreateToken(ctx, u.ID, other[:], &past); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("expiry in the past: %v", err)
	}

	r1, err := users.RevokeToken(ctx, tok.ID)
	if err != nil || r1.Revoked == nil {
		t.Fatalf("revoke: %+v %v", r1, err)
	}
	r2, err := users.RevokeToken(ctx, tok.ID)
	if err != nil || !r2.Revoked.Equal(*r1.Revoked) {
		t.Fatalf("second revoke moved the time: %+v %v", r2, err)
	}
	if _, err := users.RevokeToken(ctx, "7d7b5b8e-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}

	if err := users.SetDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := users.CreateToken(ctx, u.ID, other[:], nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("token for disabled user: %v", err)
	}
	if _, err := users.CreateToken(ctx, "7d7b5b8e-0000-4000-8000-000000000000", other[:], nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token for unknown user: %v", err)
	}
	toks, err := users.Tokens(ctx, u.ID)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens: %v %v", toks, err)
	}
}
