package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/eventbus/natstest"
)

// TestNATSConfig: the rendered config runs a real nats-server that lets in
// the generated passwords (no database needed), holds no password in clear,
// and keeps the second rendering's passwords; a password file others can
// read is refused.
func TestNATSConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nats")
	c := ctl{t: t, env: map[string]string{"HOTLINE_STREAM": "HOTLINE_CTL", "HOTLINE_SUBJECT_ROOT": "ctl"}}
	conf := c.must("nats-config", "--password-dir", dir, "--generate")
	again := c.must("nats-config", "--password-dir", dir)
	if !strings.Contains(again, `"$JS.API.STREAM.INFO.HOTLINE_CTL"`) || !strings.Contains(again, `"ctl.call.>"`) {
		t.Errorf("rendered rules are not for HOTLINE_CTL/ctl:\n%s", again)
	}
	srv := natstest.StartServerConfig(t, conf)
	for _, u := range eventbus.Users {
		p := filepath.Join(dir, u+".password")
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, st.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		pw := strings.TrimSpace(string(b))
		if len(pw) < 32 || strings.Contains(conf, pw) {
			t.Errorf("%s: password of %d characters, in the config in clear: %v", u, len(pw), strings.Contains(conf, pw))
		}
		nc, err := nats.Connect(srv.URL, nats.UserInfo(u, pw), nats.Timeout(3*time.Second))
		if err != nil {
			t.Errorf("%s with its generated password: %v", u, err)
			continue
		}
		nc.Close()
	}
	if nc, err := nats.Connect(srv.URL, nats.Timeout(3*time.Second)); err == nil {
		nc.Close()
		t.Error("the rendered server let a client in without credentials")
	}
	// The service's group may read its password (0640, as the stack sets it
	// for user hotline); the world may not, nor may a group write it.
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o640, true}, {0o600, true}, {0o644, false}, {0o660, false}, {0o604, false}} {
		if err := os.Chmod(filepath.Join(dir, "casework.password"), tc.mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := c.run("nats-config", "--password-dir", dir)
		if tc.ok && err != nil {
			t.Errorf("password file mode %v refused: %v", tc.mode, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "readable by others")) {
			t.Errorf("password file mode %v: %v, want a refusal", tc.mode, err)
		}
	}
	if _, _, err := c.run("nats-config", "--password-dir", t.TempDir()); err == nil {
		t.Error("missing passwords without --generate were accepted")
	}
}
