//! The maintained report totals (docs/reports.md, "Maintained totals"): what the volumes
//! report without `as_of` reads instead of aggregating every case.
//!
//! `report_case_parts` holds what each case contributes, computed from its recorded facts by
//! the report's own SQL (`reporting::contributions`: per basis, year, partner municipality and
//! the case's keys, a joint case split by share); `report_totals` holds their sums. Every write
//! that touches a case calls `follow` in its transaction (from `audit::append_reserved`, which
//! every write goes through, with the cases its events belong to): the case's contribution is
//! computed anew, compared with the stored one, and only the difference is added to the
//! totals. So the totals equal a recomputation from the cases whatever a write changed (the
//! property test in `tests/api/reports_totals.rs`), without a rule per kind of write. The
//! one shortcut is read off what a write changed, not its kind: a write that changes only
//! columns of case rows that no fact reads (`unchanged_by`) does not recompute.
//!
//! Locks: a write adds to a total row with one `INSERT … ON CONFLICT DO UPDATE`, in key order
//! (no deadlock between writers); the row stays locked to the write's commit, so two writes
//! that change the same total (same basis, year, municipality, programme, object) commit one
//! after the other. A rebuild locks both tables for its run.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use serde_json::Value;

use super::AnyConnection;
use super::audit::Entry;
use super::cached::{Cached, Param};
use super::ledger;
use crate::reporting::{self, Contribution};

/// A total's key: basis, year, municipality, Kreis, programme, funding object, joint.
type Key = (String, i32, String, String, String, String, bool);

/// The summed columns of a total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums([i64; 7]);

impl Sums {
    fn of(c: &Contribution) -> Sums {
        Sums([c.n, c.cnt, c.req, c.gra, c.pai, c.rec, c.rep])
    }
    /// `self + sign * o`; `None` beyond i64 (only with corrupt data).
    fn add(self, o: Sums, sign: i64) -> Option<Sums> {
        let mut out = self.0;
        for (a, b) in out.iter_mut().zip(o.0) {
            *a = a.checked_add(b.checked_mul(sign)?)?;
        }
        Some(Sums(out))
    }
    fn is_zero(self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }
}

fn key(c: &Contribution) -> Key {
    (
        c.basis.clone(),
        c.yr,
        c.ags.clone(),
        c.kreis.clone(),
        c.prog.clone(),
        c.fobj.clone(),
        c.joint,
    )
}

fn overflow() -> diesel::result::Error {
    super::applications::corrupt("a report total exceeds the range of cents".to_owned())
}

/// The columns of a case's row (`applications`) that no basis of the report reads: the
/// lifecycle's bookkeeping. The facts (`reporting::sql::facts`) read the case's keys, its
/// money, `submitted_at` and its members, and the rows of its notices, payouts and
/// repayments; `contributions_read_none_of_the_lifecycle_columns` checks the report's SQL
/// against this list.
pub const UNREAD_CASE_COLUMNS: [&str; 8] = [
    "status",
    "version",
    "updated_at",
    "info_due",
    "early_start_at",
    "early_start_by",
    "clock_seconds",
    "clock_since",
];

/// Whether a write of `entries` leaves every contribution as it was, read off what it
/// changed (the entries' state changes, which verify reconciles with the rows): every entry
/// is a case's, and changes only `UNREAD_CASE_COLUMNS` of its row (no cost line, no member,
/// no other record). Most lifecycle steps are such writes (a request for information, its
/// answer, a review's start); a submission (it sets `submitted_at`) is not, nor an entry
/// without its state change.
pub fn unchanged_by(entries: &[&Entry]) -> bool {
    entries.iter().all(|e| {
        e.record_type == ledger::APPLICATION
            && e.state.as_ref().is_some_and(|s| match &s.patch {
                Value::Object(tables) => tables.iter().all(|(table, cols)| {
                    table == "applications"
                        && cols.as_object().is_some_and(|cols| {
                            cols.keys()
                                .all(|c| UNREAD_CASE_COLUMNS.contains(&c.as_str()))
                        })
                }),
                _ => false,
            })
    })
}

