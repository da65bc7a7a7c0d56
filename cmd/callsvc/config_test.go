package main

import (
	"strings"
	"testing"
	"time"
)

// baseEnv is the least a production start needs.
var baseEnv = map[string]string{"HOTLINE_NATS_USER": "callsvc", "HOTLINE_NATS_PASSWORD": "nats-secret-for-tests",
	"HOTLINE_ARI_USER": "hotline", "HOTLINE_ARI_PASSWORD": "ari-secret-for-tests", "HOTLINE_AMI_PASSWORD": "ami-secret-for-tests"}

func envOf(over map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return baseEnv[k]
	}
}

// TestConfigDefaults: every part of the call service's configuration comes
// from the one loadConfig, with its defaults.
func TestConfigDefaults(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"data dir", c.DataDir, "/var/lib/hotline12345"},
		{"menu first timeout", c.Menu.FirstTimeout, 6 * time.Second},
		{"callback attempts", c.Callback.Attempts, 3},
		{"calls dir", c.Recovery.CallsDir, "/var/lib/hotline12345/spool/calls"},
		{"handover", c.Recovery.Handover, true},
		{"human service", c.Routing.Enabled, true},
		{"agents' casework", c.Routing.CaseworkURL, defaultCaseworkURL},
		{"self-service casework", c.CaseworkURL, ""},
		{"auth cache", c.Routing.AuthCache, time.Duration(0)},
		{"ring timeout", c.Routing.Service.RingTimeout, 15 * time.Second},
		{"max wait", c.Routing.Service.MaxWait, 3 * time.Minute},
		{"max missed", c.Routing.Service.Pool.MaxMissed, 2},
		{"wrap-up", c.Routing.Service.Pool.WrapUp, 15 * time.Second},
		{"duty line trunks", strings.Join(c.Routing.Service.DutyLineTrunks, ","), "dutylines"},
		{"sounds", c.Routing.Service.SoundsDir, c.SoundsDir},
		// One setting, one value: the agents' state file is recovery's.
		{"agents' state", c.Routing.Service.StateFile, c.Recovery.AgentsState},
		{"screen pops", c.Routing.PopSubject, c.Bus.SubjectRoot + "_agents"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// HOTLINE_CASEWORK_URL set: both the front door and the agents use it.
	c, err = loadConfig(envOf(map[string]string{"HOTLINE_CASEWORK_URL": "http://casework:9102"}))
	if err != nil || c.Routing.CaseworkURL != "http://casework:9102" {
		t.Errorf("agents' casework %q (%v), want HOTLINE_CASEWORK_URL", c.Routing.CaseworkURL, err)
	}
}

// TestConfigInvalid: each invalid value is reported by name.
func TestConfigInvalid(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		want       string // part of the error
	}{
		{"HOTLINE_ARI_USER", "", "HOTLINE_ARI_USER is required"},
		{"HOTLINE_ARI_PASSWORD", "demo", "HOTLINE_ARI_PASSWORD uses a demo value"},
		{"HOTLINE_PROFILE", "staging", "HOTLINE_PROFILE"},
		{"HOTLINE_NATS_USER", "", "HOTLINE_NATS_USER and HOTLINE_NATS_PASSWORD(_FILE) are required outside the demo profile"},
		{"HOTLINE_ARI_MAX_CONNS", "0", "HOTLINE_ARI_MAX_CONNS"},
		{"HOTLINE_SERVICE_MODE", "sometimes", "sometimes"},
		{"HOTLINE_MENU_FIRST_TIMEOUT", "500ms", "HOTLINE_MENU_FIRST_TIMEOUT"},
		{"HOTLINE_MENU_MAX_ERRORS", "x", "HOTLINE_MENU_MAX_ERRORS"},
		{"HOTLINE_VOICEMAIL_MAX_DURATION", "2s", "HOTLINE_VOICEMAIL_MAX_DURATION"},
		{"HOTLINE_CASEWORK_URL", "casework:9102", "HOTLINE_CASEWORK_URL"},
		{"HOTLINE_CALLBACK_DIAL", "PJSIP/x@carrier", "HOTLINE_CALLBACK_DIAL"},
		{"HOTLINE_CALLBACK_NUMBERS", "1[3-9]", "anchored"},
		{"HOTLINE_CALLBACK_DAYS", "weekends", "HOTLINE_CALLBACK_DAYS"},
		{"HOTLINE_FALLBACK_SCAN", "10ms", "HOTLINE_FALLBACK_SCAN"},
		{"HOTLINE_CALLS_DIR", "/var/lib/hotline12345/spool/callsvc", "HOTLINE_CALLS_DIR"},
		{"HOTLINE_DRAIN_HANDOVER", "maybe", "HOTLINE_DRAIN_HANDOVER"},
		{"HOTLINE_HUMAN_SERVICE", "yes", "HOTLINE_HUMAN_SERVICE"},
		{"HOTLINE_AGENT_AUTH_CACHE", "soon", "HOTLINE_AGENT_AUTH_CACHE"},
		{"HOTLINE_QUEUE_RING_TIMEOUT", "500ms", "HOTLINE_QUEUE_RING_TIMEOUT"},
		{"HOTLINE_QUEUE_MAX_WAIT", "-1s", "HOTLINE_QUEUE_MAX_WAIT"},
		{"HOTLINE_AGENT_MAX_MISSED", "0", "HOTLINE_AGENT_MAX_MISSED"},
		{"HOTLINE_AGENT_WRAPUP", "15", "HOTLINE_AGENT_WRAPUP"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := loadConfig(envOf(map[string]string{tc.key: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s=%q: %v, want an error about %s", tc.key, tc.value, err, tc.want)
			}
		})
	}
}

