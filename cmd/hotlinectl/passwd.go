package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hotline12345/hotline/casework/desk"
	"github.com/hotline12345/hotline/casework/store"
)

// stdin is where passwords are read from (one line); tests replace it.
var stdin io.Reader = os.Stdin

// readPassword reads the first line of stdin: passwords never go on the
// command line, where ps and the shell history would show them.
func readPassword() (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin (pipe it in: printf '%s\\n' \"$PW\" | hotlinectl ...)")
	}
	if err := desk.CheckPassword(pw); err != nil {
		return "", err
	}
	return pw, nil
}

// setPassword hashes pw (argon2id) and stores it, ending the user's sessions.
func (c *cli) setPassword(ctx context.Context, userID, login, pw string) error {
	h, err := desk.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := store.NewSessions(c.pool).SetPassword(ctx, userID, login, h); err != nil {
		return err
	}
	c.audit(ctx, "set_password", "user", userID)
	return nil
}

// cmdUserPasswd: hotlinectl user passwd (--user ID | --staff N) [--login NAME] < password
func cmdUserPasswd(ctx context.Context, c *cli, args []string) error {
	var user, staff, login string
	rest, err := flags("user passwd", args, c.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&user, "user", "", "user ID")
		fs.StringVar(&staff, "staff", "", "or the agent's staff number 工号")
		fs.StringVar(&login, "login", "", "sign-in name (agents also sign in with their staff number)")
	})
	if err != nil {
		return err
	}
	if err := noArgs("user passwd", rest); err != nil {
		return err
	}
	if (user == "") == (staff == "") {
		return usageErr("user passwd: give --user or --staff")
	}
	if staff != "" {
		rec, err := store.NewSessions(c.pool).ByLogin(ctx, staff)
		if err != nil || rec.User.Staff != staff {
			return fmt.Errorf("no agent with staff number %q", staff)
		}
		user = rec.User.ID
	}
	pw, err := readPassword()
	if err != nil {
		return err
	}
	if err := c.setPassword(ctx, user, login, pw); err != nil {
		return err
	}
	fmt.Fprintln(c.stderr, "password set; the user's web sessions were ended")
	return nil
}

// passwordFlags are user add's sign-in flags.
type passwordFlags struct {
	stdin bool
	login string
}

func (p *passwordFlags) define(fs *flag.FlagSet) {
	fs.BoolVar(&p.stdin, "password-stdin", false, "read the user's sign-in password from stdin")
	fs.StringVar(&p.login, "login", "", "sign-in name (agents also sign in with their staff number)")
}

// check runs before the user is created, so that a bad password creates nobody.
func (p *passwordFlags) read() (string, error) {
	if !p.stdin {
		if p.login != "" {
			return "", usageErr("user add: --login needs --password-stdin")
		}
		return "", nil
	}
	if p.login != "" && !store.ValidLogin(p.login) {
		return "", fmt.Errorf("--login %q: 1-64 letters, digits or . _ @ -", p.login)
	}
	return readPassword()
}
