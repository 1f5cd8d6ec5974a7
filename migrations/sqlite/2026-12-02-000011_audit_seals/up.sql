-- Sealed appends (docs/audit.md, "Seals"); the PostgreSQL migration explains. On SQLite,
-- whose writers are serialised by the database, an entry's txid is its id.
ALTER TABLE audit_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
CREATE INDEX audit_events_txid ON audit_events (txid, id);

DROP TABLE audit_head;

CREATE TABLE audit_seals (
    id           BIGINT NOT NULL CHECK (id > 0),
    from_txid    BIGINT NOT NULL CHECK (from_txid >= 0),
    to_txid      BIGINT NOT NULL CHECK (to_txid > from_txid),
    entries      BIGINT NOT NULL CHECK (entries > 0),
    first_event  BIGINT NOT NULL,
    last_event   BIGINT NOT NULL CHECK (last_event >= first_event),
    digest       TEXT NOT NULL,
    sealed_at    TIMESTAMP NOT NULL,
    prev_mac     TEXT NOT NULL,
    mac          TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    PRIMARY KEY (id)
);
CREATE TRIGGER audit_seals_append_only_u BEFORE UPDATE ON audit_seals
BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END;
CREATE TRIGGER audit_seals_append_only_d BEFORE DELETE ON audit_seals
BEGIN SELECT RAISE(ABORT, 'audit seals are append-only'); END;

-- Checkpoints now name a seal; the ones made before name entries of the old chain: kept,
-- under another name, for the record (trigger names are global in SQLite).
DROP TRIGGER audit_checkpoints_append_only_u;
DROP TRIGGER audit_checkpoints_append_only_d;
ALTER TABLE audit_checkpoints RENAME TO audit_checkpoints_v1;
CREATE TRIGGER audit_checkpoints_v1_append_only_u BEFORE UPDATE ON audit_checkpoints_v1
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_v1_append_only_d BEFORE DELETE ON audit_checkpoints_v1
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TABLE audit_checkpoints (
    -- the id of the last seal at the checkpoint
    seq         BIGINT NOT NULL CHECK (seq >= 0),
    head_mac    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    verified    BOOLEAN NOT NULL,
    key_id      TEXT NOT NULL,
    mac         TEXT NOT NULL,
    PRIMARY KEY (seq, verified)
);
CREATE TRIGGER audit_checkpoints_append_only_u BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_d BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
