-- Recovery of filing claims. Filing a voicemail or a received fax on a case takes
-- three steps: claim the item (case_id = ''), register the case with the item as a
-- material, link the item (case_id = the case). A casework process that dies in
-- between leaves a claim that nobody settles, and the item vanishes from the
-- agents' lists (case_id IS NULL). The service periodically links such stale
-- claims to the case that holds the item as material, or releases them.

-- When and by whom a fax was claimed, as voicemails already record it: without a
-- claim time a stale claim cannot be told from a registration in progress.
ALTER TABLE faxes
    ADD COLUMN IF NOT EXISTS case_at timestamptz,
    ADD COLUMN IF NOT EXISTS case_by text;
-- Claims made before this migration have no time: their timeout starts now, so a
-- registration still in progress during the upgrade is not released under it.
UPDATE faxes SET case_at = now() WHERE case_id = '' AND case_at IS NULL;

-- The recovery looks up the case holding an item by the item's reference; the
-- primary key (case_id, ref) cannot answer that without a scan.
CREATE INDEX IF NOT EXISTS case_materials_ref_idx ON case_materials (ref);

-- Claims are few and short-lived: the recovery pass finds them without reading
-- every voicemail or fax ever received.
CREATE INDEX IF NOT EXISTS voicemails_claimed_idx ON voicemails (case_at) WHERE case_id = '';
CREATE INDEX IF NOT EXISTS faxes_claimed_idx ON faxes (case_at) WHERE case_id = '';
