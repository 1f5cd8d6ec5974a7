-- Sealed appends (docs/audit.md, "Seals"). A write no longer waits for the writes before it:
-- its entries take ids from a sequence and carry the id of their transaction (txid), and a
-- sealer folds the entries of every finished transaction into a keyed chain of seals, one
-- row per round. Before this, every write held one lock from its head read to its commit,
-- which admitted about 1,000 writes a second (docs/benchmarks.md).

-- The id of the writing transaction (xid8 as a number): the sealer takes the transactions
-- below the oldest one still running (pg_snapshot_xmin), all of them finished. Entries
-- written before this migration carry 0 and go into the first seal.
ALTER TABLE audit_events ADD COLUMN txid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_events ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX audit_events_txid ON audit_events (txid, id);

-- Entry ids: unique and increasing, with gaps where a transaction rolled back.
CREATE SEQUENCE audit_event_ids;
SELECT setval('audit_event_ids', COALESCE(MAX(id), 0) + 1, false) FROM audit_events;

-- The head is now the last seal.
DROP TABLE audit_head;

-- One seal per round: the entries of the transactions from_txid <= txid < to_txid, in id
-- order, folded into `digest`; `mac` covers the seal's fields and the previous seal's MAC.
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
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse('audit seals are append-only');
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('audit seals are append-only');

-- Checkpoints now name a seal. The ones made before name entries of the old chain: kept,
-- under another name, for the record.
ALTER TABLE audit_checkpoints RENAME TO audit_checkpoints_v1;
ALTER TABLE audit_checkpoints_v1 RENAME CONSTRAINT audit_checkpoints_pkey TO audit_checkpoints_v1_pkey;
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
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION foerderakte_refuse('audit checkpoints are append-only');
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION foerderakte_refuse('audit checkpoints are append-only');
