//! The event feed's outbox (docs/events.md). Every audit entry a write appends is also an
//! event, written in the same transaction (`record`, called by `audit::append_reserved`):
//! its type (`domain::event`), the record's id and version, the writer's instant and the
//! record's public representation as the API shows it after the change (rendered by the
//! `Represent` the HTTP layer installs; nothing is written without one).
//!
//! The feed's order is `position`, handed out by `publish` (one publisher at a time) to the
//! events of committed transactions, each round after the last: an event committed late (a
//! transaction that started early and finished late) takes a position after every event
//! already placed, never before one a reader has passed. So a reader that resumes after the
//! last position it saw misses nothing. A record's events come in the order of their
//! versions: a write of a record commits before the next write of it can (the row lock),
//! and within one round a record's events take their positions in version order.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::audit::AuditEvent;
use super::cached::prepared;
use super::schema::{application_members as am, events as ev};
use crate::domain::event::event_type;

/// A record as the API shows it, and the case it belongs to (for scoping).
#[derive(Debug, Clone)]
pub struct Represented {
    pub data: serde_json::Value,
    pub case_id: Option<String>,
}

/// Renders a record's public representation inside the writing transaction, after the write
/// (implemented by `http`, which owns the representations; installed at start-up).
pub trait Represent: Send + Sync {
    /// `record_type` and `key` as the log names them; `at`: the writer's instant (for what a
    /// representation computes from the time, such as a running clock).
    fn represent(
        &self,
        conn: &mut AnyConnection,
        record_type: &str,
        key: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Represented>;

    /// The representation of a case as the write that holds it wrote it (the rows the
    /// transaction has just written, the same as `represent` would read back), without
    /// reading it again.
    fn represent_case(
        &self,
        case: &super::applications::Case,
        at: NaiveDateTime,
    ) -> QueryResult<Represented>;
}

static REPRESENT: RwLock<Option<Arc<dyn Represent>>> = RwLock::new(None);

/// Makes `r` the representation every write of this process records its events with.
pub fn install(r: Arc<dyn Represent>) {
    let mut slot = REPRESENT
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = Some(r);
}

fn representer() -> QueryResult<Arc<dyn Represent>> {
    REPRESENT
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                "no event representation is installed; nothing is written without its event".into(),
            )
        })
}

#[derive(Insertable)]
#[diesel(table_name = ev)]
struct NewEvent<'a> {
    event_type: String,
    record_type: &'a str,
    record_id: &'a str,
    version: i64,
    occurred_at: NaiveDateTime,
    case_id: Option<String>,
    audit_id: i64,
    data: String,
}

/// The events of a write's audit entries, in the write's transaction, after its rows are
/// written. Several entries of one record in one write carry the record as it is at the end
/// of the write. `written`: a case the write holds as it wrote it (its event is rendered from
/// it instead of reading it back). Returns the cases the events belong to.
pub fn record(
    conn: &mut AnyConnection,
    entries: &[AuditEvent],
    written: Option<&super::applications::Case>,
) -> QueryResult<Vec<String>> {
    let r = representer()?;
    let mut rendered: BTreeMap<(&str, &str), Represented> = BTreeMap::new();
    for e in entries {
        let key = (e.record_type.as_str(), e.record_key.as_str());
        if let std::collections::btree_map::Entry::Vacant(slot) = rendered.entry(key) {
            let rep = match written {
                Some(case)
                    if e.record_type == super::applications::RECORD_TYPE
                        && e.record_key == case.row.id =>
                {
                    r.represent_case(case, e.occurred_at)?
                }
                _ => r.represent(conn, &e.record_type, &e.record_key, e.occurred_at)?,
            };
            slot.insert(rep);
        }
    }
    for e in entries {
        let rep = &rendered[&(e.record_type.as_str(), e.record_key.as_str())];
        prepared(diesel::insert_into(ev::table).values(NewEvent {
            event_type: event_type(&e.record_type, &e.action),
            record_type: &e.record_type,
            record_id: &e.record_key,
            version: e.seq,
            occurred_at: e.occurred_at,
            case_id: rep.case_id.clone(),
            audit_id: e.id,
            data: rep.data.to_string(),
        }))
        .execute(conn)?;
    }
    Ok(rendered.into_values().filter_map(|r| r.case_id).collect())
}

/// An event the publisher has placed in the feed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ev)]
pub struct Event {
    pub id: i64,
    pub position: Option<i64>,
    pub event_type: String,
    pub record_type: String,
    pub record_id: String,
    pub version: i64,
    pub occurred_at: NaiveDateTime,
    pub case_id: Option<String>,
    pub data: String,
}

/// The key of the transaction-level advisory lock that lets one publisher at a time run on
/// PostgreSQL ("foerpubl" in ASCII). Writers never take it.
const PUBLISH_LOCK: i64 = 0x666f_6572_7075_626c;

/// The committed events not yet placed, in the order of their transactions (PostgreSQL,
/// under the publisher's lock, so that two instances never place one event twice; SQLite
/// serialises its writers).
fn publishable(conn: &mut AnyConnection) -> QueryResult<Vec<Event>> {
    match conn {
        AnyConnection::Pg(c) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(PUBLISH_LOCK)
                .execute(c)?;
            ev::table
                .filter(ev::position.is_null())
                .select(Event::as_select())
                .order((ev::txid.asc(), ev::id.asc()))
                .load(c)
        }
        AnyConnection::Sqlite(c) => ev::table
            .filter(ev::position.is_null())
            .select(Event::as_select())
            .order(ev::id.asc())
            .load(c),
    }
}

