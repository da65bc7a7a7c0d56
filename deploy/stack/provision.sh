# shellcheck shell=bash
# Sourced by deploy/stack.sh (its settings and helpers are in scope): provisioning — host packages, the Debian mirror, the cached Asterisk sid root.
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
