//! Payment requests (Mittelabruf) and payouts (Auszahlung). The applicant requests a tranche,
//! a caseworker prepares the payout, an approver who neither prepared it nor prepared or
//! signed a notice that set the case's grant releases it. The sum
//! paid never exceeds the grant: the release is one conditional update of the case
//! (`paid + x <= granted`), which concurrent releases cannot both pass.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use super::applications::{self as cases, Case, Scope, WriteError, Writer};
use super::notices::NoticeRow;
use super::schema::{applications as ap, notices as n, payment_requests as pr};
use super::steps::payment as step;
use super::{AnyConnection, audit, write_tx};
use crate::domain::notice::NoticeStatus;
use crate::domain::payment::PaymentStatus;
use crate::domain::{Money, Status};

pub const RECORD_TYPE: &str = "payment_request";

/// The statuses in which money may be requested and paid out.
pub const PAYABLE: [Status; 3] = [Status::Approved, Status::ProofSubmitted, Status::Closed];

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = pr)]
pub struct PaymentRow {
    pub id: String,
    pub application_id: String,
    pub amount_cents: Money,
    pub reason: Option<String>,
    pub status: PaymentStatus,
    pub requested_by: String,
    pub requested_at: NaiveDateTime,
    pub prepared_by: Option<String>,
    pub prepared_at: Option<NaiveDateTime>,
    pub paid_by: Option<String>,
    pub paid_at: Option<NaiveDateTime>,
    pub paid_year: Option<i32>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
}

