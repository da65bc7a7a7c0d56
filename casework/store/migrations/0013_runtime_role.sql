-- The services' database role (SPEC §4 secrets, issue 14): the casework
-- service connects as a member of hotline_runtime, which may read and write
-- rows but owns nothing, so it cannot disable the triggers that keep the case
-- history, the audit log and the calendar imports append-only, nor alter or
-- drop a table. Migrations run as the owner (HOTLINE_MIGRATE_DATABASE_URL, or
-- `hotlinectl migrate`). The group role is cluster-wide; login roles are made
-- members of it by the operator (deploy/run-services.sh does it for the demo).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hotline_runtime') THEN
        CREATE ROLE hotline_runtime NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- another database's migration created it at the same moment
END
$$;

GRANT USAGE ON SCHEMA public TO hotline_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO hotline_runtime;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO hotline_runtime;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO hotline_runtime;
-- Tables later migrations create (as the same owner) are granted alike.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO hotline_runtime;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO hotline_runtime;

-- Evidence is appended, never rewritten: no UPDATE or DELETE even before the
-- triggers are reached. The migrations' own bookkeeping is read-only.
REVOKE UPDATE, DELETE, TRUNCATE ON case_history, audit_log, calendar_notices FROM hotline_runtime;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM hotline_runtime;
