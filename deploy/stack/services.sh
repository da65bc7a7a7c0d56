# shellcheck shell=bash
# Sourced by deploy/stack.sh (its settings and helpers are in scope): PostgreSQL and NATS JetStream — used when they answer, installed and started otherwise.
# --- PostgreSQL ----------------------------------------------------------------------

pg_answers() {
    if have pg_isready; then
        pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2
    else
        tcp_answers 127.0.0.1 "$PG_PORT"
    fi
}

pg_server_installed() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

install_postgres_if_missing() {
    if pg_answers; then
        log "PostgreSQL answers on 127.0.0.1:$PG_PORT"
    elif pg_server_installed; then
        log "PostgreSQL installed (not running; 'up' starts it)"
    else
        apt_install postgresql
    fi
}

# In the demo/dev profile loopback TCP connections as postgres and root are
# trusted, so services and tests connect without passwords.
ensure_pg_demo_access() {
    [[ $HOTLINE_PROFILE == demo ]] || return 0
    if ! psql -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        local hba
        hba=$(runuser -u postgres -- psql -p "$PG_PORT" -Atc 'show hba_file')
        log "demo profile: trusting 127.0.0.1 in $hba"
        sed -i "1i host all all 127.0.0.1/32 trust # hotline12345 demo profile (deploy/stack.sh)" "$hba"
        runuser -u postgres -- psql -p "$PG_PORT" -Atc 'select pg_reload_conf()' >/dev/null
    fi
    if ! psql -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc "select 1 from pg_roles where rolname = 'root'" | grep -q 1; then
        psql -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'create role root login superuser' >/dev/null
        log "demo profile: PostgreSQL role root created"
    fi
}

ensure_postgres_running() {
    if pg_answers; then
        log "PostgreSQL answers on 127.0.0.1:$PG_PORT"
    else
        pg_server_installed || apt_install postgresql
        local ver
        ver=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)
        if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
            pg_createcluster "$ver" main
        fi
        log "starting PostgreSQL $ver/main"
        pg_ctlcluster --skip-systemctl-redirect "$ver" main start
        state_set postgres_started "$ver"
        for _ in $(seq 1 30); do
            if pg_answers; then break; fi
            sleep 1
        done
        pg_answers || die "PostgreSQL $ver/main started but 127.0.0.1:$PG_PORT does not answer (listen_addresses/port?)"
    fi
    ensure_pg_demo_access
}

stop_postgres_if_ours() {
    local ver
    ver=$(state_get postgres_started)
    [[ -n $ver ]] || return 0
    log "stopping PostgreSQL $ver/main (started by stack.sh)"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main stop || warn "could not stop PostgreSQL $ver/main"
    state_del postgres_started
}

# --- NATS JetStream --------------------------------------------------------------------

nats_bin_current() { [[ -x $NATS_BIN ]] && "$NATS_BIN" --version 2>/dev/null | grep -qF "${NATS_SERVER_VERSION#v}"; }

