// Package sipguard watches Asterisk's SIP security events and contact changes
// (AMI, ari/ami) and acts on two threats to the agents' SIP accounts (issue 14):
//
//   - password guessing: an address that fails SIP authentication MaxFailures
//     times within Window is blocked for BlockFor — a global res_pjsip ACL
//     object ("deny = <addr>") pushed into Asterisk through ARI's dynamic
//     configuration, which res_pjsip_acl checks on every incoming request
//     before anything else; no firewall needed. The block is deleted when it
//     ends, and all blocks when the guard stops.
//   - contact takeover: an agent's AOR keeps one contact and a new
//     registration replaces the old one (remove_existing), so whoever knows
//     an agent's password takes the agent's calls, whistleblowers' included.
//     A replacement from another address is logged and counted, for an alert.
//
// Only addresses and staff numbers are logged: a security event's account may
// be a caller's number (an INVITE's From user), so it is never read.
package sipguard

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ari/ami"
)

// Config is the guard's policy.
type Config struct {
	// MaxFailures failed authentications from one address within Window
	// block it for BlockFor.
	MaxFailures int
	Window      time.Duration
	BlockFor    time.Duration
	// Exempt addresses are never blocked (their failures are still counted):
	// the casework proxy that carries every browser softphone's SIP, above all.
	Exempt []netip.Prefix
	// TakeoverWindow: a contact removed and another created for the same AOR
	// within it, from different addresses, is a takeover.
	TakeoverWindow time.Duration
}

// SIPConfig pushes and deletes Sorcery objects in Asterisk (ari.DynamicConfig).
type SIPConfig interface {
	Put(ctx context.Context, class, typ, id string, fields []ari.Field) error
	Delete(ctx context.Context, class, typ, id string) error
}

// Events counted as failed authentication (Asterisk's security events, PJSIP
// service): a wrong digest response, a wrong password, an unknown account.
var failureEvents = map[string]bool{
	"ChallengeResponseFailed": true,
	"InvalidPassword":         true,
	"InvalidAccountID":        true,
}

// Guard applies the policy. Handle takes AMI events (from the listener's
// goroutine, never blocking on Asterisk); Run pushes and expires the blocks.
type Guard struct {
	cfg     Config
	sip     SIPConfig
	log     *zap.Logger
	metrics *Metrics
	now     func() time.Time

	mu       sync.Mutex
	failures map[string][]time.Time // address -> failure times within Window
	blocked  map[string]time.Time   // address -> end of its block
	contacts map[string]*aorChanges // AOR -> its last contact changes

	todo chan action
}

type aorChanges struct {
	created, removed contactChange
	live             map[string]bool // contact URIs seen and not removed
}

type contactChange struct {
	ip string
	at time.Time
}

type action struct {
	block bool
	ip    string
}

// New returns a guard; nil metrics registers none.
func New(cfg Config, sip SIPConfig, m *Metrics, log *zap.Logger) *Guard {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Guard{cfg: cfg, sip: sip, log: log, metrics: m, now: time.Now,
		failures: map[string][]time.Time{}, blocked: map[string]time.Time{}, contacts: map[string]*aorChanges{},
		todo: make(chan action, 256)}
}

// Handle takes one AMI event.
func (g *Guard) Handle(ev ami.Event) {
	switch {
	case failureEvents[ev.Name()] && strings.EqualFold(ev["Service"], "PJSIP"):
		g.failure(ami.RemoteIP(ev["RemoteAddress"]))
	case ev.Name() == "ContactStatus":
		g.log.Debug("contact status", zap.String("staff", ev["AOR"]), zap.String("status", ev["ContactStatus"]),
			zap.String("address", contactIP(ev["URI"])))
		g.contactChange(ev["AOR"], ev["ContactStatus"], ev["URI"])
	}
}