/// Brings the totals up to date with the cases `cases` (a write's, in its transaction).
pub fn follow(conn: &mut AnyConnection, cases: &[String]) -> QueryResult<()> {
    let mut cases: Vec<&String> = cases.iter().collect();
    cases.sort_unstable();
    cases.dedup();
    if cases.is_empty() {
        return Ok(());
    }
    // On PostgreSQL the write transaction plans generically (`persistence::write_tx`): the
    // contribution's statement was planned anew at every execution otherwise.
    for case in cases {
        follow_case(conn, case)?;
    }
    Ok(())
}

fn follow_case(conn: &mut AnyConnection, case: &str) -> QueryResult<()> {
    let mut now = reporting::contributions(conn, Some(case))?;
    let mut before = stored_parts(conn, case)?;
    now.sort_unstable_by_key(key);
    before.sort_unstable_by_key(key);
    if now == before {
        return Ok(());
    }
    let mut delta: BTreeMap<Key, Sums> = BTreeMap::new();
    for (list, sign) in [(&now, 1), (&before, -1)] {
        for c in list {
            let slot = delta.entry(key(c)).or_default();
            *slot = slot.add(Sums::of(c), sign).ok_or_else(overflow)?;
        }
    }
    for (k, d) in delta.iter().filter(|(_, d)| !d.is_zero()) {
        add_to_total(conn, k, *d)?;
    }
    delete_parts(conn, case)?;
    for c in &now {
        insert_part(conn, c)?;
    }
    Ok(())
}

const COLUMNS: &str = "basis, case_id, yr, ags, kreis, prog, fobj, joint, n, cnt, req, gra, pai, \
                       rec, rep";

// The statements below run on every write that touches a case (`follow`): kept prepared per
// connection (`Cached`; `diesel::sql_query` would parse and plan each anew).

fn stored_parts(conn: &mut AnyConnection, case: &str) -> QueryResult<Vec<Contribution>> {
    Cached::new(
        &format!("SELECT {COLUMNS} FROM report_case_parts WHERE case_id = $1"),
        &[Param::Text(case.to_owned())],
    )?
    .load(conn)
}

fn delete_parts(conn: &mut AnyConnection, case: &str) -> QueryResult<()> {
    Cached::new(
        "DELETE FROM report_case_parts WHERE case_id = $1",
        &[Param::Text(case.to_owned())],
    )?
    .execute(conn)
    .map(|_| ())
}

/// The parameters of a key and its sums, in the order of `COLUMNS` after the case.
fn key_params(k: &Key) -> Vec<Param> {
    let (basis, yr, ags, kreis, prog, fobj, joint) = k;
    vec![
        Param::Text(basis.clone()),
        Param::Int(*yr),
        Param::Text(ags.clone()),
        Param::Text(kreis.clone()),
        Param::Text(prog.clone()),
        Param::Text(fobj.clone()),
        Param::Bool(*joint),
    ]
}

fn sum_params(s: Sums) -> impl Iterator<Item = Param> {
    s.0.into_iter().map(Param::BigInt)
}

fn insert_part(conn: &mut AnyConnection, c: &Contribution) -> QueryResult<()> {
    let mut params = key_params(&key(c));
    params.insert(1, Param::Text(c.case_id.clone()));
    params.extend(sum_params(Sums::of(c)));
    Cached::new(
        &format!(
            "INSERT INTO report_case_parts ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ),
        &params,
    )?
    .execute(conn)
    .map(|_| ())
}

/// Adds `d` to the total `k` (creating it), and removes a total no fact counts in any more.
fn add_to_total(conn: &mut AnyConnection, k: &Key, d: Sums) -> QueryResult<()> {
    let mut params = key_params(k);
    params.extend(sum_params(d));
    Cached::new(
        "INSERT INTO report_totals \
         (basis, yr, ags, kreis, prog, fobj, joint, n, cnt, req, gra, pai, rec, rep) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (basis, yr, ags, kreis, prog, fobj, joint) DO UPDATE SET \
         n = report_totals.n + excluded.n, cnt = report_totals.cnt + excluded.cnt, \
         req = report_totals.req + excluded.req, gra = report_totals.gra + excluded.gra, \
         pai = report_totals.pai + excluded.pai, rec = report_totals.rec + excluded.rec, \
         rep = report_totals.rep + excluded.rep",
        &params,
    )?
    .execute(conn)?;
    if d.0[0] < 0 {
        Cached::new(
            "DELETE FROM report_totals WHERE basis = $1 AND yr = $2 AND ags = $3 \
             AND kreis = $4 AND prog = $5 AND fobj = $6 AND joint = $7 AND n = 0",
            &key_params(k),
        )?
        .execute(conn)?;
    }
    Ok(())
}

/// How many cases and totals a rebuild wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    pub parts: usize,
    pub totals: usize,
}

