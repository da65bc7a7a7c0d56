#!/usr/bin/env bash
# deploy/stack.sh — bring up the 12345 hotline's telephony stack on one
# Debian machine: Asterisk 22 (from a Debian sid chroot, because Debian 12 has
# no Asterisk package), PostgreSQL and NATS JetStream.
#
# Usage: deploy/stack.sh <command> [args]
#
#   install                    host packages, PostgreSQL/NATS if missing, the
#                              Asterisk sid root (built once, cached)
#   up                         install + start PostgreSQL/NATS if nothing
#                              answers + render prompts + start instance "dev"
#                              in the demo profile (what `make run` uses)
#   services                   make sure PostgreSQL and NATS JetStream answer
#                              (start or install them if not)
#   down                       stop instance "dev"; stop NATS/PostgreSQL only
#                              if this script started them
#   status                     what runs, on which ports
#   asterisk-start INSTANCE    start one Asterisk instance, wait for ARI
#   asterisk-stop INSTANCE     stop it
#   asterisk-render INSTANCE   render an instance's config for an Asterisk
#                              installed on / (containers; no chroot)
#   asterisk-cli INSTANCE CMD  run a CLI command, e.g. "core show channels"
#   asterisk-check INSTANCE    every module of modules.conf loaded? endpoints?
#   prompts                    render the Mandarin prompts (go run ./cmd/prompts)
#
# Environment (defaults in brackets):
#   HOTLINE_PROFILE     [production]  "demo" supplies demo ARI credentials and
#                               demo agents; "production" requires ARI_USER/ARI_PASSWORD
#                               (the services' own values: nothing else is accepted)
#   HOTLINE_CACHE_DIR   [/var/cache/hotline12345]  sid root, nats-server binary
#   HOTLINE_DATA_DIR    [/var/lib/hotline12345]    instances, sounds, recordings
#   HOTLINE_ASTERISK_ROOT [$HOTLINE_CACHE_DIR/asterisk-root]
#   HOTLINE_DEBIAN_MIRROR [first Debian mirror of the host's apt sources]
#   AST_SIP_BIND [127.0.0.1]  AST_SIP_PORT [5060]  AST_HTTP_PORT [8088]
#   AST_RTP_START [10000]  AST_RTP_END [10999]
#   AST_UDPTL_START [4000]  AST_UDPTL_END [4999]
#   AST_SYSTEM_NAME [<short hostname>-<instance>]
#   AST_ENTITY_ID   [derived from hostname + instance]
#   AST_RUN_USER    [asterisk]  (or "root")
#   AST_START_TIMEOUT [60] seconds to wait for ARI
#   ARI_USER, ARI_PASSWORD  required unless HOTLINE_PROFILE=demo
#   HOTLINE_ARI_APP [hotline]
#   CARRIER_IP [127.0.0.10]  CARRIER_PORT [5060]
#   DUTYLINE_HOST [127.0.0.20]  DUTYLINE_PORT [5060]
#   HOTLINE_AGENTS_CSV  agents file to render outside the demo profile
#   PG_PORT [5432]  NATS_PORT [4222]  NATS_MONITOR_PORT [8222]
#   NATS_SERVER_VERSION [v2.11.17]
#
# Every command is idempotent: running it again only checks.

set -euo pipefail

# --- Settings -----------------------------------------------------------------

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)

HOTLINE_PROFILE=${HOTLINE_PROFILE:-production}
HOTLINE_CACHE_DIR=${HOTLINE_CACHE_DIR:-/var/cache/hotline12345}
HOTLINE_DATA_DIR=${HOTLINE_DATA_DIR:-/var/lib/hotline12345}
AST_ROOT=${HOTLINE_ASTERISK_ROOT:-$HOTLINE_CACHE_DIR/asterisk-root}
AST_RUN_USER=${AST_RUN_USER:-asterisk}
AST_START_TIMEOUT=${AST_START_TIMEOUT:-60}

# The root is Debian sid because that is where Asterisk 22 is packaged.
# Changing the suite or the package list changes the recipe hash in the stamp
# and makes `install` rebuild the root.
ROOT_SUITE=sid
ROOT_PACKAGES=asterisk,asterisk-modules,asterisk-core-sounds-en,asterisk-moh-opsound-wav
ROOT_STAMP_NAME=.hotline12345-root.stamp

PG_PORT=${PG_PORT:-5432}
NATS_PORT=${NATS_PORT:-4222}
NATS_MONITOR_PORT=${NATS_MONITOR_PORT:-8222}
# Pinned so every machine runs the same server; bump deliberately.
NATS_SERVER_VERSION=${NATS_SERVER_VERSION:-v2.11.17}
NATS_BIN=$HOTLINE_CACHE_DIR/bin/nats-server

RUN_DIR=$HOTLINE_DATA_DIR/run
STATE_FILE=$RUN_DIR/stack.state
SOUNDS_DIR=$HOTLINE_DATA_DIR/sounds/hotline

# Host tools we use, as package:command (a present command means the package
# is there; checking commands is fast and needs no apt).
HOST_TOOLS=(
    debootstrap:debootstrap     # builds the sid root
    util-linux:findmnt          # mount, mountpoint, setsid, runuser
    passwd:useradd              # host "asterisk" user
    gettext-base:envsubst       # renders asterisk-conf/ templates
    curl:curl                   # waits for ARI
    iproute2:ss                 # port checks
    procps:ps
    ca-certificates:update-ca-certificates
    espeak-ng:espeak-ng         # Mandarin prompts
    sox:sox                     # prompt conversion to 8 kHz
    sip-tester:sipp             # SIP test calls
    ghostscript:gs              # fax documents (PDF -> TIFF), later
    libtiff-tools:tiffinfo      # fax TIFF checks, later
    prometheus:prometheus       # e2e check of the Grafana dashboard's queries (promtool too)
    npm:npm                     # agent desktop: JsSIP bundle (make web; versions in package-lock.json)
    chromium:chromium           # agent desktop: e2e tests drive a real Chromium (chromedp)
)

