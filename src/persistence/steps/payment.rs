//! What a payment request and its payout change: request (lead applicant), prepare
//! (caseworker), release (an approver who neither prepared it nor made the grant), reject. No I/O; the
//! conditional updates in `persistence::payments` guard against concurrent writers.

use serde_json::{Value, json};

use crate::domain::application::Violation;
use crate::domain::calendar::german_year;
use crate::domain::money::euros_text as euros;
use crate::domain::notice::NoticeStatus;
use crate::domain::payment::{
    GrantMaker, PaymentStatus, PayoutTerms, four_eyes_refusal, payout_refusal,
};
use crate::domain::{Money, Role, Status};
use crate::persistence::applications::{self as cases, Case, WriteError, Writer};
use crate::persistence::audit::Entry;
use crate::persistence::ledger;
use crate::persistence::notices::NoticeRow;
use crate::persistence::payments::{PAYABLE, PaymentRow, RECORD_TYPE};

use super::add;

const REQUESTED: PaymentStatus = PaymentStatus::Requested;
const PREPARED: PaymentStatus = PaymentStatus::Prepared;

fn check_payable(case: &Case) -> Result<(), WriteError> {
    if PAYABLE.contains(&case.row.status) {
        return Ok(());
    }
    Err(WriteError::Conflict(format!(
        "money is paid out for a case that is {}; this case is {}",
        PAYABLE.map(Status::as_str).join(", "),
        case.row.status
    )))
}

