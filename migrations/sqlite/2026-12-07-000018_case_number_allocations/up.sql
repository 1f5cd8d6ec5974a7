-- Case numbers are allocated before the transaction that creates the case, in a transaction of
-- their own (issue 19: the counter's row is locked for the allocation only, not until the
-- case's commit), so a number can stay unused: when the create is refused, repeats an earlier
-- request, or fails. Every allocation is recorded here with who and when; a number that no
-- case carries says why in `outcome`, or, without one, that its write never finished (the
-- process ended between the allocation and the commit). docs/audit.md, "Case numbers".
CREATE TABLE case_number_allocations (
    case_number  TEXT PRIMARY KEY NOT NULL,
    allocated_at TIMESTAMP NOT NULL,
    allocated_by TEXT NOT NULL,
    outcome      TEXT
);

-- The numbers of the cases created before: each was allocated by its case's creation.
INSERT INTO case_number_allocations (case_number, allocated_at, allocated_by)
SELECT case_number, created_at, created_by FROM applications;
