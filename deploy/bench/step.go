package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// flow is what answers the benchmark's calls.
type flow string

const (
	flowA flow = "A" // the call service, over ARI (12345)
	flowB flow = "B" // the dialplan twin (12399)
)

func (f flow) number() string {
	if f == flowA {
		return "12345"
	}
	return "12399"
}

// stepSpec is one step: calls placed at rate, each held for hold.
type stepSpec struct {
	n       int
	flow    flow
	rate    int
	calls   int
	hold    time.Duration
	holding bool
}

// prefix is the step's caller numbers' prefix; SIPp appends the call number.
// Fixed width, so no step's prefix is the start of another's (at most 99
// rates: 198 ramp steps and two holding steps).
func (sp stepSpec) prefix() string { return fmt.Sprintf("139%03d", sp.n) }

// result is one row of the table.
type result struct {
	stepSpec
	created, failed, retrans int
	p50, p99                 time.Duration
	cpuAst, cpuCall          float64 // % of one core
	rssAst, rssCall          int64   // peak, kB
	eventsStored, eventsWant int
	lagP99                   time.Duration
	clean                    bool
	why                      string // what made it unclean
}

func (r result) row() string {
	rate := strconv.Itoa(r.rate)
	if r.holding {
		rate = fmt.Sprintf("hold %d×%s", r.calls, r.hold)
	}
	events, lag := "–", "–"
	if r.flow == flowA {
		events = fmt.Sprintf("%d/%d", r.eventsStored, r.eventsWant)
		lag = ms(r.lagP99)
	}
	clean := "yes"
	if !r.clean {
		clean = "no: " + r.why
	}
	return fmt.Sprintf("| %d | %s | %s | %d | %d | %d | %s / %s | %.0f / %.0f | %d / %d | %s | %s | %s |",
		r.n, r.flow, rate, r.created, r.failed, r.retrans, ms(r.p50), ms(r.p99),
		r.cpuAst, r.cpuCall, r.rssAst/1024, r.rssCall/1024, events, lag, clean)
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64)
}