/// `events` (in transaction order) with positions from `first` on, each record's events in
/// the order of their versions (a transaction that waited for a record's lock may have a
/// smaller id than the one it waited for).
fn place(mut events: Vec<Event>, first: i64) -> Vec<Event> {
    let mut slots: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        slots
            .entry((e.record_type.clone(), e.record_id.clone()))
            .or_default()
            .push(i);
    }
    let mut placed: Vec<Option<Event>> = vec![None; events.len()];
    for idx in slots.into_values() {
        let mut mine: Vec<Event> = idx.iter().map(|&i| events[i].clone()).collect();
        mine.sort_by_key(|e| e.version);
        for (slot, e) in idx.into_iter().zip(mine) {
            placed[slot] = Some(e);
        }
    }
    events = placed.into_iter().flatten().collect();
    for (n, e) in (first..).zip(events.iter_mut()) {
        e.position = Some(n);
    }
    events
}

/// The last position handed out (0: none yet).
pub fn head(conn: &mut AnyConnection) -> QueryResult<i64> {
    Ok(ev::table
        .select(diesel::dsl::max(ev::position))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Whether an event waits to be placed in the feed: one read by the partial index
/// `events_unpublished`. Ordered by the index's columns, so that the plan is the index
/// whatever the statistics say: without the order PostgreSQL scanned the whole table when its
/// statistics were older than the last placement (5–14 ms per call at 7,000–12,000 events,
/// growing with the feed; docs/benchmarks.md).
pub fn waiting(conn: &mut AnyConnection) -> QueryResult<bool> {
    Ok(ev::table
        .filter(ev::position.is_null())
        .order((ev::txid.asc(), ev::id.asc()))
        .select(ev::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// Places every event that may be published now in the feed, in one write transaction, and
/// queues their webhook deliveries in it (`webhooks::enqueue`). Returns the events placed.
pub fn publish(conn: &mut AnyConnection) -> QueryResult<Vec<Event>> {
    // Most calls find nothing to do: a read without a write transaction (SQLite's would
    // wait for the write lock).
    if !waiting(conn)? {
        return Ok(Vec::new());
    }
    super::write_tx(conn, |conn| {
        let events = publishable(conn)?;
        if events.is_empty() {
            return Ok(events);
        }
        let placed = place(events, head(conn)? + 1);
        set_positions(conn, &placed)?;
        super::webhooks::enqueue(conn, &placed)?;
        Ok(placed)
    })
}

/// Writes the positions of `placed`: on PostgreSQL in one statement (a round of the
/// publisher places hundreds of events under load), on SQLite row by row (in process).
fn set_positions(conn: &mut AnyConnection, placed: &[Event]) -> QueryResult<()> {
    match conn {
        AnyConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt};
            let ids: Vec<i64> = placed.iter().map(|e| e.id).collect();
            let positions: Vec<Option<i64>> = placed.iter().map(|e| e.position).collect();
            let n = diesel::sql_query(
                "UPDATE events SET position = u.pos \
                 FROM unnest($1::bigint[], $2::bigint[]) AS u(id, pos) WHERE events.id = u.id",
            )
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<diesel::sql_types::Nullable<BigInt>>, _>(positions)
            .execute(c)?;
            if n != placed.len() {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("placed {} events but {n} rows changed", placed.len()).into(),
                ));
            }
        }
        AnyConnection::Sqlite(_) => {
            for e in placed {
                diesel::update(ev::table.find(e.id))
                    .set(ev::position.eq(e.position))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Who reads the feed: the record types its role may read, and for case-level events, the
/// municipalities whose cases it sees (`None`: every case).
#[derive(Debug, Clone, Copy)]
pub struct FeedScope<'a> {
    pub record_types: &'a [&'a str],
    pub municipalities: Option<&'a [String]>,
}

/// The feed after `after`, up to `upto` (the head read before, so that a page never skips
/// an event placed while it was read), at most `limit` events of `types` (`None`: all).
pub fn feed(
    conn: &mut AnyConnection,
    after: i64,
    upto: i64,
    types: Option<&[String]>,
    scope: FeedScope<'_>,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    let mut q = ev::table
        .filter(ev::position.gt(after))
        .filter(ev::position.le(upto))
        .filter(ev::record_type.eq_any(scope.record_types))
        .select(Event::as_select())
        .into_boxed();
    if let Some(t) = types {
        q = q.filter(ev::event_type.eq_any(t));
    }
    if let Some(keys) = scope.municipalities {
        q = q.filter(
            ev::case_id.is_null().or(ev::case_id.eq_any(
                am::table
                    .filter(am::ags.eq_any(keys))
                    .select(am::application_id.nullable()),
            )),
        );
    }
    q.order(ev::position.asc()).limit(limit).load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(id: i64, record: &str, version: i64) -> Event {
        Event {
            id,
            position: None,
            event_type: "application.updated".into(),
            record_type: "application".into(),
            record_id: record.into(),
            version,
            occurred_at: NaiveDateTime::default(),
            case_id: None,
            data: "{}".into(),
        }
    }

    #[test]
    fn a_records_events_take_their_places_in_version_order() {
        // Transaction order put version 3 of A before its version 2.
        let placed = place(vec![e(1, "A", 3), e(2, "B", 1), e(3, "A", 2)], 10);
        let got: Vec<(i64, &str, i64)> = placed
            .iter()
            .map(|e| (e.position.unwrap(), e.record_id.as_str(), e.version))
            .collect();
        assert_eq!(got, vec![(10, "A", 2), (11, "B", 1), (12, "A", 3)]);
    }
}
