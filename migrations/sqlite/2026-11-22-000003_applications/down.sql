DROP TABLE idempotency_keys;
DROP TABLE case_counters;
DROP TABLE application_members;
DROP TABLE cost_lines;
DROP TABLE applications;
