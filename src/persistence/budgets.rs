//! Budgets per programme and fiscal year: the amount set by an administrator, what signed
//! notices commit of it (a counter changed only by conditional updates), and what was paid
//! out in the year (summed from the released payouts).

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
use serde_json::json;

use super::applications::{WriteError, Writer};
use super::cached::prepared;
use super::schema::{applications as ap, budgets as b, payment_requests as pr, programmes as p};
use super::{AnyConnection, Expected, audit, ledger, write_tx};
use crate::domain::Money;
use crate::domain::money::euros_text as euros;
use crate::domain::payment::PaymentStatus;

pub const RECORD_TYPE: &str = "budget";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = b)]
pub struct BudgetRow {
    pub programme_code: String,
    pub fiscal_year: i32,
    pub amount_cents: Money,
    pub committed_cents: Money,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
    /// Counts every change of the row: the amount set (`put`) and each commitment (`commit`).
    /// The budget's `ETag`.
    pub version: i32,
}

/// A budget with what was paid out in its year and what signings may still commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub row: BudgetRow,
    pub paid_cents: Money,
    pub available: Money,
}

impl Budget {
    fn new(row: BudgetRow, paid_cents: Money) -> QueryResult<Budget> {
        let available = row
            .amount_cents
            .checked_sub(row.committed_cents)
            .ok_or_else(|| crate::persistence::applications::corrupt("budget beyond range"))?;
        Ok(Budget {
            row,
            paid_cents,
            available,
        })
    }
}

/// The audit key of a programme-year.
pub(crate) fn key(programme: &str, year: i32) -> String {
    format!("{programme}/{year}")
}

/// Paid out per fiscal year of the payout, for one programme.
fn paid_by_year(
    conn: &mut AnyConnection,
    programme: &str,
    year: Option<i32>,
) -> QueryResult<Vec<(i32, Money)>> {
    let mut q = pr::table
        .inner_join(ap::table)
        .filter(ap::programme_code.eq(programme))
        .filter(pr::status.eq(PaymentStatus::Paid))
        .group_by(pr::paid_year)
        .select((
            pr::paid_year,
            // Integer cents summed as BIGINT: exact on both backends (typed `sum` is NUMERIC,
            // which SQLite hands back as a float).
            sql::<Nullable<BigInt>>("CAST(SUM(payment_requests.amount_cents) AS BIGINT)"),
        ))
        .into_boxed();
    if let Some(y) = year {
        q = q.filter(pr::paid_year.eq(y));
    }
    let rows: Vec<(Option<i32>, Option<Money>)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(y, s)| Some((y?, s.unwrap_or(Money::ZERO))))
        .collect())
}

