-- Working-day calendar at run time (C4, T2, T12). The official notices compiled
-- into the binaries are the floor; operators import a year's State Council
-- notice, or a correction of one, without a rebuild. Every import is kept (who,
-- when, from which file); the newest import of a year is the one in force.
CREATE TABLE calendar_notices (
    id          bigserial   PRIMARY KEY,
    year        integer     NOT NULL CHECK (year BETWEEN 1950 AND 2099),
    -- The notice in the holiday-cn shape: {"year", "papers", "days": [{name, date, isOffDay}]}.
    notice      jsonb       NOT NULL,
    -- What the operator gave: "holiday-cn" JSON or a plain "list" of dates.
    format      text        NOT NULL CHECK (format IN ('holiday-cn', 'list')),
    file_name   text        NOT NULL,
    sha256      text        NOT NULL,
    imported_by text        NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_notices_year_idx ON calendar_notices (year, id DESC);

-- Imports are evidence of which calendar decided a legal deadline: never edited.
CREATE FUNCTION calendar_notices_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'calendar_notices is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER calendar_notices_no_update BEFORE UPDATE OR DELETE ON calendar_notices
    FOR EACH ROW EXECUTE FUNCTION calendar_notices_append_only();

-- A deadline counted on a year without an official notice (days off derived from
-- the statute) is provisional until the notice is imported; then it is recomputed.
ALTER TABLE cases ADD COLUMN deadline_provisional boolean NOT NULL DEFAULT false;
CREATE INDEX cases_provisional_idx ON cases (id)
    WHERE deadline_provisional AND state IN ('transferred', 'accepted');
ALTER TABLE case_history ADD COLUMN deadline_provisional boolean NOT NULL DEFAULT false;
