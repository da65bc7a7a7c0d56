package eventbus

// Who may do what on NATS (issue 14): the one definition. The stack's
// nats-server, compose's and the tests' are all rendered from it
// (`hotlinectl nats-config`), so a service's rights are written down once.
//
// Every service gets its own user. A user may publish only the subjects of its
// own events, use the JetStream API only for its own stream, consumer and
// bucket, and subscribe only to its own reply inbox (_INBOX_<user>.>, set by
// Connect): a shared _INBOX.> would let one service read the replies another
// gets — pulled events with callers' numbers among them.

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/hotline12345/hotline/casework/event"
)

// The users, one per program. Their names are also the roles.
const (
	// UserCallService is cmd/callsvc: call.* and agent.* events, screen pops,
	// the callback consumer and the calendar watch.
	UserCallService = "callsvc"
	// UserCasework is cmd/casework: case.* events (outbox relay), the
	// stream's settings, the event store's consumer, the calendar bucket.
	UserCasework = "casework"
	// UserOperator is hotlinectl: replays parked events of any type.
	UserOperator = "hotlinectl"
)

// Users lists every user the rules know, in rendering order.
var Users = []string{UserCallService, UserCasework, UserOperator}

// Wildcard in a Scope field stands for any single token: one server shared
// by test runs that each have a stream and subject root of their own.
const Wildcard = "*"

// Scope is what the rules are written for: one hotline's stream, subject root,
// screen-pop subject and durable consumers.
type Scope struct {
	Stream      string // HOTLINE
	SubjectRoot string // hotline
	// PopSubject is the screen pops' subject prefix (<root>_agents); a pop
	// goes to <PopSubject>.<staff>.screenpop.
	PopSubject string
	// CallbackDurable is the call service's consumer (callsvc-callbacks).
	CallbackDurable string
	// CaseworkDurable is casework's consumer (casework).
	CaseworkDurable string
}

// DefaultScope is production's (the services' defaults).
func DefaultScope() Scope {
	return Scope{Stream: "HOTLINE", SubjectRoot: event.DefaultSubjectRoot, PopSubject: event.DefaultSubjectRoot + "_agents",
		CallbackDurable: "callsvc-callbacks", CaseworkDurable: "casework"}
}

// WildcardScope matches every test run on a shared test server (each run's
// root must then be one token, as natstest's are).
func WildcardScope() Scope {
	return Scope{Stream: Wildcard, SubjectRoot: Wildcard, PopSubject: Wildcard, CallbackDurable: Wildcard, CaseworkDurable: Wildcard}
}

// Permissions are the subjects a user may publish to and subscribe to;
// everything else is denied.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// InboxPrefix is the reply-inbox prefix of user: Connect sets it, the rules
// let the user subscribe only under it.
func InboxPrefix(user string) string { return "_INBOX_" + user }

// calendarBucket is CalendarBucket, kept a wildcard in a wildcard scope.
func (s Scope) calendarBucket() string {
	if s.Stream == Wildcard {
		return Wildcard
	}
	return CalendarBucket(s.Stream)
}

