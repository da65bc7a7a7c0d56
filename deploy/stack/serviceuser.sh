# shellcheck shell=bash
# Sourced by deploy/stack.sh (its settings and helpers are in scope): the
# services' own unprivileged users, the groups they share files through, and
# the directories they own or share with Asterisk (issue 14).
# deploy/run-services.sh and the systemd units in deploy/systemd run callsvc as
# $HOTLINE_CALL_USER and casework as $HOTLINE_CASE_USER.
#
# Users and groups (each user has a group of its own name):
#   hotline-call   the call service (HOTLINE_CALL_USER)
#   hotline-case   casework (HOTLINE_CASE_USER)
#   hotline-media  Asterisk's user + hotline-call (HOTLINE_MEDIA_GROUP): what
#                  the call service and Asterisk exchange (prompts, the fax
#                  catalogue, Asterisk's spool with the fallback's mailbox)
#   hotline-fax    Asterisk's user + hotline-call + hotline-case
#                  (HOTLINE_FAX_GROUP): received faxes (Asterisk writes the
#                  TIFF, the call service the PDF, casework serves the PDF)
# Neither service is in Asterisk's own group, so neither reads Asterisk's etc/
# (0640 root:asterisk: agents' SIP passwords, ARI and AMI passwords), and
# neither is in the other's group, so neither reads the other's NATS password.
#
# Layout under $HOTLINE_DATA_DIR (C = hotline-call, K = hotline-case):
#   spool/ calendar/          C:C      0750  the call service's own (event spool, calls, callbacks, agents, calendar cache)
#   voicemail/ recordings/    C:K      2750  the call service writes (messages, agent call recordings fetched over ARI),
#                                            casework reads and serves them; Asterisk never (files 0640)
#   sounds/hotline/           C:media  2750  prompts; the call service renders staff numbers and spoken status, Asterisk plays
#   fax/                      C:fax    2750  the fax store's top (fax/documents, if kept here, is the operator's)
#   fax/catalogue/            C:media  2750  the documents the call service renders for Asterisk to send
#   fax/received/             C:fax    2770  Asterisk receives the TIFF, the call service adds the PDF, casework serves it
#   asterisk/<i>/spool/       AST:media 2770 Asterisk's spool: the fallback's native mailbox, imported and removed by the call service
#   nats-hotline/secrets/     root     0711  callsvc.password root:C 0640, casework.password root:K 0640, hotlinectl's 0600
# Setgid keeps each directory's group on what is made below it. The services
# run with umask 0027 and Asterisk with 0007: what they create is readable (or,
# for Asterisk, writable) by the directory's group and closed to others.
#
# HOTLINE_RUN_USER=root (development only) runs both services as root; the
# groups and directories are still set up for Asterisk.

HOTLINE_CALL_USER=${HOTLINE_CALL_USER:-hotline-call}
HOTLINE_CASE_USER=${HOTLINE_CASE_USER:-hotline-case}
HOTLINE_MEDIA_GROUP=${HOTLINE_MEDIA_GROUP:-hotline-media}
HOTLINE_FAX_GROUP=${HOTLINE_FAX_GROUP:-hotline-fax}
HOTLINE_RUN_USER=${HOTLINE_RUN_USER:-}

# in_group USER GROUP: USER is a member of GROUP (supplementary or primary).
in_group() { id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qx "$2"; }

# lock_accounts / unlock_accounts: one stack.sh run at a time checks and
# creates users and groups. The e2e shards render their Asterisk instances side
# by side, and on a new machine both would find a group missing and both
# create it: the second groupadd fails ("already exists") and its shard with it.
ACCOUNTS_LOCK=$HOTLINE_CACHE_DIR/accounts.lock
lock_accounts() {
    mkdir -p "$(dirname "$ACCOUNTS_LOCK")"
    exec 8>"$ACCOUNTS_LOCK"
    flock -w 120 8 || die "waited 120s for $ACCOUNTS_LOCK (another stack.sh run?)"
}
unlock_accounts() {
    flock -u 8
    exec 8>&-
}

# ensure_media_groups: the shared groups exist with Asterisk's user in them,
# on the host and, with the same ids, inside the Asterisk root (Asterisk takes
# its supplementary groups from the root's /etc/group when it drops root:
# asterisk.conf names runuser only, so it calls initgroups). Called before an
# instance's directories are made, so before Asterisk starts.
ensure_media_groups() {
    local g gid other
    for g in "$HOTLINE_MEDIA_GROUP" "$HOTLINE_FAX_GROUP"; do
        if ! getent group "$g" >/dev/null; then
            groupadd --system "$g"
            log "group $g created"
        fi
        [[ $AST_RUN_USER == root ]] && continue
        in_group "$AST_RUN_USER" "$g" || usermod -a -G "$g" "$AST_RUN_USER"
        # The chroot's account database (containers have none: AST_ROOT="").
        [[ -n ${AST_ROOT:-} && -x $AST_ROOT/usr/sbin/groupadd ]] || continue
        gid=$(getent group "$g" | cut -d: -f3)
        if ! chroot "$AST_ROOT" getent group "$g" >/dev/null; then
            other=$(chroot "$AST_ROOT" getent group "$gid" | cut -d: -f1 || true)
            [[ -z $other ]] || die "gid $gid of group $g is taken by $other inside the Asterisk root"
            chroot "$AST_ROOT" groupadd --system -g "$gid" "$g"
        elif [[ $(chroot "$AST_ROOT" getent group "$g" | cut -d: -f3) != "$gid" ]]; then
            chroot "$AST_ROOT" groupmod -g "$gid" "$g"
        fi
        chroot "$AST_ROOT" id -nG "$AST_RUN_USER" | tr ' ' '\n' | grep -qx "$g" ||
            chroot "$AST_ROOT" usermod -a -G "$g" "$AST_RUN_USER"
    done
}

