package e2e

// The units' portal (issue 13): a unit user's inbox, case page and actions in a
// real Chromium against the real casework service and PostgreSQL; the
// escalation scheduler's reminder as a notification and a signed webhook
// delivery, retried after a failing receiver.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hotline12345/hotline/casework/calendar"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/notify"
	"github.com/hotline12345/hotline/casework/store"
)

const portalUnits = `id,name,level,parent_id,duty_line
center,12345中心,1,,
dongcheng,东城区,2,center,
dc-andingmen,安定门街道办事处,3,dongcheng,
xicheng,西城区,2,center,
`

// The whistleblower's identity, which must appear nowhere a unit looks.
const (
	whistleName  = "赵举报人"
	whistlePhone = "13912345678"
)

// portalSetup starts casework alone (no calls needed), imports the units, and
// creates the unit users with passwords the way the README says (hotlinectl).
func portalSetup(t *testing.T, env ...string) (*hotline, string) {
	t.Helper()
	h := startHotline(t, withoutCallService(), withEnv(env...))
	if _, err := store.NewUnits(h.pool, nil).Import(context.Background(), strings.NewReader(portalUnits)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ login, unit, name string }{{"dc-duty", "dongcheng", "东城区值班员"}, {"xc-duty", "xicheng", "西城区值班员"}} {
		cmd := exec.Command(filepath.Join(st.binDir, "hotlinectl"), "user", "add", "--name", u.name, "--role", "unit",
			"--unit", u.unit, "--login", u.login, "--password-stdin")
		cmd.Env = append(os.Environ(), "HOTLINE_DATABASE_URL="+h.dbURL)
		cmd.Stdin = strings.NewReader(deskPassword + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("hotlinectl user add: %v\n%s", err, out)
		}
	}
	return h, "http://" + h.caseHTTP
}

// registerReport registers a report (举报) with an identified caller and
// transfers it to dongcheng; it returns the case's ID, number and deadline.
func registerReport(t *testing.T, h *hotline, agent, urgency, transfer string) (string, string, time.Time) {
	t.Helper()
	code, _, body := h.caseworkAPI(agent, "POST", "/api/v1/cases", map[string]any{
		"caller":  map[string]any{"name": whistleName, "phone": whistlePhone, "address": "东城区某小区3号楼"},
		"content": "举报某餐馆后厨卫生问题", "category": "report", "region": "110101", "urgency": urgency,
		"confidentiality": "none", "channel": "phone", "handling_mode": "written_transfer", "callback_consent": false})
	if code != 201 {
		t.Fatalf("register: %d %s", code, body)
	}
	var c struct {
		ID       string    `json:"id"`
		Number   string    `json:"number"`
		Deadline time.Time `json:"deadline"`
	}
	_ = json.Unmarshal(body, &c)
	code, _, body = h.caseworkAPI(agent, "POST", "/api/v1/cases/"+c.ID+"/transfer", json.RawMessage(transfer))
	if code != 200 {
		t.Fatalf("transfer: %d %s", code, body)
	}
	_ = json.Unmarshal(body, &c)
	return c.ID, c.Number, c.Deadline
}

func (b *browser) portalSignIn(base, login string) {
	b.t.Helper()
	b.run("open the portal", chromedp.Navigate(base+"/portal/"), chromedp.WaitVisible(chromedp.CSS("#signin-login")))
	b.run("sign in",
		chromedp.SetValue(chromedp.CSS("#signin-login"), login),
		chromedp.SetValue(chromedp.CSS("#signin-password"), deskPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("#portal")))
}

// noIdentity fails if s holds the whistleblower's name or number.
func noIdentity(t *testing.T, where, s string) {
	t.Helper()
	for _, leak := range []string{whistleName, whistlePhone, "某小区3号楼"} {
		if strings.Contains(s, leak) {
			t.Errorf("%s shows the whistleblower (%q)", where, leak)
		}
	}
}

