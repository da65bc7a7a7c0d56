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
    # The SIP guard's read-only AMI user (deploy/stack.sh gives the demo Asterisk this value).
    export HOTLINE_AMI_PASSWORD=${HOTLINE_AMI_PASSWORD:-hotline-demo-ami-password}
    export HOTLINE_DATABASE_URL=${HOTLINE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$DB_NAME?sslmode=disable}
    # The call service's token for voice self-service lookups (demo value).
    export HOTLINE_CASEWORK_TOKEN=${HOTLINE_CASEWORK_TOKEN:-hotline-demo-selfservice-token}
    export HOTLINE_CASEWORK_URL=${HOTLINE_CASEWORK_URL:-http://127.0.0.1:9102}
    # The fax service's sample documents (menu key 3).
    export HOTLINE_FAX_DOCS_DIR=${HOTLINE_FAX_DOCS_DIR:-$REPO_DIR/ivr/fax/docs}
    # Satisfaction callbacks on any day (production: working days only), so
    # that trying the demo on a weekend or a holiday shows them.
    export HOTLINE_CALLBACK_DAYS=${HOTLINE_CALLBACK_DAYS:-every}
    # The demo database is created on first run.
    if ! psql "$PG_ADMIN_URL" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'" | grep -q 1; then
        psql "$PG_ADMIN_URL" -c "CREATE DATABASE $DB_NAME" >/dev/null
        echo "[run] created database $DB_NAME"
    fi
fi
export HOTLINE_PROFILE HOTLINE_DATA_DIR

# NATS with login (deploy/stack.sh up started it): each service as its own
# NATS user, its password read from a file only its system user can read
# (HOTLINE_NATS_PASSWORD_FILE; 0640 root:<its group>).
NATS_SECRETS=$HOTLINE_DATA_DIR/nats-hotline/secrets
export HOTLINE_NATS_URL=${HOTLINE_NATS_URL:-nats://127.0.0.1:${HOTLINE_NATS_PORT:-4223}}
for u in casework callsvc; do
    [[ -s $NATS_SECRETS/$u.password ]] || { echo "[run] no NATS password for $u in $NATS_SECRETS (run deploy/stack.sh up)" >&2; exit 1; }
done

# Demo data: the unit directory (idempotent upsert) and, once, demo users with
# tokens written to a 0600 file for the README's curl examples.
demo_bootstrap() {
    local tokens=$HOTLINE_DATA_DIR/demo/tokens.env id
    "$BIN/hotlinectl" migrate >/dev/null
    "$BIN/hotlinectl" units import "$REPO_DIR/deploy/demo/units.csv"
    if [[ -f $tokens ]]; then
        # The file belongs to the database its users were made in: after a new
        # database (dropped, another HOTLINE_DB_NAME) its tokens open nothing.
        id=$(sed -n 's/^DEMO_ADMIN_ID=//p' "$tokens")
        if [[ -n $id ]] && "$BIN/hotlinectl" user list | grep -q "^$id "; then
            echo "[run] demo tokens in $tokens"
            return
        fi
        echo "[run] the demo users of $tokens are not in this database: made anew"
    fi
    install -d -m 0700 "$(dirname "$tokens")"
    # The token file alone is private: a umask set here would also reach the
    # services started below, and Asterisk could not read what they write.
    (umask 077; : >"$tokens.tmp")
    {
        id=$("$BIN/hotlinectl" user add --name 演示管理员 --role admin)
        echo "DEMO_ADMIN_ID=$id"
        echo "ADMIN_TOKEN=$("$BIN/hotlinectl" token create --user "$id")"
        id=$("$BIN/hotlinectl" user add --name 演示督查 --role supervisor)
        echo "SUPERVISOR_TOKEN=$("$BIN/hotlinectl" token create --user "$id")"
        for staff in 1001 1002 1003; do
            id=$("$BIN/hotlinectl" user add --name "话务员$staff" --role agent --staff "$staff")
            echo "AGENT_${staff}_TOKEN=$("$BIN/hotlinectl" token create --user "$id")"
        done
        id=$("$BIN/hotlinectl" user add --name 东城区值班 --role unit --unit dongcheng)
        echo "UNIT_DONGCHENG_TOKEN=$("$BIN/hotlinectl" token create --user "$id")"
    } >"$tokens.tmp"
    mv "$tokens.tmp" "$tokens"
    echo "[run] demo users created; their tokens are in $tokens (source it:" \
        "ADMIN_TOKEN, SUPERVISOR_TOKEN, AGENT_1001_TOKEN..AGENT_1003_TOKEN, UNIT_DONGCHENG_TOKEN)"
}
[[ $HOTLINE_PROFILE == demo ]] && demo_bootstrap

# Demo desktop sign-ins (demo profile only; idempotent): agent 1004 answers in
# the browser, the SIP agents 1001-1003 get passwords too, and an admin.
demo_desk() {
    local staff
    printf '%s\n' demo-1004-desk | "$BIN/hotlinectl" user add --name 演示话务员1004 --role agent --staff 1004 \
        --password-stdin >/dev/null 2>&1 || true
    for staff in 1001 1002 1003; do
        printf '%s\n' "demo-$staff-desk" | "$BIN/hotlinectl" user passwd --staff "$staff" >/dev/null 2>&1 || true
    done
    printf '%s\n' demo-admin-desk | "$BIN/hotlinectl" user add --name 演示管理员（网页） --role admin --login admin \
        --password-stdin >/dev/null 2>&1 || true
    printf '%s\n' demo-dongcheng-desk | "$BIN/hotlinectl" user add --name 东城区值班员（网页） --role unit --unit dongcheng \
        --login dc-duty --password-stdin >/dev/null 2>&1 || true
    echo "[run] agent desktop: http://127.0.0.1:9102/desk/ — agent 1004 / demo-1004-desk (browser softphone)"
    printf '%s\n' demo-supervisor-desk | "$BIN/hotlinectl" user add --name 演示督查（网页） --role supervisor \
        --login supervisor --password-stdin >/dev/null 2>&1 || true
    echo "[run] units' portal: http://127.0.0.1:9102/portal/ — dc-duty / demo-dongcheng-desk (东城区)"
    echo "[run] supervisor: http://127.0.0.1:9102/supervise/ — supervisor / demo-supervisor-desk"
}
[[ $HOTLINE_PROFILE == demo ]] && demo_desk

# The casework service runs as a member of hotline_runtime (migration 0013):
# it writes rows but owns no table, so it cannot disable the history's
# append-only triggers; migrations at its start run as the owner. In the demo
# the login role and its password are demo values.
if [[ $HOTLINE_PROFILE == demo ]]; then
    psql "${HOTLINE_DATABASE_URL}" -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline_casework') THEN
        CREATE ROLE hotline_casework LOGIN PASSWORD 'hotline-demo-db-password' IN ROLE hotline_runtime;
    END IF;
END
$$;
SQL
    export HOTLINE_MIGRATE_DATABASE_URL=$HOTLINE_DATABASE_URL
    CASEWORK_DATABASE_URL="postgres://hotline_casework:hotline-demo-db-password@127.0.0.1:5432/$DB_NAME?sslmode=disable"
fi

# Stop order: the call service first (it drains live calls and sends their
# call.ended), then casework, which stores them. Casework runs in a session of
# its own so that Ctrl-C at the terminal does not stop it before that.
stop_all() {
    trap - INT TERM
    echo "[run] stopping services (the call service drains live calls first)"
    kill -TERM "$callsvc_pid" 2>/dev/null || true
    wait "$callsvc_pid" 2>/dev/null || true
    sleep 2 # the last events reach casework through JetStream
    kill -TERM "$casework_pid" 2>/dev/null || true
    wait "$casework_pid" 2>/dev/null || true
    echo "[run] stopped. 'make stop' stops Asterisk (and PostgreSQL/NATS if the stack started them)."
}
trap stop_all INT TERM

# Each service runs as its own unprivileged user (deploy/stack.sh up creates
# them: deploy/stack/serviceuser.sh), with that user's groups only, without
# capabilities or a way to regain them, with umask 0027 (files shared through
# a directory's group readable by it, closed to others). Neither user reads
# the other's NATS password nor Asterisk's configuration; the secrets that
# come from here (ARI, AMI, database) reach each service in its environment,
# which only its own user can read (/proc/<pid>/environ).
# HOTLINE_RUN_USER=root runs both as root (development only).
HOTLINE_CALL_USER=${HOTLINE_CALL_USER:-hotline-call}
HOTLINE_CASE_USER=${HOTLINE_CASE_USER:-hotline-case}
HOTLINE_RUN_USER=${HOTLINE_RUN_USER:-}
case $HOTLINE_RUN_USER in
root) HOTLINE_CALL_USER=root HOTLINE_CASE_USER=root
    echo "[run] HOTLINE_RUN_USER=root: the services run as root (not for production)" >&2 ;;
"") ;;
*) echo "[run] HOTLINE_RUN_USER takes only \"root\"; the services' users are HOTLINE_CALL_USER and HOTLINE_CASE_USER" >&2; exit 1 ;;
esac
call_as=() case_as=()
if [[ $(id -u) == 0 ]]; then
    for u in "$HOTLINE_CALL_USER" "$HOTLINE_CASE_USER"; do
        [[ $u == root ]] && continue
        getent passwd "$u" >/dev/null ||
            { echo "[run] no user $u: run 'deploy/stack.sh service-user' (make run does)" >&2; exit 1; }
    done
    as_user() { [[ $1 == root ]] || echo setpriv "--reuid=$1" "--regid=$(id -g "$1")" --init-groups --no-new-privs --inh-caps=-all --; }
    read -ra call_as <<<"$(as_user "$HOTLINE_CALL_USER")"
    read -ra case_as <<<"$(as_user "$HOTLINE_CASE_USER")"
