package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deskClient is a browser-like HTTP client: cookies, and the CSRF token the
// session handed out.
type deskClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newDeskClient(t *testing.T, base string) *deskClient {
	jar, _ := cookiejar.New(nil)
	return &deskClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a request; hdr adds headers ("" values are left out).
func (c *deskClient) do(method, path string, body any, hdr map[string]string) (int, map[string]any, *http.Response) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp
}

func (c *deskClient) signIn(login, password string) (int, map[string]any) {
	code, out, resp := c.do("POST", "/desk/api/signin", map[string]any{"login": login, "password": password, "phone": "browser"}, nil)
	if code == http.StatusOK {
		c.csrf, _ = out["csrf_token"].(string)
		sc := resp.Header.Get("Set-Cookie")
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") {
			c.t.Errorf("session cookie %q: want HttpOnly and SameSite=Strict", sc)
		}
	}
	return code, out
}

// ariEndpoint is the HTTP status of GET /ari/endpoints/PJSIP/<name>.
func ariEndpoint(t *testing.T, name string) int { return ariGet(t, "/endpoints/PJSIP/"+name) }

// TestDeskSessionRefusals: sign-in with a wrong password fails with a clear
// message; requests without a session, with a missing or forged CSRF token or
// from another origin are refused; the call service is reached only through the
// session; a signed-out session cannot be reused and its browser SIP account is
// gone; disabling the user ends the session and the SIP account both.
func TestDeskSessionRefusals(t *testing.T) {
	e := startRouting(t)
	const staff = "2002"
	e.addDeskAgent(t, staff, "会话测试话务员")
	base := "http://" + e.caseHTTP
	c := newDeskClient(t, base)
	refused := func(what string, code, want int, out map[string]any) {
		t.Helper()
		if code != want {
			t.Errorf("%s: %d %v, want %d", what, code, out, want)
		} else {
			t.Logf("%s: %d %v", what, code, out["detail"])
		}
	}

	code, out, _ := c.do("GET", "/desk/api/session", nil, nil)
	refused("session without a cookie", code, http.StatusUnauthorized, out)
	code, out, _ = c.do("GET", "/api/v1/agent", nil, nil)
	refused("agent API without a session", code, http.StatusUnauthorized, out)
	code, out, _ = c.do("GET", "/api/v1/cases", nil, nil)
	refused("cases without a session", code, http.StatusUnauthorized, out)
	code, out = c.signIn(staff, "not-the-password")
	refused("wrong password", code, http.StatusUnauthorized, out)
	if d, _ := out["detail"].(string); !strings.Contains(d, "密码错误") {
		t.Errorf("wrong password message %q, want 密码错误", d)
	}
	code, out = c.signIn("9999", deskPassword)
	refused("unknown name", code, http.StatusUnauthorized, out)
	code, out, _ = c.do("POST", "/desk/api/signin", map[string]any{"login": staff, "password": deskPassword}, map[string]string{"Origin": "http://evil.example"})
	refused("sign-in from another origin", code, http.StatusForbidden, out)

	if code, out = c.signIn(staff, deskPassword); code != http.StatusOK {
		t.Fatalf("sign in: %d %v", code, out)
	}
	if code, out, _ = c.do("GET", "/api/v1/agent", nil, nil); code != http.StatusOK || out["staff_number"] != staff {
		t.Fatalf("agent state through the session: %d %v", code, out)
	}
	code, out, _ = c.do("POST", "/api/v1/agent/login", nil, nil)
	refused("unsafe request without the CSRF token", code, http.StatusForbidden, out)
	code, out, _ = c.do("POST", "/api/v1/agent/login", nil, map[string]string{"X-CSRF-Token": strings.Repeat("A", 43)})
	refused("forged CSRF token", code, http.StatusForbidden, out)
	code, out, _ = c.do("POST", "/api/v1/cases", map[string]any{}, map[string]string{"X-CSRF-Token": "forged"})
	refused("forged CSRF token on casework's API", code, http.StatusForbidden, out)
	code, out, _ = c.do("POST", "/api/v1/agent/login", nil, map[string]string{"X-CSRF-Token": c.csrf, "Origin": "http://evil.example"})
	refused("right token, foreign origin", code, http.StatusForbidden, out)
	if code, out, _ = c.do("POST", "/api/v1/agent/login", nil, map[string]string{"X-CSRF-Token": c.csrf}); code != http.StatusOK {
		t.Fatalf("login with the CSRF token: %d %v", code, out)
	}
	code, out, _ = c.do("GET", "/api/v1/agent", nil, map[string]string{"Authorization": "Bearer " + e.tokens["1001"]})
	refused("a bearer token at the desktop's agent proxy", code, http.StatusUnauthorized, out)

	// The browser SIP account exists while signed in, from the user record.
	if code, out, _ = c.do("POST", "/api/v1/agent/softphone", map[string]any{"kind": "browser"}, map[string]string{"X-CSRF-Token": c.csrf}); code != http.StatusOK || out["username"] != staff || out["password"] == "" {
		t.Fatalf("browser softphone: %d %v", code, out)
	}
	if got := ariEndpoint(t, staff); got != http.StatusOK {
		t.Errorf("PJSIP/%s after sign-in: ARI %d, want the endpoint", staff, got)
	}
	// The SIP WebSocket takes only this origin.
	req, _ := http.NewRequest("GET", base+"/desk/sip", nil)
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	if resp, err := c.http.Do(req); err == nil {
		resp.Body.Close()
		refused("SIP WebSocket from another origin", resp.StatusCode, http.StatusForbidden, nil)
	}

	// Sign out: the session is dead, the agent out of the queue, the SIP account gone.
	if code, out, _ = c.do("POST", "/desk/api/signout", map[string]any{}, map[string]string{"X-CSRF-Token": c.csrf}); code != http.StatusOK {
		t.Fatalf("sign out: %d %v", code, out)
	}
	old := c.csrf
	code, out, _ = c.do("GET", "/desk/api/session", nil, nil)
	refused("signed-out session (cookie cleared)", code, http.StatusUnauthorized, out)
	if s := e.agentStateOf(t, staff); s != "logged_out" {
		t.Errorf("after sign-out the agent is %q, want logged_out", s)
	}
	if got := ariEndpoint(t, staff); got != http.StatusNotFound {
		t.Errorf("PJSIP/%s after sign-out: ARI %d, want 404", staff, got)
	}

	// A copy of the signed-out cookie does not work either.
	c2 := newDeskClient(t, base)
	if code, out = c2.signIn(staff, deskPassword); code != http.StatusOK {
		t.Fatalf("sign in again: %d %v", code, out)
	}
	cookies := c2.http.Jar.Cookies(mustURL(base))
	if code, out, _ = c2.do("POST", "/desk/api/signout", map[string]any{}, map[string]string{"X-CSRF-Token": c2.csrf}); code != http.StatusOK {
		t.Fatalf("sign out: %d %v", code, out)
	}
	c3 := newDeskClient(t, base)
	c3.http.Jar.SetCookies(mustURL(base), cookies)
	code, out, _ = c3.do("GET", "/api/v1/agent", nil, nil)
	refused("a copy of a signed-out session's cookie", code, http.StatusUnauthorized, out)
	code, out, _ = c3.do("POST", "/desk/api/signout", nil, map[string]string{"X-CSRF-Token": old})
	refused("signing out a dead session", code, http.StatusUnauthorized, out)

	// Disabling the user: the session and the SIP account stop.
	c4 := newDeskClient(t, base)
	if code, out = c4.signIn(staff, deskPassword); code != http.StatusOK {
		t.Fatalf("sign in: %d %v", code, out)
	}
	if code, out, _ = c4.do("POST", "/api/v1/agent/softphone", map[string]any{"kind": "browser"}, map[string]string{"X-CSRF-Token": c4.csrf}); code != http.StatusOK {
		t.Fatalf("browser softphone: %d %v", code, out)
	}
	id, _ := out["username"].(string)
	var userID string
	if err := e.pool.QueryRow(t.Context(), `SELECT id::text FROM users WHERE staff_number = $1`, staff).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(st.binDir, "hotlinectl"), "user", "disable", "--user", userID)
	cmd.Env = append(os.Environ(), "HOTLINE_DATABASE_URL="+e.dbURL)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hotlinectl user disable: %v\n%s", err, b)
	}
	code, out, _ = c4.do("GET", "/api/v1/agent", nil, nil)
	refused("a disabled user's session", code, http.StatusUnauthorized, out)
	start := time.Now()
	eventually(t, 40*time.Second, "the disabled agent's SIP account gone", func() bool { return ariEndpoint(t, id) == http.StatusNotFound })
	t.Logf("SIP account of the disabled user removed %s after disabling", time.Since(start).Round(time.Second))
}

func (e *rtEnv) agentStateOf(t *testing.T, staff string) string {
	t.Helper()
	code, out := e.api(t, e.supervisor, "GET", "/api/v1/agents", nil)
	if code != http.StatusOK {
		t.Fatalf("agents: %d %v", code, out)
	}
	items, _ := out["items"].([]any)
	for _, it := range items {
		if m, _ := it.(map[string]any); m["staff_number"] == staff {
			return fmt.Sprint(m["state"])
		}
	}
	return "logged_out"
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
