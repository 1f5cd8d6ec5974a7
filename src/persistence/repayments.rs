//! Repayments (Rückzahlungen) on a reclaim, and the reclaim's account: the tranches of paid
//! money a reclaim covers, the interest on them (§ 49a (3) VwVfG) and the repayments credited
//! (§ 367 (1) BGB) — `domain::reclaim`. A repayment is recorded by a caseworker, once, with
//! the day it was received; it is never changed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::applications::{self as cases, Scope, WriteError, Writer};
use super::notices::NoticeRow;
use super::schema::{notices as n, payment_requests as pr, repayments as rp};
use super::steps::repayment as step;
use super::{AnyConnection, audit, write_tx};
use crate::domain::Money;
use crate::domain::calendar::german_date;
use crate::domain::notice::NoticeStatus;
use crate::domain::payment::PaymentStatus;
use crate::domain::reclaim::{Reclaim, Tranche, tranches};

pub const RECORD_TYPE: &str = "repayment";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = rp)]
pub struct RepaymentRow {
    pub id: String,
    pub application_id: String,
    pub amount_cents: Money,
    pub received_on: NaiveDate,
    pub received_year: i32,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
}

/// What the account of a case's reclaims is made of, read in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclaimFacts {
    /// The parts of payouts the signed reclaims cover.
    pub tranches: Vec<Tranche>,
    /// The first reclaim's signing day (German): no repayment is received before it.
    pub first_reclaim_on: Option<NaiveDate>,
    pub repayments: Vec<RepaymentRow>,
}

impl ReclaimFacts {
    pub fn repayment_pairs(&self) -> Vec<(NaiveDate, Money)> {
        self.repayments
            .iter()
            .map(|r| (r.received_on, r.amount_cents))
            .collect()
    }
}

fn all_of_case(conn: &mut AnyConnection, case_id: &str) -> QueryResult<Vec<RepaymentRow>> {
    rp::table
        .filter(rp::application_id.eq(case_id))
        .order((rp::received_on.asc(), rp::recorded_at.asc(), rp::id.asc()))
        .select(RepaymentRow::as_select())
        .load(conn)
}

/// One repayment by id.
pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<RepaymentRow>> {
    rp::table
        .find(id)
        .select(RepaymentRow::as_select())
        .first(conn)
        .optional()
}

/// Every repayment (verify reconciles them with the log).
pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<RepaymentRow>> {
    rp::table
        .order(rp::id.asc())
        .select(RepaymentRow::as_select())
        .load(conn)
}

/// The repayments of a case, if the scope may see it.
pub fn list_for_case(
    conn: &mut AnyConnection,
    case_id: &str,
    scope: Scope<'_>,
) -> QueryResult<Option<Vec<RepaymentRow>>> {
    if !cases::visible(conn, case_id, scope)? {
        return Ok(None);
    }
    all_of_case(conn, case_id).map(Some)
}

/// The payouts, the signed reclaims and the repayments of a case.
pub fn reclaim_facts(conn: &mut AnyConnection, case_id: &str) -> QueryResult<ReclaimFacts> {
    let payouts: Vec<(String, Option<NaiveDateTime>, Money)> = pr::table
        .filter(pr::application_id.eq(case_id))
        .filter(pr::status.eq(PaymentStatus::Paid))
        .order((pr::paid_at.asc(), pr::id.asc()))
        .select((pr::id, pr::paid_at, pr::amount_cents))
        .load(conn)?;
    let notices: Vec<NoticeRow> = n::table
        .filter(n::application_id.eq(case_id))
        .filter(n::status.eq(NoticeStatus::Signed))
        .filter(n::reclaim_cents.gt(0_i64))
        .order(n::seq.asc())
        .select(NoticeRow::as_select())
        .load(conn)?;
    let paid_until = |at: Option<NaiveDateTime>| -> Money {
        let cents = payouts
            .iter()
            .filter(|(_, paid, _)| paid.is_some_and(|p| at.is_none_or(|a| p <= a)))
            .map(|(_, _, m)| m.cents())
            .sum();
        Money::from_cents(cents).unwrap_or(Money::ZERO)
    };
    let reclaims: Vec<Reclaim> = notices
        .iter()
        .filter_map(|r| {
            Some(Reclaim {
                notice: r.number.clone().unwrap_or_else(|| r.id.clone()),
                amount: r.reclaim_cents?,
                interest_from: r.interest_from,
                paid_then: paid_until(r.signed_at),
            })
        })
        .collect();
    let dated: Vec<(String, NaiveDate, Money)> = payouts
        .iter()
        .filter_map(|(id, at, m)| Some((id.clone(), german_date((*at)?), *m)))
        .collect();
    Ok(ReclaimFacts {
        tranches: tranches(&dated, &reclaims),
        first_reclaim_on: notices.first().and_then(|r| r.signed_at).map(german_date),
        repayments: all_of_case(conn, case_id)?,
    })
}

/// Records a repayment (caseworker): received on a day not in the future and not before the
/// first reclaim, not before a repayment already recorded, and at most what is outstanding
/// on that day, interest included (`steps::repayment`).
pub fn record(
    conn: &mut AnyConnection,
    case_id: &str,
    amount: Money,
    received_on: NaiveDate,
    w: &Writer<'_>,
) -> Result<RepaymentRow, WriteError> {
    write_tx(conn, |conn| {
        cases::lock_case(conn, case_id)?;
        let case = cases::find(conn, case_id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no application {case_id}")))?;
        let facts = reclaim_facts(conn, case_id)?;
        let rates: Vec<_> = super::base_rates::list(conn)?
            .iter()
            .map(|r| r.rate())
            .collect();
        let (row, entry) = step::record(&case, &facts, &rates, amount, received_on, w)?;
        diesel::insert_into(rp::table).values(&row).execute(conn)?;
        audit::append(conn, &entry)?;
        Ok(row)
    })
}