install_nats_if_missing() {
    if tcp_answers 127.0.0.1 "$NATS_PORT"; then
        log "NATS answers on 127.0.0.1:$NATS_PORT"
        return
    fi
    if nats_bin_current; then
        log "nats-server $NATS_SERVER_VERSION present: $NATS_BIN"
        return
    fi
    local go start
    go=$(find_go)
    start=$(now_ms)
    log "building nats-server $NATS_SERVER_VERSION with go install (Go module proxy)"
    mkdir -p "$(dirname "$NATS_BIN")"
    # Outside the repo, so our go.mod plays no part.
    (cd / && GOBIN=$(dirname "$NATS_BIN") GOFLAGS='' "$go" install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION")
    log "nats-server built in $(seconds_since "$start")"
}

ensure_nats_running() {
    if tcp_answers 127.0.0.1 "$NATS_PORT"; then
        log "NATS answers on 127.0.0.1:$NATS_PORT"
        return
    fi
    install_nats_if_missing
    local pidfile=$RUN_DIR/nats-server.pid logfile=$HOTLINE_DATA_DIR/log/nats-server.log
    mkdir -p "$RUN_DIR" "$HOTLINE_DATA_DIR/log" "$HOTLINE_DATA_DIR/nats"
    log "starting nats-server on 127.0.0.1:$NATS_PORT (JetStream in $HOTLINE_DATA_DIR/nats, log $logfile)"
    # setsid: own session, survives this shell; the server writes its pid file.
    setsid "$NATS_BIN" -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -js \
        -sd "$HOTLINE_DATA_DIR/nats" -P "$pidfile" -l "$logfile" </dev/null >/dev/null 2>&1 &
    state_set nats_started "$pidfile"
    for _ in $(seq 1 50); do
        if tcp_answers 127.0.0.1 "$NATS_PORT"; then break; fi
        sleep 0.2
    done
    tcp_answers 127.0.0.1 "$NATS_PORT" || { tail -n 20 "$logfile" >&2 || true; die "nats-server did not come up"; }
}

stop_nats_if_ours() {
    local pidfile pid
    pidfile=$(state_get nats_started)
    [[ -n $pidfile ]] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        log "stopping nats-server (pid $pid, started by stack.sh)"
        kill -TERM "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
    fi
    state_del nats_started
}

# --- The services' NATS, with login (issue 14) ------------------------------------------
# One user per program with per-subject permissions, rendered by
# `hotlinectl nats-config` from casework/eventbus/access.go (the same rules
# the tests run). Passwords are generated on first start (0600 files, never a
# fixed value, demo included); deleting one and running `up` again rotates it.

nats_binary() {
    if nats_bin_current; then
        echo "$NATS_BIN"
    elif have nats-server; then
        command -v nats-server
    else
        install_nats_if_missing_build
        echo "$NATS_BIN"
    fi
}

install_nats_if_missing_build() {
    local go
    go=$(find_go)
    log "building nats-server $NATS_SERVER_VERSION with go install (Go module proxy)" >&2
    mkdir -p "$(dirname "$NATS_BIN")"
    (cd / && GOBIN=$(dirname "$NATS_BIN") GOFLAGS='' "$go" install "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION") >&2
}

# render_hotline_nats_config writes the server's config (0600): listen,
# JetStream, authorization.
render_hotline_nats_config() {
    local conf=$HOTLINE_NATS_DIR/nats-server.conf ctl=$REPO_DIR/bin/hotlinectl
    install -d -m 0700 "$HOTLINE_NATS_DIR" "$HOTLINE_NATS_DIR/secrets"
    install -d -m 0750 "$HOTLINE_NATS_DIR/jetstream"
    (
        umask 077
        {
            printf 'listen: "127.0.0.1:%s"\nhttp: "127.0.0.1:%s"\n' "$HOTLINE_NATS_PORT" "$((NATS_MONITOR_PORT + 1))"
            printf 'jetstream { store_dir: "%s" }\n' "$HOTLINE_NATS_DIR/jetstream"
            if [[ -x $ctl ]]; then
                "$ctl" nats-config --password-dir "$HOTLINE_NATS_DIR/secrets" --generate
            else
                (cd "$REPO_DIR" && "$(find_go)" run ./cmd/hotlinectl nats-config --password-dir "$HOTLINE_NATS_DIR/secrets" --generate)
            fi
        } >"$conf.tmp"
        mv "$conf.tmp" "$conf"
    )
}

ensure_hotline_nats_running() {
    local pidfile=$RUN_DIR/nats-hotline.pid logfile=$HOTLINE_DATA_DIR/log/nats-hotline.log pid bin
    mkdir -p "$RUN_DIR" "$HOTLINE_DATA_DIR/log"
    render_hotline_nats_config
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        # Running: the rules or a rotated password take effect on reload.
        kill -HUP "$pid"
        log "NATS (login) on 127.0.0.1:$HOTLINE_NATS_PORT: config reloaded"
        return
    fi
    tcp_answers 127.0.0.1 "$HOTLINE_NATS_PORT" && die "127.0.0.1:$HOTLINE_NATS_PORT answers but is not our nats-server (HOTLINE_NATS_PORT)"
    bin=$(nats_binary)
    log "starting the services' nats-server on 127.0.0.1:$HOTLINE_NATS_PORT with login (config $HOTLINE_NATS_DIR/nats-server.conf, log $logfile)"
    setsid "$bin" -c "$HOTLINE_NATS_DIR/nats-server.conf" -P "$pidfile" -l "$logfile" </dev/null >/dev/null 2>&1 &
    state_set nats_hotline_started "$pidfile"
    for _ in $(seq 1 50); do
        if tcp_answers 127.0.0.1 "$HOTLINE_NATS_PORT"; then break; fi
        sleep 0.2
    done
    tcp_answers 127.0.0.1 "$HOTLINE_NATS_PORT" || { tail -n 20 "$logfile" >&2 || true; die "the services' nats-server did not come up"; }
}

stop_hotline_nats() {
    local pidfile pid
    pidfile=$(state_get nats_hotline_started)
    [[ -n $pidfile ]] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        log "stopping the services' nats-server (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
    fi
    state_del nats_hotline_started
}
