-- The outbox of the event feed (issue 18): one row per state change of a record, written in
-- the transaction of the change (persistence::events::record, called by the audit append).
-- `position` is the feed's order: handed out by the publisher to committed events, each round
-- after the last, so that no event ever appears before one already served; `txid` orders a
-- round (persistence::events::publish, docs/events.md).
CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid        BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
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
