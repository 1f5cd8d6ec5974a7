//! The append-only audit log, written in the same transaction as the change it records.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::AnyConnection;
use super::schema::audit_events as a;
use crate::domain::audit::{ChainedFields, GENESIS, entry_hash};

/// An entry to append: what a write says about one record, made by the write path's pure
/// steps (`persistence::steps`) and chained into the record's log by `append` or, for the
/// seed's bulk load, by `AuditEvent::chained`.
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
    pub changes: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct AuditEvent {
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
    pub prev_hash: String,
    pub hash: String,
}

fn timestamp_text(t: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

impl AuditEvent {
    /// The entry as the `seq`-th of its record's chain after `prev_hash`, hashed.
    pub fn chained(e: &Entry, seq: i64, prev_hash: String) -> AuditEvent {
        let mut entry = AuditEvent {
            id: 0,
            record_type: e.record_type.to_owned(),
            record_key: e.record_key.clone(),
            seq,
            // Microseconds: what both databases store exactly, so the hash verifies after a
            // round trip.
            occurred_at: e.occurred_at.trunc_subsecs(6),
            actor: e.actor.clone(),
            role: e.role.clone(),
            action: e.action.clone(),
            from_status: e.from_status.clone(),
            to_status: e.to_status.clone(),
            reason: e.reason.clone(),
            changes: e.changes.to_string(),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.expected_hash();
        entry
    }

    /// The hash of this entry's fields chained to its `prev_hash`, with the timestamp text
    /// `append` uses. Also for writers that insert entries themselves (`seed`).
    pub(crate) fn expected_hash(&self) -> String {
        let at = timestamp_text(self.occurred_at);
        entry_hash(
            &self.prev_hash,
            &ChainedFields {
                record_type: &self.record_type,
                record_key: &self.record_key,
                seq: self.seq,
                occurred_at: &at,
                actor: &self.actor,
                role: &self.role,
                action: &self.action,
                from_status: self.from_status.as_deref(),
                to_status: self.to_status.as_deref(),
                reason: self.reason.as_deref(),
                changes: &self.changes,
            },
        )
    }
}

/// Appends an entry to its record's chain. Call inside the transaction of the change; two
/// writers appending to the same record collide on the unique `(record, seq)` and one fails.
pub fn append(conn: &mut AnyConnection, ev: &Entry) -> QueryResult<AuditEvent> {
    let last: Option<(i64, String)> = a::table
        .filter(a::record_type.eq(ev.record_type))
        .filter(a::record_key.eq(&ev.record_key))
        .order(a::seq.desc())
        .select((a::seq, a::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_owned()),
    };
    let entry = AuditEvent::chained(ev, seq, prev_hash);
    diesel::insert_into(a::table)
        .values((
            a::record_type.eq(&entry.record_type),
            a::record_key.eq(&entry.record_key),
            a::seq.eq(entry.seq),
            a::occurred_at.eq(entry.occurred_at),
            a::actor.eq(&entry.actor),
            a::role.eq(&entry.role),
            a::action.eq(&entry.action),
            a::from_status.eq(&entry.from_status),
            a::to_status.eq(&entry.to_status),
            a::reason.eq(&entry.reason),
            a::changes.eq(&entry.changes),
            a::prev_hash.eq(&entry.prev_hash),
            a::hash.eq(&entry.hash),
        ))
        .get_result(conn)
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

/// One record's chain, in order.
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

/// The first entry that does not verify, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct BrokenEntry {
    pub id: i64,
    pub record_type: String,
    pub record_key: String,
    pub seq: i64,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    pub entries_checked: u64,
    pub records_checked: u64,
    /// The first broken entry in (record, seq) order; null when the log verifies.
    pub first_broken: Option<BrokenEntry>,
}

/// Walks every chain: sequence numbers without gaps from 1, each `prev_hash` the hash of the
/// entry before, each hash recomputed from the entry's fields. Reads in pages so that memory
/// stays flat on a large log.
pub fn verify(conn: &mut AnyConnection) -> QueryResult<VerifyReport> {
    const PAGE: i64 = 5_000;
    let mut report = VerifyReport {
        ok: true,
        entries_checked: 0,
        records_checked: 0,
        first_broken: None,
    };
    let mut cursor: Option<(String, String, i64)> = None;
    let mut prev: Option<(String, String, i64, String)> = None;
    loop {
        let mut q = a::table.select(AuditEvent::as_select()).into_boxed();
        if let Some((t, k, s)) = &cursor {
            q = q.filter(
                a::record_type
                    .gt(t.clone())
                    .or(a::record_type.eq(t.clone()).and(
                        a::record_key
                            .gt(k.clone())
                            .or(a::record_key.eq(k.clone()).and(a::seq.gt(*s))),
                    )),
            );
        }
        let page: Vec<AuditEvent> = q
            .order((a::record_type.asc(), a::record_key.asc(), a::seq.asc()))
            .limit(PAGE)
            .load(conn)?;
        let n = page.len();
        for e in page {
            report.entries_checked += 1;
            let same_record = prev
                .as_ref()
                .is_some_and(|(t, k, _, _)| *t == e.record_type && *k == e.record_key);
            let (expected_seq, expected_prev) = match &prev {
                Some((_, _, s, h)) if same_record => (s + 1, h.clone()),
                _ => {
                    report.records_checked += 1;
                    (1, GENESIS.to_owned())
                }
            };
            let problem = if e.seq != expected_seq {
                Some(format!(
                    "sequence {} where {expected_seq} was expected (an entry is missing)",
                    e.seq
                ))
            } else if e.prev_hash != expected_prev {
                Some("prev_hash does not match the previous entry".to_owned())
            } else if e.hash != e.expected_hash() {
                Some("the entry's content does not match its hash".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                report.ok = false;
                report.first_broken = Some(BrokenEntry {
                    id: e.id,
                    record_type: e.record_type,
                    record_key: e.record_key,
                    seq: e.seq,
                    problem,
                });
                return Ok(report);
            }
            cursor = Some((e.record_type.clone(), e.record_key.clone(), e.seq));
            prev = Some((e.record_type, e.record_key, e.seq, e.hash));
        }
        if n < PAGE as usize {
            return Ok(report);
        }
    }
}
