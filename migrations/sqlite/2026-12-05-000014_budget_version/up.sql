-- A budget's version, for its ETag (issue 16): PUT needs If-Match with it (or If-None-Match: *
-- to create one), so that two administrators do not overwrite each other unseen. Every
-- change of the row counts: the amount an administrator sets and what signings commit.
ALTER TABLE budgets ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1);
