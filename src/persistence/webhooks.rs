//! Webhook subscriptions and their deliveries (docs/webhooks.md).
//!
//! A subscription is an audited record (`webhook`): creating, changing and removing one
//! appends to the log, and so becomes a `webhook.*` event of the feed (admins only). Removing
//! keeps the row (`deleted_at`), so that the log and the deliveries keep what they name.
//!
//! Deliveries: the publisher queues one per (subscription, event) in the transaction that
//! places the event in the feed (`enqueue`). A worker `claim`s a due one (a lease, taken in a
//! transaction that on PostgreSQL skips the rows another instance holds: `FOR UPDATE SKIP
//! LOCKED`), sends it outside any transaction and records the attempt (`record_attempt`):
//! delivered, due again after the schedule's next wait, or parked as failed after the last
//! one. A delivery is due only when no earlier event of the same record is still pending for
//! the same subscription: in order per record. A crashed worker's lease runs out and another
//! instance takes the delivery over: at least once, never lost.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use serde::Serialize;
use serde_json::json;

use super::applications::WriteError;
use super::events::Event;
use super::programmes::Actor;
use super::schema::{
    events as ev, webhook_attempts as wa, webhook_deliveries as wd, webhook_subscriptions as ws,
};
use super::{AnyConnection, Expected, audit, ledger, write_tx};
use crate::domain::event::type_matches;

pub const RECORD_TYPE: &str = "webhook";

/// A subscription as stored (its secret included: the API never shows this struct).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = ws)]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// The event type patterns, a JSON array of strings (`notice.signed`, `payment.*`, `*`).
    pub event_types: String,
    pub secret: String,
    pub active: bool,
    /// Counts every change; the subscription's `ETag`.
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub updated_at: NaiveDateTime,
    pub updated_by: String,
    pub deleted_at: Option<NaiveDateTime>,
}

impl Subscription {
    /// The event type patterns.
    pub fn patterns(&self) -> QueryResult<Vec<String>> {
        serde_json::from_str(&self.event_types)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
    }
}

fn patterns_json(patterns: &[String]) -> String {
    serde_json::Value::from(patterns.to_vec()).to_string()
}

/// The status of a delivery.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = wd)]
pub struct Delivery {
    /// `msg_…`: the `webhook-id` of every attempt.
    pub id: String,
    pub subscription_id: String,
    pub event_id: i64,
    pub event_position: i64,
    pub event_type: String,
    /// As the log names it.
    pub record_type: String,
    pub record_id: String,
    pub status: String,
    pub attempts: i32,
    pub failures: i32,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub claimed_by: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = wa)]
pub struct Attempt {
    pub delivery_id: String,
    pub attempt: i32,
    pub attempted_at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub claimed_by: String,
}

/// The live (not removed) subscription `id`.
pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Subscription>> {
    ws::table
        .find(id)
        .filter(ws::deleted_at.is_null())
        .select(Subscription::as_select())
        .first(conn)
        .optional()
}

/// The live subscriptions, oldest first.
pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<Subscription>> {
    ws::table
        .filter(ws::deleted_at.is_null())
        .order((ws::created_at.asc(), ws::id.asc()))
        .select(Subscription::as_select())
        .load(conn)
}

/// Every subscription row, removed ones included (verify).
pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<Subscription>> {
    ws::table
        .order(ws::id.asc())
        .select(Subscription::as_select())
        .load(conn)
}