// runStep places the step's calls with SIPp, measures the processes while they
// run, waits for the calls and their events to settle and judges the step.
func (s *stack) runStep(ctx context.Context, sp stepSpec) (result, error) {
	r := result{stepSpec: sp}
	dir, err := filepath.Abs(filepath.Join(s.runDir, fmt.Sprintf("step%02d-%s", sp.n, sp.flow)))
	if err != nil {
		return r, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, fmt.Errorf("step directory: %w", err)
	}
	before := time.Now()
	astCPU0, err := cpuTicks(s.astPID)
	if err != nil {
		return r, err
	}
	callCPU0, err := cpuTicks(s.callsvc.pid())
	if err != nil {
		return r, err
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	peaks := sampleRSS(sampleCtx, s.astPID, s.callsvc.pid())
	sippErr := s.sipp(ctx, dir, sp)
	astCPU1, err1 := cpuTicks(s.astPID)
	callCPU1, err2 := cpuTicks(s.callsvc.pid())
	wall := time.Since(before).Seconds()
	stopSampling()
	pk := <-peaks
	if err := errors.Join(err1, err2); err != nil {
		return r, err
	}
	r.cpuAst = float64(astCPU1-astCPU0) / clockTicks / wall * 100
	r.cpuCall = float64(callCPU1-callCPU0) / clockTicks / wall * 100
	r.rssAst, r.rssCall = pk[0], pk[1]
	if ctx.Err() != nil {
		return r, ctx.Err()
	}

	var whys []string
	st, err := readSIPpStats(dir)
	if err != nil {
		return r, errors.Join(fmt.Errorf("SIPp statistics: %w", err), sippErr)
	}
	if sippErr != nil {
		// Exit status 1 only says that some calls failed, which the
		// statistics count; anything else is reported with the row.
		whys = append(whys, "sipp: "+sippErr.Error())
	}
	r.created, r.failed, r.retrans = st.created, st.failed, st.retrans
	if r.p50, r.p99, err = readRTT(dir); err != nil {
		return r, fmt.Errorf("SIPp response times: %w", err)
	}

	// The next step must start from an idle Asterisk, and A's events must be
	// stored before they are counted (casework consumes them asynchronously).
	if err := s.settle(ctx, sp); err != nil {
		whys = append(whys, err.Error())
	}
	if sp.flow == flowA {
		good, stored, lag, err := s.events(ctx, sp)
		if err != nil {
			return r, err
		}
		r.eventsStored, r.eventsWant, r.lagP99 = stored, 2*r.created, lag
		if good != r.created {
			whys = append(whys, fmt.Sprintf("%d of %d calls with one call.started and one call.ended", good, r.created))
		}
	}
	if r.created != sp.calls {
		whys = append(whys, fmt.Sprintf("%d of %d calls placed", r.created, sp.calls))
	}
	if r.failed > 0 {
		whys = append(whys, "failed calls")
	}
	if r.retrans > 0 {
		whys = append(whys, "retransmissions")
	}
	if r.p99 >= 500*time.Millisecond {
		whys = append(whys, "p99 ≥ 500 ms")
	}
	r.clean, r.why = len(whys) == 0, strings.Join(whys, "; ")
	return r, nil
}

// sipp runs the carrier's calls of a step in dir and waits for the last one.
func (s *stack) sipp(ctx context.Context, dir string, sp stepSpec) error {
	localPort, err := freePort("udp", carrierIP)
	if err != nil {
		return err
	}
	// Placing takes calls/rate, each call holds, and a slow answer may add
	// up to recv_timeout; past that SIPp gives up (and says so).
	bound := time.Duration(sp.calls/sp.rate)*time.Second + sp.hold + 60*time.Second
	args := []string{
		"-sf", filepath.Join(s.cfg.repo, "deploy/bench/bench_call.xml"),
		"-s", sp.flow.number(),
		"-i", carrierIP, "-p", strconv.Itoa(localPort),
		"-key", "caller", sp.prefix(),
		"-key", "rtpaddr", carrierIP,
		"-key", "rtpport", strconv.Itoa(s.rtpSink.LocalAddr().(*net.UDPAddr).Port),
		"-d", strconv.FormatInt(sp.hold.Milliseconds(), 10),
		"-r", strconv.Itoa(sp.rate), "-m", strconv.Itoa(sp.calls),
		// No cap below what the step needs: the rate is the variable.
		"-l", strconv.Itoa(sp.calls),
		"-recv_timeout", "20000",
		"-timeout", fmt.Sprintf("%ds", int(bound.Seconds())), "-timeout_error",
		"-trace_err", "-trace_stat", "-stf", "stats.csv", "-fd", "1",
		// Every INVITE→200 time, not a sample.
		"-trace_rtt", "-rtt_freq", "1",
		"-nostdin",
		fmt.Sprintf("127.0.0.1:%d", s.sipPort),
	}
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	out, err := os.Create(filepath.Join(dir, "sipp.out"))
	if err != nil {
		return fmt.Errorf("SIPp output: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	fmt.Printf("step %d: %s (%s) %d calls at %d/s, each %s\n", sp.n, sp.flow, sp.flow.number(), sp.calls, sp.rate, sp.hold)
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return nil // some calls failed: counted in the statistics
		}
		return fmt.Errorf("sipp: %w (see %s)", err, dir)
	}
	return nil
}

// settle waits (bounded) until Asterisk has no channels left and, for flow A,
// every call.started of the step has its call.ended.
func (s *stack) settle(ctx context.Context, sp stepSpec) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := s.channels(ctx)
		if err == nil && n == 0 && sp.flow == flowA {
			var started, ended int
			err = s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE type = 'call.started'), count(*) FILTER (WHERE type = 'call.ended')
				FROM events WHERE call_id IN (SELECT call_id FROM events WHERE type = 'call.started' AND payload->>'caller' LIKE $1)`,
				sp.prefix()+"%").Scan(&started, &ended)
			if err == nil && started > ended {
				n = started - ended
			}
		}
		if err == nil && n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("not settled in 30 s: %w", err)
			}
			return fmt.Errorf("not settled in 30 s: %d channels or unended calls", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// events counts the step's calls that have exactly one call.started and one
// call.ended, the two stored, and the p99 of stored_at - occurred_at over all
// events of those calls.
func (s *stack) events(ctx context.Context, sp stepSpec) (good, stored int, lagP99 time.Duration, err error) {
	var lag float64
	err = s.pool.QueryRow(ctx, `
		WITH c AS (SELECT DISTINCT call_id FROM events WHERE type = 'call.started' AND payload->>'caller' LIKE $1),
		per AS (SELECT call_id, count(*) FILTER (WHERE type = 'call.started') AS s, count(*) FILTER (WHERE type = 'call.ended') AS e
		        FROM events JOIN c USING (call_id) GROUP BY call_id)
		SELECT (SELECT count(*) FROM per WHERE s = 1 AND e = 1),
		       (SELECT coalesce(sum(s + e), 0) FROM per),
		       (SELECT coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM stored_at - occurred_at)), 0)
		        FROM events JOIN c USING (call_id))`, sp.prefix()+"%").Scan(&good, &stored, &lag)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("count the step's events: %w", err)
	}
	return good, stored, time.Duration(lag * float64(time.Second)), nil
}

// sippStats is the last line of SIPp's statistics file (cumulated counters).
type sippStats struct{ created, failed, retrans int }

func readSIPpStats(dir string) (sippStats, error) {
	f, err := os.Open(filepath.Join(dir, "stats.csv"))
	if err != nil {
		return sippStats{}, err
	}
	defer f.Close()
	var header, last []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ";")
		if header == nil {
			header = fields
		} else if len(fields) >= len(header)-1 {
			last = fields
		}
	}
	if err := sc.Err(); err != nil {
		return sippStats{}, err
	}
	if last == nil {
		return sippStats{}, errors.New("no statistics line")
	}
	col := func(name string) (int, error) {
		for i, h := range header {
			if h == name && i < len(last) {
				return strconv.Atoi(strings.TrimSpace(last[i]))
			}
		}
		return 0, fmt.Errorf("no column %q", name)
	}
	var st sippStats
	var errs [3]error
	st.created, errs[0] = col("TotalCallCreated")
	st.failed, errs[1] = col("FailedCall(C)")
	st.retrans, errs[2] = col("Retransmissions(C)")
	return st, errors.Join(errs[:]...)
}

// readRTT reads every INVITE→200 time SIPp traced (response time 1 of the
// scenario) and returns the median and the 99th percentile.
func readRTT(dir string) (p50, p99 time.Duration, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	if err != nil || len(files) == 0 {
		return 0, 0, fmt.Errorf("no *_rtt.csv in %s", dir)
	}
	var msv []float64
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, 0, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(strings.TrimSpace(line), ";")
			if len(f) < 3 || f[2] != "1" {
				continue // header, blank, or another response time
			}
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				continue
			}
			msv = append(msv, v)
		}
	}
	if len(msv) == 0 {
		return 0, 0, nil
	}
	sort.Float64s(msv)
	q := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(msv)))) - 1
		return time.Duration(msv[max(i, 0)] * float64(time.Millisecond))
	}
	return q(0.50), q(0.99), nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// Linux this runs on (glibc's sysconf(_SC_CLK_TCK) answers the same).
const clockTicks = 100

// cpuTicks is a process's user+system time so far, in clock ticks (the CPU of
// all its threads).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU of pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("CPU of pid %d: short stat line", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("CPU of pid %d: %w", pid, err)
	}
	return ut + st, nil
}

// rssKB is a process's resident set (VmRSS), in kB; 0 if it cannot be read.
func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// sampleRSS samples the processes' RSS twice a second until ctx ends, then
// sends the peaks (in pids' order) and closes the channel.
func sampleRSS(ctx context.Context, pids ...int) <-chan []int64 {
	out := make(chan []int64, 1)
	go func() {
		peaks := make([]int64, len(pids))
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			for i, pid := range pids {
				peaks[i] = max(peaks[i], rssKB(pid))
			}
			select {
			case <-ctx.Done():
				out <- peaks
				close(out)
				return
			case <-t.C:
			}
		}
	}()
	return out
}
