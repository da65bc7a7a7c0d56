package desk_test

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/zap"

	"github.com/hotline12345/hotline/casework/desk"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/casework/store/pgtest"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newDesk(t *testing.T) (*desk.Desk, *clock, *store.Sessions, store.User) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	users, sessions := store.NewUsers(pool), store.NewSessions(pool)
	u, err := users.Create(ctx, store.NewUser{Name: "张敏", Role: domain.RoleAgent, Staff: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := desk.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := sessions.SetPassword(ctx, u.ID, "", h); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	cs, _ := url.Parse("http://127.0.0.1:1")
	ws, _ := url.Parse("ws://127.0.0.1:1/ws")
	d, err := desk.New(desk.Config{Store: sessions, Tokens: users, Idle: 30 * time.Minute, Absolute: 12 * time.Hour,
		CallService: cs, AsteriskWS: ws, PauseReasons: []string{"休息"}, Assets: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}},
		Log: zap.NewNop(), Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return d, c, sessions, u
}

var _ fs.FS = fstest.MapFS{}

func signIn(t *testing.T, mux http.Handler, login, pw string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "http://desk.test/desk/api/signin", strings.NewReader(`{"login":"`+login+`","password":"`+pw+`","phone":"browser"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

// TestSessionLifecycle: the session's timeouts, CSRF rule and end, against
// PostgreSQL with a clock the test moves.
func TestSessionLifecycle(t *testing.T) {
	d, c, sessions, u := newDesk(t)
	mux := http.NewServeMux()
	d.Register(mux)
	rec := signIn(t, mux, "1001", "correct horse battery")
	if rec.Code != http.StatusOK {
		t.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Name != "hotline_session" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict", cookie)
	}
	csrf := between(rec.Body.String(), `"csrf_token":"`, `"`)
	auth := d.Sessions()
	request := func(method, csrfHdr, origin string) (*http.Request, error) {
		req := httptest.NewRequest(method, "http://desk.test/api/v1/cases", nil)
		req.AddCookie(cookie)
		if csrfHdr != "" {
			req.Header.Set(desk.CSRFHeader, csrfHdr)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		_, err := auth.Authenticate(req)
		return req, err
	}
	for _, tc := range []struct {
		name            string
		method, csrf, o string
		ok              bool
	}{
		{"GET needs no token", "GET", "", "", true},
		{"POST with the token", "POST", csrf, "", true},
		{"POST with the token, same origin", "POST", csrf, "http://desk.test", true},
		{"POST without the token", "POST", "", "", false},
		{"POST with a forged token", "POST", strings.Repeat("x", len(csrf)), "", false},
		{"POST from another origin", "POST", csrf, "http://evil.test", false},
	} {
		if _, err := request(tc.method, tc.csrf, tc.o); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}

	// Activity keeps it alive; 30 minutes of nothing ends it for good.
	c.t = c.t.Add(20 * time.Minute)
	if _, err := request("GET", "", ""); err != nil {
		t.Fatalf("after 20 min: %v", err)
	}
	c.t = c.t.Add(29 * time.Minute)
	if _, err := request("GET", "", ""); err != nil {
		t.Fatalf("29 min after the last request: %v", err)
	}
	c.t = c.t.Add(31 * time.Minute)
	if _, err := request("GET", "", ""); err == nil {
		t.Fatal("31 min idle: still signed in")
	}
	c.t = c.t.Add(-31 * time.Minute) // ended is ended, whatever the clock says
	if _, err := request("GET", "", ""); err == nil {
		t.Fatal("an idle-ended session came back")
	}

	// The absolute limit, however busy the agent.
	rec = signIn(t, mux, "1001", "correct horse battery")
	cookie = rec.Result().Cookies()[0]
	for i := 0; i < 12*3; i++ {
		c.t = c.t.Add(20 * time.Minute)
		if _, err := request("GET", "", ""); err != nil {
			if i < 35 {
				t.Fatalf("busy session ended after %d min: %v", (i+1)*20, err)
			}
		}
	}
	if _, err := request("GET", "", ""); err == nil {
		t.Fatal("a session older than 12 h still works")
	}

	// Sign-out everywhere ends every session.
	a, b := signIn(t, mux, "1001", "correct horse battery"), signIn(t, mux, "1001", "correct horse battery")
	n, err := sessions.EndUserSessions(context.Background(), u.ID, "test")
	if err != nil || n != 2 {
		t.Fatalf("end sessions: %d, %v; want 2", n, err)
	}
	for _, r := range []*httptest.ResponseRecorder{a, b} {
		cookie = r.Result().Cookies()[0]
		if _, err := request("GET", "", ""); err == nil {
			t.Error("a session ended everywhere still works")
		}
	}
}

// TestSignInThrottled: five wrong passwords lock the name for the window.
func TestSignInThrottled(t *testing.T) {
	d, c, _, _ := newDesk(t)
	mux := http.NewServeMux()
	d.Register(mux)
	for i := 0; i < 5; i++ {
		if rec := signIn(t, mux, "1001", "wrong password"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, rec.Code)
		}
	}
	if rec := signIn(t, mux, "1001", "correct horse battery"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("right password while locked: %d, want 429", rec.Code)
	}
	c.t = c.t.Add(6 * time.Minute)
	if rec := signIn(t, mux, "1001", "correct horse battery"); rec.Code != http.StatusOK {
		t.Fatalf("after the window: %d %s", rec.Code, rec.Body)
	}
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}
