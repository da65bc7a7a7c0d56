#!/usr/bin/env bash
# Runs the end-to-end package (deploy/e2e) as E2E_SHARDS processes side by
# side, each with E2E_SHARD=i/n and a private Asterisk instance; the package's
# TestMain picks the shard's tests (deploy/e2e/shard: balanced by the measured
# seconds in deploy/e2e/testdata/durations.txt).
#
#   deploy/e2e/shards.sh [go test flags...]     e.g. -count=1 -timeout 40m -run 'Voice'
#
# E2E_SHARDS [2]      number of shards (processes)
# E2E_LOG_DIR [mktemp] where each shard's full log goes (shard-i.log), with
#                     durations.txt, the measured seconds of this run's tests
#
# Progress: each shard's test results, prefixed [e2e i/n]. A failing shard's
# log is printed in full at the end; the exit status is non-zero if any shard
# failed. ^C (or TERM) is passed on to every shard: each stops its Asterisk
# instance before it exits.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
GO=${GO:-go}
n=${E2E_SHARDS:-2}
if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
    echo "shards.sh: E2E_SHARDS=$n: want a number >= 1" >&2
    exit 2
fi
logdir=${E2E_LOG_DIR:-$(mktemp -d /tmp/hotline-e2e-XXXXXX)}
mkdir -p "$logdir" || exit 1

start=$(date +%s)
# Compile once before the shards start, so that they do not all compile the
# same packages at once on a small machine (their builds are cache hits then).
echo "e2e: building (logs in $logdir)"
if ! "$GO" test -c -o "$logdir/e2e.test" ./deploy/e2e/ ||
    ! "$GO" build -o "$logdir/bin/" ./cmd/callsvc ./cmd/casework ./cmd/prompts ./cmd/hotlinectl; then
    echo "e2e: build failed" >&2
    exit 1
fi
rm -rf "${logdir:?}/e2e.test" "${logdir:?}/bin"

# Job control: every shard in a process group of its own (its go test, the
# test binary, the services and SIPp it starts), which a ^C is passed on to.
pids=()
interrupted=0
# shellcheck disable=SC2317 # run by the trap below
stop_shards() {
    ((interrupted)) && return
    interrupted=1
    echo "e2e: interrupted: stopping ${#pids[@]} shards and their Asterisk instances" >&2
    local p
    for p in "${pids[@]}"; do
        kill -INT -- "-$p" 2>/dev/null || true
    done
}
trap stop_shards INT TERM

set -m
for ((i = 1; i <= n; i++)); do
    ((interrupted)) && break
    E2E_SHARD=$i/$n "$GO" test "$@" -v ./deploy/e2e/ >"$logdir/shard-$i.log" 2>&1 &
    pids+=("$!")
done
set +m
if ((interrupted)); then
    # ^C came while they started: the last ones did not get it.
    interrupted=0
    stop_shards
fi
started=${#pids[@]}

followers=()
for ((i = 1; i <= started; i++)); do
    tail --pid="${pids[i - 1]}" -n +1 -F "$logdir/shard-$i.log" 2>/dev/null |
        awk -v p="[e2e $i/$n] " '/^(--- |e2e|Asterisk instance|panic:|FAIL|ok )/ { print p $0; fflush() }' &
    followers+=("$!")
done

rcs=()
for ((i = 1; i <= started; i++)); do
    p=${pids[i - 1]}
    # wait returns early (>128) when a trapped signal arrives: wait again
    # until the shard itself has ended.
    while :; do
        wait "$p"
        rc=$?
        if ((rc > 128)) && kill -0 "$p" 2>/dev/null; then
            continue
        fi
        break
    done
    rcs+=("$rc")
done
wait "${followers[@]}" 2>/dev/null
trap - INT TERM

# This run's seconds per test, in the format of testdata/durations.txt.
{
    echo "# seconds per e2e test, measured $(date -u +%Y-%m-%dT%H:%MZ) with $n shards"
    sed -nE 's/^--- (PASS|FAIL): (Test[^ ]+) \(([0-9.]+)s\)$/\2 \3/p' "$logdir"/shard-*.log | sort
} >"$logdir/durations.txt"

failed=0
for ((i = 1; i <= started; i++)); do
    rc=${rcs[i - 1]}
    tests=$(grep -cE '^--- (PASS|FAIL|SKIP): ' "$logdir/shard-$i.log")
    secs=$(awk '$1 ~ /^Test/ { s += $2 } END { printf "%.0f", s }' \
        <(sed -nE 's/^--- (PASS|FAIL): (Test[^ ]+) \(([0-9.]+)s\)$/\2 \3/p' "$logdir/shard-$i.log"))
    if ((rc != 0)); then
        failed=1
        echo "==== e2e shard $i/$n FAILED (exit $rc): full log $logdir/shard-$i.log ===="
        cat "$logdir/shard-$i.log"
        echo "==== end of e2e shard $i/$n ===="
    fi
    echo "e2e shard $i/$n: exit $rc, $tests tests, ${secs}s in tests, log $logdir/shard-$i.log"
done
echo "e2e: $n shards, wall time $(($(date +%s) - start))s; measured durations in $logdir/durations.txt"
if ((interrupted)); then
    exit 130
fi
exit "$failed"