fn load(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<PaymentRow>> {
    pr::table
        .find(id)
        .select(PaymentRow::as_select())
        .first(conn)
        .optional()
}

/// One payment request, if the scope may see its case.
pub fn find(
    conn: &mut AnyConnection,
    id: &str,
    scope: Scope<'_>,
) -> QueryResult<Option<PaymentRow>> {
    match (load(conn, id)?, scope) {
        (Some(row), Scope::All) => Ok(Some(row)),
        (Some(row), _) if cases::visible(conn, &row.application_id, scope)? => Ok(Some(row)),
        _ => Ok(None),
    }
}

/// The payment requests of a case, oldest first; `None` if the case is not visible.
pub fn list_for_case(
    conn: &mut AnyConnection,
    case_id: &str,
    scope: Scope<'_>,
) -> QueryResult<Option<Vec<PaymentRow>>> {
    if !cases::visible(conn, case_id, scope)? {
        return Ok(None);
    }
    pr::table
        .filter(pr::application_id.eq(case_id))
        .order((pr::requested_at.asc(), pr::id.asc()))
        .select(PaymentRow::as_select())
        .load(conn)
        .map(Some)
}

/// Requested or prepared, not yet paid or rejected.
fn open_sum(conn: &mut AnyConnection, case_id: &str) -> QueryResult<Money> {
    let s: Option<Money> = pr::table
        .filter(pr::application_id.eq(case_id))
        .filter(pr::status.eq_any(PaymentStatus::OPEN))
        .select(sql::<Nullable<BigInt>>(
            "CAST(SUM(payment_requests.amount_cents) AS BIGINT)",
        ))
        .first(conn)?;
    Ok(s.unwrap_or(Money::ZERO))
}

/// A tranche requested by the lead applicant: at most what the grant leaves after what was
/// paid and what is already requested. The case row is locked first, so that concurrent
/// requests of one case (on any instance) check the room one after the other.
pub fn request(
    conn: &mut AnyConnection,
    case_id: &str,
    amount: Money,
    reason: Option<&str>,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    write_tx(conn, |conn| {
        cases::lock_case(conn, case_id)?;
        let case = cases::find(conn, case_id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no application {case_id}")))?;
        let open = open_sum(conn, case_id)?;
        let (row, entry) = step::request(&case, open, amount, reason, w)?;
        diesel::insert_into(pr::table).values(&row).execute(conn)?;
        audit::append(conn, &entry)?;
        Ok(row)
    })
}

/// Moves a request on: a caseworker prepares a requested payout, an approver who did not
/// prepare it releases it (the money counts as paid on the day of release).
pub fn payout(
    conn: &mut AnyConnection,
    id: &str,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    write_tx(conn, |conn| {
        let row = find(conn, id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no payment request {id}")))?;
        step::check_payout_role(&row, w)?;
        // The case row's lock first: a concurrent release of the same case waits here and
        // then reads what the other paid.
        cases::lock_case(conn, &row.application_id)?;
        let case = cases::find(conn, &row.application_id, Scope::All)?.ok_or_else(|| {
            WriteError::NotFound(format!("no application {}", row.application_id))
        })?;
        match row.status {
            PaymentStatus::Requested => prepare(conn, &case, &row, w),
            _ => release(conn, &case, &row, w),
        }
    })
}

/// Writes a request's new state if it is still in `status`.
fn update_request(
    conn: &mut AnyConnection,
    after: &PaymentRow,
    status: PaymentStatus,
) -> Result<(), WriteError> {
    let n = diesel::update(pr::table.find(&after.id).filter(pr::status.eq(status)))
        .set((
            pr::status.eq(&after.status),
            pr::prepared_by.eq(&after.prepared_by),
            pr::prepared_at.eq(after.prepared_at),
            pr::paid_by.eq(&after.paid_by),
            pr::paid_at.eq(after.paid_at),
            pr::paid_year.eq(after.paid_year),
            pr::rejected_by.eq(&after.rejected_by),
            pr::rejected_at.eq(after.rejected_at),
            pr::rejection_reason.eq(&after.rejection_reason),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(WriteError::Conflict(
            "the request changed a moment ago".into(),
        ));
    }
    Ok(())
}

fn prepare(
    conn: &mut AnyConnection,
    case: &Case,
    row: &PaymentRow,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    let (after, entry) = step::prepare(case, row, w)?;
    update_request(conn, &after, PaymentStatus::Requested)?;
    audit::append(conn, &entry)?;
    Ok(after)
}

fn release(
    conn: &mut AnyConnection,
    case: &Case,
    row: &PaymentRow,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    let terms = super::notices::in_force(conn, &row.application_id)?
        .as_ref()
        .and_then(super::notices::Notice::payout_terms);
    let notices: Vec<NoticeRow> = n::table
        .filter(n::application_id.eq(&row.application_id))
        .filter(n::status.eq(NoticeStatus::Signed))
        .select(NoticeRow::as_select())
        .load(conn)?;
    let makers = step::grant_makers(&notices);
    let r = step::release(case, row, terms.as_ref(), &makers, w)?;
    let x = row.amount_cents;
    // The guard: `paid + x <= granted` in the statement itself, under the row lock.
    let n = diesel::update(
        ap::table
            .find(&row.application_id)
            .filter(ap::version.eq(case.row.version))
            .filter(ap::status.eq_any(PAYABLE))
            .filter(ap::granted_cents.is_not_null())
            .filter((ap::paid_cents + x).le(ap::granted_cents.assume_not_null())),
    )
    .set((
        ap::paid_cents.eq(r.case.row.paid_cents),
        ap::version.eq(r.case.row.version),
        ap::updated_at.eq(r.case.row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(WriteError::Conflict(
            "the case changed while the payout was being released; try again".into(),
        ));
    }
    update_request(conn, &r.payment, PaymentStatus::Prepared).map_err(|_| {
        WriteError::Conflict("this payout was released by someone else a moment ago".into())
    })?;
    for e in &r.entries {
        audit::append(conn, e)?;
    }
    Ok(r.payment)
}

/// A caseworker turns down a request that is not yet paid, saying why.
pub fn reject(
    conn: &mut AnyConnection,
    id: &str,
    reason: &str,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    write_tx(conn, |conn| {
        let row = find(conn, id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no payment request {id}")))?;
        let (after, entry) = step::reject(&row, reason, w)?;
        update_request(conn, &after, row.status)?;
        audit::append(conn, &entry)?;
        Ok(after)
    })
}
