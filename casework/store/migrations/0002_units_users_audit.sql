-- The unit directory (C3), API users and their bearer tokens (C14), and the audit
-- log of who read or changed what. The application validates all of this first and
-- answers with field-level errors; the constraints here are the backstop for
-- anything that writes to the database some other way.

-- Units of the three-level network: 1 the hotline center, 2 districts and city
-- departments, 3 their sub-units. Rows are never deleted (cases keep pointing at
-- them); a unit leaves the network by becoming inactive.
CREATE TABLE units (
    id         text        PRIMARY KEY CHECK (id ~ '^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$'),
    name       text        NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 100),
    level      smallint    NOT NULL CHECK (level BETWEEN 1 AND 3),
    parent_id  text        REFERENCES units (id),
    -- The 24-hour duty phone as an Asterisk dial string through a trunk endpoint.
    -- The call service dials nothing else for three-way calls, so only a phone
    -- number through a named trunk is accepted: no options, no second channel
    -- (&), no bare endpoint (an agent's softphone is named by digits, a trunk
    -- by a name starting with a letter).
    duty_line  text        CHECK (duty_line ~ '^PJSIP/\+?[0-9]{1,20}@[A-Za-z][0-9A-Za-z_-]{0,39}$'),
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT units_parent_by_level CHECK ((level = 1) = (parent_id IS NULL)),
    CONSTRAINT units_not_own_parent CHECK (parent_id <> id)
);
CREATE INDEX units_parent_idx ON units (parent_id);

-- A parent is exactly one level above its child. Levels strictly decreasing
-- towards the root also rule out cycles. The parent row is locked FOR SHARE so a
-- concurrent change of the parent's level waits for this transaction.
CREATE FUNCTION units_check_hierarchy() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_level smallint;
BEGIN
    IF NEW.parent_id IS NOT NULL THEN
        SELECT level INTO parent_level FROM units WHERE id = NEW.parent_id FOR SHARE;
        IF FOUND AND parent_level <> NEW.level - 1 THEN
            RAISE EXCEPTION 'unit %: parent % is level %, a level-% unit needs a level-% parent',
                NEW.id, NEW.parent_id, parent_level, NEW.level, NEW.level - 1
                USING ERRCODE = 'check_violation', CONSTRAINT = 'units_parent_level';
        END IF;
        -- A missing parent is left to the foreign key, which names it.
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.level <> OLD.level
       AND EXISTS (SELECT 1 FROM units WHERE parent_id = NEW.id) THEN
        RAISE EXCEPTION 'unit %: cannot change level from % to % while it has sub-units',
            NEW.id, OLD.level, NEW.level
            USING ERRCODE = 'check_violation', CONSTRAINT = 'units_children_level';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER units_hierarchy BEFORE INSERT OR UPDATE ON units
    FOR EACH ROW EXECUTE FUNCTION units_check_hierarchy();

-- People (and programs) using the HTTP API. A unit user belongs to exactly one
-- unit; an agent has a staff number (工号), which is also the agent's PJSIP
-- endpoint name and the ID recorded in case histories.
CREATE TABLE users (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL CHECK (btrim(name) <> '' AND char_length(name) <= 100),
    role         text        NOT NULL CHECK (role IN ('agent', 'supervisor', 'unit', 'admin')),
    unit_id      text        REFERENCES units (id),
    staff_number text        CHECK (staff_number ~ '^[0-9]{1,10}$'),
    disabled     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_unit_by_role CHECK ((role = 'unit') = (unit_id IS NOT NULL)),
    CONSTRAINT users_staff_by_role CHECK ((role = 'agent') = (staff_number IS NOT NULL))
);
CREATE UNIQUE INDEX users_staff_number_key ON users (staff_number) WHERE staff_number IS NOT NULL;
CREATE INDEX users_unit_idx ON users (unit_id) WHERE unit_id IS NOT NULL;

-- Bearer tokens. Only the SHA-256 of the token is kept: a copy of this table does
-- not let anyone call the API.
CREATE TABLE api_tokens (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id),
    hash       bytea       NOT NULL CHECK (octet_length(hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_tokens_hash_key UNIQUE (hash),
    CONSTRAINT api_tokens_expiry_after_creation CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Who read or changed what. user_id is text without a foreign key because system
-- jobs and the admin CLI are actors without a users row.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    user_id     text        NOT NULL CHECK (user_id <> ''),
    role        text        NOT NULL CHECK (role <> ''),
    unit_id     text,
    action      text        NOT NULL CHECK (action <> ''),
    object_type text        NOT NULL CHECK (object_type <> ''),
    object_id   text        NOT NULL,
    request_id  text
);
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, at);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at);

-- The log is append-only: a trail that its subjects could edit proves nothing.
-- Retention, when the city sets one, is a migration that drops old partitions or
-- disables this trigger deliberately.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
