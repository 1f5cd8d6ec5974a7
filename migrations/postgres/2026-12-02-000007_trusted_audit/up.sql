-- The trusted audit log (docs/audit.md): one global chain over every entry, keyed.
--
-- `id` is the entry's place in the global chain (1, 2, 3, … without gaps, assigned under the
-- head row's lock, so chain order is commit order). `prev_mac` is the MAC of entry id - 1,
-- `mac` the HMAC-SHA256 (key `key_id`, which the database never holds) over this entry's
-- fields and `prev_mac`. `state` is the RFC 7386 merge patch from the record's stored rows
-- before the write to after it, `state_hash` the SHA-256 of the rows after it: verify
-- replays them and compares with the live rows. `seq` stays the record's own count (the
-- per-record history of the API, the reports' transitions).
ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY;
ALTER TABLE audit_events RENAME COLUMN prev_hash TO prev_mac;
ALTER TABLE audit_events RENAME COLUMN hash TO mac;
ALTER TABLE audit_events ADD COLUMN state TEXT NOT NULL DEFAULT '{}';
ALTER TABLE audit_events ADD COLUMN state_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- The chain's head: the last id handed out and its MAC. Every write transaction updates
-- this one row as its last statement, which orders the appends of concurrent writers.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL CHECK (seq >= 0),
    mac  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, mac)
SELECT 1, COALESCE(MAX(id), 0),
       COALESCE((SELECT mac FROM audit_events ORDER BY id DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000')
FROM audit_events;

-- Signed checkpoints: the head at a moment, MAC'd with the audit key, for publication.
CREATE TABLE audit_checkpoints (
    seq         BIGINT PRIMARY KEY CHECK (seq >= 0),
    head_mac    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    key_id      TEXT NOT NULL,
    mac         TEXT NOT NULL
);

-- The document of a signed notice, rendered once at signing; its SHA-256 is in the signing
-- entry's state.
CREATE TABLE notice_documents (
    notice_id   TEXT PRIMARY KEY REFERENCES notices (id),
    sha256      TEXT NOT NULL,
    content     BYTEA NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- Guards (a superuser can drop or disable them; verify still finds what they would have
-- stopped).
CREATE FUNCTION foerderakte_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE FUNCTION foerderakte_refuse_signed_part() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent TEXT;
BEGIN
    parent := OLD.notice_id;
    IF EXISTS (SELECT 1 FROM notices WHERE id = parent AND status = 'signed') THEN
        RAISE EXCEPTION 'a signed notice cannot be changed'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse('audit entries are append-only');
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('audit entries are append-only');
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse('audit checkpoints are append-only');
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('audit checkpoints are append-only');
CREATE TRIGGER notices_signed_frozen BEFORE UPDATE OR DELETE ON notices
    FOR EACH ROW WHEN (OLD.status = 'signed')
    EXECUTE FUNCTION foerderakte_refuse('a signed notice cannot be changed');
CREATE TRIGGER notice_lines_signed_frozen BEFORE UPDATE OR DELETE ON notice_lines
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse_signed_part();
CREATE TRIGGER notice_allocations_signed_frozen
    BEFORE UPDATE OR DELETE ON notice_allocations
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse_signed_part();
CREATE TRIGGER notice_documents_frozen BEFORE UPDATE OR DELETE ON notice_documents
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse('a signed notice cannot be changed');
CREATE TRIGGER notices_no_truncate BEFORE TRUNCATE ON notices
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('a signed notice cannot be changed');
CREATE TRIGGER notice_lines_no_truncate BEFORE TRUNCATE ON notice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('a signed notice cannot be changed');
CREATE TRIGGER notice_allocations_no_truncate BEFORE TRUNCATE ON notice_allocations
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('a signed notice cannot be changed');
CREATE TRIGGER notice_documents_no_truncate BEFORE TRUNCATE ON notice_documents
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('a signed notice cannot be changed');
