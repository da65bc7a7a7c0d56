-- Idempotency-Key of case registration (POST /api/v1/cases): an agent's client
-- that retries after a timeout must not file a second case. A key is claimed
-- before the registration and holds the case it made; keys live 24 hours.
CREATE TABLE idempotency_keys (
    user_id      text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    case_id      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
