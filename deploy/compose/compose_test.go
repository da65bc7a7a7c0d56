// Package compose holds the Docker deployment (docker-compose.yml and the
// images). No Docker engine runs on the build machines, so the file is checked
// here with compose-go, the parser and validator of `docker compose` itself:
// it must be valid compose-spec, refuse to start without its secrets, and keep
// the trust boundaries of issue 14 (a user per service, each NATS password
// only to its own service, nothing as root but the one-shot NATS rendering).
package compose

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// required are the variables the file has no default for (secrets and the
// site's addresses).
var required = map[string]string{
	"POSTGRES_PASSWORD":      "pg-secret-for-the-test",
	"ARI_USER":               "hotline",
	"ARI_PASSWORD":           "ari-secret-for-the-test",
	"AMI_PASSWORD":           "ami-secret-for-the-test",
	"AGENTS_CSV":             "/etc/hotline/agents.csv",
	"AST_AGENT_NETWORKS":     "10.20.0.0/16",
	"AST_SIP_BIND":           "10.10.0.5",
	"CARRIER_IP":             "10.10.0.1",
	"GRAFANA_ADMIN_PASSWORD": "grafana-secret-for-the-test",
	"NATS_SECRETS_DIR":       "/etc/hotline/nats-secrets",
}

func load(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		kv = append(kv, k+"="+env[k])
	}
	opts, err := cli.NewProjectOptions([]string{"docker-compose.yml"},
		cli.WithWorkingDirectory("."), cli.WithEnv(kv), cli.WithDiscardEnvFile)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeFileIsValid(t *testing.T) {
	p, err := load(t, required)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	want := []string{"asterisk", "callsvc", "casework", "grafana", "nats", "nats-config", "postgres", "prometheus", "prompts"}
	if got := slices.Sorted(maps.Keys(p.Services)); !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
}

func TestComposeRefusesWithoutItsSecrets(t *testing.T) {
	for name := range required {
		t.Run(name, func(t *testing.T) {
			env := maps.Clone(required)
			delete(env, name)
			_, err := load(t, env)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("loaded without %s: err = %v", name, err)
			}
		})
	}
}

func TestComposeServiceUsersAndSecrets(t *testing.T) {
	p, err := load(t, required)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		service string
		user    string   // "" = the image's own (not root for ours)
		secrets []string // the compose secrets it is given, exactly
	}{
		{"callsvc", "hotline-call", []string{"nats_callsvc"}},
		{"casework", "hotline-case", []string{"nats_casework"}},
		{"prompts", "hotline-call", nil},
		// The one-shot rendering of nats-server's users reads every
		// password (to hash it): root, and nothing else runs with it.
		{"nats-config", "root", nil},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s, ok := p.Services[tt.service]
			if !ok {
				t.Fatalf("no service %s", tt.service)
			}
			if s.User != tt.user {
				t.Errorf("user %q, want %q", s.User, tt.user)
			}
			var got []string
			for _, sec := range s.Secrets {
				got = append(got, sec.Source)
			}
			if !slices.Equal(got, tt.secrets) {
				t.Errorf("secrets %v, want %v", got, tt.secrets)
			}
		})
	}
	for name, s := range p.Services {
		if s.User == "root" && name != "nats-config" {
			t.Errorf("%s runs as root", name)
		}
		if s.Privileged {
			t.Errorf("%s is privileged", name)
		}
	}
	// Each NATS password file is its own service's only.
	for sec, file := range map[string]string{"nats_callsvc": "callsvc.password", "nats_casework": "casework.password"} {
		if got := p.Secrets[sec].File; got != required["NATS_SECRETS_DIR"]+"/"+file {
			t.Errorf("secret %s is %q, want the %s file", sec, got, file)
		}
	}
}
