-- Programmes (Förderprogramme), shipped as data and editable by admin. Rates are basis points
-- (8000 = 80 %), money integer cents.
CREATE TABLE programmes (
    code            TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    legal_basis     TEXT NOT NULL,
    financing_type  TEXT NOT NULL CHECK (financing_type IN ('anteil', 'fehlbedarf', 'festbetrag', 'voll')),
    max_rate_bp     INTEGER CHECK (max_rate_bp BETWEEN 1 AND 10000),
    min_grant_cents BIGINT CHECK (min_grant_cents >= 0),
    max_grant_cents BIGINT CHECK (max_grant_cents >= 0),
    min_partners    INTEGER CHECK (min_partners >= 1),
    valid_from      DATE NOT NULL,
    valid_to        DATE,
    call_opens      DATE,
    call_closes     DATE,
    version         INTEGER NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
-- Funding objects (Fördergegenstände) per programme; codes a–f for ThürEGovRL.
CREATE TABLE funding_objects (
    programme_code TEXT NOT NULL REFERENCES programmes (code),
    code           TEXT NOT NULL,
    description    TEXT NOT NULL,
    fundable_now   BOOLEAN NOT NULL,
    PRIMARY KEY (programme_code, code)
);

INSERT INTO programmes (code, name, legal_basis, financing_type, max_rate_bp, min_grant_cents,
                        max_grant_cents, min_partners, valid_from, valid_to, call_opens, call_closes,
                        version, updated_at) VALUES
 ('THUEREGOVRL-2018', 'E-Government-Förderung 2018–2022',
  'Thüringer E-Government-Richtlinie (ThürEGovRL), Fassung 2018', 'anteil', 8000, NULL, NULL, NULL,
  '2018-01-01', '2024-06-30', NULL, NULL, 1, '2026-11-22 00:00:00'),
 ('THUEREGOVRL-2024', 'E-Government-Förderung ab 2024',
  'Thüringer E-Government-Richtlinie (ThürEGovRL), in Kraft seit 1. Juli 2024', 'anteil', 8000, NULL, NULL, NULL,
  '2024-07-01', NULL, NULL, NULL, 1, '2026-11-22 00:00:00'),
 ('THUERFAG-24-KOOP', 'Neue interkommunale Zusammenarbeit',
  '§ 24 Abs. 2 ThürFAG: Zuweisung für neue interkommunale Zusammenarbeit (mind. 3 Partner, mind. 5 Jahre)',
  'festbetrag', NULL, NULL, 50000000, 3, '2019-01-01', NULL, NULL, NULL, 1, '2026-11-22 00:00:00'),
 ('THUERFAG-24-STUDIE', 'Machbarkeitsstudie interkommunale Zusammenarbeit',
  '§ 24 Abs. 2 ThürFAG: Machbarkeitsstudie für eine interkommunale Zusammenarbeit (75 % der Honorare)',
  'anteil', 7500, NULL, 3000000, NULL, '2019-01-01', NULL, NULL, NULL, 1, '2026-11-22 00:00:00');

INSERT INTO funding_objects (programme_code, code, description, fundable_now) VALUES
 ('THUEREGOVRL-2018', 'a', 'Dokumentenmanagementsysteme (DMS) und elektronische Akte', FALSE),
 ('THUEREGOVRL-2018', 'b', 'Fachverfahren und E-Government-Dienste (Online-Dienste)', FALSE),
 ('THUEREGOVRL-2018', 'c', 'Schnittstellen zwischen Fachverfahren, DMS und E-Government-Diensten', FALSE),
 ('THUEREGOVRL-2018', 'd', 'Informationssicherheitsmanagement (ISMS)', FALSE),
 ('THUEREGOVRL-2018', 'e', 'E-Rechnung, digitale Agenden und E-Government-Strategien', FALSE),
 ('THUEREGOVRL-2018', 'f', 'Qualifizierung, einschließlich Informationssicherheitsbeauftragte', FALSE),
 ('THUEREGOVRL-2024', 'a', 'Dokumentenmanagementsysteme (DMS) und elektronische Akte', FALSE),
 ('THUEREGOVRL-2024', 'b', 'Fachverfahren und E-Government-Dienste (Online-Dienste)', FALSE),
 ('THUEREGOVRL-2024', 'c', 'Schnittstellen zwischen Fachverfahren, DMS und E-Government-Diensten', TRUE),
 ('THUEREGOVRL-2024', 'd', 'Informationssicherheitsmanagement (ISMS)', FALSE),
 ('THUEREGOVRL-2024', 'e', 'E-Rechnung, digitale Agenden und E-Government-Strategien', FALSE),
 ('THUEREGOVRL-2024', 'f', 'Qualifizierung, einschließlich Informationssicherheitsbeauftragte', TRUE),
 ('THUERFAG-24-KOOP', 'koop', 'Neue interkommunale Zusammenarbeit (Gemeinden/Landkreise, mind. 5 Jahre)', TRUE),
 ('THUERFAG-24-STUDIE', 'studie', 'Machbarkeitsstudie (Honorare) für eine interkommunale Zusammenarbeit', TRUE);

-- The append-only audit log. Each entry carries the hash of the previous entry of the same
-- record (record_type, record_key): tamper-evident per record without serialising unrelated
-- writes. (record_type, record_key, seq) is unique, so two writers cannot fork a chain.
CREATE TABLE audit_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_type  TEXT NOT NULL,
    record_key   TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    actor        TEXT NOT NULL,
    role         TEXT NOT NULL,
    action       TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    reason       TEXT,
    changes      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    UNIQUE (record_type, record_key, seq)
);
CREATE INDEX audit_events_occurred ON audit_events (occurred_at, id);
