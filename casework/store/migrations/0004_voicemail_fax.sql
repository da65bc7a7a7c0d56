-- Voice messages (留言, T9) as the call service left them: one row per
-- call.voicemail_left, written by its projection. Agents list the new ones,
-- listen (heard_at/heard_by: the first listener; every listen is also in the
-- audit log) and turn one into a case (case_id).
CREATE TABLE voicemails (
    id          uuid        PRIMARY KEY,            -- the message ID of the event
    event_id    uuid        NOT NULL UNIQUE REFERENCES events (id),
    call_id     text        NOT NULL,
    caller      text,
    uri         text        NOT NULL,               -- path of the WAV in the durable store
    format      text        NOT NULL DEFAULT 'wav',
    duration_ms bigint      NOT NULL,
    ended_by    text        NOT NULL DEFAULT '',    -- dtmf, hangup, max_length, silence_after_speech
    left_at     timestamptz NOT NULL,
    heard_at    timestamptz,
    heard_by    text,
    case_id     text,
    case_at     timestamptz,
    case_by     text
);
-- "New" messages: not yet turned into a case, oldest first.
CREATE INDEX voicemails_open_idx ON voicemails (left_at, id) WHERE case_id IS NULL;

-- Faxes sent to callers and received from them (T11), one row per
-- call.fax_sent / call.fax_received.
CREATE TABLE faxes (
    id          uuid        PRIMARY KEY,            -- the fax ID of the event
    event_id    uuid        NOT NULL UNIQUE REFERENCES events (id),
    direction   text        NOT NULL CHECK (direction IN ('sent', 'received')),
    call_id     text        NOT NULL,
    caller      text,
    document_id text,
    pages       integer     NOT NULL DEFAULT 0,
    status      text        NOT NULL,
    error       text,
    uri         text,
    pdf_uri     text,
    remote      text,
    at          timestamptz NOT NULL,
    case_id     text
);
CREATE INDEX faxes_received_open_idx ON faxes (at, id) WHERE direction = 'received' AND case_id IS NULL;