/// Creates a subscription with this id and secret, audited.
pub fn create(
    conn: &mut AnyConnection,
    id: &str,
    url: &str,
    patterns: &[String],
    secret: &str,
    actor: &Actor<'_>,
) -> QueryResult<Subscription> {
    write_tx(conn, |conn| {
        let row = Subscription {
            id: id.to_owned(),
            url: url.to_owned(),
            event_types: patterns_json(patterns),
            secret: secret.to_owned(),
            active: true,
            version: 1,
            created_at: actor.now,
            created_by: actor.subject.to_owned(),
            updated_at: actor.now,
            updated_by: actor.subject.to_owned(),
            deleted_at: None,
        };
        diesel::insert_into(ws::table).values(&row).execute(conn)?;
        let changes = json!({"url": {"before": null, "after": url},
                             "events": {"before": null, "after": patterns}});
        let entry = actor
            .entry(RECORD_TYPE, id, "create", None, changes)
            .with_state(serde_json::Value::Null, ledger::webhook(&row));
        audit::append(conn, &entry)?;
        Ok(row)
    })
}

/// What a change sets (`None`: leaves as it is).
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub url: Option<String>,
    pub patterns: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// The live subscription `id` locked for a change at a version `expected` accepts.
fn locked(
    conn: &mut AnyConnection,
    id: &str,
    expected: Expected<'_>,
) -> Result<Subscription, WriteError> {
    // Lock the row first (PostgreSQL), so that the version checked is the one replaced.
    diesel::update(ws::table.find(id))
        .set(ws::version.eq(ws::version))
        .execute(conn)?;
    let old = find(conn, id)?.ok_or_else(|| no_webhook(id))?;
    if !expected.admits(old.version) {
        return Err(WriteError::Precondition(format!(
            "the webhook {id} has changed since you read it (it is at ETag \"{}\"); GET it again",
            old.version
        )));
    }
    Ok(old)
}

pub fn no_webhook(id: &str) -> WriteError {
    WriteError::NotFound(format!("no webhook {id}"))
}

/// Changes a subscription at a version `expected` accepts, audited.
pub fn update(
    conn: &mut AnyConnection,
    id: &str,
    expected: Expected<'_>,
    change: &Change,
    actor: &Actor<'_>,
) -> Result<Subscription, WriteError> {
    write_tx(conn, |conn| {
        let old = locked(conn, id, expected)?;
        let mut new = old.clone();
        let mut changes = serde_json::Map::new();
        if let Some(url) = change.url.as_ref().filter(|u| **u != old.url) {
            changes.insert("url".into(), json!({"before": old.url, "after": url}));
            new.url.clone_from(url);
        }
        if let Some(p) = &change.patterns {
            let text = patterns_json(p);
            if text != old.event_types {
                changes.insert(
                    "events".into(),
                    json!({"before": old.patterns()?, "after": p}),
                );
                new.event_types = text;
            }
        }
        if let Some(a) = change.active.filter(|a| *a != old.active) {
            changes.insert("active".into(), json!({"before": old.active, "after": a}));
            new.active = a;
        }
        new.version = old.version + 1;
        new.updated_at = actor.now;
        actor.subject.clone_into(&mut new.updated_by);
        diesel::update(ws::table.find(id))
            .set((
                ws::url.eq(&new.url),
                ws::event_types.eq(&new.event_types),
                ws::active.eq(new.active),
                ws::version.eq(new.version),
                ws::updated_at.eq(new.updated_at),
                ws::updated_by.eq(&new.updated_by),
            ))
            .execute(conn)?;
        let entry = actor
            .entry(RECORD_TYPE, id, "update", None, changes.into())
            .with_state(ledger::webhook(&old), ledger::webhook(&new));
        audit::append(conn, &entry)?;
        Ok(new)
    })
}

