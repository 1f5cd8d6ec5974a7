//! The seals: the chain over the audit log (docs/audit.md, "Seals"). A write appends its
//! entries without waiting for any other write (`audit::append_all`); the sealer then folds
//! the entries of every transaction that has finished into a seal, one row per round, each
//! seal MAC'd over its round, the digest of the round's entries and the previous seal's MAC.
//!
//! Which transactions a round takes: on PostgreSQL those with an id below the oldest one
//! that may still write to this database (see `HORIZON`): every one of them has finished,
//! and any transaction that writes later gets a larger id, so each transaction falls into
//! exactly one round. On SQLite, whose writers are serialised, every entry written
//! so far (an entry's txid is its id there).

use chrono::{NaiveDateTime, SubsecRound};
use diesel::prelude::*;

use super::AnyConnection;
use super::audit;
use super::schema::{audit_events as a, audit_seals as s};
use crate::domain::audit::{GENESIS, Keyring, SealDigest, SealFields, seal_mac};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = s)]
pub struct Seal {
    pub id: i64,
    pub from_txid: i64,
    pub to_txid: i64,
    pub entries: i64,
    pub first_event: i64,
    pub last_event: i64,
    pub digest: String,
    pub sealed_at: NaiveDateTime,
    pub prev_mac: String,
    pub mac: String,
    pub key_id: String,
}

impl Seal {
    pub fn fields(&self) -> SealFields<'_> {
        SealFields {
            id: self.id,
            from_txid: self.from_txid,
            to_txid: self.to_txid,
            entries: self.entries,
            first_event: self.first_event,
            last_event: self.last_event,
            digest: &self.digest,
            sealed_at: self.sealed_at.and_utc().timestamp_micros(),
        }
    }

    /// The MAC the seal's fields and `prev_mac` have under its key; `None`: the key is not in
    /// the ring.
    pub fn expected_mac(&self, keys: &Keyring) -> Option<String> {
        let key = keys.find(&self.key_id)?;
        Some(seal_mac(key, &self.prev_mac, &self.fields()))
    }

    /// Whether the entry of transaction `txid` belongs to this seal's round.
    pub fn covers(&self, txid: i64) -> bool {
        self.from_txid <= txid && txid < self.to_txid
    }
}

/// The key of the transaction-level advisory lock that lets one sealer at a time run on
/// PostgreSQL ("foerseal" in ASCII). Writers never take it.
const SEAL_LOCK: i64 = 0x666f_6572_7365_616c;

/// The last seal (`None`: nothing sealed yet).
pub fn last(conn: &mut AnyConnection) -> QueryResult<Option<Seal>> {
    s::table
        .order(s::id.desc())
        .select(Seal::as_select())
        .first(conn)
        .optional()
}

/// The head of the chain: the last seal's id and MAC (0 and `GENESIS` before the first).
pub fn head(conn: &mut AnyConnection) -> QueryResult<(i64, String)> {
    Ok(last(conn)?.map_or((0, GENESIS.to_owned()), |s| (s.id, s.mac)))
}

/// The seals after seal `after`, in order.
pub fn after(conn: &mut AnyConnection, after: i64) -> QueryResult<Vec<Seal>> {
    s::table
        .filter(s::id.gt(after))
        .order(s::id.asc())
        .select(Seal::as_select())
        .load(conn)
}

/// One seal by id.
pub fn find(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<Seal>> {
    s::table
        .find(id)
        .select(Seal::as_select())
        .first(conn)
        .optional()
}

/// The horizon on PostgreSQL: the smallest id among the transactions in progress in the
/// sealer's snapshot, or the snapshot's `xmax` when none is. Transaction ids are
/// cluster-wide, so the snapshot also lists transactions of *other* databases of the cluster
/// (a neighbour's hour-long batch or pg_dump); they cannot write to this log, and waiting for
/// them would stall every seal and checkpoint meanwhile. A transaction is passed over only
/// when `pg_stat_activity` shows it running in another database; one not shown there (it
/// finished meanwhile, or its session is not visible) still holds the horizon, which only
/// delays a round and never skips an entry.
const HORIZON: &str = "\
    SELECT COALESCE( \
        (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x \
          WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                             WHERE a.backend_xid = xid(x) \
                               AND a.datid <> (SELECT oid FROM pg_database \
                                                WHERE datname = current_database()))), \
        pg_snapshot_xmax(pg_current_snapshot())::text::bigint) AS txid";

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    txid: i64,
}

/// The first transaction id the round may not take: every transaction below it has finished.
fn horizon(conn: &mut AnyConnection) -> QueryResult<i64> {
    match conn {
        AnyConnection::Pg(c) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(SEAL_LOCK)
                .execute(c)?;
            Ok(diesel::sql_query(HORIZON).get_result::<Horizon>(c)?.txid)
        }
        AnyConnection::Sqlite(_) => Ok(audit::last_id(conn)? + 1),
    }
}

/// Seals the entries of the transactions that finished since the last seal, at `now`, in a
/// write transaction of its own. `None`: there was nothing to seal.
pub fn seal(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Option<Seal>> {
    let keys = audit::keys()?;
    super::write_tx(conn, |conn| {
        let to = horizon(conn)?;
        let prev = last(conn)?;
        let from = prev.as_ref().map_or(0, |p| p.to_txid);
        if to <= from {
            return Ok(None);
        }
        // The round's entries by the (txid, id) index, then in id order here: a range scan
        // of the round only, whatever the size of the log.
        let mut round: Vec<(i64, String)> = a::table
            .filter(a::txid.ge(from).and(a::txid.lt(to)))
            .select((a::id, a::mac))
            .load(conn)?;
        round.sort_unstable_by_key(|(id, _)| *id);
        let mut digest = SealDigest::default();
        for (id, mac) in &round {
            digest.add(*id, mac);
        }
        let (first, last_id) = (round.first().map(|r| r.0), round.last().map_or(0, |r| r.0));
        let Some(first_event) = first else {
            return Ok(None);
        };
        let mut seal = Seal {
            id: prev.as_ref().map_or(1, |p| p.id + 1),
            from_txid: from,
            to_txid: to,
            entries: digest.count(),
            first_event,
            last_event: last_id,
            digest: digest.finish(),
            sealed_at: now.trunc_subsecs(6),
            prev_mac: prev.map_or_else(|| GENESIS.to_owned(), |p| p.mac),
            mac: String::new(),
            key_id: keys.current.id().to_owned(),
        };
        seal.mac = seal_mac(&keys.current, &seal.prev_mac, &seal.fields());
        diesel::insert_into(s::table).values(&seal).execute(conn)?;
        Ok(Some(seal))
    })
}

/// Seals until nothing is left to seal (at most a few rounds: writes keep coming).
pub fn seal_all(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<()> {
    for _ in 0..8 {
        if seal(conn, now)?.is_none() {
            break;
        }
    }
    Ok(())
}
