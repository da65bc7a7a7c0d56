package e2e

// Shards: deploy/e2e/shards.sh runs this package as N processes side by side,
// each with E2E_SHARD=i/N and an Asterisk instance of its own. What the
// processes share on the machine is settled here: which tests each runs, which
// RTP/UDPTL ports its instance takes, and that an interrupted process stops its
// instance (started in a session of its own, it would outlive the test).

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hotline12345/hotline/deploy/e2e/shard"
)

// durationsFile holds the measured seconds per test that balance the shards.
const durationsFile = "testdata/durations.txt"

// selectShard narrows -test.run to this process's shard when E2E_SHARD=i/n is
// set (the tests a -run on the command line selects are what is split). It
// reports false when the shard has no test to run: nothing is started then.
func selectShard() (bool, error) {
	v := os.Getenv("E2E_SHARD")
	if v == "" {
		return true, nil
	}
	spec, err := shard.Parse(v)
	if err != nil {
		return false, fmt.Errorf("E2E_SHARD: %w", err)
	}
	if !flag.Parsed() {
		flag.Parse()
	}
	run := flag.Lookup("test.run")
	if run == nil {
		return false, errors.New("E2E_SHARD: no -test.run flag")
	}
	tests, err := shard.Tests(".")
	if err != nil {
		return false, err
	}
	durations, err := shard.LoadDurations(durationsFile)
	if err != nil {
		return false, err
	}
	mine, pattern, err := shard.Select(tests, durations, spec, run.Value.String())
	if err != nil {
		return false, fmt.Errorf("E2E_SHARD=%s: %w", spec, err)
	}
	if len(mine) == 0 {
		fmt.Fprintf(os.Stderr, "e2e shard %s: no test of this shard matches -run %q\n", spec, run.Value.String())
		return false, nil
	}
	if err := run.Value.Set(pattern); err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "e2e shard %s: %d tests: %s\n", spec, len(mine), strings.Join(mine, " "))
	return true, nil
}

// RTP and UDPTL ports: an instance takes slot k, RTP 20000+200k..+199 and
// UDPTL 30000+200k..+199. A slot is held by an flock for the life of the
// process, so two test processes (shards, or a second `go test` of someone
// else) never hand Asterisk the same range; the kernel drops the lock when the
// process ends, however it ends.
const (
	rtpSlots     = 50
	rtpSlotPorts = 200
)

// rtpSlotFile keeps the held slot's lock open (a closed file releases it).
var rtpSlotFile *os.File

func rtpSlot() (int, error) {
	for k := range rtpSlots {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("hotline-e2e-rtp-slot-%02d.lock", k))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return 0, fmt.Errorf("RTP slot lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			rtpSlotFile = f
			return 20000 + k*rtpSlotPorts, nil
		}
		f.Close()
	}
	return 0, fmt.Errorf("all %d RTP port slots are held by other e2e processes", rtpSlots)
}

// stopOnInterrupt stops the Asterisk instance when the process is told to end
// (^C, or shards.sh passing one on), then exits: the instance runs in a session
// of its own and would otherwise outlive the test process. The returned func
// ends the watch once the tests are done.
func stopOnInterrupt(stop func()) func() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-sig:
			// Whoever read our output may be gone already: a write to a
			// closed pipe must not kill us before the instance is stopped.
			signal.Ignore(syscall.SIGPIPE)
			fmt.Fprintf(os.Stderr, "e2e: %v: stopping Asterisk instance %s\n", s, st.instance)
			stop()
			fmt.Fprintf(os.Stderr, "e2e: interrupted; Asterisk instance %s stopped, its logs kept: %s\n",
				st.instance, filepath.Join(st.dataDir, "asterisk", st.instance))
			os.Exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
	}
}
