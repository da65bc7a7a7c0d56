package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hotline12345/hotline/ari"
	"github.com/hotline12345/hotline/ari/ami"
	"github.com/hotline12345/hotline/cmd/internal/svc"
	"github.com/hotline12345/hotline/routing/sipguard"
)

// SIP guard settings (issue 14), read from the environment with these defaults:
//
//	HOTLINE_SIP_GUARD             [on]   read Asterisk's security events and contact changes over AMI;
//	                                     "off" only where another tool (fail2ban) does it
//	HOTLINE_AMI_ADDR              [127.0.0.1:5038]  Asterisk's manager interface (stack.sh AST_AMI_PORT)
//	HOTLINE_AMI_USER              [hotline-guard]   its read-only user (manager.conf)
//	HOTLINE_AMI_PASSWORD          (required with the guard on) stack.sh's AMI_PASSWORD or the
//	                                     generated asterisk/<instance>/ami.secret
//	HOTLINE_SIP_AUTH_MAX_FAILURES [5]    failed SIP authentications from one address ...
//	HOTLINE_SIP_AUTH_WINDOW       [60s]  ... within this ...
//	HOTLINE_SIP_BLOCK_FOR         [15m]  ... block it this long (403 to everything it sends)
//	HOTLINE_SIP_GUARD_EXEMPT      [127.0.0.1/32,::1/128]  never blocked: the casework proxy
//	                                     carries every browser softphone's SIP from loopback
//	HOTLINE_SIP_TAKEOVER_WINDOW   [5s]   an agent's contact removed and one created from another
//	                                     address within this is a takeover (warned, counted)
//	HOTLINE_SOFTPHONE_ACL         [agent-desk]  named ACL (acl.conf) of the browser softphones'
//	                                     endpoints
type sipGuardConfig struct {
	Enabled bool
	AMI     ami.Config
	Policy  sipguard.Config
}

func sipGuardSettings(e *svc.Env, profile string) sipGuardConfig {
	var g sipGuardConfig
	g.Enabled = e.OneOf("HOTLINE_SIP_GUARD", "on", "on", "off") == "on"
	g.AMI = ami.Config{
		Addr:     e.Str("HOTLINE_AMI_ADDR", "127.0.0.1:5038"),
		Username: e.Str("HOTLINE_AMI_USER", "hotline-guard"),
		Events:   "security,system",
	}
	if g.Enabled {
		g.AMI.Password = e.Secret("HOTLINE_AMI_PASSWORD", profile)
	}
	g.Policy = sipguard.Config{
		MaxFailures:    e.Int("HOTLINE_SIP_AUTH_MAX_FAILURES", 5),
		Window:         e.Duration("HOTLINE_SIP_AUTH_WINDOW", time.Minute),
		BlockFor:       e.Duration("HOTLINE_SIP_BLOCK_FOR", 15*time.Minute),
		TakeoverWindow: e.Duration("HOTLINE_SIP_TAKEOVER_WINDOW", 5*time.Second),
	}
	for _, s := range strings.Split(e.Str("HOTLINE_SIP_GUARD_EXEMPT", "127.0.0.1/32,::1/128"), ",") {
		if s = strings.TrimSpace(s); s == "" || s == "none" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		e.Check(err != nil, fmt.Sprintf("HOTLINE_SIP_GUARD_EXEMPT: %q is not a CIDR", s))
		if err == nil {
			g.Policy.Exempt = append(g.Policy.Exempt, p.Masked())
		}
	}
	e.Check(g.Policy.MaxFailures < 1, "HOTLINE_SIP_AUTH_MAX_FAILURES must be at least 1")
	e.Check(g.Policy.Window < time.Second, "HOTLINE_SIP_AUTH_WINDOW must be at least 1s")
	e.Check(g.Policy.BlockFor < time.Second, "HOTLINE_SIP_BLOCK_FOR must be at least 1s")
	e.Check(g.Policy.TakeoverWindow < 100*time.Millisecond, "HOTLINE_SIP_TAKEOVER_WINDOW must be at least 100ms")
	return g
}

// startSIPGuard returns the guard's goroutines (the AMI listener and the
// block keeper), or nil when the guard is off.
func startSIPGuard(cfg config, reg prometheus.Registerer, log *zap.Logger) []func(context.Context) error {
	if !cfg.SIPGuard.Enabled {
		log.Warn("SIP guard off (HOTLINE_SIP_GUARD=off): failed SIP authentications are not blocked, contact takeovers not detected")
		return nil
	}
	m := sipguard.NewMetrics(reg)
	dyn := &ari.DynamicConfig{URL: cfg.ARI.URL, Username: cfg.ARI.Username, Password: cfg.ARI.Password}
	g := sipguard.New(cfg.SIPGuard.Policy, dyn, m, log.Named("sipguard"))
	l := ami.NewListener(cfg.SIPGuard.AMI, log.Named("ami"))
	l.Connected = func(up bool) {
		if up {
			m.AMIConnected.Set(1)
		} else {
			m.AMIConnected.Set(0)
		}
	}
	log.Info("SIP guard", zap.String("ami", cfg.SIPGuard.AMI.Addr), zap.Int("max_failures", cfg.SIPGuard.Policy.MaxFailures),
		zap.Duration("window", cfg.SIPGuard.Policy.Window), zap.Duration("block_for", cfg.SIPGuard.Policy.BlockFor))
	return []func(context.Context) error{
		func(ctx context.Context) error { return l.Run(ctx, g.Handle) },
		g.Run,
	}
}
