-- Units' portal notifications and outbound webhooks (issue 13, SPEC W4).
--
-- A notification is written in the same transaction as the case history entry
-- that causes it (store.Cases.writeDerived): a case change and the notices to
-- its units commit together or not at all, and the unique key (case, seq,
-- unit) makes it exactly one notice per history entry per unit, whoever or
-- whatever retries. A webhook delivery row is written in that transaction too,
-- for a unit that has a webhook; the dispatcher then works through the
-- deliveries (at least once to the receiver, which deduplicates by the
-- delivery ID it is sent).

CREATE TABLE unit_notifications (
    id         bigserial   PRIMARY KEY,
    -- No foreign key to units, like case_units: the case names the unit.
    unit_id    text        NOT NULL,
    case_id    text        NOT NULL REFERENCES cases (id),
    seq        integer     NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('new_case', 'reminder', 'supervision', 'returned')),
    -- The webhook payload (docs/unit-notifications.md), also what the portal
    -- shows: case number, category, deadline, never the caller.
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT unit_notifications_once UNIQUE (case_id, seq, unit_id)
);
CREATE INDEX unit_notifications_unit_idx ON unit_notifications (unit_id, id DESC);

-- Read marks, per user (two people of one unit read at their own pace).
-- Notifications themselves are never changed.
CREATE TABLE unit_notification_reads (
    notification_id bigint      NOT NULL REFERENCES unit_notifications (id),
    user_id         uuid        NOT NULL REFERENCES users (id),
    read_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, user_id)
);

-- One outbound webhook per unit, set by an administrator. The secret signs
-- each delivery (HMAC-SHA256); it is needed in clear to sign, so it is never
-- shown again by the API or hotlinectl once set.
CREATE TABLE unit_webhooks (
    unit_id    text        PRIMARY KEY REFERENCES units (id),
    url        text        NOT NULL CHECK (url ~ '^https?://'),
    secret     text        NOT NULL CHECK (char_length(secret) >= 16),
    enabled    boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY,
    notification_id bigint      NOT NULL REFERENCES unit_notifications (id),
    unit_id         text        NOT NULL REFERENCES units (id),
    url             text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    CONSTRAINT webhook_deliveries_once UNIQUE (notification_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_unit_idx ON webhook_deliveries (unit_id, created_at DESC);
