//! The state of every audited record as its stored rows, the one shape both sides of the
//! reconciliation use: a write's audit entry carries the change of this state
//! (`audit::Entry::with_state`), and verify computes it from the live rows
//! (`persistence::verify`). A record's state is `{"<table>": {<column>: <value>, …}, …}`
//! with child rows keyed by their key column (`{"cost_lines": {"1": {…}, "2": {…}}}`);
//! money in cents as decimal text, dates ISO 8601, instants with microseconds.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Digest;

use super::applications::Case;
use super::base_rates::BaseRateRow;
use super::budgets::BudgetRow;
use super::municipalities::Municipality;
use super::notices::{DeliveryRuleRow, Notice};
use super::payments::PaymentRow;
use super::programmes::{FundingObject, Programme};
use super::register::Edition;
use super::repayments::RepaymentRow;
use super::webhooks::Subscription;

/// Record types of the log, as `record_type` (those of a module with its own writes are
/// declared there).
pub const APPLICATION: &str = super::applications::RECORD_TYPE;
pub const NOTICE: &str = super::notices::RECORD_TYPE;
pub const PAYMENT_REQUEST: &str = super::payments::RECORD_TYPE;
pub const BUDGET: &str = super::budgets::RECORD_TYPE;
pub const PROGRAMME: &str = "programme";
pub const BASE_RATE: &str = "base_rate";
pub const DELIVERY_RULE: &str = "delivery_rule";
pub const MUNICIPALITY: &str = "municipality";
pub const REGISTER_EDITION: &str = "register_edition";
pub const REPAYMENT: &str = super::repayments::RECORD_TYPE;
pub const WEBHOOK: &str = super::webhooks::RECORD_TYPE;

/// Every record type, with the table of its main row.
pub const RECORD_TYPES: [(&str, &str); 11] = [
    (APPLICATION, "applications"),
    (NOTICE, "notices"),
    (PAYMENT_REQUEST, "payment_requests"),
    (BUDGET, "budgets"),
    (PROGRAMME, "programmes"),
    (BASE_RATE, "base_rates"),
    (DELIVERY_RULE, "delivery_rules"),
    (MUNICIPALITY, "municipalities"),
    (REGISTER_EDITION, "register_editions"),
    (REPAYMENT, "repayments"),
    (WEBHOOK, "webhook_subscriptions"),
];

/// A row as a JSON object of its columns, without the columns `drop` names (a child row's
/// parent key, which its place in the state says already) and without its null columns.
fn columns<T: Serialize>(row: &T, drop: &[&str]) -> Value {
    match serde_json::to_value(row) {
        Ok(Value::Object(mut m)) => {
            for d in drop {
                m.remove(*d);
            }
            // RFC 7386 cannot tell a null value from a removed one: a state holds neither (a
            // missing column reads as null).
            m.retain(|_, v| !v.is_null());
            Value::Object(m)
        }
        Ok(other) => other,
        Err(e) => unreachable!("a row of strings, numbers and dates serialises: {e}"),
    }
}

/// Child rows keyed by `key`.
fn keyed<T: Serialize>(rows: &[T], key: impl Fn(&T) -> String, drop: &[&str]) -> Value {
    Value::Object(
        rows.iter()
            .map(|r| (key(r), columns(r, drop)))
            .collect::<Map<String, Value>>(),
    )
}

fn tables(parts: Vec<(&str, Value)>) -> Value {
    Value::Object(parts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A case: its row, cost lines and members.
pub fn case(c: &Case) -> Value {
    tables(vec![
        ("applications", columns(&c.row, &[])),
        (
            "cost_lines",
            keyed(&c.lines, |l| l.line_no.to_string(), &["application_id"]),
        ),
        (
            "application_members",
            keyed(&c.members, |m| m.ags.clone(), &["application_id"]),
        ),
    ])
}

/// A notice: its row, lines, allocations and, once signed, its document's hash.
pub fn notice(n: &Notice, document_sha256: Option<&str>) -> Value {
    let mut parts = vec![
        ("notices", columns(&n.row, &[])),
        (
            "notice_lines",
            keyed(&n.lines, |l| l.line_no.to_string(), &["notice_id"]),
        ),
        (
            "notice_allocations",
            keyed(
                &n.allocations,
                |a| a.fiscal_year.to_string(),
                &["notice_id"],
            ),
        ),
    ];
    if let Some(sha) = document_sha256 {
        parts.push(("notice_documents", serde_json::json!({ "sha256": sha })));
    }
    tables(parts)
}

pub fn payment(p: &PaymentRow) -> Value {
    tables(vec![("payment_requests", columns(p, &[]))])
}

/// A budget as its administrator sets it. What signings committed of it is not part of the
/// budget's own state: verify sums it from the signing entries (`budget_commitments`). Nor is
/// its version (the `ETag`), which each commitment also counts.
pub fn budget(b: &BudgetRow) -> Value {
    tables(vec![(
        "budgets",
        columns(b, &["committed_cents", "version"]),
    )])
}

pub fn programme(p: &Programme, objects: &[FundingObject]) -> Value {
    tables(vec![
        ("programmes", columns(p, &[])),
        (
            "funding_objects",
            keyed(objects, |o| o.code.clone(), &["programme_code"]),
        ),
    ])
}

pub fn base_rate(r: &BaseRateRow) -> Value {
    tables(vec![("base_rates", columns(r, &[]))])
}

/// A delivery rule (`delivery_rules`: from `valid_from`, deemed delivered on day `days`,
/// with its legal source).
pub fn delivery_rule(r: &DeliveryRuleRow) -> Value {
    tables(vec![("delivery_rules", columns(r, &[]))])
}

pub fn municipality(m: &Municipality) -> Value {
    tables(vec![("municipalities", columns(m, &[]))])
}

pub fn edition(e: &Edition) -> Value {
    tables(vec![("register_editions", columns(e, &[]))])
}

pub fn repayment(r: &RepaymentRow) -> Value {
    tables(vec![("repayments", columns(r, &[]))])
}

/// A webhook subscription. Its secret is not part of the state, which the log carries as a
/// patch that admins read: only the secret's SHA-256 (hex) is, so that verify still notices a
/// secret changed behind the service's back.
pub fn webhook(s: &Subscription) -> Value {
    let mut row = columns(s, &["secret"]);
    if let Value::Object(m) = &mut row {
        let sha = crate::domain::audit::hex(&sha2::Sha256::digest(s.secret.as_bytes()));
        m.insert("secret_sha256".into(), Value::String(sha));
    }
    tables(vec![("webhook_subscriptions", row)])
}