else
    HOTLINE_CALL_USER=$(id -un) HOTLINE_CASE_USER=$(id -un)
fi
umask 0027

# Process substitution keeps $! the service's own PID (a pipeline's would be sed's).
# The log prefixers ignore Ctrl-C: they must outlive the services' drain, or the
# first drain log line meets a closed pipe (SIGPIPE) and the call service dies
# before it has stored its live calls' call.ended (issue 16). They end at EOF.
prefix() { trap '' INT TERM; exec sed -u "s/^/[$1] /"; }
# Each service gets only its own secrets: casework neither Asterisk's ARI nor
# AMI password, the call service no database URL.
HOTLINE_DATABASE_URL=${CASEWORK_DATABASE_URL:-$HOTLINE_DATABASE_URL} \
    HOTLINE_NATS_USER=casework HOTLINE_NATS_PASSWORD_FILE=$NATS_SECRETS/casework.password \
    env -u HOTLINE_ARI_PASSWORD -u HOTLINE_AMI_PASSWORD \
    setsid "${case_as[@]}" "$BIN/casework" > >(prefix casework) 2>&1 &
casework_pid=$!
HOTLINE_NATS_USER=callsvc HOTLINE_NATS_PASSWORD_FILE=$NATS_SECRETS/callsvc.password \
    env -u HOTLINE_DATABASE_URL -u HOTLINE_MIGRATE_DATABASE_URL -u CASEWORK_DATABASE_URL \
    "${call_as[@]}" "$BIN/callsvc" > >(prefix callsvc) 2>&1 &
callsvc_pid=$!
echo "[run] casework on http://127.0.0.1:9102, call service on http://127.0.0.1:9101 (metrics, healthz, readyz), as users ${HOTLINE_CASE_USER} and ${HOTLINE_CALL_USER}"
echo "[run] call 12345 from a softphone registered as a demo agent (see README), Ctrl-C to stop"
wait "$callsvc_pid" "$casework_pid"
