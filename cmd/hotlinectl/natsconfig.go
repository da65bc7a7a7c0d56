package main

// nats-config renders the nats-server authorization (users, bcrypt password
// hashes, per-subject permissions) from the one definition in
// casework/eventbus/access.go, so the stack, compose and the tests run the
// same rules (issue 14).

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hotline12345/hotline/casework/event"
	"github.com/hotline12345/hotline/casework/eventbus"
)

// natsScope is the scope the services run with, from the same variables
// they read (HOTLINE_STREAM, HOTLINE_SUBJECT_ROOT, HOTLINE_SCREENPOP_SUBJECT,
// HOTLINE_CALLBACK_DURABLE, HOTLINE_CONSUMER), each with the services' default.
func natsScope(getenv func(string) string) eventbus.Scope {
	s := eventbus.DefaultScope()
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	s.Stream = get("HOTLINE_STREAM", s.Stream)
	s.SubjectRoot = get("HOTLINE_SUBJECT_ROOT", event.DefaultSubjectRoot)
	s.PopSubject = get("HOTLINE_SCREENPOP_SUBJECT", s.SubjectRoot+"_agents")
	s.CallbackDurable = get("HOTLINE_CALLBACK_DURABLE", s.CallbackDurable)
	s.CaseworkDurable = get("HOTLINE_CONSUMER", s.CaseworkDurable)
	return s
}

// cmdNATSConfig needs no database: it runs before one exists (stack, compose).
func cmdNATSConfig(getenv func(string) string, args []string, c *cli) error {
	var dir, tlsCert, tlsKey, tlsCA string
	var generate, wildcard bool
	rest, err := flags("nats-config", args, c.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "password-dir", "", "directory of the users' passwords, one file USER.password each (required)")
		fs.BoolVar(&generate, "generate", false, "create a random password (mode 0600) for every user that has none")
		fs.StringVar(&tlsCert, "tls-cert", "", "server certificate: adds a tls block (clients then need tls:// and the CA)")
		fs.StringVar(&tlsKey, "tls-key", "", "server certificate's key")
		fs.StringVar(&tlsCA, "tls-verify-ca", "", "CA of client certificates: the server then requires one (mTLS)")
		fs.BoolVar(&wildcard, "any-stream", false, "rules for any stream and one-token subject root (a shared test server)")
	})
	if err != nil {
		return err
	}
	if err := noArgs("nats-config", rest); err != nil {
		return err
	}
	if dir == "" {
		return usageErr("nats-config: --password-dir is required")
	}
	if (tlsCert == "") != (tlsKey == "") || (tlsCA != "" && tlsCert == "") {
		return usageErr("nats-config: --tls-cert and --tls-key go together; --tls-verify-ca needs them")
	}
	scope := natsScope(getenv)
	if wildcard {
		scope = eventbus.WildcardScope()
	}
	var creds []eventbus.Credential
	for _, u := range eventbus.Users {
		pw, err := natsPassword(filepath.Join(dir, u+".password"), generate)
		if err != nil {
			return err
		}
		creds = append(creds, eventbus.Credential{User: u, Password: pw})
	}
	if err := eventbus.RenderAuthorization(c.stdout, scope, creds); err != nil {
		return err
	}
	if tlsCert != "" {
		fmt.Fprintf(c.stdout, "tls {\n  cert_file: %q\n  key_file: %q\n", tlsCert, tlsKey)
		if tlsCA != "" {
			fmt.Fprintf(c.stdout, "  ca_file: %q\n  verify: true\n", tlsCA)
		}
		fmt.Fprint(c.stdout, "  timeout: 2\n}\n")
	}
	return nil
}

// natsPassword reads a password file, or creates one with 24 random bytes.
// A file others can read is refused: it is a service's credential.
func natsPassword(path string, generate bool) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && generate {
		r := make([]byte, 24)
		if _, err := rand.Read(r); err != nil {
			return "", err
		}
		pw := hex.EncodeToString(r)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("nats-config: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return "", fmt.Errorf("nats-config: %w", err)
		}
		if _, err := f.WriteString(pw + "\n"); err != nil {
			f.Close()
			return "", fmt.Errorf("nats-config: write %s: %w", path, err)
		}
		return pw, f.Close()
	}
	if err != nil {
		return "", fmt.Errorf("nats-config: password of %s: %w (--generate creates missing ones)", filepath.Base(path), err)
	}
	// Group-readable is how a service's user reads its own password (the stack
	// gives callsvc's and casework's to the group of user hotline, 0640);
	// anything for the world, or a group that may change it, is refused.
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o027 != 0 {
		return "", fmt.Errorf("nats-config: %s is readable by others (mode %v); chmod 600 or 640 it", path, st.Mode().Perm())
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return "", fmt.Errorf("nats-config: %s is empty", path)
	}
	return pw, nil
}