// TestPortalUnitInboxSignReply: the unit user signs in, sees the report in its
// inbox with the working days left by the calendar, opens it, signs for it and
// replies, with the history on the page; nowhere on the unit's pages or its
// export is the whistleblower; another unit's user sees the case neither on
// the page nor through the API.
func TestPortalUnitInboxSignReply(t *testing.T) {
	h, base := portalSetup(t)
	agent := h.newUserToken("话务员", domain.RoleAgent, "1009")
	id, number, deadline := registerReport(t, h, agent, "normal", `{"lead":"dongcheng","mode":"written_transfer"}`)
	cal, err := calendar.Load()
	if err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, "")
	b.portalSignIn(base, "dc-duty")
	b.waitJS(15*time.Second, "the case in the inbox", fmt.Sprintf(`!!document.querySelector('#inbox tr[data-id=%q]')`, id))
	left := b.text("inbox") // one row
	want, err := cal.WorkingDaysBetween(time.Now(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(left, fmt.Sprintf("%d 个工作日", want)) || !strings.Contains(left, number) {
		t.Errorf("inbox row %q: want the number and %d working days left (deadline %s)", left, want, deadline)
	}
	b.shot("portal-inbox")
	b.run("open the case by keyboard", chromedp.Focus(chromedp.CSS(fmt.Sprintf(`#inbox tr[data-id=%q]`, id))),
		chromedp.KeyEvent("\r"))
	b.waitJS(10*time.Second, "the case page", `document.getElementById('c-number').textContent === `+fmt.Sprintf("%q", number))
	if s := b.text("c-caller"); !strings.Contains(s, "保密") {
		t.Errorf("caller field %q: want the protected mark", s)
	}
	b.run("sign for it", chromedp.Click(chromedp.CSS("#a-accept")))
	b.waitJS(10*time.Second, "signed", `document.getElementById('c-state').textContent.includes('已签收')`)
	b.run("reply", chromedp.SetValue(chromedp.CSS("#a-text"), "已责令餐馆整改，复查合格。"), chromedp.Click(chromedp.CSS("#a-reply")))
	b.waitJS(10*time.Second, "replied", `document.getElementById('c-state').textContent === '已反馈'`)
	hist := b.text("c-history")
	for _, step := range []string{"转办", "签收", "反馈：已责令餐馆整改"} {
		if !strings.Contains(hist, step) {
			t.Errorf("history %q lacks %q", hist, step)
		}
	}
	b.shot("portal-case")
	html, err := eval[string](b, `document.documentElement.outerHTML`)
	if err != nil {
		t.Fatal(err)
	}
	noIdentity(t, "the case page's HTML", html)
	if !strings.Contains(html, "举报某餐馆") {
		t.Errorf("the scan saw no rendered case (no content in the HTML)")
	}
	export, err := eval[string](b, `window.portal.exportCSV()`)
	if err != nil || !strings.Contains(export, number) {
		t.Fatalf("export %q: %v", export, err)
	}
	noIdentity(t, "the inbox export", export)
	url, _ := eval[string](b, `location.href`)
	noIdentity(t, "the URL", url)
	// What the unit's API answers (the page's sources) holds no identity either.
	c := newDeskClient(t, base)
	if code, out := c.signIn("dc-duty", deskPassword); code != 200 {
		t.Fatalf("API sign-in: %d %v", code, out)
	}
	for _, p := range []string{"/api/v1/portal/inbox?all=true", "/api/v1/cases/" + id, "/api/v1/notifications"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, body)
		}
		noIdentity(t, "GET "+p, string(body))
	}

	// Another unit: not in its inbox, not by URL.
	b.run("sign out", chromedp.Click(chromedp.CSS("#btn-signout")), chromedp.WaitVisible(chromedp.CSS("#signin-login")))
	b.portalSignIn(base, "xc-duty")
	b.waitJS(10*time.Second, "xicheng's empty inbox", `!document.getElementById('inbox-empty').hidden`)
	if html, _ := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, number) {
		t.Errorf("xicheng's portal shows dongcheng's case %s", number)
	}
	x := newDeskClient(t, base)
	if code, out := x.signIn("xc-duty", deskPassword); code != 200 {
		t.Fatalf("API sign-in: %d %v", code, out)
	}
	if code, out, _ := x.do("GET", "/api/v1/cases/"+id, nil, nil); code != 404 {
		t.Errorf("xicheng reads dongcheng's case: %d %v, want 404", code, out)
	}
	if code, out, _ := x.do("POST", "/api/v1/cases/"+id+"/accept", map[string]any{}, map[string]string{"X-CSRF-Token": x.csrf}); code != 404 {
		t.Errorf("xicheng signs for dongcheng's case: %d %v, want 404", code, out)
	}

	files, n := pageWeight(t, base, "/portal/", "/desk/app.css", "/desk/portal.css", "/desk/common.js", "/desk/portal.js")
	t.Logf("portal page weight: %d files, %.1f KB on the wire (gzip)", files, float64(n)/1024)
}

