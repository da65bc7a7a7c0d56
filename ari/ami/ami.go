// Package ami reads events from Asterisk's Manager Interface: just enough of
// AMI for a read-only listener (log in, receive events, reconnect). The call
// service uses ARI for everything it does; AMI is here because Asterisk's
// security events (failed SIP authentications) and contact changes are
// published there and not on ARI (issue 14).
package ami

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Config is where and as whom to log in.
type Config struct {
	Addr     string // host:port, loopback (manager.conf bindaddr)
	Username string
	Password string
	// Events is the Login action's event mask, e.g. "security,system".
	Events string
}

// Event is one AMI event: its header fields, keys as Asterisk wrote them.
type Event map[string]string

// Name is the event's name ("ChallengeResponseFailed", "ContactStatus", ...).
func (e Event) Name() string { return e["Event"] }

// ErrLogin is a refused login: wrong credentials, or the user may not log in
// from here. Retrying does not help until the configuration changes.
var ErrLogin = errors.New("AMI login refused")

// Listener keeps one AMI connection and hands every event to a handler.
type Listener struct {
	cfg Config
	log *zap.Logger
	// Connected, when set, is told whenever the connection comes up or goes down.
	Connected func(bool)
}

// NewListener returns a listener; Run connects.
func NewListener(cfg Config, log *zap.Logger) *Listener {
	return &Listener{cfg: cfg, log: log}
}

// Run connects, logs in and calls handle for each event until ctx ends,
// reconnecting with a growing pause (1 s to 30 s) after any failure. handle
// runs on Run's goroutine: it must not block for long (Asterisk drops a
// manager session that does not read, see writetimeout in manager.conf).
func (l *Listener) Run(ctx context.Context, handle func(Event)) error {
	backoff := time.Second
	for {
		start := time.Now()
		err := l.session(ctx, handle)
		if l.Connected != nil {
			l.Connected(false)
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		l.log.Warn("AMI connection lost; reconnecting", zap.String("addr", l.cfg.Addr), zap.Error(err), zap.Duration("in", backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (l *Listener) session(ctx context.Context, handle func(Event)) error {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := d.DialContext(dctx, "tcp", l.cfg.Addr)
	cancel()
	if err != nil {
		return fmt.Errorf("dial AMI %s: %w", l.cfg.Addr, err)
	}
	defer conn.Close()
	// The connection is closed when ctx ends, which ends the blocking read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := textproto.NewReader(bufio.NewReader(conn))
	banner, err := r.ReadLine()
	if err != nil {
		return fmt.Errorf("AMI banner: %w", err)
	}
	if !strings.HasPrefix(banner, "Asterisk Call Manager/") {
		return fmt.Errorf("AMI banner %q: not Asterisk's manager", banner)
	}
	if err := writeAction(conn, "Login", "ActionID", "login", "Username", l.cfg.Username,
		"Secret", l.cfg.Password, "Events", l.cfg.Events); err != nil {
		return err
	}
	for {
		msg, err := readMessage(r)
		if err != nil {
			return fmt.Errorf("AMI login: %w", err)
		}
		if msg["ActionID"] != "login" {
			continue // an event before the response
		}
		if msg["Response"] != "Success" {
			return fmt.Errorf("%w: %s", ErrLogin, msg["Message"])
		}
		break
	}
	l.log.Info("AMI connected", zap.String("addr", l.cfg.Addr), zap.String("events", l.cfg.Events))
	if l.Connected != nil {
		l.Connected(true)
	}
	for {
		msg, err := readMessage(r)
		if err != nil {
			return err
		}
		if msg.Name() != "" {
			handle(msg)
		}
	}
}

// readMessage reads one message: "Key: Value" lines up to an empty line.
func readMessage(r *textproto.Reader) (Event, error) {
	msg := Event{}
	for {
		line, err := r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) && len(msg) > 0 {
				return msg, nil
			}
			return nil, err
		}
		if line == "" {
			if len(msg) == 0 {
				continue
			}
			return msg, nil
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue // not a header (AMI has none of those in events)
		}
		msg[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
}

func writeAction(w io.Writer, action string, kv ...string) error {
	var b strings.Builder
	b.WriteString("Action: " + action + "\r\n")
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.ContainsAny(kv[i+1], "\r\n") {
			return fmt.Errorf("AMI %s: %s contains a line break", action, kv[i])
		}
		b.WriteString(kv[i] + ": " + kv[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// RemoteIP is the address part of a security event's RemoteAddress, which
// Asterisk writes as "IPV4/UDP/192.0.2.7/5060" (or IPV6/...); "" if it is not
// in that form.
func RemoteIP(addr string) string {
	parts := strings.Split(addr, "/")
	if len(parts) < 3 {
		return ""
	}
	ip := net.ParseIP(strings.Trim(parts[2], "[]"))
	if ip == nil {
		return ""
	}
	return ip.String()
}