/// A tranche requested by the lead applicant: at most what the grant leaves after what was
/// paid and what is already requested (`open`).
pub(crate) fn request(
    case: &Case,
    open: Money,
    amount: Money,
    reason: Option<&str>,
    w: &Writer<'_>,
) -> Result<(PaymentRow, Entry), WriteError> {
    w.check_lead(case)?;
    check_payable(case)?;
    let granted = case.row.granted_cents.map_or(0, Money::cents);
    let room = granted - case.row.paid_cents.cents() - open.cents();
    if amount.cents() <= 0 || amount.cents() > room {
        return Err(WriteError::Invalid(vec![Violation {
            field: "amount".into(),
            message: format!(
                "must lie above 0.00 and not above {}: the grant {} less {} paid and {} \
                 requested and not yet paid",
                euros(room.max(0)),
                euros(granted),
                case.row.paid_cents,
                open
            ),
        }]));
    }
    let id = w.make_id();
    let row = PaymentRow {
        id: id.clone(),
        application_id: case.row.id.clone(),
        amount_cents: amount,
        reason: reason.map(str::to_owned),
        status: REQUESTED,
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
    let entry = w
        .entry(
            RECORD_TYPE,
            &id,
            "request",
            None,
            Some(REQUESTED.as_str()),
            reason,
            json!({
                "application": {"before": null, "after": case.row.id},
                "amount": {"before": null, "after": amount},
            }),
        )
        .with_state(Value::Null, ledger::payment(&row));
    Ok((row, entry))
}

/// Who may move a request on, and to what: a caseworker prepares a requested payout, an
/// approver releases a prepared one.
pub(crate) fn check_payout_role(row: &PaymentRow, w: &Writer<'_>) -> Result<(), WriteError> {
    match (w.role, row.status) {
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
    let room = case.row.granted_cents.map_or(0, Money::cents) - case.row.paid_cents.cents();
    if row.amount_cents.cents() > room {
        return Err(WriteError::Conflict(format!(
            "{} would exceed the grant: {} of it is not yet paid",
            row.amount_cents,
            euros(room.max(0))
        )));
    }
    let mut after = row.clone();
    after.status = PREPARED;
    after.prepared_by = Some(w.subject.to_owned());
    after.prepared_at = Some(w.now);
    let entry = w
        .entry(
            RECORD_TYPE,
            &row.id,
            "prepare",
            Some(REQUESTED.as_str()),
            Some(PREPARED.as_str()),
            None,
            json!({}),
        )
        .with_state(ledger::payment(row), ledger::payment(&after));
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

/// The signed notices among `notices` that set a grant (a grant, amendment, final notice or
/// revocation: the ones with a granted amount), with who prepared and signed them.
pub(crate) fn grant_makers<'a>(
    notices: impl IntoIterator<Item = &'a NoticeRow>,
) -> Vec<GrantMaker<'a>> {
    notices
        .into_iter()
        .filter(|n| n.status == NoticeStatus::Signed && n.granted_cents.is_some())
        .map(|n| GrantMaker {
            notice: n.number.as_deref().unwrap_or(&n.id),
            prepared_by: &n.prepared_by,
            signed_by: n.signed_by.as_deref(),
        })
        .collect()
}

/// An approver releases a prepared payout if four eyes hold across the money (they neither
/// prepared it nor prepared or signed a notice that set the case's grant:
/// `four_eyes_refusal`, 403), the case is payable, the grant covers it and the notice in force
/// lets the money flow today (`payout_refusal`: its deemed delivery and its fiscal years); the
/// money counts as paid on the day (and German fiscal year) of release.
pub(crate) fn release(
    case: &Case,
    row: &PaymentRow,
    terms: Option<&PayoutTerms>,
    grant_makers: &[GrantMaker<'_>],
    w: &Writer<'_>,
) -> Result<Release, WriteError> {
    if let Some(refusal) = four_eyes_refusal(w.subject, row.prepared_by.as_deref(), grant_makers) {
        return Err(WriteError::Forbidden(refusal));
    }
    check_payable(case)?;
    let x = row.amount_cents;
    let paid = case.row.paid_cents;
    let terms = terms.ok_or_else(|| {
        WriteError::Conflict("the case has no signed grant notice in force".into())
    })?;
    if let Some(refusal) = payout_refusal(terms, w.today(), paid, x) {
        return Err(WriteError::Conflict(refusal));
    }
    let paid_after = add(paid, x)?;
    match case.row.granted_cents {
        Some(granted) if paid_after <= granted => {}
        granted => {
            return Err(WriteError::Conflict(format!(
                "paying {x} would exceed the grant {}: {paid} is paid already",
                granted.unwrap_or(Money::ZERO),
            )));
        }
    }
    let mut after = case.clone();
    after.row.paid_cents = paid_after;
    after.row.version = case.row.version + 1;
    after.row.updated_at = w.now;
    let mut payment = row.clone();
    payment.status = PaymentStatus::Paid;
    payment.paid_by = Some(w.subject.to_owned());
    payment.paid_at = Some(w.now);
    payment.paid_year = Some(german_year(w.now));
    let status = case.row.status.as_str();
    let reason = format!("payment request {}", row.id);
    let payout = w
        .entry(
            cases::RECORD_TYPE,
            &case.row.id,
            "payout",
            Some(status),
            Some(status),
            Some(&reason),
            json!({"paid_amount": {"before": paid, "after": paid_after}}),
        )
        .with_state(ledger::case(case), ledger::case(&after));
    let pay = w
        .entry(
            RECORD_TYPE,
            &row.id,
            "pay",
            Some(PREPARED.as_str()),
            Some(PaymentStatus::Paid.as_str()),
            None,
            json!({}),
        )
        .with_state(ledger::payment(row), ledger::payment(&payment));
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
    if !row.status.is_open() {
        return Err(WriteError::Conflict(format!(
            "this payment request is {}; only a requested or prepared one can be rejected",
            row.status
        )));
    }
    let mut after = row.clone();
    after.status = PaymentStatus::Rejected;
    after.rejected_by = Some(w.subject.to_owned());
    after.rejected_at = Some(w.now);
    after.rejection_reason = Some(reason.to_owned());
    let entry = w
        .entry(
            RECORD_TYPE,
            &row.id,
            "reject",
            Some(row.status.as_str()),
            Some(PaymentStatus::Rejected.as_str()),
            Some(reason),
            json!({}),
        )
        .with_state(ledger::payment(row), ledger::payment(&after));
    Ok((after, entry))
}
