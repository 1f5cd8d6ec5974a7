-- Decision notices (Bescheide), budgets per programme-year, payments, proof of use.
-- Money is integer cents throughout.

-- What has been reclaimed by signed notices (final and revocation), and the actual
-- expenditure per cost line from the proof of use.
ALTER TABLE applications ADD COLUMN reclaimed_cents BIGINT NOT NULL DEFAULT 0
    CHECK (reclaimed_cents >= 0);
ALTER TABLE cost_lines ADD COLUMN actual_cents BIGINT CHECK (actual_cents >= 0);

-- A notice is prepared by a caseworker against one version of its case and signed by an
-- approver who did not prepare it; once signed it is never changed (the service has no
-- code path that updates a signed notice, and signing is a conditional update on
-- status = 'prepared').
CREATE TABLE notices (
    id                  TEXT PRIMARY KEY NOT NULL,
    application_id      TEXT NOT NULL REFERENCES applications (id),
    kind                TEXT NOT NULL CHECK (kind IN ('grant', 'rejection', 'early_start',
                            'amendment', 'final', 'revocation')),
    status              TEXT NOT NULL CHECK (status IN ('prepared', 'signed')),
    -- EGOV-2026-0042-B1; seq is n, counting the signed notices of the case
    number              TEXT UNIQUE,
    seq                 INTEGER CHECK (seq >= 1),
    case_version        INTEGER NOT NULL,
    -- the notice in force that this one changes (amendment, final, revocation)
    refers_to           TEXT REFERENCES notices (id),
    financing_type      TEXT CHECK (financing_type IN ('anteil', 'fehlbedarf', 'festbetrag', 'voll')),
    rate_bp             INTEGER CHECK (rate_bp BETWEEN 1 AND 10000),
    max_cents           BIGINT CHECK (max_cents >= 0),
    fixed_cents         BIGINT CHECK (fixed_cents >= 0),
    eligible_cents      BIGINT CHECK (eligible_cents >= 0),
    -- the grant by the financing rule, before the limit of the requested grant
    computed_cents      BIGINT CHECK (computed_cents >= 0),
    -- the grant in force once this notice is signed (NULL: the notice sets no grant)
    granted_cents       BIGINT CHECK (granted_cents >= 0),
    -- paid on the case when the notice was prepared
    paid_cents          BIGINT NOT NULL CHECK (paid_cents >= 0),
    revoked_cents       BIGINT CHECK (revoked_cents >= 0),
    reclaim_cents       BIGINT CHECK (reclaim_cents >= 0),
    reclaim_due         DATE,
    -- § 49a (3) VwVfG: interest on the reclaim runs from this day
    interest_from       DATE,
    grant_period_start  DATE,
    grant_period_end    DATE,
    proof_due           DATE,
    purpose             TEXT,
    binding_years       INTEGER CHECK (binding_years BETWEEN 0 AND 30),
    reason              TEXT,
    posted_on           DATE NOT NULL,
    -- § 41 (2) VwVfG: deemed delivered on the n-th day after posting (rule of posted_on)
    delivery_days       INTEGER NOT NULL CHECK (delivery_days BETWEEN 0 AND 30),
    prepared_by         TEXT NOT NULL,
    prepared_at         TIMESTAMP NOT NULL,
    signed_by           TEXT,
    signed_at           TIMESTAMP,
    CHECK ((status = 'signed') = (signed_by IS NOT NULL AND signed_at IS NOT NULL
                                  AND number IS NOT NULL AND seq IS NOT NULL)),
    UNIQUE (application_id, seq)
);
CREATE INDEX notices_application ON notices (application_id, prepared_at);
CREATE INDEX notices_signed ON notices (kind, signed_at);

-- The cost lines as a notice decides them.
CREATE TABLE notice_lines (
    notice_id       TEXT NOT NULL REFERENCES notices (id),
    line_no         INTEGER NOT NULL CHECK (line_no >= 1),
    applied_cents   BIGINT NOT NULL CHECK (applied_cents >= 0),
    approved_cents  BIGINT NOT NULL CHECK (approved_cents >= 0 AND approved_cents <= applied_cents),
    actual_cents    BIGINT CHECK (actual_cents >= 0),
    eligible        BOOLEAN NOT NULL,
    reason          TEXT,
    PRIMARY KEY (notice_id, line_no)
);

-- The grant in force after the notice, per fiscal year (what it commits of the budgets).
CREATE TABLE notice_allocations (
    notice_id     TEXT NOT NULL REFERENCES notices (id),
    fiscal_year   INTEGER NOT NULL,
    amount_cents  BIGINT NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (notice_id, fiscal_year)
);

-- The budget of a programme-year and what signed notices have committed of it. Signing
-- commits with a conditional UPDATE (committed + x <= amount); the CHECK is the last guard.
CREATE TABLE budgets (
    programme_code   TEXT NOT NULL REFERENCES programmes (code),
    fiscal_year      INTEGER NOT NULL,
    amount_cents     BIGINT NOT NULL CHECK (amount_cents >= 0),
    committed_cents  BIGINT NOT NULL CHECK (committed_cents >= 0 AND committed_cents <= amount_cents),
    updated_by       TEXT NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (programme_code, fiscal_year)
);

-- Payment requests (Mittelabruf) and their payout (Auszahlung): requested by the applicant,
-- prepared by a caseworker, released by an approver who did not prepare it.
CREATE TABLE payment_requests (
    id                TEXT PRIMARY KEY NOT NULL,
    application_id    TEXT NOT NULL REFERENCES applications (id),
    amount_cents      BIGINT NOT NULL CHECK (amount_cents > 0),
    reason            TEXT,
    status            TEXT NOT NULL CHECK (status IN ('requested', 'prepared', 'paid', 'rejected')),
    requested_by      TEXT NOT NULL,
    requested_at      TIMESTAMP NOT NULL,
    prepared_by       TEXT,
    prepared_at       TIMESTAMP,
    paid_by           TEXT,
    paid_at           TIMESTAMP,
    -- the fiscal (calendar) year of the payout, for budgets and reports
    paid_year         INTEGER,
    rejected_by       TEXT,
    rejected_at       TIMESTAMP,
    rejection_reason  TEXT,
    CHECK ((status = 'paid') = (paid_at IS NOT NULL AND paid_year IS NOT NULL))
);
CREATE INDEX payment_requests_application ON payment_requests (application_id, requested_at);
CREATE INDEX payment_requests_paid ON payment_requests (paid_year, status);

-- § 41 (2) VwVfG: a posted notice is deemed delivered on the n-th day after posting; the
-- number changes by law on a date (federal: 4 since 2025-01-01; the Länder follow with
-- their own dates), so it is dated data. Thuringia: 3 until a change is recorded here.
CREATE TABLE delivery_rules (
    valid_from  DATE PRIMARY KEY NOT NULL,
    days        INTEGER NOT NULL CHECK (days BETWEEN 0 AND 30),
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMP NOT NULL
);
INSERT INTO delivery_rules (valid_from, days, added_by, added_at) VALUES
 ('1900-01-01', 3, 'system', '2026-11-22 00:00:00');