# ensure_sounds_dir: the prompts' directory, made once (owner and mode of an
# existing one stay: service-user gives it to the call service).
ensure_sounds_dir() {
    install -d -m 0755 "$HOTLINE_DATA_DIR" "$HOTLINE_DATA_DIR/sounds"
    [[ -d $SOUNDS_DIR ]] && return
    lock_accounts
    ensure_media_groups
    unlock_accounts
    install -d -m 2750 -g "$HOTLINE_MEDIA_GROUP" "$SOUNDS_DIR"
}

# ensure_system_user NAME COMMENT
ensure_system_user() {
    if ! getent passwd "$1" >/dev/null; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "$2" "$1"
        log "service user $1 created"
    fi
}

# own_tree DIR USER GROUP MODE: DIR made with these owners and mode; below it,
# files and directories become USER's (a run as root or by the previous
# single-user layout left them to root or "hotline") in GROUP, the group's
# rights copied from the mode (read, or read and write), directories setgid.
own_tree() {
    local dir=$1 u=$2 g=$3 mode=$4
    install -d -m "$mode" -o "$u" -g "$g" "$dir"
    find "$dir" -mindepth 1 -exec chown -h "$u:$g" {} +
    if [[ ${mode: -2:1} == 7 ]]; then
        chmod -R g+rwX,o-rwx "$dir"
    else
        chmod -R g+rX,g-w,o-rwx "$dir"
    fi
    find "$dir" -type d -exec chmod g+s {} +
}

ensure_service_user() {
    require_root_user
    lock_accounts
    ensure_media_groups
    local c=$HOTLINE_CALL_USER k=$HOTLINE_CASE_USER media=$HOTLINE_MEDIA_GROUP fax=$HOTLINE_FAX_GROUP
    if [[ $HOTLINE_RUN_USER == root ]]; then
        warn "HOTLINE_RUN_USER=root: the services will run as root (not for production)"
        c=root k=root
    elif [[ -n $HOTLINE_RUN_USER ]]; then
        die "HOTLINE_RUN_USER=$HOTLINE_RUN_USER: the services have a user each now (HOTLINE_CALL_USER, HOTLINE_CASE_USER); HOTLINE_RUN_USER only takes \"root\""
    else
        ensure_system_user "$c" "12345 hotline call service"
        ensure_system_user "$k" "12345 hotline casework service"
        in_group "$c" "$media" || usermod -a -G "$media" "$c"
        in_group "$c" "$fax" || usermod -a -G "$fax" "$c"
        in_group "$k" "$fax" || usermod -a -G "$fax" "$k"
        # Neither in Asterisk's group nor in each other's. The previous
        # layout's single user "hotline" (a member of Asterisk's group) is no
        # longer used: it stays, out of Asterisk's group.
        local u g
        for u in "$c" "$k" hotline; do
            getent passwd "$u" >/dev/null || continue
            for g in "$AST_RUN_USER" "$c" "$k"; do
                [[ $g == "$u" || $g == root ]] && continue
                if in_group "$u" "$g"; then
                    gpasswd -d "$u" "$g" >/dev/null || die "cannot take $u out of group $g"
                    log "user $u taken out of group $g"
                fi
            done
        done
    fi
    unlock_accounts
    local d=$HOTLINE_DATA_DIR cg kg
    cg=$(id -gn "$c")
    kg=$(id -gn "$k")
    install -d -m 0755 "$d" "$d/sounds"
    own_tree "$d/spool" "$c" "$cg" 0750
    own_tree "$d/calendar" "$c" "$cg" 0750
    own_tree "$d/voicemail" "$c" "$kg" 2750
    own_tree "$d/recordings" "$c" "$kg" 2750
    own_tree "$SOUNDS_DIR" "$c" "$media" 2750
    install -d -m 2750 -o "$c" -g "$fax" "$d/fax"
    own_tree "$d/fax/catalogue" "$c" "$media" 2750
    own_tree "$d/fax/received" "$c" "$fax" 2770
    # Asterisk's spool of every instance (the fallback's mailbox is below it).
    local spool
    for spool in "$d"/asterisk/*/spool; do
        [[ -d $spool ]] || continue
        own_tree "$spool" "$AST_RUN_USER" "$media" 2770
    done
    # NATS passwords (when the stack runs NATS with logins): each service's
    # own file readable by its user alone, the operator's (hotlinectl) by root.
    # The directories can be crossed, not listed.
    local secrets=$d/nats-hotline/secrets
    if [[ -d $secrets ]]; then
        chown root:root "$d/nats-hotline" "$secrets"
        chmod 0711 "$d/nats-hotline" "$secrets"
        local f owner
        for f in callsvc casework; do
            owner=$cg
            [[ $f == casework ]] && owner=$kg
            if [[ -f $secrets/$f.password ]]; then
                chown "root:$owner" "$secrets/$f.password"
                chmod 0640 "$secrets/$f.password"
            fi
        done
    fi
    log "services run as $c (groups: $(id -nG "$c")) and $k (groups: $(id -nG "$k")); Asterisk ($AST_RUN_USER) shares through $media and $fax"
}
