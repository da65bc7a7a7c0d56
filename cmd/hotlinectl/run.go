package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hotline12345/hotline/casework/access"
	"github.com/hotline12345/hotline/casework/domain"
	"github.com/hotline12345/hotline/casework/eventbus"
	"github.com/hotline12345/hotline/casework/store"
	"github.com/hotline12345/hotline/cmd/internal/svc"
)

const usage = `usage: hotlinectl <command> [flags]

  migrate                                     apply the database migrations
  user add --name NAME --role ROLE [--unit UNIT_ID] [--staff STAFF_NO]
                                              create an API user; prints its ID
                                              (roles: agent, supervisor, unit, admin;
                                              unit users need --unit, agents --staff)
                                              [--password-stdin [--login NAME]]: sign-in
                                              password for the desktop, from stdin; an
                                              agent is then ready for the web desktop and
                                              its softphone in one command
  user passwd (--user USER_ID | --staff N) [--login NAME]
                                              set a sign-in password (argon2id) from
                                              stdin; ends the user's web sessions
  user list                                   list users
  user disable --user USER_ID                 stop a user's tokens from working
  user enable --user USER_ID                  undo disable
  token create --user USER_ID [--expires DUR | --no-expiry]
                                              create a bearer token; prints it, once
                                              (expires after 90 days unless told)
  token revoke TOKEN_ID                       revoke a token
  units import FILE.csv                       upsert the unit directory from CSV
                                              (id,name,level,parent_id,duty_line)
  units list                                  list the unit directory
  calendar import FILE                        import a year's holiday notice (the State
                                              Council's 放假安排) or a correction: holiday-cn
                                              JSON, or a list of "YYYY-MM-DD off|work [name]"
                                              lines; in force on both services within a minute
  calendar show YEAR                          the year's days off and makeup working days
                                              in force (official or provisional) and its imports
  events dead                                 messages the consumer parked in dead_events
                                              (broken contract, or failing N times)
  events replay --id N | --all                publish parked messages to the stream again
                                              (after the cause is fixed); removes them
  nats-config --password-dir DIR [--generate] [--tls-cert F --tls-key F [--tls-verify-ca F]]
                                              print the nats-server authorization (users
                                              callsvc, casework, hotlinectl; bcrypt hashes;
                                              per-subject permissions) for the stream and
                                              subject root of HOTLINE_STREAM/_SUBJECT_ROOT;
                                              passwords in DIR/USER.password (no database)

environment:
  HOTLINE_DATABASE_URL     PostgreSQL URL (required)
  HOTLINE_DUTYLINE_TRUNKS  comma-separated PJSIP trunks duty lines may be
                           dialled through (default: dutylines)
  HOTLINE_NATS_URL         NATS for events replay (default: nats://127.0.0.1:4222)
  HOTLINE_NATS_USER, HOTLINE_NATS_PASSWORD(_FILE), HOTLINE_NATS_CA_FILE,
  HOTLINE_NATS_CERT_FILE, HOTLINE_NATS_KEY_FILE
                           hotlinectl's NATS user (hotlinectl) and TLS; required for
                           events replay unless HOTLINE_PROFILE=demo
`

// errUsage marks mistakes in the command line; main prints the usage for them.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// config is what hotlinectl reads from the environment, checked before any work.
type config struct {
	DatabaseURL string
	Trunks      []string
	NatsURL     string
	// Bus holds the NATS URL, credentials and TLS of events replay; BusErr
	// is why they are unusable (no credentials outside the demo profile),
	// reported by the commands that connect, not by the others.
	Bus    eventbus.Config
	BusErr error
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DatabaseURL: strings.TrimSpace(getenv("HOTLINE_DATABASE_URL")), NatsURL: strings.TrimSpace(getenv("HOTLINE_NATS_URL"))}
	if c.NatsURL == "" {
		c.NatsURL = "nats://127.0.0.1:4222"
	}
	e := svc.NewEnv(getenv)
	profile := e.OneOf("HOTLINE_PROFILE", svc.ProfileProduction, svc.ProfileDemo, svc.ProfileProduction)
	c.Bus.URL = c.NatsURL
	svc.BusCredentials(e, profile, &c.Bus)
	c.BusErr = e.Err()
	if c.DatabaseURL == "" {
		return c, errors.New("HOTLINE_DATABASE_URL is required (e.g. postgres://hotline@127.0.0.1:5432/hotline?sslmode=disable)")
	}
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		return c, fmt.Errorf("HOTLINE_DATABASE_URL: %w", err)
	}
	for _, t := range strings.Split(getenv("HOTLINE_DUTYLINE_TRUNKS"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Trunks = append(c.Trunks, t)
		}
	}
	return c, nil
}

