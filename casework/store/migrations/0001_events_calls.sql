-- Events as they came from the stream, one row per event ID: the event ID is the
-- primary key, so a redelivered or republished event is a no-op.
CREATE TABLE events (
    id          uuid        PRIMARY KEY,
    version     integer     NOT NULL,
    type        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    source      text        NOT NULL DEFAULT '',
    call_id     text,
    case_id     text,
    payload     jsonb       NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_call_id_idx ON events (call_id, occurred_at) WHERE call_id IS NOT NULL;
CREATE INDEX events_case_id_idx ON events (case_id, occurred_at) WHERE case_id IS NOT NULL;
CREATE INDEX events_type_time_idx ON events (type, occurred_at);

-- Messages that broke the event contract, kept for a person rather than lost.
CREATE TABLE dead_events (
    id          bigserial   PRIMARY KEY,
    subject     text        NOT NULL,
    data        bytea       NOT NULL,
    error       text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- One row per call, projected from its events. Columns are filled in whatever order
-- the events arrive, so each projection only sets what its event knows.
CREATE TABLE calls (
    call_id           text        PRIMARY KEY,
    direction         text,
    caller            text,
    caller_name       text,
    anonymous         boolean,
    called            text,
    channel           text,
    node              text,
    staffed           boolean,
    started_at        timestamptz,
    answered_at       timestamptz,
    ended_at          timestamptz,
    duration_ms       bigint,
    hangup_by         text,
    hangup_cause      integer,
    hangup_cause_text text,
    outcome           text,
    case_id           text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calls_started_at_idx ON calls (started_at);
CREATE INDEX calls_caller_idx ON calls (caller) WHERE caller IS NOT NULL;
