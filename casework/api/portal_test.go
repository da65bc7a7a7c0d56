package api_test

import (
	"strings"
	"testing"
)

// TestPortalInboxNotificationsAndWebhooks: the unit sees its case in the inbox
// with the working days left by the calendar, and a notice of the transfer
// (exactly one, even after a reminder adds a second); another unit sees
// neither; webhooks are for administrators, and their secrets never come back.
func TestPortalInboxNotificationsAndWebhooks(t *testing.T) {
	e := newCaseEnv(t)
	// A webhook for dongcheng before the transfer: its delivery is made with it.
	if r := e.do("dongcheng", "PUT", "/api/v1/units/dongcheng/webhook", `{"url":"http://127.0.0.1:1/hook","secret":"0123456789abcdef"}`); r.status != 403 {
		t.Errorf("a unit sets its webhook: %d, want 403", r.status)
	}
	if r := e.do("admin", "PUT", "/api/v1/units/dongcheng/webhook", `{"url":"ftp://x","secret":"short"}`); r.status != 422 {
		t.Errorf("bad webhook: %d %s, want 422", r.status, r.body)
	}
	r := e.do("admin", "PUT", "/api/v1/units/dongcheng/webhook", `{"url":"http://127.0.0.1:1/hook","secret":"0123456789abcdef"}`)
	if r.status != 200 || strings.Contains(string(r.body), "0123456789abcdef") {
		t.Fatalf("set webhook: %d %s (the secret must not come back)", r.status, r.body)
	}
	if r := e.do("admin", "PUT", "/api/v1/units/nowhere/webhook", `{"url":"http://127.0.0.1:1/hook","secret":"0123456789abcdef"}`); r.status != 404 {
		t.Errorf("webhook of an unknown unit: %d, want 404", r.status)
	}
	c := e.register(strings.Replace(registerBody, `"category":"complaint"`, `"category":"report"`, 1))
	e.act("agent", c.ID, "transfer", `{"lead":"dongcheng","mode":"written_transfer"}`, 200)

	r = e.do("dongcheng", "GET", "/api/v1/portal/inbox", "")
	// Monday 2 March 2026 09:00, 7 working days: due at the end of 11 March;
	// from now, 3-11 March hold 7 whole working days.
	if r.status != 200 || !strings.Contains(string(r.body), c.Number) || !strings.Contains(string(r.body), `"working_days_left":7`) {
		t.Fatalf("dongcheng's inbox: %d %s", r.status, r.body)
	}
	for _, leak := range []string{"李四", "13900139000", "安定门内大街"} {
		if strings.Contains(string(r.body), leak) {
			t.Errorf("inbox shows %q: %s", leak, r.body)
		}
	}
	if r := e.do("xicheng", "GET", "/api/v1/portal/inbox", ""); r.status != 200 || strings.Contains(string(r.body), c.Number) {
		t.Errorf("xicheng's inbox: %d %s, want no dongcheng case", r.status, r.body)
	}
	if r := e.do("agent", "GET", "/api/v1/portal/inbox", ""); r.status != 403 {
		t.Errorf("agent's portal inbox: %d, want 403", r.status)
	}
	e.act("supervisor", c.ID, "remind", `{"note":"请加快办理"}`, 200)
	r = e.do("dongcheng", "GET", "/api/v1/notifications", "")
	if r.status != 200 || strings.Count(string(r.body), `"kind":"new_case"`) != 1 || strings.Count(string(r.body), `"kind":"reminder"`) != 1 ||
		!strings.Contains(string(r.body), `"unread":2`) {
		t.Fatalf("dongcheng's notifications: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "李四") || strings.Contains(string(r.body), "13900139000") {
		t.Errorf("notifications show the whistleblower: %s", r.body)
	}
	if r := e.do("xicheng", "GET", "/api/v1/notifications", ""); !strings.Contains(string(r.body), `"unread":0`) {
		t.Errorf("xicheng's notifications: %s", r.body)
	}
	if r := e.do("dongcheng", "POST", "/api/v1/notifications/read", `{"all":true}`); r.status != 200 || !strings.Contains(string(r.body), `"marked":2`) {
		t.Errorf("mark read: %d %s", r.status, r.body)
	}
	if r := e.do("dongcheng", "GET", "/api/v1/notifications?unread=true", ""); !strings.Contains(string(r.body), `"unread":0`) ||
		!strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("after reading: %s", r.body)
	}
	if n := e.count(`SELECT count(*) FROM webhook_deliveries WHERE unit_id = 'dongcheng' AND status = 'pending'`); n != 2 {
		t.Errorf("%d deliveries pending for dongcheng, want 2 (transfer, reminder)", n)
	}
	if r := e.do("xicheng", "GET", "/api/v1/units/dongcheng/webhook/deliveries", ""); r.status != 403 {
		t.Errorf("another unit's deliveries: %d, want 403", r.status)
	}
	if r := e.do("dongcheng", "GET", "/api/v1/units/dongcheng/webhook/deliveries", ""); r.status != 200 || strings.Count(string(r.body), `"status":"pending"`) != 2 {
		t.Errorf("own deliveries: %d %s", r.status, r.body)
	}
}
