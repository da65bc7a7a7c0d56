package access_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/api/problem"
	"github.com/hotline12345/hotline/casework/api/reqctx"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

const demoUnits = `id,name,level,parent_id,duty_line
center,12345中心,1,,
dongcheng,东城区,2,center,PJSIP/8801@dutylines
dc-andingmen,安定门街道办事处,3,dongcheng,PJSIP/8811@dutylines
dc-jiaodaokou,交道口街道办事处,3,dongcheng,
xicheng,西城区,2,center,PJSIP/8802@dutylines
xc-xinjiekou,新街口街道办事处,3,xicheng,
`

type fixture struct {
	users *store.Users
	units *store.Units
	audit *store.AuditLog
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	f := fixture{users: store.NewUsers(pool), units: store.NewUnits(pool, nil), audit: store.NewAuditLog(pool)}
	if _, err := f.units.Import(context.Background(), strings.NewReader(demoUnits)); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) user(t *testing.T, n store.NewUser) store.User {
	t.Helper()
	u, err := f.users.Create(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f fixture) token(t *testing.T, userID string, expires *time.Time) (store.Token, string) {
	t.Helper()
	tok, secret, err := access.IssueToken(context.Background(), f.users, userID, expires)
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func TestTokenFormat(t *testing.T) {
	secret, hash, err := access.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "hl_") || len(secret) != 3+43 {
		t.Fatalf("token %q", secret)
	}
	got, ok := access.HashToken(secret)
	if !ok || got != hash {
		t.Fatal("HashToken does not reproduce the stored hash")
	}
	other, _, _ := access.NewToken()
	if other == secret {
		t.Fatal("two tokens are equal")
	}
	for _, bad := range []string{"", "hl_", "hl_short", "xx_" + secret[3:], secret + "A", secret[:len(secret)-1] + "!"} {
		if _, ok := access.HashToken(bad); ok {
			t.Errorf("HashToken(%q) accepted", bad)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	agent := f.user(t, store.NewUser{Name: "张敏", Role: domain.RoleAgent, Staff: "1001"})
	unitUser := f.user(t, store.NewUser{Name: "东城区值班", Role: domain.RoleUnit, UnitID: "dongcheng"})
	gone := f.user(t, store.NewUser{Name: "离职", Role: domain.RoleSupervisor})

	now := time.Now()
	soon := now.Add(time.Hour)
	_, valid := f.token(t, agent.ID, nil)
	_, unitTok := f.token(t, unitUser.ID, &soon)
	revokedTok, revoked := f.token(t, agent.ID, nil)
	if _, err := f.users.RevokeToken(ctx, revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	_, goneTok := f.token(t, gone.ID, nil)
	if err := f.users.SetDisabled(ctx, gone.ID, true); err != nil {
		t.Fatal(err)
	}
	unknown, _, _ := access.NewToken()

	tests := []struct {
		name   string
		header string
		clock  time.Time
		want   access.Principal // zero: refused
		detail string
	}{
		{"valid", "Bearer " + valid, now, access.Principal{UserID: agent.ID, Name: "张敏", Role: domain.RoleAgent, Staff: "1001"}, ""},
		{"scheme is case-insensitive", "bearer " + valid, now, access.Principal{UserID: agent.ID, Name: "张敏", Role: domain.RoleAgent, Staff: "1001"}, ""},
		{"unit user before expiry", "Bearer " + unitTok, now, access.Principal{UserID: unitUser.ID, Name: "东城区值班", Role: domain.RoleUnit, UnitID: "dongcheng"}, ""},
		{"missing", "", now, access.Principal{}, "missing bearer token"},
		{"basic auth", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", now, access.Principal{}, "Bearer <token>"},
		{"malformed token", "Bearer hunter2", now, access.Principal{}, "invalid token"},
		{"wrong token", "Bearer " + unknown, now, access.Principal{}, "invalid token"},
		{"revoked", "Bearer " + revoked, now, access.Principal{}, "invalid token"},
		{"expired", "Bearer " + unitTok, soon, access.Principal{}, "token expired"},
		{"disabled user", "Bearer " + goneTok, now, access.Principal{}, "invalid token"},
	}
	for _, tt := range tests {
		auth := access.NewAuthenticator(f.users, func() time.Time { return tt.clock })
		p, err := auth.Authenticate(ctx, tt.header)
		if tt.want.UserID == "" {
			var ae *access.AuthError
			if !errors.As(err, &ae) || !errors.Is(err, access.ErrUnauthenticated) {
				t.Errorf("%s: err = %v, want *AuthError", tt.name, err)
				continue
			}
			if !strings.Contains(ae.Detail, tt.detail) {
				t.Errorf("%s: detail %q, want %q", tt.name, ae.Detail, tt.detail)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		p.TokenID = ""
		if p != tt.want {
			t.Errorf("%s: principal %+v, want %+v", tt.name, p, tt.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	admin := f.user(t, store.NewUser{Name: "管理员", Role: domain.RoleAdmin})
	_, secret := f.token(t, admin.ID, nil)
	auth := access.NewAuthenticator(f.users, nil)
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := access.PrincipalFrom(r.Context())
		if !ok || p.UserID != admin.ID {
			t.Errorf("principal %+v %v", p, ok)
		}
		w.WriteHeader(http.StatusNoContent)
	}))

	tests := []struct {
		name      string
		header    string
		status    int
		challenge string
	}{
		{"valid", "Bearer " + secret, http.StatusNoContent, ""},
		{"missing", "", http.StatusUnauthorized, `Bearer realm="hotline12345"`},
		{"wrong", "Bearer hl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", http.StatusUnauthorized, `Bearer realm="hotline12345", error="invalid_token"`},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
		r = r.WithContext(reqctx.Start(r.Context(), "req-1", zap.NewNop()))
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, w.Code, tt.status)
			continue
		}
		if tt.status == http.StatusUnauthorized {
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("%s: WWW-Authenticate %q, want %q", tt.name, got, tt.challenge)
			}
			var p problem.Problem
			if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("%s: content type %q", tt.name, ct)
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Type != problem.TypeUnauthenticated || p.Status != 401 || p.RequestID != "req-1" {
				t.Errorf("%s: problem %+v %v", tt.name, p, err)
			}
		}
	}
}

func TestCheckRoles(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	tests := []struct {
		name   string
		p      *access.Principal
		roles  []domain.Role
		status int
	}{
		{"admin on admin route", &access.Principal{UserID: "a", Role: domain.RoleAdmin}, []domain.Role{domain.RoleAdmin}, http.StatusNoContent},
		{"agent on admin route", &access.Principal{UserID: "a", Role: domain.RoleAgent}, []domain.Role{domain.RoleAdmin}, http.StatusForbidden},
		{"unit on center route", &access.Principal{UserID: "a", Role: domain.RoleUnit, UnitID: "x"}, []domain.Role{domain.RoleAgent, domain.RoleSupervisor}, http.StatusForbidden},
		{"supervisor among several", &access.Principal{UserID: "a", Role: domain.RoleSupervisor}, []domain.Role{domain.RoleAgent, domain.RoleSupervisor}, http.StatusNoContent},
		{"no principal", nil, []domain.Role{domain.RoleAdmin}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		if tt.p != nil {
			r = r.WithContext(access.WithPrincipal(r.Context(), *tt.p))
		}
		w := httptest.NewRecorder()
		access.Require(tt.roles...)(ok).ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, w.Code, tt.status)
		}
		if tt.status >= 400 && w.Header().Get("Content-Type") != problem.ContentType {
			t.Errorf("%s: not problem+json", tt.name)
		}
	}
}

func TestPrincipalActor(t *testing.T) {
	agent := access.Principal{UserID: "7f0c", Role: domain.RoleAgent, Staff: "1001"}
	if a := agent.Actor(); a.ID != "1001" || a.Role != domain.RoleAgent || a.Validate() != nil {
		t.Errorf("agent actor %+v", a)
	}
	unit := access.Principal{UserID: "3b1d", Role: domain.RoleUnit, UnitID: "dongcheng"}
	if a := unit.Actor(); a.ID != "3b1d" || a.UnitID != "dongcheng" || a.Validate() != nil {
		t.Errorf("unit actor %+v", a)
	}
}

func TestCanSeeUnit(t *testing.T) {
	tree, err := domain.NewUnitTree(
		domain.Unit{ID: "center", Name: "中心", Level: 1},
		domain.Unit{ID: "dongcheng", Name: "东城区", Level: 2, ParentID: "center"},
		domain.Unit{ID: "dc-andingmen", Name: "安定门", Level: 3, ParentID: "dongcheng"},
		domain.Unit{ID: "xicheng", Name: "西城区", Level: 2, ParentID: "center"},
		domain.Unit{ID: "xc-xinjiekou", Name: "新街口", Level: 3, ParentID: "xicheng"},
	)
	if err != nil {
		t.Fatal(err)
	}
	dongcheng := access.Principal{UserID: "u", Role: domain.RoleUnit, UnitID: "dongcheng"}
	andingmen := access.Principal{UserID: "u", Role: domain.RoleUnit, UnitID: "dc-andingmen"}
	tests := []struct {
		name string
		p    access.Principal
		unit string
		want bool
	}{
		{"district sees itself", dongcheng, "dongcheng", true},
		{"district sees its sub-unit", dongcheng, "dc-andingmen", true},
		{"district does not see a sibling district", dongcheng, "xicheng", false},
		{"district does not see a sibling's sub-unit", dongcheng, "xc-xinjiekou", false},
		{"district does not see the center", dongcheng, "center", false},
		{"sub-unit does not see its parent", andingmen, "dongcheng", false},
		{"sub-unit sees itself", andingmen, "dc-andingmen", true},
		{"unknown unit", dongcheng, "nowhere", false},
		{"empty unit", dongcheng, "", false},
		{"unit user without unit", access.Principal{UserID: "u", Role: domain.RoleUnit}, "dongcheng", false},
		{"agent sees all", access.Principal{UserID: "u", Role: domain.RoleAgent, Staff: "1001"}, "xc-xinjiekou", true},
		{"supervisor sees all", access.Principal{UserID: "u", Role: domain.RoleSupervisor}, "dongcheng", true},
		{"system sees all", access.Principal{UserID: "u", Role: domain.RoleSystem}, "dongcheng", true},
		{"unknown role sees nothing", access.Principal{UserID: "u", Role: "mayor"}, "dongcheng", false},
	}
	for _, tt := range tests {
		if got := access.CanSeeUnit(tree, tt.p, tt.unit); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDirectoryFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := access.NewDirectory(f.units, time.Hour)
	p := access.Principal{UserID: "u", Role: domain.RoleUnit, UnitID: "dongcheng"}
	for unit, want := range map[string]bool{"dc-andingmen": true, "dc-jiaodaokou": true, "xicheng": false, "xc-xinjiekou": false} {
		got, err := dir.CanSeeUnit(ctx, p, unit)
		if err != nil || got != want {
			t.Errorf("CanSeeUnit(%s) = %v, %v; want %v", unit, got, err, want)
		}
	}
	// A new sub-unit is visible once the directory is invalidated.
	if _, err := f.units.Create(ctx, store.Unit{Unit: domain.Unit{ID: "dc-new", Name: "新单位", Level: 3, ParentID: "dongcheng"}, Active: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := dir.CanSeeUnit(ctx, p, "dc-new"); got {
		t.Error("saw a unit the cached tree does not have (cache not used?)")
	}
	dir.Invalidate()
	if got, err := dir.CanSeeUnit(ctx, p, "dc-new"); !got || err != nil {
		t.Errorf("after Invalidate: %v %v", got, err)
	}
}

func TestAuditRecordsPrincipalAndRequest(t *testing.T) {
	f := newFixture(t)
	a := access.NewAuditor(f.audit)
	ctx := reqctx.Start(context.Background(), "req-42", zap.NewNop())

	if err := a.Audit(ctx, access.ActionRead, "case", "C-1"); !errors.Is(err, access.ErrNoPrincipal) {
		t.Fatalf("audit without principal: %v", err)
	}
	p := access.Principal{UserID: "b7c2", Role: domain.RoleUnit, UnitID: "dongcheng"}
	if err := a.Audit(access.WithPrincipal(ctx, p), access.ActionRead, "case", "C-1"); err != nil {
		t.Fatal(err)
	}
	got, err := f.audit.List(ctx, store.AuditFilter{ObjectType: "case", ObjectID: "C-1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("audit rows %v %v", got, err)
	}
	e := got[0]
	if e.UserID != "b7c2" || e.Role != domain.RoleUnit || e.UnitID != "dongcheng" || e.Action != "read" || e.RequestID != "req-42" {
		t.Fatalf("audit row %+v", e)
	}
}
