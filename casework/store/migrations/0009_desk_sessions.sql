-- Sign-in for people (issue 12): a password per user (argon2id, PHC string),
-- a sign-in name, and server-side web sessions. Bearer tokens (api_tokens)
-- stay for machines; a session holds the ID of the one token the casework
-- service derives from the session's cookie to reach the call service on the
-- agent's behalf (revoked with the session).

ALTER TABLE users ADD COLUMN login text
    CHECK (login ~ '^[0-9A-Za-z][0-9A-Za-z_.@-]{0,63}$');
CREATE UNIQUE INDEX users_login_key ON users (lower(login)) WHERE login IS NOT NULL;
ALTER TABLE users ADD COLUMN password_hash text
    CHECK (password_hash LIKE '$argon2id$%');
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

CREATE TABLE web_sessions (
    id             uuid        PRIMARY KEY,
    -- SHA-256 of the cookie's secret: a copy of this table signs nobody in.
    hash           bytea       NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    user_id        uuid        NOT NULL REFERENCES users (id),
    -- The CSRF token the page sends back in X-CSRF-Token (synchronizer token).
    csrf           text        NOT NULL CHECK (char_length(csrf) >= 32),
    -- What the agent answers calls with this time: the page's WebRTC
    -- softphone or a SIP softphone/desk phone.
    phone          text        NOT NULL CHECK (phone IN ('browser', 'sip', 'none')),
    proxy_token_id uuid        REFERENCES api_tokens (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    ended_at       timestamptz,
    end_reason     text,
    remote_addr    text,
    CONSTRAINT web_sessions_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id) WHERE ended_at IS NULL;
