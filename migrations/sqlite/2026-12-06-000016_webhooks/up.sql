-- Webhook subscriptions and their deliveries (issue 18, docs/webhooks.md).
--
-- A subscription is an audited record (record type `webhook`): removing one keeps its row with
-- `deleted_at`, so that the log and its deliveries keep what they name. `secret` is the
-- Standard Webhooks signing secret (`whsec_<base64>`); the API shows it once, at creation,
-- and the audit log holds only its SHA-256 (persistence::ledger::webhook).
CREATE TABLE webhook_subscriptions (
    id          TEXT PRIMARY KEY NOT NULL,
    url         TEXT NOT NULL,
    event_types TEXT NOT NULL,
    secret      TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  TEXT NOT NULL,
    deleted_at  TIMESTAMP
);

-- One row per (subscription, event), queued by the publisher in the transaction that places
-- the event in the feed. `id` (`msg_…`) is the `webhook-id` of every attempt. A delivery is
-- due when it is pending, its time has come, nobody holds a live lease on it, and no earlier
-- event of the same record for the same subscription is still pending (in order per record).
-- `failures` counts the failed attempts since the last success or redelivery (the step of
-- the retry schedule); `attempts` counts all of them (the attempt numbers).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id),
    event_id        BIGINT NOT NULL REFERENCES events (id),
    event_position  BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    record_type     TEXT NOT NULL,
    record_id       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    failures        INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    claimed_by      TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (subscription_id, event_id)
);
-- The claim: pending deliveries by due time; the order check: a record's pending deliveries.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_record ON webhook_deliveries
    (subscription_id, record_type, record_id, event_position) WHERE status = 'pending';
-- The list of a subscription's deliveries, newest first.
CREATE INDEX webhook_deliveries_list ON webhook_deliveries (subscription_id, event_position);

-- Every attempt of a delivery: when, how long, and the HTTP status or the error.
CREATE TABLE webhook_attempts (
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    attempted_at TIMESTAMP NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    claimed_by   TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