/// Removes a subscription at a version `expected` accepts, audited: the row stays with
/// `deleted_at`; its pending deliveries are parked as failed (listed, never sent).
pub fn delete(
    conn: &mut AnyConnection,
    id: &str,
    expected: Expected<'_>,
    actor: &Actor<'_>,
) -> Result<(), WriteError> {
    write_tx(conn, |conn| {
        let old = locked(conn, id, expected)?;
        let mut new = old.clone();
        new.active = false;
        new.deleted_at = Some(actor.now);
        new.version = old.version + 1;
        new.updated_at = actor.now;
        actor.subject.clone_into(&mut new.updated_by);
        diesel::update(ws::table.find(id))
            .set((
                ws::active.eq(false),
                ws::deleted_at.eq(new.deleted_at),
                ws::version.eq(new.version),
                ws::updated_at.eq(new.updated_at),
                ws::updated_by.eq(&new.updated_by),
            ))
            .execute(conn)?;
        diesel::update(
            wd::table
                .filter(wd::subscription_id.eq(id))
                .filter(wd::status.eq(PENDING)),
        )
        .set((
            wd::status.eq(FAILED),
            wd::last_error.eq("the subscription was removed before the delivery succeeded"),
            wd::lease_until.eq(None::<NaiveDateTime>),
            wd::claimed_by.eq(None::<String>),
            wd::updated_at.eq(actor.now),
        ))
        .execute(conn)?;
        let entry = actor
            .entry(RECORD_TYPE, id, "delete", None, json!({}))
            .with_state(ledger::webhook(&old), ledger::webhook(&new));
        audit::append(conn, &entry)?;
        Ok(())
    })
}

