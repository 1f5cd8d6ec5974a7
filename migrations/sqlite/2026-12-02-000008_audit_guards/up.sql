-- The schema guards of the audit log and of signed notices, in each backend's trigger
-- language (tested by behaviour in tests/api/audit_trust.rs, not by the dialect table).

-- Guards (a superuser can drop them; verify still finds what they would have stopped).
CREATE TRIGGER audit_events_append_only_u BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_events_append_only_d BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_u BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_d BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER notices_signed_frozen_u BEFORE UPDATE ON notices WHEN OLD.status = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notices_signed_frozen_d BEFORE DELETE ON notices WHEN OLD.status = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notice_lines_signed_frozen_u BEFORE UPDATE ON notice_lines
WHEN (SELECT status FROM notices WHERE id = OLD.notice_id) = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notice_lines_signed_frozen_d BEFORE DELETE ON notice_lines
WHEN (SELECT status FROM notices WHERE id = OLD.notice_id) = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notice_allocations_signed_frozen_u BEFORE UPDATE ON notice_allocations
WHEN (SELECT status FROM notices WHERE id = OLD.notice_id) = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notice_allocations_signed_frozen_d BEFORE DELETE ON notice_allocations
WHEN (SELECT status FROM notices WHERE id = OLD.notice_id) = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notice_documents_frozen_u BEFORE UPDATE ON notice_documents
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
CREATE TRIGGER notice_documents_frozen_d BEFORE DELETE ON notice_documents
BEGIN SELECT RAISE(ABORT, 'a signed notice cannot be changed'); END;
