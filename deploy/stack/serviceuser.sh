# shellcheck shell=bash
# Sourced by deploy/stack.sh (its settings and helpers are in scope): the
# services' own unprivileged user and the directories they own or share with
# Asterisk (issue 14). deploy/run-services.sh and the systemd units in
# deploy/systemd run callsvc and casework as this user.
#
# Layout under $HOTLINE_DATA_DIR (AST = $AST_RUN_USER's group, H = the user):
#   spool/ calendar/          H:H   0750   the services' own (event spool, calls, callbacks, calendar cache)
#   voicemail/                H:H   0750   messages: the call service writes, casework reads; Asterisk never
#   sounds/hotline/           H:AST 2775   prompts; the call service renders staff numbers and spoken status at run time, Asterisk plays them
#   recordings/ fax/          AST:AST 2770 Asterisk writes (recordings, received faxes), the services read and
#                                          write (the fax catalogue Asterisk sends); setgid keeps the group
#   asterisk/<i>/spool/       AST:AST 2770 the fallback's native mailbox, which the call service imports
# H is a member of AST. The services run with umask 0027: what they create in a
# shared directory is readable by the group (a umask of 077 once made the fax
# catalogue unreadable to Asterisk).

HOTLINE_RUN_USER=${HOTLINE_RUN_USER:-hotline}

ensure_service_user() {
    require_root_user
    if [[ $HOTLINE_RUN_USER == root ]]; then
        warn "HOTLINE_RUN_USER=root: the services will run as root (not for production)"
        return
    fi
    if ! getent passwd "$HOTLINE_RUN_USER" >/dev/null; then
        useradd --system --user-group --no-create-home --home-dir "$HOTLINE_DATA_DIR" \
            --shell /usr/sbin/nologin --comment "12345 hotline services" "$HOTLINE_RUN_USER"
        log "service user $HOTLINE_RUN_USER created"
    fi
    local shared=$HOTLINE_RUN_USER
    if [[ $AST_RUN_USER != root ]] && getent group "$AST_RUN_USER" >/dev/null; then
        shared=$AST_RUN_USER
        id -nG "$HOTLINE_RUN_USER" | tr ' ' '\n' | grep -qx "$shared" || usermod -a -G "$shared" "$HOTLINE_RUN_USER"
    fi
    local u=$HOTLINE_RUN_USER d
    install -d -m 0755 "$HOTLINE_DATA_DIR"
    for d in spool calendar voicemail; do
        install -d -m 0750 -o "$u" -g "$u" "$HOTLINE_DATA_DIR/$d"
        # What a run as root left behind becomes the user's.
        chown -R "$u:$u" "$HOTLINE_DATA_DIR/$d"
    done
    install -d -m 0755 "$HOTLINE_DATA_DIR/sounds"
    install -d -m 2775 -o "$u" -g "$shared" "$SOUNDS_DIR"
    chown -R "$u:$shared" "$SOUNDS_DIR"
    for d in recordings fax; do
        install -d -m 2770 -o "$AST_RUN_USER" -g "$shared" "$HOTLINE_DATA_DIR/$d"
        # Below the top: the services' (they chmod what they make, e.g. the
        # fax catalogue), with the group's rights for Asterisk.
        find "$HOTLINE_DATA_DIR/$d" -mindepth 1 -exec chown -h "$u:$shared" {} +
        chmod -R g+rwX "$HOTLINE_DATA_DIR/$d"
        find "$HOTLINE_DATA_DIR/$d" -type d -exec chmod g+s {} +
    done
    # NATS passwords (when the stack runs NATS with logins): each service's
    # own file readable by the service user, the operator's (hotlinectl) not.
    local secrets=$HOTLINE_DATA_DIR/nats-hotline/secrets f
    if [[ -d $secrets ]]; then
        chgrp "$u" "$HOTLINE_DATA_DIR/nats-hotline" "$secrets"
        chmod 0750 "$HOTLINE_DATA_DIR/nats-hotline" "$secrets"
        for f in callsvc casework; do
            if [[ -f $secrets/$f.password ]]; then
                chgrp "$u" "$secrets/$f.password"
                chmod 0640 "$secrets/$f.password"
            fi
        done
    fi
    log "services run as $u (groups: $(id -nG "$u")); shared files through group $shared"
}
