# shellcheck shell=bash
# Sourced by deploy/stack.sh (its settings and helpers are in scope): Asterisk instances — paths, ports, start, stop, checks.
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
    AST_SIP_TLS_PORT=${AST_SIP_TLS_PORT:-5061}
    AST_AMI_PORT=${AST_AMI_PORT:-5038}
    AMI_USER=${AMI_USER:-hotline-guard}
    # Given: used as is (must exist); otherwise made once per instance.
    AST_SIP_TLS_CERT_GIVEN=${AST_SIP_TLS_CERT:-}
    [[ -n $AST_SIP_TLS_CERT_GIVEN && -z ${AST_SIP_TLS_KEY:-} ]] && die "AST_SIP_TLS_CERT needs AST_SIP_TLS_KEY"
    AST_SIP_TLS_CERT=${AST_SIP_TLS_CERT:-$AST_INSTANCE_DIR/lib/keys/sip-tls.crt}
    AST_SIP_TLS_KEY=${AST_SIP_TLS_KEY:-$AST_INSTANCE_DIR/lib/keys/sip-tls.key}
    if [[ -z ${AST_AGENT_NETWORKS:-} ]]; then
        # Loopback: nobody outside this machine until the operator names the
        # agents' networks (safe, and loud: agents cannot register).
        AST_AGENT_NETWORKS=127.0.0.0/8
        [[ $HOTLINE_PROFILE == demo ]] || warn "AST_AGENT_NETWORKS not set: agents' SIP phones may register from this machine only"
    fi
    local net
    for net in ${AST_AGENT_NETWORKS//,/ }; do
        [[ $net =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ || $net =~ ^[0-9A-Fa-f:]+/[0-9]{1,3}$ ]] ||
            die "AST_AGENT_NETWORKS: '$net' is not a CIDR (e.g. 10.12.0.0/16)"
    done
    [[ $AMI_USER =~ ^[A-Za-z0-9._-]+$ ]] || die "AMI_USER may contain only letters, digits, . _ -"
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
    for p in AST_SIP_PORT AST_SIP_TLS_PORT AST_AMI_PORT AST_HTTP_PORT AST_RTP_START AST_RTP_END AST_UDPTL_START AST_UDPTL_END CARRIER_PORT DUTYLINE_PORT; do
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
    local port
    for port in "$AST_SIP_TLS_PORT" "$AST_AMI_PORT"; do
        busy=$(ss -Hltn "( sport = :$port )" | awk -v a="$AST_SIP_BIND:$port" -v p=":$port" \
            '$4 == a || $4 == "127.0.0.1" p || $4 == "0.0.0.0" p || $4 == "*" p || $4 == "[::]" p')
        [[ -z $busy ]] || die "TCP port $port is in use: $busy"
    done
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
    # umask 0007: what Asterisk creates in the shared directories (the
    # fallback's mailbox, recordings, received faxes) is group-writable, so
    # the services' user, a member of its group, can read and import it.
    (
        cd /
        umask 0007
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

# An interactive remote console; extra arguments go to asterisk (-vvv: its
# own verbosity, which shows every dialplan step there and reaches no log
# file, logger.conf says why).
asterisk_console() {
    require_root_user
    set_instance_paths "$1"
    shift
    [[ -n $(instance_pid) ]] || die "instance $AST_INSTANCE is not running"
    exec chroot "$AST_ROOT" /usr/sbin/asterisk -C "$AST_CONF" -r "$@"
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
