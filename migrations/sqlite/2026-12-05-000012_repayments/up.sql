-- Repayments (issue 15): money a municipality paid back on a reclaim (§ 49a (1) VwVfG). A
-- repayment is a fact recorded by a caseworker with the day it was received; it is never
-- changed (a wrong entry is answered by the audit log, not by an update). The case's
-- outstanding reclaim and the interest on it (§ 49a (3) VwVfG, credited by § 367 (1) BGB)
-- follow from these rows; the reports carry their sum as `repaid`.
CREATE TABLE repayments (
    id              TEXT PRIMARY KEY NOT NULL,
    application_id  TEXT NOT NULL REFERENCES applications (id),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    received_on     DATE NOT NULL,
    -- the fiscal (calendar) year of receipt, for the reports on the payment basis
    received_year   INTEGER NOT NULL,
    recorded_by     TEXT NOT NULL,
    recorded_at     TIMESTAMP NOT NULL
);
CREATE INDEX repayments_application ON repayments (application_id, received_on);
CREATE INDEX repayments_year ON repayments (received_year);
