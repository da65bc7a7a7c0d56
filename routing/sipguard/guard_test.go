package sipguard

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ari/ami"
)

// recorder stands in for Asterisk's dynamic configuration (pure policy tests;
// deploy/e2e TestSIPGuard* run it against Asterisk).
type recorder struct {
	mu   sync.Mutex
	acls map[string]string // id -> deny value
}

func (r *recorder) Put(_ context.Context, class, typ, id string, f []ari.Field) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if class == "res_pjsip" && typ == "acl" && len(f) == 1 && f[0].Attribute == "deny" {
		r.acls[id] = f[0].Value
	}
	return nil
}

func (r *recorder) Delete(_ context.Context, _, _, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.acls, id)
	return nil
}

func (r *recorder) get(id string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.acls[id]
	return v, ok
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)} }
func fail(ip string) ami.Event       { return failAs(ip, "ChallengeResponseFailed") }
func failAs(ip, name string) ami.Event {
	return ami.Event{"Event": name, "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/" + ip + "/5060", "AccountID": "13912345678"}
}
func contact(aor, st, uri string) ami.Event {
	return ami.Event{"Event": "ContactStatus", "AOR": aor, "ContactStatus": st, "URI": uri}
}

func newGuard(t *testing.T, cfg Config) (*Guard, *recorder, *clock, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	rec := &recorder{acls: map[string]string{}}
	g := New(cfg, rec, NewMetrics(reg), zap.NewNop())
	c := newClock()
	g.now = c.now
	return g, rec, c, reg
}

func drain(g *Guard) {
	for {
		select {
		case a := <-g.todo:
			if a.block {
				g.push(context.Background(), a.ip)
			}
		default:
			return
		}
	}
}

