-- calls.case_id was set only from call.started: a call that became a case's later
-- (a voicemail filed as a case, an agent linking the call, the case ID on the
-- call's later events) kept an empty case. The projections now fill it
-- (EventStore fillCallCase, Cases writeDerived); this fills the rows stored
-- before, with the same rule: the first case an event of the call carried, else
-- the first case that linked the call.
-- (Numbered 0008: 0007 is taken by concurrent work; versions apply in order of
-- what is missing, so the gap is harmless.)
UPDATE calls k SET case_id = COALESCE(
        (SELECT e.case_id FROM events e
         WHERE e.call_id = k.call_id AND e.case_id IS NOT NULL AND e.case_id <> ''
         ORDER BY e.occurred_at, e.id LIMIT 1),
        (SELECT cc.case_id FROM case_calls cc WHERE cc.call_id = k.call_id
         ORDER BY cc.linked_at, cc.case_id LIMIT 1)),
    updated_at = now()
WHERE k.case_id IS NULL
  AND (EXISTS (SELECT 1 FROM events e WHERE e.call_id = k.call_id AND e.case_id IS NOT NULL AND e.case_id <> '')
       OR EXISTS (SELECT 1 FROM case_calls cc WHERE cc.call_id = k.call_id));
