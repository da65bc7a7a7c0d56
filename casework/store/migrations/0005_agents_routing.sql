-- The agent queue (issue 5, T4-T6) as casework keeps it, one row per event,
-- written by the projections in routing_projections.go. They feed the call and
-- staff reports (C11: answered, abandoned, queue wait, calls per agent) and
-- link each agent call's recording to the call (T6; the case file gets it
-- through the case projection of call.recording_saved).
-- Duty-line failures (call.threeway_failed) are in duty_line_failures (0003).

-- An agent answered a queued call (more than one row per call after a transfer).
CREATE TABLE call_agents (
    event_id     uuid        PRIMARY KEY REFERENCES events (id),
    call_id      text        NOT NULL,
    staff_number text        NOT NULL CHECK (staff_number ~ '^[0-9]{1,10}$'),
    answered_at  timestamptz NOT NULL,
    wait_ms      bigint      NOT NULL CHECK (wait_ms >= 0)
);
CREATE INDEX call_agents_staff_idx ON call_agents (staff_number, answered_at);
CREATE INDEX call_agents_call_idx ON call_agents (call_id);

-- A caller hung up while waiting for an agent; short abandons (under the call
-- service's HOTLINE_QUEUE_SHORT_ABANDON) are usually left out of abandon rates.
CREATE TABLE queue_abandons (
    event_id     uuid        PRIMARY KEY REFERENCES events (id),
    call_id      text        NOT NULL,
    queue        text        NOT NULL,
    abandoned_at timestamptz NOT NULL,
    wait_ms      bigint      NOT NULL CHECK (wait_ms >= 0),
    short        boolean     NOT NULL
);
CREATE INDEX queue_abandons_at_idx ON queue_abandons (abandoned_at);

-- Recordings of agent calls (they follow the caller across transfers and
-- three-way calls: one per call).
CREATE TABLE call_recordings (
    event_id     uuid        PRIMARY KEY REFERENCES events (id),
    call_id      text        NOT NULL,
    recording_id text        NOT NULL,
    uri          text        NOT NULL,
    format       text        NOT NULL,
    duration_ms  bigint      NOT NULL CHECK (duration_ms >= 0),
    saved_at     timestamptz NOT NULL
);
CREATE INDEX call_recordings_call_idx ON call_recordings (call_id);