func (g *Guard) failure(ip string) {
	if ip == "" {
		return
	}
	g.metrics.failures.Inc()
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.blocked[ip]; ok {
		return
	}
	recent := g.failures[ip][:0]
	for _, t := range g.failures[ip] {
		if now.Sub(t) < g.cfg.Window {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	g.failures[ip] = recent
	if len(recent) < g.cfg.MaxFailures {
		return
	}
	if g.exempt(ip) {
		g.log.Warn("SIP authentication failures from an exempt address: not blocked",
			zap.String("address", ip), zap.Int("failures", len(recent)), zap.Duration("window", g.cfg.Window))
		delete(g.failures, ip)
		return
	}
	delete(g.failures, ip)
	g.blocked[ip] = now.Add(g.cfg.BlockFor)
	g.metrics.blocked.Set(float64(len(g.blocked)))
	g.metrics.blocks.Inc()
	g.log.Warn("SIP address blocked after failed authentications", zap.String("address", ip),
		zap.Int("failures", len(recent)), zap.Duration("window", g.cfg.Window), zap.Duration("blocked_for", g.cfg.BlockFor))
	select {
	case g.todo <- action{block: true, ip: ip}:
	default:
		g.log.Error("SIP guard queue full: block not pushed", zap.String("address", ip))
	}
}

func (g *Guard) exempt(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, p := range g.cfg.Exempt {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// contactChange sees an AOR's contacts come and go. With one contact per AOR
// and remove_existing, a registration from elsewhere shows as the old contact
// removed and a new one appearing (in either order) at the same moment; the
// agent moving desks after logging off shows them far apart. Asterisk 22
// announces a new contact with its first status ("NonQualified", "Created",
// a qualify result), so the first event of a URI not seen before counts as
// its creation.
func (g *Guard) contactChange(aor, status, uri string) {
	ip := contactIP(uri)
	if aor == "" || ip == "" || status == "" {
		return
	}
	now := g.now()
	g.mu.Lock()
	c := g.contacts[aor]
	if c == nil {
		c = &aorChanges{live: map[string]bool{}}
		g.contacts[aor] = c
	}
	var other contactChange
	if status == "Removed" {
		delete(c.live, uri)
		c.removed = contactChange{ip: ip, at: now}
		other = c.created
	} else {
		if c.live[uri] {
			g.mu.Unlock()
			return // a known contact's new status, not a new contact
		}
		c.live[uri] = true
		c.created = contactChange{ip: ip, at: now}
		other = c.removed
	}
	takeover := other.ip != "" && other.ip != ip && now.Sub(other.at) <= g.cfg.TakeoverWindow
	var from, to string
	if takeover {
		from, to = c.removed.ip, c.created.ip
		// Counted once: the pair is used up.
		c.created, c.removed = contactChange{}, contactChange{}
	}
	g.mu.Unlock()
	if takeover {
		g.metrics.takeovers.Inc()
		g.log.Warn("SIP registration took over an agent's contact from another address",
			zap.String("staff", aor), zap.String("from_address", from), zap.String("to_address", to))
	}
}

// contactIP is the host of a contact URI such as
// "sip:1001@192.0.2.7:5060;transport=udp" when it is an IP address.
func contactIP(uri string) string {
	s := uri
	if i := strings.Index(s, ":"); i >= 0 && (strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:")) {
		s = s[i+1:]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, ";?>"); i >= 0 {
		s = s[:i]
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

// aclID is the Sorcery ID of an address's block.
func aclID(ip string) string {
	return "sipguard-" + strings.NewReplacer(":", "-", ".", "_").Replace(ip)
}

// Run pushes blocks into Asterisk and removes them when they end, until ctx
// ends; then it removes every block it made (a stopped guard must not leave
// addresses blocked for ever: the memory wizard keeps them until Asterisk restarts).
func (g *Guard) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			g.unblockAll()
			return nil
		case a := <-g.todo:
			if a.block {
				g.push(ctx, a.ip)
			}
		case <-tick.C:
			g.expire(ctx)
		}
	}
}

func (g *Guard) push(ctx context.Context, ip string) {
	bits := 32
	if a, err := netip.ParseAddr(ip); err == nil && !a.Unmap().Is4() {
		bits = 128
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := g.sip.Put(cctx, "res_pjsip", "acl", aclID(ip), []ari.Field{{Attribute: "deny", Value: ip + "/" + strconv.Itoa(bits)}})
	if err != nil {
		g.log.Error("SIP block not pushed to Asterisk", zap.String("address", ip), zap.Error(err))
	}
}

func (g *Guard) expire(ctx context.Context) {
	now := g.now()
	var ended []string
	g.mu.Lock()
	for ip, until := range g.blocked {
		if !now.Before(until) {
			ended = append(ended, ip)
			delete(g.blocked, ip)
		}
	}
	for ip, ts := range g.failures {
		if len(ts) > 0 && now.Sub(ts[len(ts)-1]) >= g.cfg.Window {
			delete(g.failures, ip)
		}
	}
	for aor, c := range g.contacts {
		if len(c.live) == 0 && now.Sub(c.created.at) > g.cfg.TakeoverWindow && now.Sub(c.removed.at) > g.cfg.TakeoverWindow {
			delete(g.contacts, aor)
		}
	}
	g.metrics.blocked.Set(float64(len(g.blocked)))
	g.mu.Unlock()
	for _, ip := range ended {
		g.unblock(ctx, ip)
	}
}

func (g *Guard) unblock(ctx context.Context, ip string) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.sip.Delete(cctx, "res_pjsip", "acl", aclID(ip)); err != nil {
		g.log.Error("SIP block not removed from Asterisk", zap.String("address", ip), zap.Error(err))
		return
	}
	g.log.Info("SIP address unblocked", zap.String("address", ip))
}

func (g *Guard) unblockAll() {
	g.mu.Lock()
	ips := make([]string, 0, len(g.blocked))
	for ip := range g.blocked {
		ips = append(ips, ip)
	}
	g.blocked = map[string]time.Time{}
	g.metrics.blocked.Set(0)
	g.mu.Unlock()
	for _, ip := range ips {
		g.unblock(context.Background(), ip)
	}
}

// Blocked reports whether ip is blocked now.
func (g *Guard) Blocked(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.blocked[ip]
	return ok
}

// Metrics are the guard's series.
type Metrics struct {
	failures  prometheus.Counter
	blocked   prometheus.Gauge
	blocks    prometheus.Counter
	takeovers prometheus.Counter
	// AMIConnected is 1 while the guard hears Asterisk's events.
	AMIConnected prometheus.Gauge
}

// NewMetrics registers the guard's series with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_sip_auth_failures_total", Help: "Failed SIP authentications Asterisk reported (wrong password, unknown account).",
		}),
		blocked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_sip_blocked_addresses", Help: "Addresses blocked now for repeated failed SIP authentication.",
		}),
		blocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_sip_blocks_total", Help: "Addresses blocked for repeated failed SIP authentication.",
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_sip_contact_takeovers_total", Help: "Registrations that replaced an agent's contact from another address.",
		}),
		AMIConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hotline_ami_connected", Help: "1 while the SIP guard is connected to Asterisk's manager interface.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.failures, m.blocked, m.blocks, m.takeovers, m.AMIConnected)
	}
	return m
}
