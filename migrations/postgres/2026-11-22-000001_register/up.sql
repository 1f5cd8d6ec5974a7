-- Municipality register (Destatis GV100AD). Keys are never deleted: a case may name them.
CREATE TABLE municipalities (
    ags         TEXT PRIMARY KEY CHECK (ags ~ '^16[0-9]{6}$'),
    name        TEXT NOT NULL,
    -- lower-cased by the service (full Unicode, unlike SQLite's lower()) for name search
    name_folded TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('kreisfreie_stadt', 'landkreis', 'stadt', 'gemeinde')),
    kreis       TEXT NOT NULL CHECK (length(kreis) = 5),
    verband     TEXT,
    population  BIGINT,
    area_ha     BIGINT,
    postcode    TEXT,
    valid_from  DATE,
    valid_to    DATE,
    edition     DATE NOT NULL
);
CREATE INDEX municipalities_kreis ON municipalities (kreis, ags);

CREATE TABLE register_editions (
    edition     DATE PRIMARY KEY,
    imported_at TIMESTAMP NOT NULL,
    records     INTEGER NOT NULL,
    -- who loaded it: `system` for the bundled edition, else the admin token's subject
    imported_by TEXT NOT NULL
);
