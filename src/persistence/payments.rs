//! Payment requests (Mittelabruf) and payouts (Auszahlung). The applicant requests a tranche,
//! a caseworker prepares the payout, an approver who did not prepare it releases it. The sum
//! paid never exceeds the grant: the release is one conditional update of the case
//! (`paid + x <= granted`), which concurrent releases cannot both pass.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use serde_json::json;

use super::applications::{self as cases, Scope, WriteError, Writer};
use super::schema::{applications as ap, payment_requests as pr};
use super::{AnyConnection, audit, write_tx};
use crate::domain::application::Violation;
use crate::domain::money::euros_text as euros;
use crate::domain::{Money, Role, Status};

pub const RECORD_TYPE: &str = "payment_request";

/// The statuses in which money may be requested and paid out.
pub const PAYABLE: [Status; 3] = [Status::Approved, Status::ProofSubmitted, Status::Closed];

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = pr)]
pub struct PaymentRow {
    pub id: String,
    pub application_id: String,
    pub amount_cents: i64,
    pub reason: Option<String>,
    pub status: String,
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

fn payable_strs() -> [&'static str; 3] {
    PAYABLE.map(Status::as_str)
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
    match load(conn, id)? {
        Some(row) if cases::find(conn, &row.application_id, scope)?.is_some() => Ok(Some(row)),
        _ => Ok(None),
    }
}

/// The payment requests of a case, oldest first; `None` if the case is not visible.
pub fn list_for_case(
    conn: &mut AnyConnection,
    case_id: &str,
    scope: Scope<'_>,
) -> QueryResult<Option<Vec<PaymentRow>>> {
    if cases::find(conn, case_id, scope)?.is_none() {
        return Ok(None);
    }
    pr::table
        .filter(pr::application_id.eq(case_id))
        .order((pr::requested_at.asc(), pr::id.asc()))
        .select(PaymentRow::as_select())
        .load(conn)
        .map(Some)
}

fn not_payable(status: &str) -> WriteError {
    WriteError::Conflict(format!(
        "money is paid out for a case that is {}; this case is {status}",
        payable_strs().join(", ")
    ))
}

/// Requested or prepared, not yet paid or rejected.
fn open_sum(conn: &mut AnyConnection, case_id: &str) -> QueryResult<i64> {
    let s: Option<i64> = pr::table
        .filter(pr::application_id.eq(case_id))
        .filter(pr::status.eq_any(["requested", "prepared"]))
        .select(sql::<Nullable<BigInt>>(
            "CAST(SUM(payment_requests.amount_cents) AS BIGINT)",
        ))
        .first(conn)?;
    Ok(s.unwrap_or(0))
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
        w.check_lead(&case)?;
        if !payable_strs().contains(&case.row.status.as_str()) {
            return Err(not_payable(&case.row.status));
        }
        let granted = case.row.granted_cents.unwrap_or(0);
        let open = open_sum(conn, case_id)?;
        let room = granted - case.row.paid_cents - open;
        if amount.cents() <= 0 || amount.cents() > room {
            return Err(WriteError::Invalid(vec![Violation {
                field: "amount".into(),
                message: format!(
                    "must lie above 0.00 and not above {}: the grant {} less {} paid and {} \
                     requested and not yet paid",
                    euros(room.max(0)),
                    euros(granted),
                    euros(case.row.paid_cents),
                    euros(open)
                ),
            }]));
        }
        let id = uuid::Uuid::new_v4().to_string();
        diesel::insert_into(pr::table)
            .values((
                pr::id.eq(&id),
                pr::application_id.eq(case_id),
                pr::amount_cents.eq(amount.cents()),
                pr::reason.eq(reason),
                pr::status.eq("requested"),
                pr::requested_by.eq(w.subject),
                pr::requested_at.eq(w.now),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            &w.event_on(
                RECORD_TYPE,
                &id,
                "request",
                None,
                Some("requested"),
                reason,
                json!({
                    "application": {"before": null, "after": case_id},
                    "amount": {"before": null, "after": amount.to_string()},
                }),
            ),
        )?;
        load(conn, &id)?.ok_or_else(|| WriteError::NotFound(format!("no payment request {id}")))
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
        match (w.role, row.status.as_str()) {
            (Role::Caseworker, "requested") => prepare(conn, &row, w),
            (Role::Approver, "prepared") => release(conn, &row, w),
            (Role::Caseworker | Role::Approver, status) => Err(WriteError::Conflict(format!(
                "this payment request is {status}; a caseworker prepares a requested payout and \
                 an approver releases a prepared one"
            ))),
            (role, _) => Err(WriteError::Forbidden(format!(
                "a {role} neither prepares nor releases payouts"
            ))),
        }
    })
}

