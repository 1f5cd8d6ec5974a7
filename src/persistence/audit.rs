//! The append-only audit log, written in the same transaction as the change it records, each
//! entry keyed, chained by the seals (`persistence::seal`, `domain::audit`, docs/audit.md).

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::AnyConnection;
use super::cached::prepared;
use super::schema::audit_events as a;
use crate::domain::audit::{ChainedFields, Keyring, entry_mac, merge_patch_between, state_hash};

/// The keys of this process (set by `startup` or the CLI from the settings). One process
/// signs with one key; tests share the suite's.
static KEYS: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);

/// Makes `keys` the ones every append of this process uses.
pub fn install_keys(keys: Keyring) {
    let mut slot = KEYS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *slot = Some(Arc::new(keys));
}

/// The installed keys, or an error that rolls the write back: nothing is written unsigned.
pub fn keys() -> QueryResult<Arc<Keyring>> {
    KEYS.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
        .ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                "no audit key is installed; nothing is written without one".into(),
            )
        })
}

/// What a write did to a record's stored rows: the merge patch from before to after and the
/// hash of after (`domain::audit`).
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub patch: Value,
    pub hash: String,
}

impl StateChange {
    /// From the record's state before (`Value::Null`: it did not exist) and after, as
    /// `persistence::ledger` gives them (without null columns).
    pub fn between(before: Value, after: Value) -> StateChange {
        StateChange {
            patch: merge_patch_between(&before, &after),
            hash: state_hash(&after),
        }
    }
}

/// An entry to append: what a write says about one record, made by the write path's pure
/// steps (`persistence::steps`) and signed by `append_all` or, for the seed's bulk load, by
/// `Signer::sign`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub record_type: &'static str,
    pub record_key: String,
    /// The writer's instant (microseconds, UTC).
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    /// `{"field": {"before": …, "after": …}, …}`
    pub changes: Value,
    /// The record's rows before and after (`None` until `with_state`; `append_all` refuses
    /// an entry without it).
    pub state: Option<StateChange>,
}

