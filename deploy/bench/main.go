// Command bench is `make bench-calls`: an A/B capacity ramp of the front door.
//
// Flow A is the call service (ARI): answer, greeting, closed-hours notice, the
// menu; flow B is its dialplan twin (extensions.conf [bench-native-twin], number
// 12399, switched on only on the benchmark's own Asterisk instance). The caller
// keys nothing and hangs up after BENCH_CALL_SECONDS. Steps alternate A and B at
// increasing rates until each flow's first unclean step, then both flows hold
// BENCH_HOLD_CALLERS callers. The table goes to bench-results/ and stdout; how to
// read it is in docs/capacity.md.
//
// It brings up what the e2e tests do (deploy/e2e/main_test.go): a private
// Asterisk instance on free ports through deploy/stack.sh, a database of its
// own on the machine's PostgreSQL, a nats-server of its own with the production
// users and permissions (casework/eventbus/access.go), and the real casework
// and callsvc binaries in the production profile with HOTLINE_SERVICE_MODE=closed,
// each with its own NATS credentials.
// Everything is on loopback and removed at the end.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is the benchmark's settings, from the environment.
type config struct {
	repo        string
	outDir      string
	dataDir     string
	pgAdminURL  string
	quick       bool
	rates       []int
	step        time.Duration // how long each step places calls
	callHold    time.Duration // how long a ramp caller stays before hanging up
	holdCallers int
	holdTime    time.Duration
	holdRate    int
}

// loadConfig reads and checks the environment, reporting every problem at once.
func loadConfig() (config, error) {
	var errs []error
	quick := os.Getenv("BENCH_QUICK") == "1"
	if q := os.Getenv("BENCH_QUICK"); q != "" && q != "0" && q != "1" {
		errs = append(errs, fmt.Errorf("BENCH_QUICK=%q: want 1 or 0", q))
	}
	// Quick mode: a CI-size machine gets an answer in about two minutes.
	def := func(full, q string) string {
		if quick {
			return q
		}
		return full
	}
	intVar := func(k, d string, min, max int) int {
		v := envOr(k, d)
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			errs = append(errs, fmt.Errorf("%s=%q: want an integer in %d..%d", k, v, min, max))
		}
		return n
	}
	c := config{
		outDir:      envOr("BENCH_OUT", "bench-results"),
		dataDir:     envOr("HOTLINE_DATA_DIR", "/var/lib/hotline12345"),
		pgAdminURL:  envOr("HOTLINE_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		quick:       quick,
		step:        time.Duration(intVar("BENCH_STEP_SECONDS", def("25", "5"), 1, 600)) * time.Second,
		callHold:    time.Duration(intVar("BENCH_CALL_SECONDS", "10", 1, 600)) * time.Second,
		holdCallers: intVar("BENCH_HOLD_CALLERS", def("700", "50"), 0, 5000),
		holdTime:    time.Duration(intVar("BENCH_HOLD_SECONDS", def("60", "10"), 1, 3600)) * time.Second,
		holdRate:    intVar("BENCH_HOLD_RATE", "25", 1, 500),
	}
	for _, f := range strings.Split(envOr("BENCH_RATES", def("5,10,15,20,25,30,40", "5,10,15")), ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r < 1 || r > 500 {
			errs = append(errs, fmt.Errorf("BENCH_RATES: %q is not a rate in 1..500 calls/s", f))
			continue
		}
		c.rates = append(c.rates, r)
	}
	if len(c.rates) > 99 {
		// Three digits of every caller number are the step's (see stepSpec.prefix).
		errs = append(errs, fmt.Errorf("BENCH_RATES: %d rates, at most 99", len(c.rates)))
	}
	wd, err := os.Getwd()
	if err != nil {
		errs = append(errs, fmt.Errorf("working directory: %w", err))
	}
	c.repo = wd
	if _, err := os.Stat(filepath.Join(wd, "deploy", "stack.sh")); err != nil {
		errs = append(errs, fmt.Errorf("run from the repository's root (make bench-calls): %w", err))
	}
	return c, errors.Join(errs...)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-calls: configuration:\n"+err.Error())
		os.Exit(2)
	}
	// Ctrl-C stops SIPp and the services and still tears the stack down.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench-calls:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) (err error) {
	started := time.Now()
	runDir := filepath.Join(cfg.outDir, "calls-"+started.Format("20060102-150405"))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	load := loadAverage()
	s, err := up(ctx, cfg, runDir)
	if err != nil {
		return fmt.Errorf("bring up the stack: %w", err)
	}
	defer func() {
		if derr := s.down(err == nil); derr != nil {
			err = errors.Join(err, fmt.Errorf("tear down: %w", derr))
		}
	}()

	var rows []result
	record := func(r result) {
		rows = append(rows, r)
		fmt.Println(r.row())
	}
	fmt.Println(tableHeader)
	stopped := map[flow]bool{}
	n := 0
	for _, rate := range cfg.rates {
		for _, f := range []flow{flowA, flowB} {
			if stopped[f] {
				continue
			}
			n++
			r, err := s.runStep(ctx, stepSpec{n: n, flow: f, rate: rate, calls: rate * int(cfg.step.Seconds()), hold: cfg.callHold})
			if err != nil {
				return fmt.Errorf("step %d (%s at %d/s): %w", n, f, rate, err)
			}
			record(r)
			stopped[f] = !r.clean
		}
		if stopped[flowA] && stopped[flowB] {
			break
		}
	}
	if cfg.holdCallers > 0 {
		for _, f := range []flow{flowA, flowB} {
			n++
			r, err := s.runStep(ctx, stepSpec{n: n, flow: f, rate: cfg.holdRate, calls: cfg.holdCallers, hold: cfg.holdTime, holding: true})
			if err != nil {
				return fmt.Errorf("holding test (%s): %w", f, err)
			}
			record(r)
		}
	}

	report := renderReport(cfg, started, load, rows)
	path := filepath.Join(cfg.outDir, "calls-"+started.Format("20060102-150405")+".md")
	if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	fmt.Print("\n" + report)
	fmt.Printf("\nwritten to %s (SIPp files and service logs in %s)\n", path, runDir)
	return nil
}