// TestPortalReminderNotifiedAndWebhookRetried: the escalation scheduler's
// reminder reaches the unit as a notification in the open portal, and its
// webhook gets it once, signed: the receiver's first answer (500) is retried,
// the second (200) ends it; attempts are counted on the delivery and nothing
// is delivered twice.
func TestPortalReminderNotifiedAndWebhookRetried(t *testing.T) {
	const secret = "e2e-webhook-secret-0123456789"
	var mu sync.Mutex
	seen := map[string]int{}     // attempts per delivery ID
	okBodies := map[string]int{} // 200s per delivery ID
	kinds := map[string]string{} // kind per delivery ID
	badSignatures := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get(notify.HeaderDelivery)
		mu.Lock()
		defer mu.Unlock()
		if !notify.Verify(secret, r.Header.Get(notify.HeaderSignature), r.Header.Get(notify.HeaderTimestamp), body, time.Now(), 5*time.Minute) {
			badSignatures++
		}
		seen[id]++
		kinds[id] = r.Header.Get(notify.HeaderEvent)
		if seen[id] == 1 {
			http.Error(w, "receiver not ready", http.StatusInternalServerError) // the first attempt of each fails
			return
		}
		okBodies[id]++
		if strings.Contains(string(body), whistleName) || strings.Contains(string(body), whistlePhone) {
			t.Errorf("webhook body shows the whistleblower: %s", body)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()

	h, base := portalSetup(t, "HOTLINE_ESCALATION_INTERVAL=1s", "HOTLINE_WEBHOOK_INTERVAL=300ms", "HOTLINE_WEBHOOK_BACKOFF=1s")
	admin := h.newUserToken("管理员", domain.RoleAdmin, "")
	if code, _, body := h.caseworkAPI(admin, "PUT", "/api/v1/units/dongcheng/webhook", map[string]any{"url": recv.URL + "/hotline", "secret": secret}); code != 200 {
		t.Fatalf("set webhook: %d %s", code, body)
	}
	b := newBrowser(t, "")
	b.portalSignIn(base, "dc-duty")

	// An urgent case with a 2-hour limit: the policy's reminder (4 hours before
	// the deadline) is due at once, so the scheduler's next pass fires it.
	agent := h.newUserToken("话务员", domain.RoleAgent, "1009")
	id, number, _ := registerReport(t, h, agent, "urgent", `{"lead":"dongcheng","hours":2}`)
	b.waitJS(40*time.Second, "the reminder in the portal", `!!document.querySelector('#note-list li[data-kind=reminder]')`)
	if s := b.text("note-list"); !strings.Contains(s, number) || !strings.Contains(s, "催办") {
		t.Errorf("notifications %q: want the reminder of %s", s, number)
	}
	// The new case reached the open inbox with the notices (no reload).
	b.waitJS(15*time.Second, "the case in the open inbox", fmt.Sprintf(`!!document.querySelector('#inbox tr[data-id=%q]')`, id))
	b.shot("portal-notifications")

	var deliveries []store.Delivery
	eventually(t, 30*time.Second, "both deliveries delivered", func() bool {
		code, _, body := h.caseworkAPI(admin, "GET", "/api/v1/units/dongcheng/webhook/deliveries", nil)
		var l struct{ Items []store.Delivery }
		if code != 200 || json.Unmarshal(body, &l) != nil {
			return false
		}
		deliveries = l.Items
		if len(deliveries) != 2 {
			return false
		}
		for _, d := range deliveries {
			if d.Status != "delivered" {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // a duplicate would come within a few passes
	mu.Lock()
	defer mu.Unlock()
	var reminders int
	for _, d := range deliveries {
		if d.Attempts != 2 || seen[d.ID] != 2 || okBodies[d.ID] != 1 || d.LastStatus == nil || *d.LastStatus != 204 {
			t.Errorf("delivery %+v: %d attempts seen, %d delivered; want 2 attempts (500 then 204), delivered once", d, seen[d.ID], okBodies[d.ID])
		}
		if kinds[d.ID] == "reminder" && d.CaseNumber == number {
			reminders++
		}
	}
	if reminders != 1 || len(seen) != 2 || badSignatures != 0 {
		t.Errorf("receiver saw %v (kinds %v), %d bad signatures; want one new_case and one reminder delivery for %s", seen, kinds, badSignatures, number)
	}
	var n int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FROM unit_notifications WHERE case_id = $1 AND kind = 'reminder'`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d reminder notifications stored for the case (%v), want 1", n, err)
	}
}
