-- The trusted audit log (docs/audit.md): one global chain over every entry, keyed.
--
-- `id` is the entry's place in the global chain (1, 2, 3, … without gaps, assigned under the
-- head row's lock, so chain order is commit order). `prev_mac` is the MAC of entry id - 1,
-- `mac` the HMAC-SHA256 (key `key_id`, which the database never holds) over this entry's
-- fields and `prev_mac`. `state` is the RFC 7386 merge patch from the record's stored rows
-- before the write to after it, `state_hash` the SHA-256 of the rows after it: verify
-- replays them and compares with the live rows. `seq` stays the record's own count (the
-- per-record history of the API, the reports' transitions).
ALTER TABLE audit_events RENAME COLUMN prev_hash TO prev_mac;
ALTER TABLE audit_events RENAME COLUMN hash TO mac;
ALTER TABLE audit_events ADD COLUMN state TEXT NOT NULL DEFAULT '{}';
ALTER TABLE audit_events ADD COLUMN state_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- The chain's head: the last id handed out and its MAC. Every write transaction updates
-- this one row as its last statement, which orders the appends of concurrent writers.
CREATE TABLE audit_head (
    id   INTEGER NOT NULL CHECK (id = 1),
    seq  BIGINT NOT NULL CHECK (seq >= 0),
    mac  TEXT NOT NULL,
    PRIMARY KEY (id)
);
INSERT INTO audit_head (id, seq, mac)
SELECT 1, COALESCE(MAX(id), 0),
       COALESCE((SELECT mac FROM audit_events ORDER BY id DESC LIMIT 1),
                '0000000000000000000000000000000000000000000000000000000000000000')
FROM audit_events;

-- Signed checkpoints: the head at a moment, MAC'd with the audit key, for publication.
CREATE TABLE audit_checkpoints (
    seq         BIGINT NOT NULL CHECK (seq >= 0),
    head_mac    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    -- whether a full verify run verified the log up to this head (where an incremental run
    -- may start)
    verified    BOOLEAN NOT NULL,
    key_id      TEXT NOT NULL,
    mac         TEXT NOT NULL,
    PRIMARY KEY (seq, verified)
);

-- The document of a signed notice, rendered once at signing; its SHA-256 is in the signing
-- entry's state.
CREATE TABLE notice_documents (
    notice_id   TEXT PRIMARY KEY NOT NULL REFERENCES notices (id),
    sha256      TEXT NOT NULL,
    content     BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