// loadAverage is /proc/loadavg's first three fields: how busy the machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

const tableHeader = "| step | flow | rate/s | calls | failed | retrans | INVITE→200 p50/p99 ms | CPU % Asterisk / callsvc | RSS MB Asterisk / callsvc | events stored/expected | event lag p99 ms | clean |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|"

func renderReport(cfg config, started time.Time, load string, rows []result) string {
	var b strings.Builder
	mode := "full"
	if cfg.quick {
		mode = "quick (BENCH_QUICK=1)"
	}
	fmt.Fprintf(&b, "# make bench-calls, %s\n\n", started.Format(time.RFC3339))
	fmt.Fprintf(&b, "mode %s; %d CPUs, load average at start %s; steps of %s placing calls that hang up after %s; holding: %d callers for %s at %d/s\n\n",
		mode, runtime.NumCPU(), load, cfg.step, cfg.callHold, cfg.holdCallers, cfg.holdTime, cfg.holdRate)
	b.WriteString(tableHeader + "\n")
	for _, r := range rows {
		b.WriteString(r.row() + "\n")
	}
	b.WriteString("\nA = call service (ARI), B = dialplan twin. CPU % of one core over the step (calls placed and held); RSS peak. " +
		"clean = 0 failed, 0 retransmissions, p99 < 500 ms, and for A one call.started and one call.ended per call.\n")
	for _, f := range []flow{flowA, flowB} {
		best := 0
		for _, r := range rows {
			if r.flow == f && !r.holding && r.clean && r.rate > best {
				best = r.rate
			}
		}
		fmt.Fprintf(&b, "highest clean rate, %s: %d calls/s\n", f, best)
	}
	return b.String()
}
