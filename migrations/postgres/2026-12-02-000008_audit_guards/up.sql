-- The schema guards of the audit log and of signed notices, in each backend's trigger
-- language (tested by behaviour in tests/api/audit_trust.rs, not by the dialect table).

-- Entries carry their place in the chain as their id (persistence::audit::append_all).
ALTER TABLE audit_events ALTER COLUMN id DROP IDENTITY;

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
