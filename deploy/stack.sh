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
#                              answers + the hotline's own authenticated
#                              nats-server + render prompts + start instance
#                              "dev" in the demo profile (what `make run` uses)
#   services                   make sure PostgreSQL and NATS JetStream answer
#                              (start or install them if not; the NATS on
#                              NATS_PORT is the test suite's, without login)
#   down                       stop instance "dev"; stop NATS/PostgreSQL only
#                              if this script started them
#   status                     what runs, on which ports
#   asterisk-start INSTANCE    start one Asterisk instance, wait for ARI
#   asterisk-stop INSTANCE     stop it
#   asterisk-render INSTANCE   render an instance's config for an Asterisk
#                              installed on / (containers; no chroot)
#   asterisk-cli INSTANCE CMD  run a CLI command, e.g. "core show channels"
#   asterisk-console INSTANCE [-vvv]
#                              an interactive remote console (with -vvv every
#                              dialplan step: shown, never written to a file)
#   asterisk-check INSTANCE    every module of modules.conf loaded? endpoints?
#   prompts                    render the Mandarin prompts (go run ./cmd/prompts)
#   service-user               create the services' unprivileged users and shared
#                              groups, give them their directories (up does it;
#                              converts the earlier single-user layout; see
#                              deploy/stack/serviceuser.sh)
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
#   AST_SIP_TLS_PORT [5061]   SIP over TLS (agents' softphones)
#   AST_SIP_TLS_CERT, AST_SIP_TLS_KEY  [a self-signed pair made per instance]
#   AST_AGENT_NETWORKS [127.0.0.0/8]  comma-separated CIDRs agents' SIP phones
#                              may register and call from (acl.conf); anything
#                              else gets 403. Name the office networks in production.
#   AST_AMI_PORT [5038]  AMI on loopback, read-only (the call service's SIP guard)
#   AMI_USER [hotline-guard]  AMI_PASSWORD [demo value; else generated into
#                              $HOTLINE_DATA_DIR/asterisk/<instance>/ami.secret]
#   AST_RTP_START [10000]  AST_RTP_END [10999]
#   AST_UDPTL_START [4000]  AST_UDPTL_END [4999]
#   AST_SYSTEM_NAME [<short hostname>-<instance>]
#   AST_ENTITY_ID   [derived from hostname + instance]
#   AST_RUN_USER    [asterisk]  (or "root")
#   HOTLINE_CALL_USER [hotline-call]  the call service's user
#   HOTLINE_CASE_USER [hotline-case]  casework's user
#   HOTLINE_MEDIA_GROUP [hotline-media]  files Asterisk and the call service share
#   HOTLINE_FAX_GROUP [hotline-fax]  received faxes (Asterisk and both services)
#   HOTLINE_RUN_USER [unset]  "root" runs both services as root (not for production)
#   AST_START_TIMEOUT [60] seconds to wait for ARI
#   ARI_USER, ARI_PASSWORD  required unless HOTLINE_PROFILE=demo
#   HOTLINE_ARI_APP [hotline]
#   CARRIER_IP [127.0.0.10]  CARRIER_PORT [5060]
#   DUTYLINE_HOST [127.0.0.20]  DUTYLINE_PORT [5060]
#   HOTLINE_AGENTS_CSV  agents file to render outside the demo profile
#   PG_PORT [5432]  NATS_PORT [4222]  NATS_MONITOR_PORT [8222]
#   NATS_SERVER_VERSION [v2.11.17]
#   HOTLINE_NATS_PORT [4223]  the services' nats-server (users and per-subject
#                             permissions from `hotlinectl nats-config`;
#                             passwords in $HOTLINE_DATA_DIR/nats-hotline/secrets)
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
# The services' own server, with login (issue 14); NATS_PORT stays the test
# suite's shared server without it, which no service uses.
HOTLINE_NATS_PORT=${HOTLINE_NATS_PORT:-4223}
HOTLINE_NATS_DIR=$HOTLINE_DATA_DIR/nats-hotline

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
    shellcheck:shellcheck       # make test checks the stack's scripts
)

# Variables substituted into asterisk-conf/ templates. Listed explicitly so
# that envsubst leaves dialplan variables like ${EXTEN} alone.
TEMPLATE_VARS=(
    AST_INSTANCE AST_INSTANCE_DIR AST_MODULE_DIR AST_SYSTEM_NAME AST_ENTITY_ID
    AST_RUN_USER AST_SIP_BIND AST_SIP_PORT AST_HTTP_PORT AST_RTP_START AST_RTP_END
    AST_UDPTL_START AST_UDPTL_END ARI_USER ARI_PASSWORD HOTLINE_ARI_APP
    AST_SIP_TLS_PORT AST_SIP_TLS_CERT AST_SIP_TLS_KEY AST_AGENT_NETWORKS
    AST_AMI_PORT AMI_USER AMI_PASSWORD
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

# --- The parts, by concern (deploy/stack/) ---------------------------------------------
# shellcheck source=deploy/stack/provision.sh
source "$SCRIPT_DIR/stack/provision.sh"
# shellcheck source=deploy/stack/services.sh
source "$SCRIPT_DIR/stack/services.sh"
# shellcheck source=deploy/stack/asterisk.sh
source "$SCRIPT_DIR/stack/asterisk.sh"
# shellcheck source=deploy/stack/templates.sh
source "$SCRIPT_DIR/stack/templates.sh"
# shellcheck source=deploy/stack/serviceuser.sh
source "$SCRIPT_DIR/stack/serviceuser.sh"

# --- Prompts --------------------------------------------------------------------------------

render_prompts() {
    local go
    go=$(find_go)
    ensure_sounds_dir
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
    ensure_hotline_nats_running
    render_prompts
    start_asterisk_instance dev
    ensure_service_user
    log "up: Asterisk 'dev' (ARI app '${HOTLINE_ARI_APP}', user '$ARI_USER'), PostgreSQL :$PG_PORT, NATS :$HOTLINE_NATS_PORT (login; tests' :$NATS_PORT)"
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
    stop_hotline_nats
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
    if tcp_answers 127.0.0.1 "$HOTLINE_NATS_PORT"; then echo "NATS (services, login): answers on 127.0.0.1:$HOTLINE_NATS_PORT"; else echo "NATS (services, login): not answering on 127.0.0.1:$HOTLINE_NATS_PORT"; fi
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
    asterisk-console) (($# >= 1)) || die "usage: $0 asterisk-console INSTANCE [-vvv]"; asterisk_console "$@" ;;
    asterisk-check) (($# == 1)) || die "usage: $0 asterisk-check INSTANCE"; check_instance "$1" ;;
    prompts) render_prompts ;;
    service-user) ensure_service_user ;;
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
