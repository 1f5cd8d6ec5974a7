DROP TABLE notice_documents;
DROP TABLE audit_checkpoints;
DROP TABLE audit_head;
ALTER TABLE audit_events DROP COLUMN key_id;
ALTER TABLE audit_events DROP COLUMN state_hash;
ALTER TABLE audit_events DROP COLUMN state;
ALTER TABLE audit_events RENAME COLUMN mac TO hash;
ALTER TABLE audit_events RENAME COLUMN prev_mac TO prev_hash;
