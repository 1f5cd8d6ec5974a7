//! What a payment request and its payout change: request (lead applicant), prepare
//! (caseworker), release (an approver who did not prepare it), reject. No I/O; the
//! conditional updates in `persistence::payments` guard against concurrent writers.

use serde_json::json;

use crate::domain::application::Violation;
use crate::domain::calendar::german_year;
use crate::domain::money::euros_text as euros;
use crate::domain::{Money, Role, Status};
use crate::persistence::applications::{self as cases, Case, WriteError, Writer};
use crate::persistence::audit::Entry;
use crate::persistence::payments::{PAYABLE, PaymentRow, RECORD_TYPE};

pub(crate) const REQUESTED: &str = "requested";
pub(crate) const PREPARED: &str = "prepared";
pub(crate) const PAID: &str = "paid";
pub(crate) const REJECTED: &str = "rejected";
/// Requested or prepared: not yet paid or rejected.
pub(crate) const OPEN: [&str; 2] = [REQUESTED, PREPARED];

pub(crate) fn payable_strs() -> [&'static str; 3] {
    PAYABLE.map(Status::as_str)
}

fn check_payable(case: &Case) -> Result<(), WriteError> {
    if payable_strs().contains(&case.row.status.as_str()) {
        return Ok(());
    }
    Err(WriteError::Conflict(format!(
        "money is paid out for a case that is {}; this case is {}",
        payable_strs().join(", "),
        case.row.status
    )))
}

/// A tranche requested by the lead applicant: at most what the grant leaves after what was
/// paid and what is already requested (`open`).
pub(crate) fn request(
    case: &Case,
    open: i64,
    amount: Money,
    reason: Option<&str>,
    w: &Writer<'_>,
) -> Result<(PaymentRow, Entry), WriteError> {
    w.check_lead(case)?;
    check_payable(case)?;
    let granted = case.row.granted_cents.unwrap_or(0);
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
    let id = w.make_id();
    let row = PaymentRow {
        id: id.clone(),
        application_id: case.row.id.clone(),
        amount_cents: amount.cents(),
        reason: reason.map(str::to_owned),
        status: REQUESTED.to_owned(),
        requested_by: w.subject.to_owned(),
        requested_at: w.now,
        prepared_by: None,
        prepared_at: None,
        paid_by: None,
        paid_at: None,
        paid_year: None,
        rejected_by: None,
        rejected_at: None,
        rejection_reason: None,
    };
    let entry = w.entry(
        RECORD_TYPE,
        &id,
        "request",
        None,
        Some(REQUESTED),
        reason,
        json!({
            "application": {"before": null, "after": case.row.id},
            "amount": {"before": null, "after": amount.to_string()},
        }),
    );
    Ok((row, entry))
}

/// Who may move a request on, and to what: a caseworker prepares a requested payout, an
/// approver releases a prepared one.
pub(crate) fn check_payout_role(row: &PaymentRow, w: &Writer<'_>) -> Result<(), WriteError> {
    match (w.role, row.status.as_str()) {
        (Role::Caseworker, REQUESTED) | (Role::Approver, PREPARED) => Ok(()),
        (Role::Caseworker | Role::Approver, status) => Err(WriteError::Conflict(format!(
            "this payment request is {status}; a caseworker prepares a requested payout and \
             an approver releases a prepared one"
        ))),
        (role, _) => Err(WriteError::Forbidden(format!(
            "a {role} neither prepares nor releases payouts"
        ))),
    }
}

/// A caseworker prepares a requested payout that the grant still covers.
pub(crate) fn prepare(
    case: &Case,
    row: &PaymentRow,
    w: &Writer<'_>,
) -> Result<(PaymentRow, Entry), WriteError> {
    check_payable(case)?;
    let room = case.row.granted_cents.unwrap_or(0) - case.row.paid_cents;
    if row.amount_cents > room {
        return Err(WriteError::Conflict(format!(
            "{} would exceed the grant: {} of it is not yet paid",
            euros(row.amount_cents),
            euros(room.max(0))
        )));
    }
    let mut after = row.clone();
    after.status = PREPARED.to_owned();
    after.prepared_by = Some(w.subject.to_owned());
    after.prepared_at = Some(w.now);
    let entry = w.entry(
        RECORD_TYPE,
        &row.id,
        "prepare",
        Some(REQUESTED),
        Some(PREPARED),
        None,
        json!({}),
    );
    Ok((after, entry))
}

/// What releasing a payout changes: the case's paid amount (and version) and the request.
#[derive(Debug, Clone)]
pub(crate) struct Release {
    pub case: Case,
    pub payment: PaymentRow,
    /// The case's history entry (`payout`) and the request's (`pay`).
    pub entries: [Entry; 2],
}

/// An approver who did not prepare it releases a prepared payout, if the case is payable and
/// the grant covers it; the money counts as paid on the day (and German fiscal year) of
/// release.
pub(crate) fn release(
    case: &Case,
    row: &PaymentRow,
    w: &Writer<'_>,
) -> Result<Release, WriteError> {
    if row.prepared_by.as_deref() == Some(w.subject) {
        return Err(WriteError::Forbidden(
            "four-eyes principle: a payout is released by someone other than the person who \
             prepared it"
                .into(),
        ));
    }
    check_payable(case)?;
    let x = row.amount_cents;
    let paid = case.row.paid_cents;
    match case.row.granted_cents {
        Some(granted) if paid + x <= granted => {}
        granted => {
            return Err(WriteError::Conflict(format!(
                "paying {} would exceed the grant {}: {} is paid already",
                euros(x),
                euros(granted.unwrap_or(0)),
                euros(paid)
            )));
        }
    }
    let mut after = case.clone();
    after.row.paid_cents = paid + x;
    after.row.version = case.row.version + 1;
    after.row.updated_at = w.now;
    let mut payment = row.clone();
    payment.status = PAID.to_owned();
    payment.paid_by = Some(w.subject.to_owned());
    payment.paid_at = Some(w.now);
    payment.paid_year = Some(german_year(w.now));
    let status = case.row.status.as_str();
    let reason = format!("payment request {}", row.id);
    let payout = w.entry(
        cases::RECORD_TYPE,
        &case.row.id,
        "payout",
        Some(status),
        Some(status),
        Some(&reason),
        json!({"paid_amount": {"before": euros(paid), "after": euros(paid + x)}}),
    );
    let pay = w.entry(
        RECORD_TYPE,
        &row.id,
        "pay",
        Some(PREPARED),
        Some(PAID),
        None,
        json!({}),
    );
    Ok(Release {
        case: after,
        payment,
        entries: [payout, pay],
    })
}

/// A caseworker turns down a request that is not yet paid, saying why.
pub(crate) fn reject(
    row: &PaymentRow,
    reason: &str,
    w: &Writer<'_>,
) -> Result<(PaymentRow, Entry), WriteError> {
    if !OPEN.contains(&row.status.as_str()) {
        return Err(WriteError::Conflict(format!(
            "this payment request is {}; only a requested or prepared one can be rejected",
            row.status
        )));
    }
    let mut after = row.clone();
    after.status = REJECTED.to_owned();
    after.rejected_by = Some(w.subject.to_owned());
    after.rejected_at = Some(w.now);
    after.rejection_reason = Some(reason.to_owned());
    let entry = w.entry(
        RECORD_TYPE,
        &row.id,
        "reject",
        Some(&row.status),
        Some(REJECTED),
        Some(reason),
        json!({}),
    );
    Ok((after, entry))
}
