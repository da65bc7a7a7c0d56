package svc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBusCredentials: outside the demo profile a service without NATS
// credentials does not start; what it is given is what it connects with.
func TestBusCredentials(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "nats-password")
	if err := os.WriteFile(pwFile, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	ca := filepath.Join(dir, "ca.pem")
	_ = os.WriteFile(ca, []byte("x"), 0o600)
	creds := map[string]string{"HOTLINE_NATS_USER": "callsvc", "HOTLINE_NATS_PASSWORD": "a-long-nats-password"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range creds {
			m[k] = v
		}
		for k, v := range extra {
			if v == "-" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		profile  string
		vars     map[string]string
		user, pw string
		problems []string
	}{
		{"production without credentials is refused", ProfileProduction, nil, "", "", []string{"HOTLINE_NATS_USER and HOTLINE_NATS_PASSWORD(_FILE) are required outside the demo profile"}},
		{"production with credentials", ProfileProduction, creds, "callsvc", "a-long-nats-password", nil},
		{"demo may run without", ProfileDemo, nil, "", "", nil},
		{"user without password", ProfileDemo, with(map[string]string{"HOTLINE_NATS_PASSWORD": "-"}), "callsvc", "", []string{"without HOTLINE_NATS_PASSWORD"}},
		{"password without user", ProfileProduction, with(map[string]string{"HOTLINE_NATS_USER": "-"}), "", "a-long-nats-password", []string{"without HOTLINE_NATS_USER", "required outside the demo profile"}},
		{"password file wins", ProfileProduction, with(map[string]string{"HOTLINE_NATS_PASSWORD_FILE": pwFile}), "callsvc", "from-a-file-0123456789", nil},
		{"missing password file", ProfileProduction, with(map[string]string{"HOTLINE_NATS_PASSWORD_FILE": filepath.Join(dir, "nope")}), "callsvc", "a-long-nats-password", []string{"HOTLINE_NATS_PASSWORD_FILE"}},
		{"empty password file", ProfileProduction, with(map[string]string{"HOTLINE_NATS_PASSWORD_FILE": empty}), "callsvc", "a-long-nats-password", []string{"is empty"}},
		{"short password in production", ProfileProduction, with(map[string]string{"HOTLINE_NATS_PASSWORD": "short"}), "callsvc", "short", []string{"at least 16"}},
		{"demo password in production", ProfileProduction, with(map[string]string{"HOTLINE_NATS_PASSWORD": "hotline-demo-password"}), "callsvc", "hotline-demo-password", []string{"demo value"}},
		{"tls URL needs the CA", ProfileProduction, with(map[string]string{"HOTLINE_NATS_URL": "tls://nats:4222"}), "callsvc", "a-long-nats-password", []string{"needs HOTLINE_NATS_CA_FILE"}},
		{"tls URL with the CA", ProfileProduction, with(map[string]string{"HOTLINE_NATS_URL": "tls://nats:4222", "HOTLINE_NATS_CA_FILE": ca}), "callsvc", "a-long-nats-password", nil},
		{"CA file missing", ProfileProduction, with(map[string]string{"HOTLINE_NATS_CA_FILE": filepath.Join(dir, "nope.pem")}), "callsvc", "a-long-nats-password", []string{"HOTLINE_NATS_CA_FILE"}},
		{"client cert without key", ProfileProduction, with(map[string]string{"HOTLINE_NATS_CERT_FILE": ca}), "callsvc", "a-long-nats-password", []string{"go together"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEnv(func(k string) string { return tc.vars[k] })
			c := BusConfig(e, tc.profile)
			if c.User != tc.user || c.Password != tc.pw {
				t.Errorf("user %q password %q, want %q %q", c.User, c.Password, tc.user, tc.pw)
			}
			err := e.Err()
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.problems)
			}
			for _, p := range tc.problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not mention %q", err, p)
				}
			}
		})
	}
}