/// Whether the programme `code` exists: a budget belongs to one.
fn programme_exists(conn: &mut AnyConnection, code: &str) -> QueryResult<bool> {
    Ok(p::table
        .find(code)
        .select(p::code)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The budgets of a programme by year; `None` if the programme does not exist.
pub fn list(conn: &mut AnyConnection, programme: &str) -> QueryResult<Option<Vec<Budget>>> {
    if !programme_exists(conn, programme)? {
        return Ok(None);
    }
    let rows: Vec<BudgetRow> = b::table
        .filter(b::programme_code.eq(programme))
        .order(b::fiscal_year.asc())
        .select(BudgetRow::as_select())
        .load(conn)?;
    let paid = paid_by_year(conn, programme, None)?;
    Ok(Some(
        rows.into_iter()
            .map(|row| {
                let paid_in_year = paid
                    .iter()
                    .find(|(y, _)| *y == row.fiscal_year)
                    .map_or(Money::ZERO, |(_, s)| *s);
                Budget::new(row, paid_in_year)
            })
            .collect::<QueryResult<_>>()?,
    ))
}

/// The one budget of a programme-year; `None` if the programme or the budget does not exist.
pub fn find(conn: &mut AnyConnection, programme: &str, year: i32) -> QueryResult<Option<Budget>> {
    let row: Option<BudgetRow> = b::table
        .find((programme, year))
        .select(BudgetRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let paid = paid_by_year(conn, programme, Some(year))?;
    let paid_in_year = paid.first().map_or(Money::ZERO, |(_, s)| *s);
    Budget::new(row, paid_in_year).map(Some)
}

/// What setting a budget requires of it (RFC 9110 § 13.1.1, § 13.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// `If-Match`: the budget exists, at a version it accepts.
    Matches(Expected<'a>),
    /// `If-None-Match: *`: the budget does not exist yet; the PUT creates it.
    Absent,
}

/// A budget set: whether the PUT created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set {
    pub budget: Budget,
    pub created: bool,
}

fn precondition(programme: &str, year: i32, what: &str) -> WriteError {
    WriteError::Precondition(format!("the {programme} budget {year} {what}"))
}

/// Creates the row of a budget if it is missing, in one statement that cannot collide: a
/// concurrent PUT of the new budget waits for the other's row (PostgreSQL) and then does
/// nothing, instead of failing on the primary key. (The `on_conflict` DSL does not compile
/// for MultiConnection; this SQL is valid on both backends.) Whether it created the row.
fn insert_missing(
    conn: &mut AnyConnection,
    programme: &str,
    year: i32,
    amount: Money,
    w: &Writer<'_>,
) -> QueryResult<bool> {
    Ok(diesel::sql_query(
        "INSERT INTO budgets (programme_code, fiscal_year, amount_cents, committed_cents, \
         updated_by, updated_at, version) VALUES ($1, $2, $3, 0, $4, $5, 1) \
         ON CONFLICT (programme_code, fiscal_year) DO NOTHING",
    )
    .bind::<Text, _>(programme)
    .bind::<Integer, _>(year)
    .bind::<BigInt, _>(amount.cents())
    .bind::<Text, _>(w.subject)
    .bind::<Timestamp, _>(w.now)
    .execute(conn)?
        == 1)
}

/// Changes the amount of an existing budget whose version `expected` accepts; returns the row
/// it replaced. Lowering it below what is committed is a conflict; the check and the write are
/// one conditional statement, so a signing that commits at the same moment cannot slip
/// between them.
fn change(
    conn: &mut AnyConnection,
    (programme, year): (&str, i32),
    expected: Expected<'_>,
    amount: Money,
    w: &Writer<'_>,
) -> Result<BudgetRow, WriteError> {
    // Lock the row before reading it, so that the version checked and the `before` of the
    // audit entry are what this change replaces: a concurrent PUT or signing waits here until
    // we commit and then reads ours (each PostgreSQL statement sees what committed before it;
    // on SQLite the write transaction is exclusive anyway).
    prepared(diesel::update(b::table.find((programme, year))).set(b::version.eq(b::version)))
        .execute(conn)?;
    let old: BudgetRow = b::table
        .find((programme, year))
        .select(BudgetRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            precondition(
                programme,
                year,
                "does not exist, so If-Match matches nothing; create it with If-None-Match: *",
            )
        })?;
    if !expected.admits(old.version) {
        return Err(precondition(
            programme,
            year,
            &format!(
                "has changed since you read it (it is at ETag \"{}\"); GET it again",
                old.version
            ),
        ));
    }
    let n = prepared(
        diesel::update(
            b::table
                .find((programme, year))
                .filter(b::version.eq(old.version))
                .filter(b::committed_cents.le(amount.cents())),
        )
        .set((
            b::amount_cents.eq(amount.cents()),
            b::updated_by.eq(w.subject),
            b::updated_at.eq(w.now),
            b::version.eq(old.version + 1),
        )),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(WriteError::Conflict(format!(
            "signed notices have committed {} of the {programme} budget {year}; it cannot be \
             set below that (was {})",
            old.committed_cents, old.amount_cents
        )));
    }
    Ok(old)
}

/// Sets the budget of a programme-year: creates it (`Condition::Absent`, else 412) or changes
/// the amount of the version the administrator read (`Condition::Matches`, else 412); `None`
/// if the programme does not exist. Concurrent PUTs of one budget (on any number of
/// instances) are serialised on its row: of two with the same `If-Match` or two creating it,
/// one succeeds and the other gets 412; each audit entry's `before` is the amount the PUT
/// actually replaced.
pub fn put(
    conn: &mut AnyConnection,
    (programme, year): (&str, i32),
    condition: Condition<'_>,
    amount: Money,
    reason: Option<&str>,
    w: &Writer<'_>,
) -> Result<Option<Set>, WriteError> {
    write_tx(conn, |conn| {
        if !programme_exists(conn, programme)? {
            return Ok(None);
        }
        let before = match condition {
            Condition::Absent => {
                if !insert_missing(conn, programme, year, amount, w)? {
                    return Err(precondition(
                        programme,
                        year,
                        "exists already (If-None-Match: * creates a budget only); change it \
                         with If-Match and the ETag of a GET",
                    ));
                }
                None
            }
            Condition::Matches(expected) => {
                Some(change(conn, (programme, year), expected, amount, w)?)
            }
        };
        let row: BudgetRow = b::table
            .find((programme, year))
            .select(BudgetRow::as_select())
            .first(conn)?;
        let paid = paid_by_year(conn, programme, Some(year))?;
        let paid_in_year = paid.first().map_or(Money::ZERO, |(_, s)| *s);
        let entry = put_entry(before.as_ref(), &row, reason, w);
        audit::append(conn, &entry)?;
        Ok(Some(Set {
            budget: Budget::new(row, paid_in_year)?,
            created: before.is_none(),
        }))
    })
}

/// The audit entry of setting a budget (`before`: the row it replaces; `None` creates it).
pub(crate) fn put_entry(
    before: Option<&BudgetRow>,
    after: &BudgetRow,
    reason: Option<&str>,
    w: &Writer<'_>,
) -> audit::Entry {
    w.entry(
        RECORD_TYPE,
        &key(&after.programme_code, after.fiscal_year),
        if before.is_some() { "change" } else { "create" },
        None,
        None,
        reason,
        json!({"amount": {"before": before.map(|b| b.amount_cents), "after": after.amount_cents}}),
    )
    .with_state(
        before.map_or(serde_json::Value::Null, ledger::budget),
        ledger::budget(after),
    )
}

/// Changes what a programme's budgets commit, per fiscal year (inside the signing
/// transaction). An increase is one conditional `UPDATE … WHERE committed + x <= amount`: on
/// PostgreSQL the row lock makes concurrent signings wait and re-check, on SQLite the write
/// transaction is exclusive. Zero rows updated means the budget is missing or exhausted: a
/// conflict that rolls the whole signing back. Only `committed_cents` (and the row's version,
/// its `ETag`) changes: `updated_by` and `updated_at` say who set the amount, and the
/// commitment is in the signing's audit entry (`budget_commitments`), from which verify sums
/// it.
pub fn commit(
    conn: &mut AnyConnection,
    programme: &str,
    deltas: &[(i32, i64)],
) -> Result<(), WriteError> {
    for &(year, delta) in deltas {
        let target = b::table
            .filter(b::programme_code.eq(programme))
            .filter(b::fiscal_year.eq(year));
        let n = if delta > 0 {
            prepared(
                diesel::update(target.filter((b::committed_cents + delta).le(b::amount_cents)))
                    .set((
                        b::committed_cents.eq(b::committed_cents + delta),
                        b::version.eq(b::version + 1),
                    )),
            )
            .execute(conn)?
        } else {
            prepared(
                diesel::update(target.filter(b::committed_cents.ge(-delta))).set((
                    b::committed_cents.eq(b::committed_cents + delta),
                    b::version.eq(b::version + 1),
                )),
            )
            .execute(conn)?
        };
        if n == 1 {
            continue;
        }
        let row: Option<BudgetRow> = b::table
            .find((programme, year))
            .select(BudgetRow::as_select())
            .first(conn)
            .optional()?;
        return Err(WriteError::Conflict(match row {
            None => format!(
                "there is no budget for {programme} in fiscal year {year}; an administrator \
                 sets it with PUT /api/v1/programmes/{programme}/budgets/{year}"
            ),
            Some(r) if delta > 0 => format!(
                "the {programme} budget {year} has {} available; this notice needs {}",
                euros(r.amount_cents.cents() - r.committed_cents.cents()),
                euros(delta)
            ),
            Some(r) => format!(
                "the {programme} budget {year} commits {}, less than the {} to release",
                r.committed_cents,
                euros(-delta)
            ),
        }));
    }
    Ok(())
}