impl Entry {
    /// The entry with the record's state before and after the write.
    pub fn with_state(mut self, before: Value, after: Value) -> Entry {
        self.state = Some(StateChange::between(before, after));
        self
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct AuditEvent {
    /// Unique and increasing in the order the entries were written (with gaps where a
    /// transaction rolled back); the seals fix the order for good.
    pub id: i64,
    pub record_type: String,
    pub record_key: String,
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    pub changes: String,
    pub prev_mac: String,
    pub mac: String,
    pub state: String,
    pub state_hash: String,
    pub key_id: String,
    /// The writing transaction: PostgreSQL's transaction id, the entry's id on SQLite (0:
    /// written before the seals, sealed first). Which seal covers the entry.
    pub txid: i64,
}

/// An instant as the MACs cover it: RFC 3339 with microseconds, UTC.
pub(crate) fn timestamp_text(t: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

impl AuditEvent {
    /// The entry as the `seq`-th of its record with id `id`, before its MAC.
    fn unsigned(e: &Entry, id: i64, seq: i64) -> QueryResult<AuditEvent> {
        let state = e.state.as_ref().ok_or_else(|| {
            diesel::result::Error::QueryBuilderError(
                format!(
                    "the {} entry of {} {} has no state",
                    e.action, e.record_type, e.record_key
                )
                .into(),
            )
        })?;
        Ok(AuditEvent {
            id,
            record_type: e.record_type.to_owned(),
            record_key: e.record_key.clone(),
            seq,
            // Microseconds: what both databases store exactly, so the MAC verifies after a
            // round trip.
            occurred_at: e.occurred_at.trunc_subsecs(6),
            actor: e.actor.clone(),
            role: e.role.clone(),
            action: e.action.clone(),
            from_status: e.from_status.clone(),
            to_status: e.to_status.clone(),
            reason: e.reason.clone(),
            changes: e.changes.to_string(),
            prev_mac: String::new(),
            mac: String::new(),
            state: state.patch.to_string(),
            state_hash: state.hash.clone(),
            key_id: String::new(),
            txid: 0,
        })
    }

    /// The fields the MAC covers.
    pub fn fields(&self) -> ChainedFields<'_> {
        ChainedFields {
            id: self.id,
            record_type: &self.record_type,
            record_key: &self.record_key,
            seq: self.seq,
            occurred_at: self.occurred_at.and_utc().timestamp_micros(),
            actor: &self.actor,
            role: &self.role,
            action: &self.action,
            from_status: self.from_status.as_deref(),
            to_status: self.to_status.as_deref(),
            reason: self.reason.as_deref(),
            changes: &self.changes,
            state: &self.state,
            state_hash: &self.state_hash,
        }
    }

    /// The MAC this entry's fields and `prev_mac` (empty since the seals; entries written
    /// before them carry their chain's) have under the key `keys` knows as its `key_id`;
    /// `None`: the key is not in the ring.
    pub fn expected_mac(&self, keys: &Keyring) -> Option<String> {
        let key = keys.find(&self.key_id)?;
        Some(entry_mac(key, &self.prev_mac, &self.fields()))
    }
}

/// Signs entries with the current key: each entry's MAC covers its id and every field
/// (`append_all`; the seed's bulk load hands out the ids itself). The seals chain them
/// (`persistence::seal`).
#[derive(Debug, Clone)]
pub struct Signer {
    pub keys: Arc<Keyring>,
}

impl Signer {
    /// The entry as the `seq`-th of its record, with id `id`, MAC'd with the current key.
    pub fn sign(&self, e: &Entry, id: i64, seq: i64) -> QueryResult<AuditEvent> {
        let mut ev = AuditEvent::unsigned(e, id, seq)?;
        ev.key_id = self.keys.current.id().to_owned();
        ev.mac = entry_mac(&self.keys.current, &ev.prev_mac, &ev.fields());
        Ok(ev)
    }
}

/// The last `seq` of a record's history (0: none yet).
fn record_seq(conn: &mut AnyConnection, record_type: &str, record_key: &str) -> QueryResult<i64> {
    Ok(a::table
        .filter(a::record_type.eq(record_type))
        .filter(a::record_key.eq(record_key))
        .select(diesel::dsl::max(a::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Appends one entry (`append_all`).
pub fn append(conn: &mut AnyConnection, e: &Entry) -> QueryResult<AuditEvent> {
    append_one(conn, e, None)
}

/// `append` for a write of a case that holds the case as it wrote it: the event shows that
/// case (`events::record`) instead of reading it back.
pub fn append_written(
    conn: &mut AnyConnection,
    e: &Entry,
    case: &super::applications::Case,
) -> QueryResult<AuditEvent> {
    append_one(conn, e, Some(case))
}

fn append_one(
    conn: &mut AnyConnection,
    e: &Entry,
    written: Option<&super::applications::Case>,
) -> QueryResult<AuditEvent> {
    let slots = reserve(conn, &[e])?;
    let mut out = append_signed(conn, &[e], slots, written)?;
    out.pop()
        .ok_or_else(|| diesel::result::Error::QueryBuilderError("nothing appended".into()))
}

/// Appends a write's entries to the log, in the write's transaction. Nothing is locked
/// beyond what the writer holds already (the records' rows, which order the entries of one
/// record): the ids come from a sequence and the sealer chains the entries once their
/// transaction has finished (`persistence::seal`, docs/audit.md).
pub fn append_all(conn: &mut AnyConnection, entries: &[&Entry]) -> QueryResult<Vec<AuditEvent>> {
    let slots = reserve(conn, entries)?;
    append_reserved(conn, entries, slots)
}

/// The places of a write's entries in their records' histories and in the log, taken before
/// the entries are written (`reserve`), so that a write can take them before it locks a row
/// that other writes wait for.
#[derive(Debug)]
pub struct Slots(Vec<(i64, i64)>);

/// The slots of `entries`, whose records' rows the writer holds locked.
pub fn reserve(conn: &mut AnyConnection, entries: &[&Entry]) -> QueryResult<Slots> {
    Ok(Slots(match conn {
        AnyConnection::Pg(c) => pg_slots(c, entries)?,
        AnyConnection::Sqlite(_) => sqlite_slots(conn, entries)?,
    }))
}

/// `entries` signed and written in the `slots` `reserve` gave them.
pub fn append_reserved(
    conn: &mut AnyConnection,
    entries: &[&Entry],
    slots: Slots,
) -> QueryResult<Vec<AuditEvent>> {
    append_signed(conn, entries, slots, None)
}

fn append_signed(
    conn: &mut AnyConnection,
    entries: &[&Entry],
    slots: Slots,
    written: Option<&super::applications::Case>,
) -> QueryResult<Vec<AuditEvent>> {
    if slots.0.len() != entries.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "the slots were reserved for other entries".into(),
        ));
    }
    let signer = Signer { keys: keys()? };
    let mut out = Vec::with_capacity(entries.len());
    for (e, (seq, id)) in entries.iter().zip(slots.0) {
        out.push(signer.sign(e, id, seq)?);
    }
    insert(conn, &mut out)?;
    let cases = super::events::record(conn, &out, written)?;
    // The report totals follow every change of a case in its transaction (but a change of
    // nothing they read).
    if !super::totals::unchanged_by(entries) {
        super::totals::follow(conn, &cases)?;
    }
    Ok(out)
}

/// Each entry's `seq` given the last one its record had before this write (`last`, per
/// entry): the entries of one record in a write follow each other.
fn seqs_after(entries: &[&Entry], last: impl Fn(usize) -> i64) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let before = entries[..i]
            .iter()
            .zip(&out)
            .rev()
            .find(|(p, _)| p.record_type == e.record_type && p.record_key == e.record_key)
            .map(|(_, s)| *s);
        out.push(before.unwrap_or_else(|| last(i)) + 1);
    }
    out
}

#[derive(QueryableByName)]
struct Slot {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    last_seq: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// (seq, id) per entry on PostgreSQL, in one statement: each record's last `seq` and new
/// ids from the sequence, handed out in entry order (ascending, so that a record's entries
/// keep their order by id too).
fn pg_slots(c: &mut diesel::PgConnection, entries: &[&Entry]) -> QueryResult<Vec<(i64, i64)>> {
    use diesel::sql_types::{Array, Text};
    if let [e] = entries {
        // The common case (one record), without arrays to bind and unnest.
        // Run on every write: kept prepared per connection (`Cached`).
        let r: Slot = super::cached::Cached::new(
            "SELECT COALESCE(max(seq), 0) AS last_seq, nextval('audit_event_ids') AS id \
             FROM audit_events WHERE record_type = $1 AND record_key = $2",
            &[
                super::cached::Param::Text(e.record_type.to_owned()),
                super::cached::Param::Text(e.record_key.clone()),
            ],
        )?
        .get_result(c)?;
        return Ok(vec![(r.last_seq + 1, r.id)]);
    }
    let types: Vec<&str> = entries.iter().map(|e| e.record_type).collect();
    let keys: Vec<&str> = entries.iter().map(|e| e.record_key.as_str()).collect();
    let rows: Vec<Slot> = prepared(
        diesel::sql_query(
            "SELECT COALESCE((SELECT max(e.seq) FROM audit_events e \
                          WHERE e.record_type = k.t AND e.record_key = k.k), 0) AS last_seq, \
                nextval('audit_event_ids') AS id \
         FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(t, k, i) ORDER BY k.i",
        )
        .bind::<Array<Text>, _>(types)
        .bind::<Array<Text>, _>(keys),
    )
    .load(c)?;
    if rows.len() != entries.len() {
        return Err(diesel::result::Error::QueryBuilderError(
            "the log's slots do not match the entries".into(),
        ));
    }
    let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    let seqs = seqs_after(entries, |i| rows[i].last_seq);
    Ok(seqs.into_iter().zip(ids).collect())
}

/// (seq, id) per entry on SQLite, whose write transaction holds the database's write lock:
/// ids after the largest.
fn sqlite_slots(conn: &mut AnyConnection, entries: &[&Entry]) -> QueryResult<Vec<(i64, i64)>> {
    let mut last = Vec::with_capacity(entries.len());
    for e in entries {
        last.push(record_seq(conn, e.record_type, &e.record_key)?);
    }
    let seqs = seqs_after(entries, |i| last[i]);
    let first = last_id(conn)?;
    Ok(seqs.into_iter().zip((first + 1)..).collect())
}

/// The largest entry id (0: none).
pub fn last_id(conn: &mut AnyConnection) -> QueryResult<i64> {
    Ok(a::table
        .select(diesel::dsl::max(a::id))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// The entries, each with its `txid`: on PostgreSQL in one statement, the transaction's id
/// set by the column's default and returned; on SQLite one by one (diesel's multi-backend
/// connection has no multi-row insert), the txid being the entry's id.
fn insert(conn: &mut AnyConnection, events: &mut [AuditEvent]) -> QueryResult<()> {
    match conn {
        AnyConnection::Pg(c) => {
            let rows: Vec<_> = events.iter().map(columns).collect();
            let txids: Vec<i64> = prepared(
                diesel::insert_into(a::table)
                    .values(rows)
                    .returning(a::txid),
            )
            .get_results(c)?;
            for (ev, txid) in events.iter_mut().zip(txids) {
                ev.txid = txid;
            }
        }
        AnyConnection::Sqlite(c) => {
            for ev in events.iter_mut() {
                ev.txid = ev.id;
                diesel::insert_into(a::table)
                    .values((columns(ev), a::txid.eq(ev.txid)))
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// An entry's row as the `INSERT` writes it (without `txid`: `insert`).
#[allow(clippy::type_complexity)]
fn columns(
    ev: &AuditEvent,
) -> (
    diesel::dsl::Eq<a::id, i64>,
    diesel::dsl::Eq<a::record_type, &String>,
    diesel::dsl::Eq<a::record_key, &String>,
    diesel::dsl::Eq<a::seq, i64>,
    diesel::dsl::Eq<a::occurred_at, NaiveDateTime>,
    diesel::dsl::Eq<a::actor, &String>,
    diesel::dsl::Eq<a::role, &String>,
    diesel::dsl::Eq<a::action, &String>,
    diesel::dsl::Eq<a::from_status, &Option<String>>,
    diesel::dsl::Eq<a::to_status, &Option<String>>,
    diesel::dsl::Eq<a::reason, &Option<String>>,
    diesel::dsl::Eq<a::changes, &String>,
    diesel::dsl::Eq<a::prev_mac, &String>,
    diesel::dsl::Eq<a::mac, &String>,
    diesel::dsl::Eq<a::state, &String>,
    diesel::dsl::Eq<a::state_hash, &String>,
    diesel::dsl::Eq<a::key_id, &String>,
) {
    (
        a::id.eq(ev.id),
        a::record_type.eq(&ev.record_type),
        a::record_key.eq(&ev.record_key),
        a::seq.eq(ev.seq),
        a::occurred_at.eq(ev.occurred_at),
        a::actor.eq(&ev.actor),
        a::role.eq(&ev.role),
        a::action.eq(&ev.action),
        a::from_status.eq(&ev.from_status),
        a::to_status.eq(&ev.to_status),
        a::reason.eq(&ev.reason),
        a::changes.eq(&ev.changes),
        a::prev_mac.eq(&ev.prev_mac),
        a::mac.eq(&ev.mac),
        a::state.eq(&ev.state),
        a::state_hash.eq(&ev.state_hash),
        a::key_id.eq(&ev.key_id),
    )
}

/// `{"field": {"before": …, "after": …}}` for every top-level field that differs.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            let bv = b.get(k).unwrap_or(&Value::Null);
            if bv != av {
                out.insert(k.clone(), json!({"before": bv, "after": av}));
            }
        }
    }
    Value::Object(out)
}

/// Entries after `after_id` (keyset) and at or after `since`, in log order.
pub fn list(
    conn: &mut AnyConnection,
    since: Option<NaiveDateTime>,
    after_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut q = a::table.select(AuditEvent::as_select()).into_boxed();
    if let Some(s) = since {
        q = q.filter(a::occurred_at.ge(s));
    }
    if let Some(id) = after_id {
        q = q.filter(a::id.gt(id));
    }
    q.order(a::id.asc()).limit(limit).load(conn)
}

/// One record's history, in order.
pub fn for_record(
    conn: &mut AnyConnection,
    record_type: &str,
    record_key: &str,
) -> QueryResult<Vec<AuditEvent>> {
    a::table
        .filter(a::record_type.eq(record_type))
        .filter(a::record_key.eq(record_key))
        .order(a::seq.asc())
        .select(AuditEvent::as_select())
        .load(conn)
}
