-- The supervisor's case file (issue 13) lists the recordings, voicemails and
-- faxes of one case: look them up by case instead of scanning the tables.
CREATE INDEX IF NOT EXISTS calls_case_idx ON calls (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS voicemails_case_idx ON voicemails (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS faxes_case_idx ON faxes (case_id) WHERE case_id IS NOT NULL;