// kvStream is the stream behind the calendar bucket.
func (s Scope) kvStream() string {
	if s.Stream == Wildcard {
		return Wildcard
	}
	return "KV_" + s.calendarBucket()
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate refuses a scope whose names would widen a rule (a '>' or a
// space) or are missing.
func (s Scope) Validate() error {
	var problems []string
	for name, v := range map[string]string{"stream": s.Stream, "callback durable": s.CallbackDurable, "casework durable": s.CaseworkDurable} {
		if v != Wildcard && !tokenRE.MatchString(v) {
			problems = append(problems, fmt.Sprintf("%s %q must be one token of letters, digits, _ or -", name, v))
		}
	}
	for name, v := range map[string]string{"subject root": s.SubjectRoot, "screen-pop subject": s.PopSubject} {
		if v == "" || strings.ContainsAny(v, " \t>") || (v != Wildcard && strings.Contains(v, "*")) {
			problems = append(problems, fmt.Sprintf("%s %q must be a subject without wildcards", name, v))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("nats permissions scope: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Permissions returns user's rights in the scope. The JetStream API subjects
// are the ones the services' code actually requests, found by running it
// against nats-server with these rules (access_test.go); nothing is granted
// "just in case".
func (s Scope) Permissions(user string) (Permissions, error) {
	if err := s.Validate(); err != nil {
		return Permissions{}, err
	}
	const api = "$JS.API."
	st, root, b, kvs := s.Stream, s.SubjectRoot, s.calendarBucket(), s.kvStream()
	// Both services may create the stream when it is missing, so they start in
	// any order (EnsureStream); only casework may change it.
	stream := []string{api + "STREAM.INFO." + st, api + "STREAM.CREATE." + st}
	// A durable pull consumer of the stream. The create subject carries the
	// filter (nats-server ≥ 2.9 checks it against the request), so the filter
	// cannot be widened by a crafted request; the old DURABLE.CREATE subject,
	// which carries none, is not granted.
	consumer := func(durable, filter string) []string {
		return []string{
			api + "CONSUMER.CREATE." + st + "." + durable + "." + filter,
			api + "CONSUMER.INFO." + st + "." + durable,
			api + "CONSUMER.MSG.NEXT." + st + "." + durable,
			"$JS.ACK." + st + "." + durable + ".>",
		}
	}
	var p Permissions
	switch user {
	case UserCallService:
		p.Publish = append(p.Publish,
			event.Subject(root, "call")+".>", event.Subject(root, "agent")+".>",
			s.PopSubject+".*.screenpop")
		p.Publish = append(p.Publish, stream...)
		p.Publish = append(p.Publish, consumer(s.CallbackDurable, event.Subject(root, event.CallbackRequested))...)
		// The calendar watch: an ordered (ephemeral) consumer of the bucket's
		// one key, its flow control, and its deletion when the watch stops.
		p.Publish = append(p.Publish,
			api+"STREAM.INFO."+kvs,
			api+"CONSUMER.CREATE."+kvs+".*.$KV."+b+"."+CalendarKey,
			api+"CONSUMER.DELETE."+kvs+".*",
			"$JS.FC."+kvs+".>")
	case UserCasework:
		p.Publish = append(p.Publish, event.Subject(root, "case")+".>")
		p.Publish = append(p.Publish, stream...)
		p.Publish = append(p.Publish, api+"STREAM.UPDATE."+st)
		p.Publish = append(p.Publish, consumer(s.CaseworkDurable, root+".>")...)
		// CreateOrUpdateKeyValue reads the account's JetStream limits first
		// ($JS.API.INFO: counts and limits, no messages).
		p.Publish = append(p.Publish, api+"INFO",
			api+"STREAM.INFO."+kvs, api+"STREAM.CREATE."+kvs, api+"STREAM.UPDATE."+kvs,
			"$KV."+b+".>")
	case UserOperator:
		// events replay sends parked messages of any type back to the stream.
		p.Publish = append(p.Publish, root+".>")
	default:
		return Permissions{}, fmt.Errorf("nats permissions: unknown user %q (known: %s)", user, strings.Join(Users, ", "))
	}
	p.Subscribe = []string{InboxPrefix(user) + ".>"}
	if user == UserCallService {
		// The call service serves the agents (SSE, routing/api.go): it is the
		// one reader screen pops may have, e.g. an instance whose agent's
		// screen is connected to another instance. Nobody else reads them.
		p.Subscribe = append(p.Subscribe, s.PopSubject+".*.screenpop")
	}
	return p, nil
}

// Credential is one user's name and password as the server's config gets it.
type Credential struct {
	User     string
	Password string // plain; rendered as a bcrypt hash
}

// RenderAuthorization writes the nats-server `authorization { users = [...] }`
// block for the given users in the scope, passwords as bcrypt hashes (the
// server compares a client's password with a "$2a$" value by bcrypt), so the
// config file does not hold the passwords themselves.
func RenderAuthorization(w io.Writer, s Scope, creds []Credential) error {
	var b strings.Builder
	b.WriteString("# Rendered by `hotlinectl nats-config` from casework/eventbus/access.go; do not edit.\n")
	fmt.Fprintf(&b, "# stream %s, subject root %s, screen pops %s.<staff>.screenpop\n", s.Stream, s.SubjectRoot, s.PopSubject)
	b.WriteString("authorization {\n  users = [\n")
	seen := map[string]bool{}
	for _, c := range creds {
		if seen[c.User] {
			return fmt.Errorf("nats config: user %q given twice", c.User)
		}
		seen[c.User] = true
		if len(c.Password) < 16 {
			return fmt.Errorf("nats config: password of %q must be at least 16 characters", c.User)
		}
		perm, err := s.Permissions(c.User)
		if err != nil {
			return err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(c.Password), 11)
		if err != nil {
			return fmt.Errorf("nats config: hash password of %q: %w", c.User, err)
		}
		fmt.Fprintf(&b, "    {\n      user: %s\n      password: %s\n      permissions: {\n", strconv.Quote(c.User), strconv.Quote(string(hash)))
		fmt.Fprintf(&b, "        publish: { allow: %s }\n", quoteList(perm.Publish))
		fmt.Fprintf(&b, "        subscribe: { allow: %s }\n", quoteList(perm.Subscribe))
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