# Variables substituted into asterisk-conf/ templates. Listed explicitly so
# that envsubst leaves dialplan variables like ${EXTEN} alone.
TEMPLATE_VARS=(
    AST_INSTANCE AST_INSTANCE_DIR AST_MODULE_DIR AST_SYSTEM_NAME AST_ENTITY_ID
    AST_RUN_USER AST_SIP_BIND AST_SIP_PORT AST_HTTP_PORT AST_RTP_START AST_RTP_END
    AST_UDPTL_START AST_UDPTL_END ARI_USER ARI_PASSWORD HOTLINE_ARI_APP
    CARRIER_IP CARRIER_PORT DUTYLINE_HOST DUTYLINE_PORT HOTLINE_SOUNDS_DIR
)

# --- Small helpers --------------------------------------------------------------

log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[stack] ERROR: %s\n' "$*" >&2
    exit 1
}
now_ms() { date +%s%3N; }
# seconds_since START_MS -> "12.3s"
seconds_since() { awk -v s="$1" -v e="$(now_ms)" 'BEGIN { printf "%.1fs", (e - s) / 1000 }'; }
have() { command -v "$1" >/dev/null 2>&1; }

require_root_user() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (chroot, mounts, apt)"
}

# The shared root's mounts and its asterisk account are changed by every
# start/stop/install, possibly by several test runs at once. One lock
# serialises those changes: otherwise a stop could unmount /proc under an
# instance that is starting but not yet inside the chroot.
ROOT_LOCK=$AST_ROOT.lock
lock_root() {
    mkdir -p "$(dirname "$ROOT_LOCK")"
    exec 9>"$ROOT_LOCK"
    flock -w 120 9 || die "waited 120s for $ROOT_LOCK (another stack.sh run?)"
}
unlock_root() {
    flock -u 9
    exec 9>&-
}

