DROP TABLE audit_events;
DROP TABLE funding_objects;
DROP TABLE programmes;
