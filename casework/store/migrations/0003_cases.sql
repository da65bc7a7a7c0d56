-- The case file (C1-C9): one row per case with the columns lists, scoping and the
-- escalation scan query by, plus the full domain snapshot; the immutable history;
-- the units, calls and materials of each case; the transactional outbox that
-- publishes every history entry as an event; the case number sequence; and the
-- duty-line failures that assessment ground (七) reads.

-- Case numbers are YYYYMMDD (Asia/Shanghai) plus the day's sequence. One row per
-- day; INSERT ... ON CONFLICT DO UPDATE takes the row lock, so two registrations at
-- once get different numbers.
CREATE TABLE case_number_seq (
    day  date    PRIMARY KEY,
    last integer NOT NULL CHECK (last > 0)
);

CREATE TABLE cases (
    id               text        PRIMARY KEY,
    number           text        NOT NULL CHECK (number ~ '^[0-9]{12,16}$'),
    state            text        NOT NULL,
    category         text        NOT NULL,
    region           text        NOT NULL,
    urgency          text        NOT NULL,
    confidentiality  text        NOT NULL,
    channel          text        NOT NULL,
    mode             text        NOT NULL,
    -- protected: a report or a confidential case; units never see the caller.
    protected        boolean     NOT NULL,
    lead_unit        text,
    round            integer     NOT NULL DEFAULT 0,
    deadline         timestamptz,
    caller_phone     text,
    content          text        NOT NULL,
    received_at      timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    -- version is the Seq of the newest history entry (optimistic locking).
    version          integer     NOT NULL CHECK (version > 0),
    -- The caller agreed at registration to a satisfaction callback (回访).
    callback_consent boolean     NOT NULL DEFAULT false,
    -- Escalation due index: when the next automatic reminder or supervision is due,
    -- NULL when none is. due_at is the earlier of the two; the scheduler scans it.
    remind_at        timestamptz,
    supervise_at     timestamptz,
    due_at           timestamptz,
    -- The domain snapshot without its history (which lives in case_history).
    snapshot         jsonb       NOT NULL,
    CONSTRAINT cases_number_key UNIQUE (number)
);
CREATE INDEX cases_created_idx ON cases (created_at DESC, id DESC);
CREATE INDEX cases_state_created_idx ON cases (state, created_at DESC, id DESC);
CREATE INDEX cases_lead_idx ON cases (lead_unit, created_at DESC) WHERE lead_unit IS NOT NULL;
CREATE INDEX cases_phone_idx ON cases (caller_phone) WHERE caller_phone IS NOT NULL;
CREATE INDEX cases_due_idx ON cases (due_at) WHERE due_at IS NOT NULL;
-- Overdue gauge and the overdue filter: only cases a unit still owes a reply on.
CREATE INDEX cases_open_deadline_idx ON cases (deadline) WHERE state IN ('transferred', 'accepted');

-- Every action on a case, as the domain recorded it. Rows are only ever inserted.
CREATE TABLE case_history (
    case_id    text        NOT NULL REFERENCES cases (id),
    seq        integer     NOT NULL CHECK (seq > 0),
    at         timestamptz NOT NULL,
    actor_id   text        NOT NULL,
    actor_role text        NOT NULL,
    actor_unit text,
    action     text        NOT NULL,
    from_state text,
    to_state   text        NOT NULL,
    lead_unit  text,
    deadline   timestamptz,
    details    jsonb,
    note       text,
    CONSTRAINT case_history_case_seq_key UNIQUE (case_id, seq)
);
CREATE INDEX case_history_at_idx ON case_history (at);
CREATE INDEX case_history_lead_at_idx ON case_history (lead_unit, at) WHERE lead_unit IS NOT NULL;

-- The history is evidence (C9): a trail its subjects could edit proves nothing.
CREATE FUNCTION case_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_history is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER case_history_no_update BEFORE UPDATE OR DELETE ON case_history
    FOR EACH ROW EXECUTE FUNCTION case_history_append_only();
CREATE TRIGGER case_history_no_truncate BEFORE TRUNCATE ON case_history
    FOR EACH STATEMENT EXECUTE FUNCTION case_history_append_only();

-- Lead (主办) and assisting (协办) units per round, for unit scoping: a unit sees
-- the cases whose current round names it or one of its sub-units. parent_id is
-- the unit's parent at assignment, so a level-2 unit finds its sub-units' cases
-- without a join.
CREATE TABLE case_units (
    case_id   text    NOT NULL REFERENCES cases (id),
    round     integer NOT NULL,
    unit_id   text    NOT NULL,
    parent_id text,
    role      text    NOT NULL CHECK (role IN ('lead', 'assisting')),
    PRIMARY KEY (case_id, round, unit_id)
);
CREATE INDEX case_units_unit_idx ON case_units (unit_id);
CREATE INDEX case_units_parent_idx ON case_units (parent_id) WHERE parent_id IS NOT NULL;

-- Calls linked to a case (a case can have many calls; a call can open a case).
CREATE TABLE case_calls (
    case_id   text        NOT NULL REFERENCES cases (id),
    call_id   text        NOT NULL,
    linked_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, call_id)
);
CREATE INDEX case_calls_call_idx ON case_calls (call_id);

-- Recordings, voicemails, faxes and documents of the case file (references only).
CREATE TABLE case_materials (
    case_id       text        NOT NULL REFERENCES cases (id),
    ref           text        NOT NULL,
    kind          text        NOT NULL,
    added_at      timestamptz NOT NULL,
    added_by      text        NOT NULL,
    added_by_role text        NOT NULL,
    PRIMARY KEY (case_id, ref)
);

-- Transactional outbox: events written with the case change that caused them and
-- relayed to JetStream afterwards, so a NATS outage loses no case change.
CREATE TABLE case_outbox (
    id         bigserial   PRIMARY KEY,
    event_id   uuid        NOT NULL,
    type       text        NOT NULL,
    envelope   jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT case_outbox_event_key UNIQUE (event_id)
);

-- Unanswered calls to a unit's duty line (T7), from call.threeway_failed events:
-- ground (七) of 002 三 in the quarterly assessment.
CREATE TABLE duty_line_failures (
    event_id uuid        PRIMARY KEY,
    unit_id  text        NOT NULL,
    call_id  text,
    at       timestamptz NOT NULL,
    reason   text        NOT NULL DEFAULT ''
);
CREATE INDEX duty_line_failures_at_idx ON duty_line_failures (at, unit_id);