/// Computes every case's contribution and the totals anew from the recorded facts, in one
/// transaction (after a restore, or whenever `check` finds them apart). On PostgreSQL the two
/// tables are locked for the run: a write that touches a case waits, then follows the rebuilt
/// parts.
pub fn rebuild(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Rebuilt> {
    let contributions = reporting::contributions_sql(conn.backend());
    super::write_tx(conn, |conn| {
        if let AnyConnection::Pg(c) = conn {
            diesel::sql_query(
                "LOCK TABLE report_case_parts, report_totals IN ACCESS EXCLUSIVE MODE",
            )
            .execute(c)?;
        }
        diesel::sql_query("DELETE FROM report_totals").execute(conn)?;
        diesel::sql_query("DELETE FROM report_case_parts").execute(conn)?;
        let parts = diesel::sql_query(format!(
            "INSERT INTO report_case_parts ({COLUMNS}) SELECT {COLUMNS} FROM ({contributions}) c"
        ))
        .execute(conn)?;
        let totals = diesel::sql_query(
            "INSERT INTO report_totals \
             (basis, yr, ags, kreis, prog, fobj, joint, n, cnt, req, gra, pai, rec, rep) \
             SELECT basis, yr, ags, kreis, prog, fobj, joint, CAST(SUM(n) AS BIGINT), \
             CAST(SUM(cnt) AS BIGINT), CAST(SUM(req) AS BIGINT), CAST(SUM(gra) AS BIGINT), \
             CAST(SUM(pai) AS BIGINT), CAST(SUM(rec) AS BIGINT), CAST(SUM(rep) AS BIGINT) \
             FROM report_case_parts GROUP BY basis, yr, ags, kreis, prog, fobj, joint",
        )
        .execute(conn)?;
        diesel::sql_query("DELETE FROM report_totals_state").execute(conn)?;
        diesel::sql_query("INSERT INTO report_totals_state (id, built_at) VALUES (1, $1)")
            .bind::<Timestamp, _>(now)
            .execute(conn)?;
        Ok(Rebuilt { parts, totals })
    })
}

/// Marks the totals as not built: the next start-up (`ensure_built`) rebuilds them. A bulk
/// load, which writes rows without the writes that keep the totals, calls this before its
/// first row and `rebuild` after its last, so a load that dies half-way leaves totals that
/// the next start rebuilds, never stale ones that claim to be current.
pub fn forget(conn: &mut AnyConnection) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM report_totals_state")
        .execute(conn)
        .map(|_| ())
}

/// Builds the totals of a database that has none yet (the migration that brought them to a
/// database with cases, or a database restored without them): at start-up.
pub fn ensure_built(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Option<Rebuilt>> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let built: Count =
        diesel::sql_query("SELECT COUNT(*) AS n FROM report_totals_state").get_result(conn)?;
    if built.n > 0 {
        return Ok(None);
    }
    rebuild(conn, now).map(Some)
}

/// How far the kept totals are from a recomputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drift {
    /// Case parts stored but not computed now, or computed but not stored.
    pub parts: i64,
    /// Totals that are not the sum of the stored parts (either way).
    pub totals: i64,
}

impl Drift {
    pub fn is_none(&self) -> bool {
        self.parts == 0 && self.totals == 0
    }
}