// cli is one invocation: its output, database and who it acts as in the audit log.
type cli struct {
	stdout, stderr io.Writer
	pool           *pgxpool.Pool
	cfg            config
	actor          string
}

// run executes one command line (without the program name).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) == 0 {
			return usageErr("no command")
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd := args[0]
	if len(args) > 1 && (cmd == "user" || cmd == "token" || cmd == "units" || cmd == "calendar" || cmd == "events") {
		cmd += " " + args[1]
		args = args[2:]
	} else {
		args = args[1:]
	}
	handlers := map[string]func(context.Context, *cli, []string) error{
		"migrate":         cmdMigrate,
		"user add":        cmdUserAdd,
		"user list":       cmdUserList,
		"user passwd":     cmdUserPasswd,
		"user disable":    func(ctx context.Context, c *cli, a []string) error { return cmdUserDisable(ctx, c, a, true) },
		"user enable":     func(ctx context.Context, c *cli, a []string) error { return cmdUserDisable(ctx, c, a, false) },
		"token create":    cmdTokenCreate,
		"token revoke":    cmdTokenRevoke,
		"units import":    cmdUnitsImport,
		"units list":      cmdUnitsList,
		"calendar import": cmdCalendarImport,
		"calendar show":   cmdCalendarShow,
		"events dead":     cmdEventsDead,
		"events replay":   cmdEventsReplay,
		"nats-config":     nil, // handled above: needs no database
	}
	h, ok := handlers[cmd]
	if !ok {
		return usageErr("unknown command %q", cmd)
	}

	if cmd == "nats-config" {
		return cmdNATSConfig(getenv, args, &cli{stdout: stdout, stderr: stderr})
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	// The audit log names the operating-system user behind CLI changes, since
	// they have no API user.
	actor := "hotlinectl"
	if u := strings.TrimSpace(getenv("USER")); u != "" {
		actor += ":" + u
	}
	c := &cli{stdout: stdout, stderr: stderr, pool: pool, cfg: cfg, actor: actor}
	err = h(ctx, c, args)
	if store.IsSchemaMissing(err) {
		err = fmt.Errorf("%w (has `hotlinectl migrate` been run?)", err)
	}
	return err
}

// flags parses a subcommand's flags and returns its positional arguments.
func flags(name string, args []string, stderr io.Writer, define func(fs *flag.FlagSet)) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	define(fs)
	if err := fs.Parse(args); err != nil {
		return nil, usageErr("%s: %v", name, err)
	}
	return fs.Args(), nil
}

func noArgs(name string, rest []string) error {
	if len(rest) > 0 {
		return usageErr("%s: unexpected argument %q", name, rest[0])
	}
	return nil
}

// audit records a CLI change. A failure is reported but does not undo or hide the
// change, which has been committed.
func (c *cli) audit(ctx context.Context, action, objectType, objectID string) {
	err := store.NewAuditLog(c.pool).Append(ctx, store.AuditEntry{
		UserID: c.actor, Role: domain.RoleAdmin, Action: action, ObjectType: objectType, ObjectID: objectID,
	})
	if err != nil {
		fmt.Fprintln(c.stderr, "warning: audit log:", err)
	}
}

func cmdMigrate(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("migrate", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if err := noArgs("migrate", rest); err != nil {
		return err
	}
	applied, err := store.Migrate(ctx, c.pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(c.stdout, "database is up to date")
		return nil
	}
	fmt.Fprintf(c.stdout, "applied migrations %v\n", applied)
	return nil
}

func cmdUserAdd(ctx context.Context, c *cli, args []string) error {
	var name, role, unit, staff string
	var pf passwordFlags
	rest, err := flags("user add", args, c.stderr, func(fs *flag.FlagSet) {
		pf.define(fs)
		fs.StringVar(&name, "name", "", "display name (required)")
		fs.StringVar(&role, "role", "", "agent, supervisor, unit or admin (required)")
		fs.StringVar(&unit, "unit", "", "unit ID (unit users only)")
		fs.StringVar(&staff, "staff", "", "staff number 工号 (agents only)")
	})
	if err != nil {
		return err
	}
	if err := noArgs("user add", rest); err != nil {
		return err
	}
	if name == "" || role == "" {
		return usageErr("user add: --name and --role are required")
	}
	r, err := domain.ParseRole(role)
	if err != nil {
		r = domain.Role(role) // the store's validation names the allowed roles
	}
	pw, err := pf.read()
	if err != nil {
		return err
	}
	u, err := store.NewUsers(c.pool).Create(ctx, store.NewUser{Name: name, Role: r, UnitID: unit, Staff: staff})
	if err != nil {
		return err
	}
	c.audit(ctx, access.ActionCreate, "user", u.ID)
	if pw != "" {
		if err := c.setPassword(ctx, u.ID, pf.login, pw); err != nil {
			return fmt.Errorf("user %s created, but its password was not set: %w", u.ID, err)
		}
	}
	fmt.Fprintln(c.stdout, u.ID)
	fmt.Fprintf(c.stderr, "created %s user %q\n", u.Role, u.Name)
	return nil
}

func cmdUserList(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("user list", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if err := noArgs("user list", rest); err != nil {
		return err
	}
	users, err := store.NewUsers(c.pool).List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tUNIT\tSTAFF\tDISABLED\tNAME")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\n", u.ID, u.Role, dash(u.UnitID), dash(u.Staff), u.Disabled, u.Name)
	}
	return tw.Flush()
}

