-- Indexes for the reports (src/reporting): the submission basis filters by submission time;
-- the pipeline reads, per case, the latest status event before a day, in (case, seq) order.
CREATE INDEX applications_submitted ON applications (submitted_at);
CREATE INDEX audit_events_transitions ON audit_events (record_key, seq, occurred_at, to_status)
    WHERE record_type = 'application' AND to_status IS NOT NULL;