# tcp_answers HOST PORT: something accepts TCP connections there.
tcp_answers() {
    # shellcheck disable=SC2016 # expanded by the callee, not by us
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# State file: facts this script must remember between runs (what it started).
state_get() {
    if [[ -f $STATE_FILE ]]; then
        awk -F= -v k="$1" '$1 == k { v = substr($0, length(k) + 2) } END { print v }' "$STATE_FILE"
    fi
}
state_set() {
    mkdir -p "$RUN_DIR"
    local tmp=$STATE_FILE.tmp
    {
        if [[ -f $STATE_FILE ]]; then grep -v "^$1=" "$STATE_FILE" || true; fi
        echo "$1=$2"
    } >"$tmp"
    mv "$tmp" "$STATE_FILE"
}
state_del() {
    [[ -f $STATE_FILE ]] || return 0
    local tmp=$STATE_FILE.tmp
    grep -v "^$1=" "$STATE_FILE" >"$tmp" || true
    mv "$tmp" "$STATE_FILE"
}

APT_UPDATED=0
apt_install() {
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        apt-get update
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

find_go() {
    if have go; then
        command -v go
    elif [[ -x /usr/local/go/bin/go ]]; then
        echo /usr/local/go/bin/go
    else
        die "Go toolchain not found (expected on PATH or /usr/local/go/bin/go)"
    fi
}

# --- Host packages -----------------------------------------------------------------

ensure_host_packages() {
    local missing=() entry pkg cmd
    for entry in "${HOST_TOOLS[@]}"; do
        pkg=${entry%%:*}
        cmd=${entry#*:}
        have "$cmd" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
    else
        log "host packages: all present"
    fi
    # The Mandarin voice ships in espeak-ng-data; make sure it is really there.
    espeak-ng --voices=cmn 2>/dev/null | grep -q cmn || die "espeak-ng has no Mandarin (cmn) voice"
}

# --- Debian mirror (taken from the host's apt sources, never hard-coded) ----------

# debian_mirror [APT_DIR]: the first non-security Debian archive URI of the
# apt sources in APT_DIR (default /etc/apt).
debian_mirror() {
    if [[ -n ${HOTLINE_DEBIAN_MIRROR:-} ]]; then
        echo "$HOTLINE_DEBIAN_MIRROR"
        return
    fi
    local apt=${1:-/etc/apt} uri="" f
    # deb822 format (.sources): paragraphs with Types/URIs/Suites fields.
    for f in "$apt"/sources.list.d/debian.sources "$apt"/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        uri=$(awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && suites !~ /-security/ && uris != "" && found == "") {
                    split(uris, u, " "); found = u[1]
                }
                types = ""; uris = ""; suites = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"  { $1 = ""; types = $0 }
            tolower($1) == "uris:"   { $1 = ""; uris = $0 }
            tolower($1) == "suites:" { $1 = ""; suites = $0 }
            END { flush(); print found }
        ' "$f" | sed 's/^ *//')
        [[ -n $uri ]] && break
    done
    # One-line format: "deb [opts] URI suite components".
    if [[ -z $uri ]]; then
        for f in "$apt"/sources.list "$apt"/sources.list.d/*.list; do
            [[ -f $f ]] || continue
            uri=$(awk '$1 == "deb" {
                    i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i + 1) !~ /-security/) { print $i; exit }
                }' "$f")
            [[ -n $uri ]] && break
        done
    fi
    [[ $uri =~ ^(https?|ftp|file): ]] || die "no Debian mirror found in the apt sources; set HOTLINE_DEBIAN_MIRROR"
    echo "${uri%/}"
}

# --- The Asterisk sid root ------------------------------------------------------------

root_recipe() { printf '%s\n' "$ROOT_SUITE" "$ROOT_PACKAGES" | sha256sum | cut -c1-16; }

# mounts_under DIR: mount points below DIR, deepest first.
mounts_under() {
    findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r
}

refuse_if_mounted() {
    if [[ -n $(mounts_under "$1") ]]; then
        die "$1 still has mounts ($(mounts_under "$1" | tr '\n' ' ')); stop all Asterisk instances first"
    fi
}

# A debootstrap run that finished removes its $TARGET/debootstrap work dir;
# the packages we asked for must be installed.
root_build_complete() {
    local dir=$1
    [[ -d $dir && ! -e $dir/debootstrap && -x $dir/usr/sbin/asterisk ]] || return 1
    local status
    # shellcheck disable=SC2016 # expanded by the callee, not by us
    status=$(chroot "$dir" dpkg-query -W -f='${db:Status-Abbrev}\n' ${ROOT_PACKAGES//,/ } 2>/dev/null) || return 1
    ! grep -qv '^ii' <<<"$status"
}

root_stamp_recipe() {
    if [[ -f $AST_ROOT/$ROOT_STAMP_NAME ]]; then sed -n 's/^recipe=//p' "$AST_ROOT/$ROOT_STAMP_NAME"; fi
}

write_root_stamp() {
    local how=$1 version
    # shellcheck disable=SC2016 # expanded by the callee, not by us
    version=$(chroot "$AST_ROOT" dpkg-query -W -f='${Version}' asterisk)
    cat >"$AST_ROOT/$ROOT_STAMP_NAME" <<EOF
recipe=$(root_recipe)
suite=$ROOT_SUITE
packages=$ROOT_PACKAGES
asterisk=$version
$how=$(date -Is)
EOF
}

# Builds (or adopts a finished build of) the sid root, once.
ensure_asterisk_root() {
    local stamped
    stamped=$(root_stamp_recipe)
    if [[ -n $stamped && $stamped == "$(root_recipe)" && -x $AST_ROOT/usr/sbin/asterisk ]]; then
        log "Asterisk root: $AST_ROOT ($(sed -n 's/^asterisk=/asterisk /p' "$AST_ROOT/$ROOT_STAMP_NAME"), already built)"
        return
    fi
    if [[ -e $AST_ROOT ]]; then
        # Unstamped or built from another recipe: rebuild it.
        warn "$AST_ROOT is not stamped with recipe $(root_recipe); rebuilding it"
        refuse_if_mounted "$AST_ROOT"
        rm -rf --one-file-system "$AST_ROOT"
    fi
    local tmp=$AST_ROOT.tmp how start
    start=$(now_ms)
    mkdir -p "$(dirname "$AST_ROOT")"
    if root_build_complete "$tmp"; then
        # A completed debootstrap (e.g. interrupted before the move): adopt it.
        log "adopting finished build $tmp"
        how=adopted
    else
        if [[ -e $tmp ]]; then
            log "removing incomplete build $tmp"
            refuse_if_mounted "$tmp"
            rm -rf --one-file-system "$tmp"
        fi
        local mirror
        mirror=$(debian_mirror /etc/apt)
        log "debootstrap $ROOT_SUITE into $tmp (packages: $ROOT_PACKAGES) — takes a few minutes"
        debootstrap --variant=minbase --include="$ROOT_PACKAGES" "$ROOT_SUITE" "$tmp" "$mirror"
        root_build_complete "$tmp" || die "debootstrap finished but $tmp lacks $ROOT_PACKAGES"
        how=built
    fi
    mv "$tmp" "$AST_ROOT"
    write_root_stamp "$how"
    log "Asterisk root $how in $(seconds_since "$start"): $AST_ROOT"
}

# The root must resolve the machine's hostname locally: Asterisk looks it up
# (and so does glibc for other reasons) and a DNS timeout there stalls calls.
write_root_hosts() {
    local host want
    host=$(hostname)
    want=$(
        grep -v '^[[:space:]]*#' /etc/hosts 2>/dev/null || true
        grep -qw -- "$host" /etc/hosts 2>/dev/null || echo "127.0.0.1 $host"
        grep -qw localhost /etc/hosts 2>/dev/null || echo "127.0.0.1 localhost"
    )
    if [[ ! -f $AST_ROOT/etc/hosts ]] || [[ $(cat "$AST_ROOT/etc/hosts") != "$want" ]]; then
        printf '%s\n' "$want" >"$AST_ROOT/etc/hosts"
        log "root /etc/hosts written (resolves $host)"
    fi
}

# Same resolver and time zone as the host, so names and log/voicemail
# timestamps agree with the Go services.
sync_root_host_files() {
    write_root_hosts
    local f
    for f in /etc/resolv.conf /etc/localtime /etc/timezone; do
        [[ -e $f ]] || continue
        # The root's own /etc/localtime is a symlink into *its* zoneinfo;
        # replace links and differing files by a plain copy of the host's.
        if [[ -L $AST_ROOT$f ]] || ! cmp -s "$f" "$AST_ROOT$f"; then
            rm -f "$AST_ROOT$f"
            cp -L "$f" "$AST_ROOT$f"
        fi
    done
}

# Asterisk drops root and runs as "asterisk". Its uid inside the root is
# whatever Debian's postinst picked (e.g. 101, which on the host may be
# postgres!). Files it writes into the shared data dir must belong to the
# same user on both sides, so create a host "asterisk" user and give the
# root's account the same uid/gid.
align_asterisk_user() {
    [[ $AST_RUN_USER == root ]] && return
    [[ $AST_RUN_USER == asterisk ]] || die "AST_RUN_USER must be asterisk or root"
    if ! getent passwd asterisk >/dev/null; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "Asterisk PBX (hotline12345 chroot)" asterisk
        log "host user asterisk created"
    fi
    local host_uid host_gid root_uid root_gid
    host_uid=$(id -u asterisk)
    host_gid=$(id -g asterisk)
    root_uid=$(chroot "$AST_ROOT" id -u asterisk)
    root_gid=$(chroot "$AST_ROOT" id -g asterisk)
    [[ $host_uid == "$root_uid" && $host_gid == "$root_gid" ]] && return
    # chown must not wander into bind-mounted host directories.
    refuse_if_mounted "$AST_ROOT"
    local other
    other=$(chroot "$AST_ROOT" getent passwd "$host_uid" | cut -d: -f1 || true)
    [[ -z $other || $other == asterisk ]] || die "uid $host_uid is taken by $other inside the root"
    other=$(chroot "$AST_ROOT" getent group "$host_gid" | cut -d: -f1 || true)
    [[ -z $other || $other == asterisk ]] || die "gid $host_gid is taken by $other inside the root"
    chroot "$AST_ROOT" groupmod -g "$host_gid" asterisk
    chroot "$AST_ROOT" usermod -u "$host_uid" -g "$host_gid" asterisk
    find "$AST_ROOT"/{etc,var/lib,var/spool,var/log,var/cache,run,usr/share}/asterisk -xdev \
        \( -uid "$root_uid" -o -gid "$root_gid" \) -exec chown -h "$host_uid:$host_gid" {} + 2>/dev/null || true
    log "root user asterisk aligned with host uid/gid $host_uid/$host_gid (was $root_uid/$root_gid)"
}

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

# --- Asterisk instances ------------------------------------------------------------------

validate_instance_name() {
    [[ $1 =~ ^[a-z0-9][a-z0-9_-]{0,31}$ ]] || die "instance name '$1' must match [a-z0-9][a-z0-9_-]*"
}

# Paths of an instance (enough for stop/cli/status).
set_instance_paths() {
    validate_instance_name "$1"
    AST_INSTANCE=$1
    AST_INSTANCE_DIR=$HOTLINE_DATA_DIR/asterisk/$AST_INSTANCE
    AST_CONF=$AST_INSTANCE_DIR/etc/asterisk.conf
    AST_PIDFILE=$AST_INSTANCE_DIR/run/stack.pid
    AST_CONSOLE_LOG=$AST_INSTANCE_DIR/log/console.log
}

# All settings of an instance (needed to render and start it).
set_instance_settings() {
    set_instance_paths "$1"
    AST_SIP_BIND=${AST_SIP_BIND:-127.0.0.1}
    AST_SIP_PORT=${AST_SIP_PORT:-5060}
    AST_HTTP_PORT=${AST_HTTP_PORT:-8088}
    AST_RTP_START=${AST_RTP_START:-10000}
    AST_RTP_END=${AST_RTP_END:-10999}
    AST_UDPTL_START=${AST_UDPTL_START:-4000}
    AST_UDPTL_END=${AST_UDPTL_END:-4999}
    HOTLINE_ARI_APP=${HOTLINE_ARI_APP:-hotline}
    CARRIER_IP=${CARRIER_IP:-127.0.0.10}
    CARRIER_PORT=${CARRIER_PORT:-5060}
    DUTYLINE_HOST=${DUTYLINE_HOST:-127.0.0.20}
    DUTYLINE_PORT=${DUTYLINE_PORT:-5060}
    # shellcheck disable=SC2034 # exported below for envsubst
    HOTLINE_SOUNDS_DIR=$SOUNDS_DIR
    AST_SYSTEM_NAME=${AST_SYSTEM_NAME:-$(hostname -s)-$AST_INSTANCE}
    # Locally administered MAC-style ID (02:..), stable per host + instance.
    AST_ENTITY_ID=${AST_ENTITY_ID:-$(printf '%s/%s' "$(hostname)" "$AST_INSTANCE" | sha256sum |
        sed -E 's/^(..)(..)(..)(..)(..).*/02:\1:\2:\3:\4:\5/')}
    if [[ $HOTLINE_PROFILE == demo ]]; then
        # Demo values only; outside the demo profile nothing is defaulted.
        ARI_USER=${ARI_USER:-hotline}
        ARI_PASSWORD=${ARI_PASSWORD:-hotline-demo-password}
    fi
    [[ -n ${ARI_USER:-} && -n ${ARI_PASSWORD:-} ]] ||
        die "ARI_USER and ARI_PASSWORD are required (or HOTLINE_PROFILE=demo for demo values)"
    # ';' starts a comment in Asterisk config files, whitespace/quotes break
    # the line: reject rather than render a subtly different password.
    [[ $ARI_USER =~ ^[A-Za-z0-9._-]+$ ]] || die "ARI_USER may contain only letters, digits, . _ -"
    [[ $ARI_PASSWORD =~ ^[^[:space:]\;\"\'\\]+$ ]] || die "ARI_PASSWORD must not contain whitespace, ; quotes or backslashes"
    [[ $HOTLINE_ARI_APP =~ ^[A-Za-z0-9._-]+$ ]] || die "HOTLINE_ARI_APP may contain only letters, digits, . _ -"
    local p
    for p in AST_SIP_PORT AST_HTTP_PORT AST_RTP_START AST_RTP_END AST_UDPTL_START AST_UDPTL_END CARRIER_PORT DUTYLINE_PORT; do
        if ! [[ ${!p} =~ ^[0-9]+$ ]] || ((${!p} < 1 || ${!p} > 65535)); then
            die "$p=${!p} is not a port number"
        fi
    done
    ((AST_RTP_START < AST_RTP_END)) || die "AST_RTP_START must be below AST_RTP_END"
    # shellcheck disable=SC2034 # exported below for envsubst
    AST_MODULE_DIR=$(find_module_dir)
    export "${TEMPLATE_VARS[@]}"
}

find_module_dir() {
    local d
    for d in "$AST_ROOT"/usr/lib/*/asterisk/modules "$AST_ROOT"/usr/lib/asterisk/modules; do
        [[ -d $d ]] && { echo "${d#"$AST_ROOT"}"; return; }
    done
    die "no Asterisk module directory in $AST_ROOT — run '$0 install'"
}

require_stamped_root() {
    [[ -n $(root_stamp_recipe) && -x $AST_ROOT/usr/sbin/asterisk ]] || die "Asterisk root $AST_ROOT missing — run '$0 install'"
}

# instance_pid: pid of the running instance, empty if not running. The pid is
# only trusted if that process really is an asterisk inside our root (pid
# files outlive reboots; pids get reused).
instance_pid() {
    local pid
    pid=$(cat "$AST_PIDFILE" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == asterisk ]] || return 0
    [[ $(readlink "/proc/$pid/root" 2>/dev/null) == "$(realpath -m "$AST_ROOT")" ]] || return 0
    echo "$pid"
}

# Processes whose root directory is our chroot: the reference count for the
# shared bind mounts.
processes_in_root() {
    local real p
    real=$(realpath -m "$AST_ROOT")
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/root" 2>/dev/null) == "$real" ]] && echo "${p#/proc/}"
    done
    return 0
}

mount_root_filesystems() {
    local target
    for target in /proc /dev "$HOTLINE_DATA_DIR"; do
        mkdir -p "$AST_ROOT$target"
        if ! mountpoint -q "$AST_ROOT$target"; then
            mount --bind "$target" "$AST_ROOT$target"
        fi
    done
}

# Unmount only when no process runs inside the root any more (another
# instance may still use /proc, /dev and the data dir).
release_root_mounts_if_unused() {
    if [[ -n $(processes_in_root) ]]; then
        log "root still in use by other instances: mounts kept"
        return
    fi
    local m
    while read -r m; do
        [[ -n $m ]] && umount "$m"
    done < <(mounts_under "$(realpath -m "$AST_ROOT")")
}

# render_agents_conf CSV OUT: staff number,password,display name[,static contact] -> PJSIP objects.
render_agents_conf() {
    local csv=$1 out=$2 num pass name rest n=0
    [[ -f $csv ]] || die "agents file $csv not found"
    {
        echo "; Generated by deploy/stack.sh from $csv — do not edit here."
        while IFS=, read -r num pass name rest || [[ -n $num ]]; do
            num=${num%$'\r'} pass=${pass%$'\r'} name=${name%$'\r'}
            [[ -z $num || $num == \#* || $num == staff_number ]] && continue
            [[ $num =~ ^[0-9]{2,10}$ ]] || die "$csv: staff number '$num' must be 2-10 digits"
            [[ $pass =~ ^[^[:space:]\;\"\'\\]{8,}$ ]] || die "$csv: password of $num must be 8+ chars without whitespace, ; or quotes"
            [[ -n $name && ! $name =~ [\;\"\<\>] ]] || die "$csv: display name of $num is empty or contains ; \" < >"
            printf '\n[%s](agent-endpoint)\nauth = %s\naors = %s\ncallerid = "%s" <%s>\n' "$num" "$num" "$num" "$name" "$num"
            printf '\n[%s](agent-auth)\nusername = %s\npassword = %s\n' "$num" "$num" "$pass"
            printf '\n[%s](agent-aor)\n' "$num"
            # Optional 4th column (tests, lab phones without registration): a
            # static contact, e.g. sip:1001@127.0.0.31:5070. Such a phone is not
            # qualified (test UAS do not answer OPTIONS).
            rest=${rest%%,*} rest=${rest%$'\r'}
            if [[ -n $rest ]]; then
                [[ $rest =~ ^sip:[0-9]{2,10}@[0-9.]+:[0-9]{1,5}$ ]] || die "$csv: contact of $num must look like sip:<staff>@<ip>:<port>"
                printf 'contact = %s\nqualify_frequency = 0\n' "$rest"
            fi
            n=$((n + 1))
        done <"$csv"
    } >"$out.tmp"
    mv "$out.tmp" "$out"
    log "agents: $n rendered from $csv"
}

# Creates the instance dirs and renders asterisk-conf/*.conf into etc/.
render_instance_config() {
    local run_user=$AST_RUN_USER
    local etc=$AST_INSTANCE_DIR/etc d
    install -d -m 0755 "$HOTLINE_DATA_DIR" "$HOTLINE_DATA_DIR/asterisk" "$AST_INSTANCE_DIR" "$SOUNDS_DIR"
    install -d -m 0750 -o root -g "$run_user" "$etc"
    for d in run log lib lib/keys lib/cache; do
        install -d -m 0750 -o "$run_user" -g "$run_user" "$AST_INSTANCE_DIR/$d"
    done
    # Voicemail/recordings/fax files: group-writable for services in the group.
    # spool/recording must exist: ARI recordings (agent calls, voicemail) fail
    # with ENOENT otherwise (Asterisk creates sub-directories, not this one).
    install -d -m 2770 -o "$run_user" -g "$run_user" "$AST_INSTANCE_DIR/spool" "$AST_INSTANCE_DIR/spool/recording" \
        "$HOTLINE_DATA_DIR/recordings" "$HOTLINE_DATA_DIR/fax"

    local spec="" v t out
    for v in "${TEMPLATE_VARS[@]}"; do spec+="\${$v} "; done
    for t in "$REPO_DIR"/asterisk-conf/*.conf; do
        out=$etc/$(basename "$t")
        envsubst "$spec" <"$t" >"$out.tmp"
        # A ${AST_...}-style name left over means a template uses a variable
        # this script doesn't know: fail now instead of shipping it literally.
        if grep -nE '\$\{(AST|ARI|CARRIER|DUTYLINE|HOTLINE)_[A-Z_]+\}' "$out.tmp" >&2; then
            rm -f "$out.tmp"
            die "unknown template variable in $t (add it to TEMPLATE_VARS)"
        fi
        mv "$out.tmp" "$out"
    done
    if [[ $HOTLINE_PROFILE == demo ]]; then
        render_agents_conf "$SCRIPT_DIR/demo/agents.csv" "$etc/pjsip_agents.conf"
    elif [[ -n ${HOTLINE_AGENTS_CSV:-} ]]; then
        render_agents_conf "$HOTLINE_AGENTS_CSV" "$etc/pjsip_agents.conf"
    elif [[ ! -f $etc/pjsip_agents.conf ]]; then
        log "no pjsip_agents.conf: no agents can register (set HOTLINE_AGENTS_CSV or supply $etc/pjsip_agents.conf)"
    fi
    chown root:"$run_user" "$etc"/*.conf
    chmod 0640 "$etc"/*.conf
    # Non-secret settings, for status and for humans.
    cat >"$AST_INSTANCE_DIR/instance.env" <<EOF
# Written by deploy/stack.sh asterisk-start $(date -Is); no secrets here.
AST_INSTANCE=$AST_INSTANCE
AST_SYSTEM_NAME=$AST_SYSTEM_NAME
AST_ENTITY_ID=$AST_ENTITY_ID
AST_SIP=$AST_SIP_BIND:$AST_SIP_PORT/udp
AST_HTTP=127.0.0.1:$AST_HTTP_PORT
AST_HTTP_PORT=$AST_HTTP_PORT
AST_RTP=$AST_RTP_START-$AST_RTP_END
AST_UDPTL=$AST_UDPTL_START-$AST_UDPTL_END
HOTLINE_ARI_APP=$HOTLINE_ARI_APP
CARRIER=$CARRIER_IP:$CARRIER_PORT
DUTYLINES=$DUTYLINE_HOST:$DUTYLINE_PORT
HOTLINE_PROFILE=$HOTLINE_PROFILE
EOF
}

# Fail early with a clear message instead of an Asterisk that silently
# couldn't bind its transport.
check_ports_free() {
    local busy
    busy=$(ss -Hlun "( sport = :$AST_SIP_PORT )" | awk -v a="$AST_SIP_BIND:$AST_SIP_PORT" -v p=":$AST_SIP_PORT" \
        '$4 == a || $4 == "0.0.0.0" p || $4 == "*" p || $4 == "[::]" p')
    [[ -z $busy ]] || die "UDP $AST_SIP_BIND:$AST_SIP_PORT is in use: $busy"
    busy=$(ss -Hltn "( sport = :$AST_HTTP_PORT )" | awk -v p=":$AST_HTTP_PORT" \
        '$4 == "127.0.0.1" p || $4 == "0.0.0.0" p || $4 == "*" p || $4 == "[::]" p')
    [[ -z $busy ]] || die "TCP 127.0.0.1:$AST_HTTP_PORT is in use: $busy"
}

ari_url() { echo "http://127.0.0.1:$AST_HTTP_PORT/ari/asterisk/info"; }

# The credentials go to curl on stdin (-K -), not on its command line where
# any local user could read them in ps.
ari_http_code() {
    printf 'user = "%s:%s"\n' "$ARI_USER" "$ARI_PASSWORD" |
        curl -K - -s -o /dev/null -w '%{http_code}' --max-time 2 "$(ari_url)" || true
}

show_instance_logs() {
    echo "--- tail $AST_CONSOLE_LOG" >&2
    tail -n 20 "$AST_CONSOLE_LOG" >&2 2>/dev/null || true
    echo "--- tail $AST_INSTANCE_DIR/log/messages.log" >&2
    tail -n 30 "$AST_INSTANCE_DIR/log/messages.log" >&2 2>/dev/null || true
}

# Once the new process has entered the chroot, it counts in
# processes_in_root and the lock can go.
wait_until_in_root() {
    local pid=$1 real
    real=$(realpath -m "$AST_ROOT")
    for _ in $(seq 1 100); do
        [[ -d /proc/$pid ]] || return 0
        [[ $(readlink "/proc/$pid/root" 2>/dev/null) == "$real" ]] && return 0
        sleep 0.05
    done
}

wait_for_ari() {
    local start=$1 deadline code=000 pid
    # The raw pid: until the exec chain setsid -> env -> chroot -> asterisk
    # completes, the process isn't called "asterisk" yet.
    pid=$(cat "$AST_PIDFILE")
    deadline=$(($(now_ms) + AST_START_TIMEOUT * 1000))
    while (($(now_ms) < deadline)); do
        if [[ ! -d /proc/$pid ]]; then
            show_instance_logs
            rm -f "$AST_PIDFILE"
            die "Asterisk instance $AST_INSTANCE exited during start-up"
        fi
        code=$(ari_http_code)
        if [[ $code == 200 ]]; then
            log "instance $AST_INSTANCE: ARI answers on $(ari_url) after $(seconds_since "$start") (pid $pid)"
            return
        fi
        sleep 0.2
    done
    show_instance_logs
    stop_asterisk_process
    die "ARI did not answer within ${AST_START_TIMEOUT}s (last HTTP status $code)"
}

asterisk_cli_raw() {
    timeout 20 chroot "$AST_ROOT" /usr/sbin/asterisk -C "$AST_CONF" -rx "$1"
}

start_asterisk_instance() {
    require_root_user
    set_instance_settings "$1"
    require_stamped_root
    local pid
    pid=$(instance_pid)
    if [[ -n $pid ]]; then
        local code
        code=$(ari_http_code)
        log "instance $AST_INSTANCE already running (pid $pid, ARI HTTP $code); asterisk-stop it first to apply config changes"
        [[ $code == 200 ]] || die "running instance does not answer ARI with these credentials"
        return
    fi
    check_ports_free
    render_instance_config
    local start
    start=$(now_ms)
    lock_root
    align_asterisk_user_if_safe
    sync_root_host_files
    mount_root_filesystems
    log "starting Asterisk instance $AST_INSTANCE (SIP $AST_SIP_BIND:$AST_SIP_PORT, ARI 127.0.0.1:$AST_HTTP_PORT, RTP $AST_RTP_START-$AST_RTP_END)"
    # setsid: own session, so the instance survives this shell and ^C in it.
    # env -i: the host environment (with ARI_PASSWORD etc.) stays outside.
    # -f: foreground (we keep the pid), -C: this instance's asterisk.conf.
    echo "=== $(date -Is) start" >>"$AST_CONSOLE_LOG"
    # 9>&-: the lock's descriptor must not be inherited by Asterisk.
    (
        cd /
        exec setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/var/lib/asterisk LANG=C.UTF-8 \
            chroot "$AST_ROOT" /usr/sbin/asterisk -f -C "$AST_CONF" </dev/null >>"$AST_CONSOLE_LOG" 2>&1 9>&-
    ) &
    local pid=$!
    echo "$pid" >"$AST_PIDFILE"
    wait_until_in_root "$pid"
    unlock_root
    wait_for_ari "$start"
    check_instance_modules
}

# Called on start: alignment needs an unmounted root, so only attempt it when
# no instance is running (install normally did it already).
align_asterisk_user_if_safe() {
    if [[ -z $(processes_in_root) ]]; then
        release_root_mounts_if_unused
        align_asterisk_user
    fi
}

# Stops the process of the current instance: polite first, then signals.
stop_asterisk_process() {
    local pid
    pid=$(instance_pid)
    [[ -n $pid ]] || return 0
    asterisk_cli_raw 'core stop now' >/dev/null 2>&1 || true
    for _ in $(seq 1 75); do
        [[ -d /proc/$pid ]] || break
        sleep 0.2
    done
    if [[ -d /proc/$pid ]]; then
        warn "instance $AST_INSTANCE did not stop in 15s; sending TERM"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 25); do
            [[ -d /proc/$pid ]] || break
            sleep 0.2
        done
        if [[ -d /proc/$pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
    rm -f "$AST_PIDFILE"
}

stop_asterisk_instance() {
    require_root_user
    set_instance_paths "$1"
    local pid
    pid=$(instance_pid)
    if [[ -z $pid ]]; then
        log "instance $AST_INSTANCE is not running"
        rm -f "$AST_PIDFILE"
    else
        stop_asterisk_process
        log "instance $AST_INSTANCE stopped (was pid $pid)"
    fi
    if [[ -d $AST_ROOT ]]; then
        lock_root
        release_root_mounts_if_unused
        unlock_root
    fi
    return 0
}

asterisk_cli() {
    require_root_user
    set_instance_paths "$1"
    shift
    (($#)) || die "usage: $0 asterisk-cli INSTANCE \"command\""
    [[ -n $(instance_pid) ]] || die "instance $AST_INSTANCE is not running"
    asterisk_cli_raw "$*"
}

# Every module named in modules.conf must be Running; prints endpoints.
check_instance_modules() {
    local want running missing=()
    want=$(sed -nE 's/^[[:space:]]*(require|load)[[:space:]]*=[[:space:]]*([a-z0-9_]+\.so).*/\2/p' "$AST_INSTANCE_DIR/etc/modules.conf" | sort -u)
    running=$(asterisk_cli_raw 'module show' | awk '$1 ~ /\.so$/ && $(NF - 1) == "Running" && $(NF - 2) != "Not" { print $1 }' | sort -u)
    local m
    for m in $want; do
        grep -qxF "$m" <<<"$running" || missing+=("$m")
    done
    if ((${#missing[@]})); then
        die "instance $AST_INSTANCE: modules not running: ${missing[*]} (see $AST_INSTANCE_DIR/log/messages.log)"
    fi
    log "instance $AST_INSTANCE: all $(wc -w <<<"$want") modules of modules.conf running"
}

check_instance() {
    require_root_user
    set_instance_paths "$1"
    [[ -n $(instance_pid) ]] || die "instance $AST_INSTANCE is not running"
    check_instance_modules
    asterisk_cli_raw 'pjsip show endpoints' | grep -E '^ +Endpoint: ' | grep -v '<Endpoint' || true
}

# --- Prompts --------------------------------------------------------------------------------

render_prompts() {
    local go
    go=$(find_go)
    install -d -m 0755 "$SOUNDS_DIR"
    (cd "$REPO_DIR" && "$go" run ./cmd/prompts -dir "$SOUNDS_DIR")
}

# --- Commands -------------------------------------------------------------------------------

cmd_install() {
    require_root_user
    local start
    start=$(now_ms)
    ensure_host_packages
    install_postgres_if_missing
    install_nats_if_missing
    lock_root
    ensure_asterisk_root
    align_asterisk_user_if_safe
    sync_root_host_files
    unlock_root
    log "install done in $(seconds_since "$start")"
}

cmd_up() {
    export HOTLINE_PROFILE=demo
    cmd_install
    ensure_postgres_running
    ensure_nats_running
    render_prompts
    start_asterisk_instance dev
    log "up: Asterisk 'dev' (ARI app '${HOTLINE_ARI_APP}', user '$ARI_USER'), PostgreSQL :$PG_PORT, NATS :$NATS_PORT"
}

# Render an instance's configuration for an Asterisk that runs outside our
# chroot, on a system whose / has Asterisk installed (the compose image):
# the same templates, the same variables, no second copy of the logic.
cmd_asterisk_render() {
    AST_ROOT=""
    set_instance_settings "$1"
    render_instance_config
    log "rendered $AST_INSTANCE_DIR/etc (start with: asterisk -f -C $AST_CONF)"
}

# PostgreSQL and NATS JetStream answering on loopback (what `make test` needs
# besides the Asterisk root): the machine's own when they answer, otherwise ours.
cmd_services() {
    ensure_postgres_running
    ensure_nats_running
    log "services: PostgreSQL :$PG_PORT, NATS :$NATS_PORT"
}

cmd_down() {
    require_root_user
    stop_asterisk_instance dev
    stop_nats_if_ours
    stop_postgres_if_ours
}

cmd_status() {
    echo "Asterisk root: $AST_ROOT"
    if [[ -f $AST_ROOT/$ROOT_STAMP_NAME ]]; then
        sed 's/^/  /' "$AST_ROOT/$ROOT_STAMP_NAME"
    else
        echo "  (not installed)"
    fi
    local mounts
    mounts=$(mounts_under "$(realpath -m "$AST_ROOT")" | tr '\n' ' ')
    echo "  mounts: ${mounts:-none}"
    # All instances, whatever data dir they were started with.
    local p
    for p in $(processes_in_root); do
        echo "  process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
    done
    echo "Asterisk instances ($HOTLINE_DATA_DIR/asterisk):"
    local d name pid http code
    for d in "$HOTLINE_DATA_DIR"/asterisk/*/; do
        [[ -d $d ]] || continue
        name=$(basename "$d")
        [[ $name =~ ^[a-z0-9][a-z0-9_-]{0,31}$ ]] || continue
        set_instance_paths "$name"
        pid=$(instance_pid)
        if [[ -n $pid ]]; then
            http=$(sed -n 's/^AST_HTTP_PORT=//p' "$d/instance.env" 2>/dev/null)
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$http/ari/asterisk/info" || true)
            echo "  $name: running, pid $pid, HTTP ${code} without credentials (401 = up)"
            grep -E '^(AST_SIP|AST_HTTP|AST_RTP|AST_SYSTEM_NAME|HOTLINE_ARI_APP|CARRIER|DUTYLINES)=' "$d/instance.env" | sed 's/^/      /'
        else
            echo "  $name: stopped"
        fi
    done
    if pg_answers; then echo "PostgreSQL: answers on 127.0.0.1:$PG_PORT"; else echo "PostgreSQL: not answering on 127.0.0.1:$PG_PORT"; fi
    if tcp_answers 127.0.0.1 "$NATS_PORT"; then echo "NATS: answers on 127.0.0.1:$NATS_PORT"; else echo "NATS: not answering on 127.0.0.1:$NATS_PORT"; fi
    [[ -n $(state_get nats_started) ]] && echo "  (nats-server started by stack.sh: $(state_get nats_started))"
    [[ -n $(state_get postgres_started) ]] && echo "  (PostgreSQL $(state_get postgres_started)/main started by stack.sh)"
    return 0
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

main() {
    local cmd=${1:-help}
    (($#)) && shift
    # The services accept these two values only (cmd/internal/svc); a stack run
    # as "prod" would start Asterisk and then services that refuse to start.
    case $HOTLINE_PROFILE in
    demo | production) ;;
    *) die "HOTLINE_PROFILE=$HOTLINE_PROFILE: want demo or production" ;;
    esac
    case $cmd in
    install) cmd_install ;;
    up) cmd_up ;;
    services) cmd_services ;;
    asterisk-render) (($# == 1)) || die "usage: $0 asterisk-render INSTANCE"; cmd_asterisk_render "$1" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    asterisk-start) (($# == 1)) || die "usage: $0 asterisk-start INSTANCE"; start_asterisk_instance "$1" ;;
    asterisk-stop) (($# == 1)) || die "usage: $0 asterisk-stop INSTANCE"; stop_asterisk_instance "$1" ;;
    asterisk-cli) (($# >= 2)) || die "usage: $0 asterisk-cli INSTANCE \"command\""; asterisk_cli "$@" ;;
    asterisk-check) (($# == 1)) || die "usage: $0 asterisk-check INSTANCE"; check_instance "$1" ;;
    prompts) render_prompts ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command '$cmd'" ;;
    esac
}

# Run only when executed, so the functions can be sourced by tests. The exit
# inside the block stops bash from reading on in this file, which may have
# been changed (git pull) while a long install was running.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
    exit $?
fi
