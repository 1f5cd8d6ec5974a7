-- A stored notice document is a PDF whose streams are deflated already: PostgreSQL's TOAST
-- would try (and fail) to compress its ~50 kB on every signing. EXTERNAL keeps it out of line
-- without that attempt (docs/benchmarks.md, the writes of issue 14).
ALTER TABLE notice_documents ALTER COLUMN content SET STORAGE EXTERNAL;
