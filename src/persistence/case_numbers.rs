//! Case numbers (`EGOV-2026-0042`, `domain::application::case_number`): allocated in a
//! transaction of their own, before the transaction that creates the case, and recorded.
//!
//! The counter of a prefix and year is one row that every create of that prefix and year
//! updates. Taken inside the create's transaction, its lock was held until that transaction
//! committed, so creates ran one after the other (docs/benchmarks.md: 17 + 11 ms of waiting
//! per create at 32 connections). Now the lock lasts as long as the allocation: the counter's
//! upsert and the allocation's record, one statement on PostgreSQL (1.09 ms of waiting for
//! the row per create when it was a transaction of two, docs/benchmarks.md), one short
//! transaction on SQLite. The price is that a number can
//! stay unused (the create is refused after all, repeats an earlier request, or fails), and an
//! unexplained gap in the numbers is what an auditor reads as a deleted case. So every
//! allocation is recorded (`case_number_allocations`: the number, when, by whom), and a
//! number that no case carries gets its reason (`outcome`, written when the create fails); an
//! allocation without a case and without an outcome is a write that never finished (the
//! process ended between the allocation and the commit). docs/audit.md, "Case numbers".

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::cached::{Cached, Param};
use super::schema::case_number_allocations as na;
use super::{AnyConnection, write_tx};
use crate::domain::application::{case_number, case_number_format};

/// The counter of `$1` (prefix) and `$2` (year) counted up, returning its new value. The
/// `on_conflict` DSL does not compile for MultiConnection; this SQL is valid on both backends
/// (SQLite ≥ 3.35 for `RETURNING`).
macro_rules! count_up {
    () => {
        "INSERT INTO case_counters (prefix, year, last_number) VALUES ($1, $2, 1) \
         ON CONFLICT (prefix, year) \
         DO UPDATE SET last_number = case_counters.last_number + 1 \
         RETURNING last_number"
    };
}

#[derive(QueryableByName)]
struct Last {
    #[diesel(sql_type = Integer)]
    last_number: i32,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = Text)]
    case_number: String,
}

/// Allocates the next number of `prefix` and `year` for `by` at `at`, and records it: on its
/// own, committed before the case's transaction (inside another transaction, as in the
/// seed's demo history, as part of it).
pub fn allocate(
    conn: &mut AnyConnection,
    prefix: &str,
    year: i32,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<String> {
    let a = Allocation {
        prefix,
        year,
        by,
        at,
    };
    match conn {
        AnyConnection::Pg(_) => allocate_in_one_statement(conn, &a),
        AnyConnection::Sqlite(_) => allocate_in_a_transaction(conn, &a),
    }
}

/// What `allocate` was asked for.
struct Allocation<'a> {
    prefix: &'a str,
    year: i32,
    by: &'a str,
    at: NaiveDateTime,
}

/// PostgreSQL: the counter's upsert and the allocation's record in one statement, committed
/// by itself. The counter's row is locked for that statement and its commit only, not for
/// the round trips of a transaction around two statements (`BEGIN`, upsert, insert,
/// `COMMIT`); every create of the prefix and year waits for that lock. The number is written
/// as `domain::application::case_number` writes it, from the same `case_number_format`.
fn allocate_in_one_statement(conn: &mut AnyConnection, a: &Allocation<'_>) -> QueryResult<String> {
    let f = case_number_format(a.prefix, a.year);
    let digits = i32::try_from(f.digits).unwrap_or(i32::MAX);
    let n: Number = Cached::new(
        concat!(
            "WITH counted AS (",
            count_up!(),
            ") \
         INSERT INTO case_number_allocations (case_number, allocated_at, allocated_by) \
         SELECT $3 || lpad(CAST(last_number AS TEXT), \
                           GREATEST($4, length(CAST(last_number AS TEXT))), '0'), $5, $6 \
         FROM counted \
         RETURNING case_number"
        ),
        &[
            Param::Text(a.prefix.to_owned()),
            Param::Int(a.year),
            Param::Text(f.head),
            Param::Int(digits),
            Param::Ts(a.at),
            Param::Text(a.by.to_owned()),
        ],
    )?
    .get_result(conn)?;
    Ok(n.case_number)
}

/// SQLite (no `INSERT` in a `WITH`): the upsert and the record in a transaction of their own
/// (a savepoint inside another transaction). SQLite's writers take turns anyway.
fn allocate_in_a_transaction(conn: &mut AnyConnection, a: &Allocation<'_>) -> QueryResult<String> {
    write_tx(conn, |conn| {
        let last: Last = Cached::new(
            count_up!(),
            &[Param::Text(a.prefix.to_owned()), Param::Int(a.year)],
        )?
        .get_result(conn)?;
        let number = case_number(a.prefix, a.year, last.last_number);
        diesel::insert_into(na::table)
            .values((
                na::case_number.eq(&number),
                na::allocated_at.eq(a.at),
                na::allocated_by.eq(a.by),
            ))
            .execute(conn)?;
        Ok(number)
    })
}

/// Records why the allocated `number` carries no case (the create that took it did not store
/// one). If this fails too, the allocation stays without an outcome: a write that did not
/// finish, which is what it is.
pub fn unused(conn: &mut AnyConnection, number: &str, why: &str) {
    let recorded = diesel::update(na::table.find(number))
        .set(na::outcome.eq(why))
        .execute(conn);
    if let Err(e) = recorded {
        log::error!(
            "case number {number} stays unused, and its reason ({why}) was not recorded: {e}"
        );
    }
}

/// A number no case carries, with what its allocation recorded.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Unused {
    pub case_number: String,
    pub allocated_at: NaiveDateTime,
    pub allocated_by: String,
    /// Why the create stored no case; `None`: it never finished.
    pub outcome: Option<String>,
}

/// The allocated numbers that no case carries, in order of allocation.
pub fn unused_numbers(conn: &mut AnyConnection) -> QueryResult<Vec<Unused>> {
    use super::schema::applications as ap;
    na::table
        .filter(diesel::dsl::not(diesel::dsl::exists(
            ap::table.filter(ap::case_number.eq(na::case_number)),
        )))
        .order((na::allocated_at.asc(), na::case_number.asc()))
        .select((
            na::case_number,
            na::allocated_at,
            na::allocated_by,
            na::outcome,
        ))
        .load(conn)
}