/// A new `webhook-id`: `msg_` and 32 hex digits.
fn msg_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Queues the deliveries of the events just placed in the feed, in the publisher's
/// transaction: one per active subscription whose patterns select the event's type.
pub fn enqueue(conn: &mut AnyConnection, events: &[Event]) -> QueryResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let subs: Vec<Subscription> = ws::table
        .filter(ws::active.eq(true))
        .filter(ws::deleted_at.is_null())
        .order(ws::id.asc())
        .select(Subscription::as_select())
        .load(conn)?;
    if subs.is_empty() {
        return Ok(());
    }
    let now = super::stored_now();
    let subs = subs
        .into_iter()
        .map(|s| Ok((s.patterns()?, s.id)))
        .collect::<QueryResult<Vec<_>>>()?;
    for e in events {
        let position = e.position.ok_or_else(|| {
            diesel::result::Error::QueryBuilderError("an unplaced event to deliver".into())
        })?;
        for (patterns, sid) in &subs {
            if !patterns.iter().any(|p| type_matches(p, &e.event_type)) {
                continue;
            }
            diesel::insert_into(wd::table)
                .values(Delivery {
                    id: msg_id(),
                    subscription_id: sid.clone(),
                    event_id: e.id,
                    event_position: position,
                    event_type: e.event_type.clone(),
                    record_type: e.record_type.clone(),
                    record_id: e.record_id.clone(),
                    status: PENDING.into(),
                    attempts: 0,
                    failures: 0,
                    next_attempt_at: now,
                    lease_until: None,
                    claimed_by: None,
                    last_status: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Whether the worker has anything to do: events not yet placed in the feed, or a pending
/// delivery whose time has come. Two reads on partial indexes, so that an idle worker takes
/// no write lock (SQLite has one writer).
pub fn work_waiting(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<(bool, bool)> {
    let unpublished = super::events::waiting(conn)?;
    let due = wd::table
        .filter(wd::status.eq(PENDING))
        .filter(wd::next_attempt_at.le(now))
        .select(wd::id)
        .first::<String>(conn)
        .optional()?
        .is_some();
    Ok((unpublished, due))
}

/// A delivery a worker holds the lease of, with what it sends.
#[derive(Debug, Clone)]
pub struct Claim {
    pub delivery: Delivery,
    pub url: String,
    pub secret: String,
    pub event: Event,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The due deliveries, first the one due longest. Due: pending, its time has come, no live
/// lease, its subscription active, and no earlier event of its record still pending for its
/// subscription.
const DUE: &str = "SELECT d.id AS id FROM webhook_deliveries d \
     JOIN webhook_subscriptions s ON s.id = d.subscription_id \
     WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
     AND (d.lease_until IS NULL OR d.lease_until <= $2) \
     AND s.active AND s.deleted_at IS NULL \
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
         WHERE e.subscription_id = d.subscription_id AND e.record_type = d.record_type \
         AND e.record_id = d.record_id AND e.status = 'pending' \
         AND e.event_position < d.event_position) \
     ORDER BY d.next_attempt_at, d.event_position LIMIT 1";

/// Takes the lease of one due delivery until `lease_until` for `worker`, if there is one.
/// On PostgreSQL the row is locked with `FOR UPDATE SKIP LOCKED`, so that two instances
/// claiming at once take different deliveries, and one that read the row before the other's
/// lease committed re-checks it and passes; SQLite serialises the claims (`BEGIN IMMEDIATE`).
pub fn claim(
    conn: &mut AnyConnection,
    worker: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<Option<Claim>> {
    write_tx(conn, |conn| {
        let sql = match conn {
            AnyConnection::Pg(_) => format!("{DUE} FOR UPDATE OF d SKIP LOCKED"),
            AnyConnection::Sqlite(_) => DUE.to_owned(),
        };
        let found: Option<Id> = diesel::sql_query(sql)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(now)
            .get_result(conn)
            .optional()?;
        let Some(Id { id }) = found else {
            return Ok(None);
        };
        diesel::update(wd::table.find(&id))
            .set((
                wd::lease_until.eq(Some(lease_until)),
                wd::claimed_by.eq(Some(worker)),
            ))
            .execute(conn)?;
        let delivery: Delivery = wd::table
            .find(&id)
            .select(Delivery::as_select())
            .first(conn)?;
        let (url, secret): (String, String) = ws::table
            .find(&delivery.subscription_id)
            .select((ws::url, ws::secret))
            .first(conn)?;
        let event: Event = ev::table
            .find(delivery.event_id)
            .select(Event::as_select())
            .first(conn)?;
        Ok(Some(Claim {
            delivery,
            url,
            secret,
            event,
        }))
    })
}

/// How an attempt went.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// When the attempt ended.
    pub at: NaiveDateTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// A 2xx answer.
    pub delivered: bool,
}

/// Records an attempt of a delivery `worker` holds: delivered, due again after the
/// schedule's next wait (`domain::webhook::retry_delay_ms`, `unit` its jitter), or parked as
/// failed. `None`: the worker no longer held the delivery (its lease ran out and another
/// instance took it over, or an admin removed the subscription); nothing is written.
pub fn record_attempt(
    conn: &mut AnyConnection,
    claimed: &Delivery,
    worker: &str,
    outcome: &Outcome,
    schedule: &[u64],
    unit: f64,
) -> QueryResult<Option<Delivery>> {
    write_tx(conn, |conn| {
        let attempt = claimed.attempts + 1;
        let failures = if outcome.delivered {
            0
        } else {
            claimed.failures + 1
        };
        let wait = u32::try_from(failures)
            .ok()
            .and_then(|f| crate::domain::webhook::retry_delay_ms(schedule, f, unit));
        let (status, next) = match (outcome.delivered, wait) {
            (true, _) => (DELIVERED, claimed.next_attempt_at),
            (false, Some(ms)) => (
                PENDING,
                outcome.at + chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)),
            ),
            (false, None) => (FAILED, claimed.next_attempt_at),
        };
        let n = diesel::update(
            wd::table
                .find(&claimed.id)
                .filter(wd::status.eq(PENDING))
                .filter(wd::claimed_by.eq(worker))
                .filter(wd::attempts.eq(claimed.attempts)),
        )
        .set((
            wd::status.eq(status),
            wd::attempts.eq(attempt),
            wd::failures.eq(failures),
            wd::next_attempt_at.eq(next),
            wd::lease_until.eq(None::<NaiveDateTime>),
            wd::claimed_by.eq(None::<String>),
            wd::last_status.eq(outcome.status_code),
            wd::last_error.eq(&outcome.error),
            wd::updated_at.eq(outcome.at),
        ))
        .execute(conn)?;
        if n == 0 {
            return Ok(None);
        }
        diesel::insert_into(wa::table)
            .values(Attempt {
                delivery_id: claimed.id.clone(),
                attempt,
                attempted_at: outcome.at,
                status_code: outcome.status_code,
                error: outcome.error.clone(),
                duration_ms: outcome.duration_ms,
                claimed_by: worker.to_owned(),
            })
            .execute(conn)?;
        wd::table
            .find(&claimed.id)
            .select(Delivery::as_select())
            .first(conn)
            .map(Some)
    })
}

/// A delivery with its attempts, oldest attempt first.
pub type WithAttempts = (Delivery, Vec<Attempt>);

fn with_attempts(conn: &mut AnyConnection, rows: Vec<Delivery>) -> QueryResult<Vec<WithAttempts>> {
    let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
    let attempts: Vec<Attempt> = wa::table
        .filter(wa::delivery_id.eq_any(&ids))
        .order((wa::delivery_id.asc(), wa::attempt.asc()))
        .select(Attempt::as_select())
        .load(conn)?;
    let mut by: std::collections::HashMap<String, Vec<Attempt>> = Default::default();
    for a in attempts {
        by.entry(a.delivery_id.clone()).or_default().push(a);
    }
    Ok(rows
        .into_iter()
        .map(|d| {
            let a = by.remove(&d.id).unwrap_or_default();
            (d, a)
        })
        .collect())
}

/// The deliveries of a subscription, newest event first, those of events before position
/// `before` (`None`: from the newest), at most `limit`.
pub fn deliveries(
    conn: &mut AnyConnection,
    subscription: &str,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<WithAttempts>> {
    let mut q = wd::table
        .filter(wd::subscription_id.eq(subscription))
        .select(Delivery::as_select())
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(wd::event_position.lt(b));
    }
    let rows = q.order(wd::event_position.desc()).limit(limit).load(conn)?;
    with_attempts(conn, rows)
}

/// One delivery of a subscription.
pub fn find_delivery(
    conn: &mut AnyConnection,
    subscription: &str,
    id: &str,
) -> QueryResult<Option<WithAttempts>> {
    let row: Option<Delivery> = wd::table
        .find(id)
        .filter(wd::subscription_id.eq(subscription))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?;
    Ok(with_attempts(conn, row.into_iter().collect())?.pop())
}

/// Sends a delivered or failed delivery again (admin): pending, due now, the retry schedule
/// from its start; its attempts so far stay in its history. Audited on the subscription
/// (`webhook.redelivered`), whose own state does not change.
pub fn redeliver(
    conn: &mut AnyConnection,
    subscription: &str,
    id: &str,
    actor: &Actor<'_>,
) -> Result<WithAttempts, WriteError> {
    write_tx(conn, |conn| {
        let sub = find(conn, subscription)?.ok_or_else(|| no_webhook(subscription))?;
        let n = diesel::update(
            wd::table
                .find(id)
                .filter(wd::subscription_id.eq(subscription))
                .filter(wd::status.ne(PENDING)),
        )
        .set((
            wd::status.eq(PENDING),
            wd::failures.eq(0),
            wd::next_attempt_at.eq(actor.now),
            wd::lease_until.eq(None::<NaiveDateTime>),
            wd::claimed_by.eq(None::<String>),
            wd::updated_at.eq(actor.now),
        ))
        .execute(conn)?;
        let found = find_delivery(conn, subscription, id)?.ok_or_else(|| {
            WriteError::NotFound(format!("no delivery {id} of webhook {subscription}"))
        })?;
        if n == 0 {
            return Err(WriteError::Conflict(format!(
                "the delivery {id} is pending already: it is sent when it is due"
            )));
        }
        let state = ledger::webhook(&sub);
        let entry = actor
            .entry(
                RECORD_TYPE,
                subscription,
                "redeliver",
                None,
                json!({"delivery": id, "event_type": found.0.event_type}),
            )
            .with_state(state.clone(), state);
        audit::append(conn, &entry)?;
        Ok(found)
    })
}
