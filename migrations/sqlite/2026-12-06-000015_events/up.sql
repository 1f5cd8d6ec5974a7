-- The outbox of the event feed (issue 18), see the PostgreSQL migration. SQLite serialises
-- its writers, so its ids are in commit order already; `txid` stays 0.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY NOT NULL,
    txid        BIGINT NOT NULL DEFAULT 0,
    position    BIGINT UNIQUE CHECK (position >= 1),
    event_type  TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    version     BIGINT NOT NULL CHECK (version >= 1),
    occurred_at TIMESTAMP NOT NULL,
    case_id     TEXT,
    audit_id    BIGINT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX events_unpublished ON events (txid, id) WHERE position IS NULL;
CREATE INDEX events_case ON events (case_id, position);
