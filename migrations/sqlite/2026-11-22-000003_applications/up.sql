-- Funding applications (Förderanträge). Money is integer cents; the status is an explicit
-- column mapped to the Rust enum in one place (domain::lifecycle::Status).
CREATE TABLE applications (
    id                      TEXT PRIMARY KEY NOT NULL,
    case_number             TEXT NOT NULL UNIQUE,
    case_year               INTEGER NOT NULL,
    programme_code          TEXT NOT NULL REFERENCES programmes (code),
    funding_object          TEXT NOT NULL,
    lead_ags                TEXT NOT NULL REFERENCES municipalities (ags),
    joint                   BOOLEAN NOT NULL,
    title                   TEXT NOT NULL,
    description             TEXT NOT NULL,
    project_start           DATE,
    project_end             DATE,
    total_cost_cents        BIGINT NOT NULL CHECK (total_cost_cents >= 0),
    eligible_cents          BIGINT NOT NULL CHECK (eligible_cents >= 0),
    own_contribution_cents  BIGINT NOT NULL CHECK (own_contribution_cents >= 0),
    third_party_cents       BIGINT NOT NULL CHECK (third_party_cents >= 0),
    requested_cents         BIGINT NOT NULL CHECK (requested_cents >= 0),
    granted_cents           BIGINT CHECK (granted_cents >= 0),
    paid_cents              BIGINT NOT NULL CHECK (paid_cents >= 0),
    status                  TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'in_review',
                                'info_requested', 'approved', 'rejected', 'withdrawn',
                                'proof_submitted', 'closed', 'revoked')),
    version                 INTEGER NOT NULL,
    -- the response deadline of an open information request
    info_due                DATE,
    -- early-start permission (vorzeitiger Vorhabenbeginn): who and when
    early_start_at          TIMESTAMP,
    early_start_by          TEXT,
    -- the processing clock: seconds counted so far, and since when it runs (NULL: stopped)
    clock_seconds           BIGINT NOT NULL,
    clock_since             TIMESTAMP,
    submitted_at            TIMESTAMP,
    created_by              TEXT NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);
CREATE INDEX applications_created ON applications (created_at, id);
CREATE INDEX applications_status ON applications (status, created_at, id);
CREATE INDEX applications_programme ON applications (programme_code, created_at, id);
CREATE INDEX applications_year ON applications (case_year, created_at, id);
CREATE INDEX applications_updated ON applications (updated_at, id);

-- Cost plan lines, numbered from 1 in the order given.
CREATE TABLE cost_lines (
    application_id  TEXT NOT NULL REFERENCES applications (id),
    line_no         INTEGER NOT NULL CHECK (line_no >= 1),
    category        TEXT NOT NULL CHECK (category IN ('software', 'hardware', 'services',
                        'personnel', 'training', 'fees', 'other')),
    description     TEXT NOT NULL,
    amount_cents    BIGINT NOT NULL CHECK (amount_cents >= 0),
    eligible        BOOLEAN NOT NULL,
    PRIMARY KEY (application_id, line_no)
);

-- The municipalities taking part, the lead included (a single application has one member
-- with the whole share, 10000 basis points). Scoping and reporting read this table.
CREATE TABLE application_members (
    application_id  TEXT NOT NULL REFERENCES applications (id),
    position        INTEGER NOT NULL,
    ags             TEXT NOT NULL REFERENCES municipalities (ags),
    kreis           TEXT NOT NULL,
    share_bp        INTEGER NOT NULL CHECK (share_bp BETWEEN 1 AND 10000),
    is_lead         BOOLEAN NOT NULL,
    PRIMARY KEY (application_id, ags)
);
CREATE INDEX application_members_ags ON application_members (ags, application_id);
CREATE INDEX application_members_kreis ON application_members (kreis, application_id);

-- Case numbers (EGOV-2026-0042): one counter per prefix and year.
CREATE TABLE case_counters (
    prefix       TEXT NOT NULL,
    year         INTEGER NOT NULL,
    last_number  INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
);

-- Idempotency-Key of creates: a retry with the same key and body gets the first response.
CREATE TABLE idempotency_keys (
    subject       TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response      TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (subject, idem_key)
);
