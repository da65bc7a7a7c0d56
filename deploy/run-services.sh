#!/usr/bin/env bash
# deploy/run-services.sh — run the casework and call services in the foreground
# against the local stack (`make run` calls this after `deploy/stack.sh up`).
# Ctrl-C (SIGINT) or SIGTERM stops both, with the call service's drain.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$REPO_DIR/bin}
HOTLINE_PROFILE=${HOTLINE_PROFILE:-demo}
HOTLINE_DATA_DIR=${HOTLINE_DATA_DIR:-/var/lib/hotline12345}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
DB_NAME=${HOTLINE_DB_NAME:-hotline}

if [[ $HOTLINE_PROFILE == demo ]]; then
    # Demo values only (the same ones deploy/stack.sh gives the demo Asterisk).
    export HOTLINE_ARI_USER=${HOTLINE_ARI_USER:-hotline}
    export HOTLINE_ARI_PASSWORD=${HOTLINE_ARI_PASSWORD:-hotline-demo-password}
    export HOTLINE_DATABASE_URL=${HOTLINE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$DB_NAME?sslmode=disable}
    # The demo database is created on first run.
    if ! psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        psql "$PG_ADMIN_URL" -c "CREATE DATABASE $DB_NAME" >/dev/null
        echo "[run] created database $DB_NAME"
    fi
fi
export HOTLINE_PROFILE HOTLINE_DATA_DIR

pids=()
stop_all() {
    trap - INT TERM
    echo "[run] stopping services (the call service drains live calls first)"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    echo "[run] stopped. 'make stop' stops Asterisk (and PostgreSQL/NATS if the stack started them)."
}
trap stop_all INT TERM

# Process substitution keeps $! the service's own PID (a pipeline's would be sed's).
"$BIN/casework" > >(sed -u 's/^/[casework] /') 2>&1 &
pids+=($!)
"$BIN/callsvc" > >(sed -u 's/^/[callsvc] /') 2>&1 &
pids+=($!)
echo "[run] casework on http://127.0.0.1:9102, call service on http://127.0.0.1:9101 (metrics, healthz, readyz)"
echo "[run] call 12345 from a softphone registered as a demo agent (see README), Ctrl-C to stop"
wait
