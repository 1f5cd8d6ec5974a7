-- PostgreSQL only (its TOAST storage of notice_documents.content); SQLite stores BLOBs as
-- they are. A statement so that the migration is not empty.
SELECT 1;
