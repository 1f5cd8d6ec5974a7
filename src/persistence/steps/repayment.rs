//! What recording a repayment checks and writes (no I/O): the day, the order of receipt and
//! the amount against the reclaim's account on that day (`domain::reclaim`).

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use crate::domain::application::Violation;
use crate::domain::calendar::business_date_problem;
use crate::domain::interest::BaseRate;
use crate::domain::reclaim::{AccountError, account};
use crate::domain::{Money, Role};
use crate::persistence::applications::{Case, WriteError, Writer};
use crate::persistence::audit::Entry;
use crate::persistence::ledger;
use crate::persistence::repayments::{RECORD_TYPE, ReclaimFacts, RepaymentRow};

fn invalid(field: &str, message: String) -> WriteError {
    WriteError::Invalid(vec![Violation {
        field: field.into(),
        message,
    }])
}

/// Why `received_on` cannot be the day of a repayment on these facts, if it cannot.
fn day_problem(facts: &ReclaimFacts, received_on: NaiveDate, today: NaiveDate) -> Option<String> {
    if let Some(p) = business_date_problem(received_on) {
        return Some(p);
    }
    if received_on > today {
        return Some(format!("must not lie after today ({today})"));
    }
    if let Some(first) = facts.first_reclaim_on.filter(|f| received_on < *f) {
        return Some(format!(
            "lies before the first reclaim was signed ({first})"
        ));
    }
    let last = facts.repayments.iter().map(|r| r.received_on).max();
    last.filter(|l| received_on < *l).map(|l| {
        format!(
            "repayments are recorded in the order they were received; the last was received on {l}"
        )
    })
}

/// A caseworker records money received back on the case's reclaims: at most what is
/// outstanding on the day of receipt, interest included.
pub(crate) fn record(
    case: &Case,
    facts: &ReclaimFacts,
    rates: &[BaseRate],
    amount: Money,
    received_on: NaiveDate,
    w: &Writer<'_>,
) -> Result<(RepaymentRow, Entry), WriteError> {
    if w.role != Role::Caseworker {
        return Err(WriteError::Forbidden(format!(
            "a {} does not record repayments",
            w.role
        )));
    }
    if facts.tranches.is_empty() {
        return Err(WriteError::Conflict(format!(
            "nothing is reclaimed on case {}: a repayment answers a signed reclaim",
            case.row.case_number
        )));
    }
    if amount.cents() <= 0 {
        return Err(invalid("amount", "must lie above 0.00".into()));
    }
    if let Some(problem) = day_problem(facts, received_on, w.today()) {
        return Err(invalid("received_on", problem));
    }
    let mut repayments = facts.repayment_pairs();
    let before = account(&facts.tranches, &repayments, received_on, rates)
        .map_err(|e| WriteError::Conflict(e.to_string()))?;
    repayments.push((received_on, amount));
    match account(&facts.tranches, &repayments, received_on, rates) {
        Ok(_) => {}
        Err(AccountError::Overpaid { .. }) => {
            return Err(invalid(
                "amount",
                format!(
                    "must not exceed what is outstanding on {received_on}: {} ({} principal, {} \
                     interest)",
                    before.outstanding(),
                    before.principal_outstanding,
                    before.interest_outstanding
                ),
            ));
        }
        Err(e) => return Err(WriteError::Conflict(e.to_string())),
    }
    let row = RepaymentRow {
        id: w.make_id(),
        application_id: case.row.id.clone(),
        amount_cents: amount,
        received_on,
        received_year: received_on.year(),
        recorded_by: w.subject.to_owned(),
        recorded_at: w.now,
    };
    let entry = w
        .entry(
            RECORD_TYPE,
            &row.id,
            "record",
            None,
            None,
            None,
            json!({
                "application": {"before": null, "after": row.application_id},
                "amount": {"before": null, "after": amount},
                "received_on": {"before": null, "after": received_on},
            }),
        )
        .with_state(Value::Null, ledger::repayment(&row));
    Ok((row, entry))
}
