DROP INDEX audit_events_transitions;
DROP INDEX applications_submitted;