fn prepare(
    conn: &mut AnyConnection,
    row: &PaymentRow,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    let case = cases::find(conn, &row.application_id, Scope::All)?
        .ok_or_else(|| WriteError::NotFound(format!("no application {}", row.application_id)))?;
    if !payable_strs().contains(&case.row.status.as_str()) {
        return Err(not_payable(&case.row.status));
    }
    let room = case.row.granted_cents.unwrap_or(0) - case.row.paid_cents;
    if row.amount_cents > room {
        return Err(WriteError::Conflict(format!(
            "{} would exceed the grant: {} of it is not yet paid",
            euros(row.amount_cents),
            euros(room.max(0))
        )));
    }
    let n = diesel::update(pr::table.find(&row.id).filter(pr::status.eq("requested")))
        .set((
            pr::status.eq("prepared"),
            pr::prepared_by.eq(w.subject),
            pr::prepared_at.eq(w.now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(WriteError::Conflict(
            "the request changed a moment ago".into(),
        ));
    }
    audit::append(
        conn,
        &w.event_on(
            RECORD_TYPE,
            &row.id,
            "prepare",
            Some("requested"),
            Some("prepared"),
            None,
            json!({}),
        ),
    )?;
    load(conn, &row.id)?
        .ok_or_else(|| WriteError::NotFound(format!("no payment request {}", row.id)))
}

fn release(
    conn: &mut AnyConnection,
    row: &PaymentRow,
    w: &Writer<'_>,
) -> Result<PaymentRow, WriteError> {
    if row.prepared_by.as_deref() == Some(w.subject) {
        return Err(WriteError::Forbidden(
            "four-eyes principle: a payout is released by someone other than the person who \
             prepared it"
                .into(),
        ));
    }
    let x = row.amount_cents;
    // The guard: the case row is locked by this update until commit; a concurrent release
    // waits and then re-checks `paid + x <= granted` against the new paid amount.
    let n = diesel::update(
        ap::table
            .find(&row.application_id)
            .filter(ap::status.eq_any(payable_strs()))
            .filter(ap::granted_cents.is_not_null())
            .filter((ap::paid_cents + x).le(ap::granted_cents.assume_not_null())),
    )
    .set((
        ap::paid_cents.eq(ap::paid_cents + x),
        ap::version.eq(ap::version + 1),
        ap::updated_at.eq(w.now),
    ))
    .execute(conn)?;
    let after = cases::find(conn, &row.application_id, Scope::All)?
        .ok_or_else(|| WriteError::NotFound(format!("no application {}", row.application_id)))?;
    if n == 0 {
        if !payable_strs().contains(&after.row.status.as_str()) {
            return Err(not_payable(&after.row.status));
        }
        return Err(WriteError::Conflict(format!(
            "paying {} would exceed the grant {}: {} is paid already",
            euros(x),
            euros(after.row.granted_cents.unwrap_or(0)),
            euros(after.row.paid_cents)
        )));
    }
    let m = diesel::update(pr::table.find(&row.id).filter(pr::status.eq("prepared")))
        .set((
            pr::status.eq("paid"),
            pr::paid_by.eq(w.subject),
            pr::paid_at.eq(w.now),
            pr::paid_year.eq(crate::domain::calendar::german_year(w.now)),
        ))
        .execute(conn)?;
    if m == 0 {
        return Err(WriteError::Conflict(
            "this payout was released by someone else a moment ago".into(),
        ));
    }
    let reason = format!("payment request {}", row.id);
    audit::append(
        conn,
        &w.event_on(
            cases::RECORD_TYPE,
            &row.application_id,
            "payout",
            Some(&after.row.status),
            Some(&after.row.status),
            Some(&reason),
            json!({"paid_amount": {
                "before": euros(after.row.paid_cents - x),
                "after": euros(after.row.paid_cents),
            }}),
        ),
    )?;
    audit::append(
        conn,
        &w.event_on(
            RECORD_TYPE,
            &row.id,
            "pay",
            Some("prepared"),
            Some("paid"),
            None,
            json!({}),
        ),
    )?;
    load(conn, &row.id)?
        .ok_or_else(|| WriteError::NotFound(format!("no payment request {}", row.id)))
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
        let n = diesel::update(
            pr::table
                .find(id)
                .filter(pr::status.eq_any(["requested", "prepared"])),
        )
        .set((
            pr::status.eq("rejected"),
            pr::rejected_by.eq(w.subject),
            pr::rejected_at.eq(w.now),
            pr::rejection_reason.eq(reason),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(WriteError::Conflict(format!(
                "this payment request is {}; only a requested or prepared one can be rejected",
                row.status
            )));
        }
        audit::append(
            conn,
            &w.event_on(
                RECORD_TYPE,
                id,
                "reject",
                Some(&row.status),
                Some("rejected"),
                Some(reason),
                json!({}),
            ),
        )?;
        load(conn, id)?.ok_or_else(|| WriteError::NotFound(format!("no payment request {id}")))
    })
}
