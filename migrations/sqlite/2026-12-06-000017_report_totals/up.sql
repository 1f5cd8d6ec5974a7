-- Maintained report totals (issue 19): the volumes report without `as_of` reads these instead
-- of aggregating every case. `report_case_parts` holds what each case contributes, per basis,
-- year, partner municipality and the case's keys (reporting::sql::contributions: the facts
-- split by share exactly as the report splits them); `report_totals` holds their sums. Every
-- write that touches a case replaces the case's parts and adds the difference to the totals,
-- in its own transaction (persistence::totals::follow). `fobj` is '' for a case without a
-- funding object; `n` counts the member-level rows summed, and a total is kept while it is
-- above 0. `report_totals_state` says the totals were built (start-up builds them once for a
-- database that has none; `foerderakte reports rebuild` after a restore).
CREATE TABLE report_case_parts (
    case_id TEXT NOT NULL,
    basis   TEXT NOT NULL CHECK (basis IN ('notice', 'submission', 'payment')),
    yr      INTEGER NOT NULL,
    ags     TEXT NOT NULL,
    kreis   TEXT NOT NULL,
    prog    TEXT NOT NULL,
    fobj    TEXT NOT NULL,
    joint   BOOLEAN NOT NULL,
    n       BIGINT NOT NULL CHECK (n > 0),
    cnt     BIGINT NOT NULL,
    req     BIGINT NOT NULL,
    gra     BIGINT NOT NULL,
    pai     BIGINT NOT NULL,
    rec     BIGINT NOT NULL,
    rep     BIGINT NOT NULL,
    PRIMARY KEY (case_id, basis, yr, ags)
);

CREATE TABLE report_totals (
    basis   TEXT NOT NULL CHECK (basis IN ('notice', 'submission', 'payment')),
    yr      INTEGER NOT NULL,
    ags     TEXT NOT NULL,
    kreis   TEXT NOT NULL,
    prog    TEXT NOT NULL,
    fobj    TEXT NOT NULL,
    joint   BOOLEAN NOT NULL,
    n       BIGINT NOT NULL CHECK (n >= 0),
    cnt     BIGINT NOT NULL,
    req     BIGINT NOT NULL,
    gra     BIGINT NOT NULL,
    pai     BIGINT NOT NULL,
    rec     BIGINT NOT NULL,
    rep     BIGINT NOT NULL,
    PRIMARY KEY (basis, yr, ags, kreis, prog, fobj, joint)
);

CREATE TABLE report_totals_state (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    built_at TIMESTAMP NOT NULL
);