func TestFailuresBlockAnAddressForAWhile(t *testing.T) {
	cfg := Config{MaxFailures: 3, Window: 10 * time.Second, BlockFor: time.Minute, TakeoverWindow: 2 * time.Second,
		Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	tests := []struct {
		name    string
		events  []ami.Event
		gap     time.Duration // between events
		blocked map[string]bool
	}{
		{"three within the window", []ami.Event{fail("192.0.2.7"), fail("192.0.2.7"), fail("192.0.2.7")}, time.Second,
			map[string]bool{"192.0.2.7": true}},
		{"every kind of failure counts", []ami.Event{failAs("192.0.2.7", "InvalidPassword"), failAs("192.0.2.7", "InvalidAccountID"), fail("192.0.2.7")}, time.Second,
			map[string]bool{"192.0.2.7": true}},
		{"spread wider than the window", []ami.Event{fail("192.0.2.7"), fail("192.0.2.7"), fail("192.0.2.7")}, 6 * time.Second,
			map[string]bool{"192.0.2.7": false}},
		{"two addresses counted apart", []ami.Event{fail("192.0.2.7"), fail("192.0.2.8"), fail("192.0.2.7"), fail("192.0.2.8")}, time.Second,
			map[string]bool{"192.0.2.7": false, "192.0.2.8": false}},
		{"the desk proxy is never blocked", []ami.Event{fail("127.0.0.1"), fail("127.0.0.1"), fail("127.0.0.1")}, time.Second,
			map[string]bool{"127.0.0.1": false}},
		{"successes and ACL refusals are not failures", []ami.Event{
			{"Event": "SuccessfulAuth", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/192.0.2.7/5060"},
			{"Event": "FailedACL", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/192.0.2.7/5060"},
			{"Event": "FailedACL", "Service": "PJSIP", "RemoteAddress": "IPV4/UDP/192.0.2.7/5060"},
			fail("192.0.2.7"), fail("192.0.2.7")}, time.Second,
			map[string]bool{"192.0.2.7": false}},
		{"AMI's own login failures are not SIP", []ami.Event{
			{"Event": "InvalidPassword", "Service": "AMI", "RemoteAddress": "IPV4/TCP/192.0.2.7/40000"},
			{"Event": "InvalidPassword", "Service": "AMI", "RemoteAddress": "IPV4/TCP/192.0.2.7/40000"},
			{"Event": "InvalidPassword", "Service": "AMI", "RemoteAddress": "IPV4/TCP/192.0.2.7/40000"}}, time.Second,
			map[string]bool{"192.0.2.7": false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, rec, c, _ := newGuard(t, cfg)
			for _, ev := range tc.events {
				g.Handle(ev)
				c.add(tc.gap)
			}
			drain(g)
			for ip, want := range tc.blocked {
				if got := g.Blocked(ip); got != want {
					t.Errorf("%s blocked = %v, want %v", ip, got, want)
				}
				deny, pushed := rec.get(aclID(ip))
				if pushed != want {
					t.Errorf("%s ACL pushed = %v, want %v", ip, pushed, want)
				}
				if want && deny != ip+"/32" {
					t.Errorf("%s ACL deny = %q", ip, deny)
				}
			}
		})
	}
}

func TestBlockEndsAndMetrics(t *testing.T) {
	g, rec, c, reg := newGuard(t, Config{MaxFailures: 2, Window: 10 * time.Second, BlockFor: 30 * time.Second, TakeoverWindow: time.Second})
	g.Handle(fail("2001:db8::7"))
	g.Handle(fail("2001:db8::7"))
	drain(g)
	if v, ok := rec.get(aclID("2001:db8::7")); !ok || v != "2001:db8::7/128" {
		t.Fatalf("IPv6 block = %q, %v", v, ok)
	}
	if got := testutil.ToFloat64(g.metrics.blocked); got != 1 {
		t.Errorf("blocked gauge = %v, want 1", got)
	}
	// More failures while blocked change nothing (Asterisk refuses them anyway).
	g.Handle(fail("2001:db8::7"))
	if got := testutil.ToFloat64(g.metrics.blocks); got != 1 {
		t.Errorf("blocks = %v, want 1", got)
	}
	c.add(29 * time.Second)
	g.expire(context.Background())
	if !g.Blocked("2001:db8::7") {
		t.Fatal("unblocked before BlockFor")
	}
	c.add(time.Second)
	g.expire(context.Background())
	if g.Blocked("2001:db8::7") {
		t.Fatal("still blocked after BlockFor")
	}
	if _, ok := rec.get(aclID("2001:db8::7")); ok {
		t.Error("ACL still in Asterisk after the block ended")
	}
	if got := testutil.ToFloat64(g.metrics.failures); got != 3 {
		t.Errorf("failures = %v, want 3", got)
	}
	if got := testutil.ToFloat64(g.metrics.blocked); got != 0 {
		t.Errorf("blocked gauge = %v, want 0", got)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 5 {
		t.Errorf("series = %d, %v", n, err)
	}
}

func TestStoppedGuardRemovesItsBlocks(t *testing.T) {
	g, rec, _, _ := newGuard(t, Config{MaxFailures: 1, Window: time.Minute, BlockFor: time.Hour, TakeoverWindow: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = g.Run(ctx); close(done) }()
	g.Handle(fail("192.0.2.9"))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, ok := rec.get(aclID("192.0.2.9")); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("block not pushed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if _, ok := rec.get(aclID("192.0.2.9")); ok {
		t.Error("block left in Asterisk after the guard stopped")
	}
}

func TestContactTakeover(t *testing.T) {
	tests := []struct {
		name   string
		events []ami.Event
		gap    time.Duration
		want   float64
	}{
		{"created then removed, other address", []ami.Event{
			contact("1009", "Created", "sip:1009@198.51.100.4:5060;transport=udp"),
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060;transport=udp")}, 10 * time.Millisecond, 1},
		{"removed then created, other address", []ami.Event{
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060"),
			contact("1009", "Created", "sip:1009@198.51.100.4:5062")}, 10 * time.Millisecond, 1},
		{"same address, new port (NAT rebinding)", []ami.Event{
			contact("1009", "Created", "sip:1009@192.0.2.7:6000"),
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060")}, 10 * time.Millisecond, 0},
		{"logged off, registered elsewhere later", []ami.Event{
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060"),
			contact("1009", "Created", "sip:1009@198.51.100.4:5060")}, time.Minute, 0},
		{"two agents at once are not one takeover", []ami.Event{
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060"),
			contact("1010", "Created", "sip:1010@198.51.100.4:5060")}, 10 * time.Millisecond, 0},
		{"new contacts without a removal are not takeovers", []ami.Event{
			contact("1009", "Reachable", "sip:1009@192.0.2.7:5060"),
			contact("1009", "Created", "sip:1009@198.51.100.4:5060")}, 10 * time.Millisecond, 0},
		{"Asterisk 22: a new contact first shows as NonQualified", []ami.Event{
			contact("1009", "NonQualified", "sip:1009@192.0.2.7:5060"),
			contact("1009", "NonQualified", "sip:1009@198.51.100.4:5060"),
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060")}, 10 * time.Millisecond, 1},
		{"a known contact's qualify result is not a new contact", []ami.Event{
			contact("1009", "NonQualified", "sip:1009@198.51.100.4:5060"),
			contact("1009", "Removed", "sip:1009@192.0.2.7:5060"), // takeover: counted once
			contact("1009", "Unreachable", "sip:1009@198.51.100.4:5060"),
			contact("1009", "Removed", "sip:1009@203.0.113.9:5060")}, 10 * time.Millisecond, 1},
		{"IPv6 contact", []ami.Event{
			contact("1009", "Removed", "sip:1009@[2001:db8::1]:5060"),
			contact("1009", "Created", "sip:1009@[2001:db8::2]:5060")}, 10 * time.Millisecond, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, _, c, _ := newGuard(t, Config{MaxFailures: 5, Window: time.Minute, BlockFor: time.Minute, TakeoverWindow: 2 * time.Second})
			for _, ev := range tc.events {
				g.Handle(ev)
				c.add(tc.gap)
			}
			if got := testutil.ToFloat64(g.metrics.takeovers); got != tc.want {
				t.Errorf("takeovers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContactIP(t *testing.T) {
	for uri, want := range map[string]string{
		"sip:1001@192.0.2.7:5060;transport=udp":     "192.0.2.7",
		"sip:1001@192.0.2.7":                        "192.0.2.7",
		"sips:1001@[2001:db8::1]:5061":              "2001:db8::1",
		"sip:192.0.2.9:5060":                        "192.0.2.9",
		"sip:abc@df7jal23ls0d.invalid;transport=ws": "",
		"": "",
	} {
		if got := contactIP(uri); got != want {
			t.Errorf("contactIP(%q) = %q, want %q", uri, got, want)
		}
	}
}