/// The kept parts compared with every case's contribution computed now from its facts, and
/// the kept totals with the sums of the parts, in SQL (`EXCEPT` both ways).
pub fn check(conn: &mut AnyConnection) -> QueryResult<Drift> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let contributions = reporting::contributions_sql(conn.backend());
    let parts: Count = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (\
         SELECT * FROM (SELECT {COLUMNS} FROM ({contributions}) c \
         EXCEPT SELECT {COLUMNS} FROM report_case_parts) x \
         UNION ALL \
         SELECT * FROM (SELECT {COLUMNS} FROM report_case_parts \
         EXCEPT SELECT {COLUMNS} FROM ({contributions}) c) y) d"
    ))
    .get_result(conn)?;
    const KEPT: &str = "SELECT basis, yr, ags, kreis, prog, fobj, joint, n, cnt, req, gra, pai, \
                        rec, rep FROM report_totals WHERE n > 0";
    const SUMMED: &str = "SELECT basis, yr, ags, kreis, prog, fobj, joint, \
        CAST(SUM(n) AS BIGINT), CAST(SUM(cnt) AS BIGINT), CAST(SUM(req) AS BIGINT), \
        CAST(SUM(gra) AS BIGINT), CAST(SUM(pai) AS BIGINT), CAST(SUM(rec) AS BIGINT), \
        CAST(SUM(rep) AS BIGINT) FROM report_case_parts \
        GROUP BY basis, yr, ags, kreis, prog, fobj, joint";
    let totals: Count = diesel::sql_query(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM (\
         SELECT * FROM ({KEPT} EXCEPT {SUMMED}) x \
         UNION ALL SELECT * FROM ({SUMMED} EXCEPT {KEPT}) y) d"
    ))
    .get_result(conn)?;
    Ok(Drift {
        parts: parts.n,
        totals: totals.n,
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDateTime;
    use serde_json::{Value, json};

    use super::*;
    use crate::persistence::Backend;
    use crate::persistence::audit::StateChange;

    fn entry(record_type: &'static str, patch: Option<Value>) -> Entry {
        Entry {
            record_type,
            record_key: "c".into(),
            occurred_at: NaiveDateTime::default(),
            actor: "a".into(),
            role: "caseworker".into(),
            action: "request_info".into(),
            from_status: None,
            to_status: None,
            reason: None,
            changes: json!({}),
            state: patch.map(|patch| StateChange {
                patch,
                hash: String::new(),
            }),
        }
    }

    #[test]
    fn only_a_change_of_lifecycle_columns_of_case_rows_leaves_the_totals() {
        let lifecycle = json!({"applications": {"status": "info_requested", "version": 3,
            "updated_at": "2026-12-07T08:00:00.000000", "info_due": "2026-12-21"}});
        let a = entry(ledger::APPLICATION, Some(lifecycle.clone()));
        assert!(unchanged_by(&[&a, &a]));
        for patch in [
            json!({"applications": {"status": "submitted", "submitted_at": "2026-12-07T08:00:00"}}),
            json!({"applications": {"status": "closed", "paid_cents": "100"}}),
            json!({"applications": {"version": 2}, "cost_lines": {"1": null}}),
            json!({"application_members": {"16051000": {"share_bp": 5000}}}),
            json!(null),
        ] {
            let e = entry(ledger::APPLICATION, Some(patch.clone()));
            assert!(!unchanged_by(&[&e]), "{patch}");
            assert!(!unchanged_by(&[&a, &e]), "{patch}");
        }
        assert!(!unchanged_by(&[&entry(ledger::APPLICATION, None)]));
        assert!(!unchanged_by(&[&entry(ledger::NOTICE, Some(lifecycle))]));
    }

    /// `unchanged_by` is right only while no fact reads the columns it lets pass: the
    /// report's SQL reads a case's row through the alias `a` alone, and names none of them
    /// unqualified or through it.
    #[test]
    fn contributions_read_none_of_the_lifecycle_columns() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let text = reporting::contributions_sql(backend);
            let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
            let bytes = text.as_bytes();
            for (i, _) in text.match_indices("applications") {
                assert!(
                    text[i..].starts_with("applications a "),
                    "the case's row read without the alias a: {}",
                    &text[i..(i + 40).min(text.len())]
                );
            }
            for col in UNREAD_CASE_COLUMNS {
                for (i, _) in text.match_indices(col) {
                    let end = i + col.len();
                    if (i > 0 && word(bytes[i - 1])) || (end < bytes.len() && word(bytes[end])) {
                        continue; // part of a longer name
                    }
                    assert!(
                        i >= 2
                            && bytes[i - 1] == b'.'
                            && word(bytes[i - 2])
                            && bytes[i - 2] != b'a'
                            && (i < 3 || !word(bytes[i - 3])),
                        "the facts read {col} at {}",
                        &text[i.saturating_sub(20)..end]
                    );
                }
            }
        }
    }
}
