DROP TABLE audit_checkpoints;
DROP TRIGGER audit_checkpoints_v1_append_only_u;
DROP TRIGGER audit_checkpoints_v1_append_only_d;
ALTER TABLE audit_checkpoints_v1 RENAME TO audit_checkpoints;
CREATE TRIGGER audit_checkpoints_append_only_u BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_d BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
DROP TABLE audit_seals;
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
DROP INDEX audit_events_txid;
ALTER TABLE audit_events DROP COLUMN txid;