// TestConfigAllProblemsAtOnce: a deployment with several mistakes, in the
// front door's, recovery's and the queue's settings, hears of all of them.
func TestConfigAllProblemsAtOnce(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{
		"HOTLINE_MENU_MAX_ERRORS":    "0",
		"HOTLINE_FALLBACK_SCAN":      "1ms",
		"HOTLINE_QUEUE_RING_TIMEOUT": "1ms",
		"HOTLINE_AGENT_MAX_MISSED":   "0",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"HOTLINE_MENU_MAX_ERRORS", "HOTLINE_FALLBACK_SCAN", "HOTLINE_QUEUE_RING_TIMEOUT", "HOTLINE_AGENT_MAX_MISSED"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("%v: %s not reported", err, key)
		}
	}
}

// TestSIPGuardConfig: the guard is on by default and then needs its AMI
// password (never a demo one in production); its policy is validated.
func TestSIPGuardConfig(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	g := c.SIPGuard
	if !g.Enabled || g.AMI.Addr != "127.0.0.1:5038" || g.AMI.Username != "hotline-guard" || g.Policy.MaxFailures != 5 ||
		g.Policy.Window != time.Minute || g.Policy.BlockFor != 15*time.Minute || len(g.Policy.Exempt) != 2 ||
		c.SoftphoneACL != "agent-desk" {
		t.Errorf("defaults: %+v, softphone ACL %q", g, c.SoftphoneACL)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // part of the error; "" = valid
	}{
		{"no AMI password", map[string]string{"HOTLINE_AMI_PASSWORD": ""}, "HOTLINE_AMI_PASSWORD is required"},
		{"demo AMI password in production", map[string]string{"HOTLINE_AMI_PASSWORD": "hotline-demo-ami-password"}, "demo value"},
		{"guard off needs no password", map[string]string{"HOTLINE_SIP_GUARD": "off", "HOTLINE_AMI_PASSWORD": ""}, ""},
		{"zero failures", map[string]string{"HOTLINE_SIP_AUTH_MAX_FAILURES": "0"}, "HOTLINE_SIP_AUTH_MAX_FAILURES"},
		{"bad exempt", map[string]string{"HOTLINE_SIP_GUARD_EXEMPT": "10.0.0.0/33"}, "HOTLINE_SIP_GUARD_EXEMPT"},
		{"no exemption", map[string]string{"HOTLINE_SIP_GUARD_EXEMPT": "none"}, ""},
		{"short block", map[string]string{"HOTLINE_SIP_BLOCK_FOR": "10ms"}, "HOTLINE_SIP_BLOCK_FOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadConfig(envOf(tc.env))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one about %s", err, tc.want)
			}
		})
	}
}