func cmdUserDisable(ctx context.Context, c *cli, args []string, disable bool) error {
	name := "user enable"
	if disable {
		name = "user disable"
	}
	var user string
	rest, err := flags(name, args, c.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&user, "user", "", "user ID (required)")
	})
	if err != nil {
		return err
	}
	if err := noArgs(name, rest); err != nil {
		return err
	}
	if user == "" {
		return usageErr("%s: --user is required", name)
	}
	if err := store.NewUsers(c.pool).SetDisabled(ctx, user, disable); err != nil {
		return err
	}
	c.audit(ctx, access.ActionUpdate, "user", user)
	fmt.Fprintf(c.stdout, "%s: done\n", name)
	return nil
}

func cmdTokenCreate(ctx context.Context, c *cli, args []string) error {
	var user string
	var ttl time.Duration
	var never bool
	rest, err := flags("token create", args, c.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&user, "user", "", "user ID (required)")
		fs.DurationVar(&ttl, "expires", access.DefaultTokenLifetime, "lifetime, e.g. 720h")
		fs.BoolVar(&never, "no-expiry", false, "a token that never expires (machines only; revoke it when done)")
	})
	if err != nil {
		return err
	}
	if err := noArgs("token create", rest); err != nil {
		return err
	}
	if user == "" {
		return usageErr("token create: --user is required")
	}
	if ttl <= 0 {
		return usageErr("token create: --expires must be positive (or --no-expiry)")
	}
	var expires *time.Time
	if !never {
		t := time.Now().Add(ttl)
		expires = &t
	}
	tok, secret, err := access.IssueToken(ctx, store.NewUsers(c.pool), user, expires)
	if err != nil {
		return err
	}
	c.audit(ctx, access.ActionCreate, "token", tok.ID)
	// The secret alone on stdout, so that TOKEN=$(hotlinectl token create ...)
	// works; everything else on stderr.
	fmt.Fprintln(c.stdout, secret)
	exp := "never expires"
	if tok.Expires != nil {
		exp = "expires " + tok.Expires.Format(time.RFC3339)
	}
	// The ID is not the token: printed bare as "token <uuid>" it was taken for
	// one. Labelled, it is what a person needs later, to revoke the token.
	fmt.Fprintf(c.stderr, "created a bearer token for user %s (%s): the secret is the line on stdout, shown only this once; "+
		"its ID, for \"hotlinectl token revoke\", is %s\n", tok.UserID, exp, tok.ID)
	return nil
}

func cmdTokenRevoke(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("token revoke", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErr("token revoke: want exactly one TOKEN_ID")
	}
	tok, err := store.NewUsers(c.pool).RevokeToken(ctx, rest[0])
	if err != nil {
		return err
	}
	c.audit(ctx, access.ActionRevoke, "token", tok.ID)
	fmt.Fprintf(c.stdout, "token %s revoked at %s\n", tok.ID, tok.Revoked.Format(time.RFC3339))
	return nil
}

func cmdUnitsImport(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("units import", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageErr("units import: want exactly one FILE.csv")
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := store.NewUnits(c.pool, c.cfg.Trunks).Import(ctx, f)
	if err != nil {
		return fmt.Errorf("%s: %w", rest[0], err)
	}
	if res.Inserted+res.Updated > 0 {
		c.audit(ctx, access.ActionUpdate, "unit_directory", rest[0])
	}
	fmt.Fprintf(c.stdout, "units: %d inserted, %d updated, %d unchanged\n", res.Inserted, res.Updated, res.Unchanged)
	return nil
}

func cmdUnitsList(ctx context.Context, c *cli, args []string) error {
	rest, err := flags("units list", args, c.stderr, func(*flag.FlagSet) {})
	if err != nil {
		return err
	}
	if err := noArgs("units list", rest); err != nil {
		return err
	}
	units, err := store.NewUnits(c.pool, c.cfg.Trunks).All(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tPARENT\tDUTY LINE\tACTIVE\tNAME")
	for _, u := range units {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%t\t%s\n", u.ID, u.Level, dash(u.ParentID), dash(u.DutyLine), u.Active, u.Name)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
