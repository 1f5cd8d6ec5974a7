-- The base rate of § 247 BGB (Basiszinssatz), in hundredths of a percent, for interest on
-- reclaims (§ 49a (3) VwVfG). Each row holds from valid_from until the next row; the newest
-- holds until the end of its half-year. Administrators add announced rates; rows are never
-- changed. Source: Deutsche Bundesbank (../shared/data/basiszinssatz.csv).
CREATE TABLE base_rates (
    valid_from  DATE PRIMARY KEY NOT NULL,
    hundredths  INTEGER NOT NULL CHECK (hundredths BETWEEN -2000 AND 2000),
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMP NOT NULL
);
INSERT INTO base_rates (valid_from, hundredths, added_by, added_at) VALUES
 ('2016-07-01', -88, 'system', '2026-11-22 00:00:00'),
 ('2023-01-01', 162, 'system', '2026-11-22 00:00:00'),
 ('2023-07-01', 312, 'system', '2026-11-22 00:00:00'),
 ('2024-01-01', 362, 'system', '2026-11-22 00:00:00'),
 ('2024-07-01', 337, 'system', '2026-11-22 00:00:00'),
 ('2025-01-01', 227, 'system', '2026-11-22 00:00:00'),
 ('2025-07-01', 127, 'system', '2026-11-22 00:00:00'),
 ('2026-01-01', 127, 'system', '2026-11-22 00:00:00');
