//! Decision notices: prepared by a caseworker against one version of a case, signed by an
//! approver who did not prepare them. Signing is one transaction: the notice gets its number
//! and is never changed again, the budgets are committed, the case moves on, and the history
//! and audit log record it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::applications::{self as cases, Scope, WriteError, Writer};
use super::cached::prepared;
use sha2::Digest;

use super::schema::{
    applications as ap, delivery_rules as dr, notice_allocations as na, notice_documents as nd,
    notice_lines as nl, notices as n,
};
use super::steps::notice as step;
use super::{AnyConnection, audit, budgets, ledger, write_tx};
use crate::document::{Authority, DocLine, NoticeFacts, Recipient};
use crate::domain::calendar::DeliveryRule;
use crate::domain::calendar::{deemed_delivery, finality};
use crate::domain::courts;
use crate::domain::notice::NoticeStatus;
use crate::domain::notice::{
    CaseLine, DecidedLine, GrantTerms, InForce, NoticeKind, NoticeLine, NoticeRequest,
};
use crate::domain::payment::PayoutTerms;
use crate::domain::{FinancingType, KreisKey, Money};

pub const RECORD_TYPE: &str = "notice";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = n)]
pub struct NoticeRow {
    pub id: String,
    pub application_id: String,
    pub kind: NoticeKind,
    pub status: NoticeStatus,
    pub number: Option<String>,
    pub seq: Option<i32>,
    pub case_version: i32,
    pub refers_to: Option<String>,
    pub financing_type: Option<FinancingType>,
    pub rate_bp: Option<i32>,
    pub max_cents: Option<Money>,
    pub fixed_cents: Option<Money>,
    pub eligible_cents: Option<Money>,
    pub computed_cents: Option<Money>,
    pub granted_cents: Option<Money>,
    pub paid_cents: Money,
    pub revoked_cents: Option<Money>,
    pub reclaim_cents: Option<Money>,
    pub reclaim_due: Option<NaiveDate>,
    pub interest_from: Option<NaiveDate>,
    pub grant_period_start: Option<NaiveDate>,
    pub grant_period_end: Option<NaiveDate>,
    pub proof_due: Option<NaiveDate>,
    pub purpose: Option<String>,
    pub binding_years: Option<i32>,
    pub reason: Option<String>,
    pub posted_on: NaiveDate,
    pub delivery_days: i32,
    pub prepared_by: String,
    pub prepared_at: NaiveDateTime,
    pub signed_by: Option<String>,
    pub signed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = nl)]
pub struct NoticeLineRow {
    pub notice_id: String,
    pub line_no: i32,
    pub applied_cents: Money,
    pub approved_cents: Money,
    pub actual_cents: Option<Money>,
    pub eligible: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = na)]
pub struct AllocationRow {
    pub notice_id: String,
    pub fiscal_year: i32,
    pub amount_cents: Money,
}

impl NoticeLineRow {
    /// The line as the notice decided it.
    pub fn decided(&self) -> NoticeLine {
        NoticeLine {
            line: self.line_no,
            applied: self.applied_cents,
            approved: self.approved_cents,
            actual: self.actual_cents,
            eligible: self.eligible,
            reason: self.reason.clone(),
        }
    }
}

/// A notice with its lines and allocations, and the numbers a reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub row: NoticeRow,
    pub lines: Vec<NoticeLineRow>,
    pub allocations: Vec<AllocationRow>,
    pub case_number: String,
    /// The number of the notice this one changes.
    pub refers_to_number: Option<String>,
    /// The grant in force before this notice (of the notice it refers to).
    pub previous_grant_cents: Option<Money>,
}

impl Notice {
    pub fn kind(&self) -> NoticeKind {
        self.row.kind
    }

    pub fn is_signed(&self) -> bool {
        self.row.status == NoticeStatus::Signed
    }

    pub(crate) fn allocation_pairs(&self) -> Vec<(i32, Money)> {
        allocation_pairs(&self.allocations)
    }

    /// This notice as the one in force for a later notice.
    pub(crate) fn as_in_force(&self) -> Option<InForce> {
        in_force_of(&self.row, &self.lines, &self.allocations)
    }

    /// When this notice, as the one in force, lets its money flow: from its deemed delivery,
    /// per fiscal year as it allocates it (`domain::payment::payout_refusal`).
    pub(crate) fn payout_terms(&self) -> Option<PayoutTerms> {
        Some(PayoutTerms {
            notice: self
                .row
                .number
                .clone()
                .unwrap_or_else(|| self.row.id.clone()),
            effective_on: deemed_delivery(
                self.row.posted_on,
                u32::try_from(self.row.delivery_days).ok()?,
            )?,
            allocations: self.allocation_pairs(),
        })
    }

    /// What the audit log records of a notice.
    pub(crate) fn snapshot(&self) -> Value {
        snapshot_of(&self.row, &self.lines, &self.allocations)
    }
}

/// The financing terms a notice applied (grant-setting kinds).
fn terms(row: &NoticeRow) -> Option<GrantTerms> {
    Some(GrantTerms {
        financing_type: row.financing_type?,
        rate_bp: row.rate_bp,
        cap: row.max_cents,
        fixed: row.fixed_cents,
    })
}

fn allocation_pairs(allocations: &[AllocationRow]) -> Vec<(i32, Money)> {
    allocations
        .iter()
        .map(|a| (a.fiscal_year, a.amount_cents))
        .collect()
}

/// The cost lines of a case as a notice decides on them (`steps::notice::prepare`).
pub(crate) fn case_lines(lines: &[cases::CostLineRow]) -> Vec<CaseLine> {
    lines
        .iter()
        .map(|l| CaseLine {
            applied: l.amount_cents,
            eligible: l.eligible,
            actual: l.actual_cents,
        })
        .collect()
}

/// A notice, from its rows, as the one in force for a later notice.
fn in_force_of(
    row: &NoticeRow,
    lines: &[NoticeLineRow],
    allocations: &[AllocationRow],
) -> Option<InForce> {
    let (terms, granted) = terms(row).zip(row.granted_cents)?;
    let lines = lines
        .iter()
        .map(|l| DecidedLine {
            applied: l.applied_cents,
            approved: l.approved_cents,
            eligible: l.eligible,
        })
        .collect();
    Some(InForce {
        terms,
        lines,
        granted,
        grant_period: row.grant_period_start.zip(row.grant_period_end),
        proof_due: row.proof_due,
        purpose: row.purpose.clone(),
        binding_years: row.binding_years,
        allocations: allocation_pairs(allocations),
    })
}

/// What the audit log records of a notice, from its rows (amounts as strings, `Money`'s
/// serialisation).
fn snapshot_of(row: &NoticeRow, lines: &[NoticeLineRow], allocations: &[AllocationRow]) -> Value {
    let r = row;
    json!({
        "kind": r.kind.as_str(), "status": r.status.as_str(), "number": r.number,
        "case_version": r.case_version, "refers_to": r.refers_to,
        "financing_type": r.financing_type.map(FinancingType::as_str), "rate_bp": r.rate_bp,
        "max_amount": r.max_cents, "fixed_amount": r.fixed_cents,
        "eligible_amount": r.eligible_cents, "computed_amount": r.computed_cents,
        "granted_amount": r.granted_cents, "paid_amount": r.paid_cents,
        "revoked_amount": r.revoked_cents, "reclaim_amount": r.reclaim_cents,
        "reclaim_due": r.reclaim_due, "interest_from": r.interest_from,
        "grant_period_start": r.grant_period_start, "grant_period_end": r.grant_period_end,
        "proof_due": r.proof_due, "purpose": r.purpose, "binding_years": r.binding_years,
        "reason": r.reason, "posted_on": r.posted_on, "delivery_days": r.delivery_days,
        "lines": lines.iter().map(|l| json!({
            "line": l.line_no, "applied": l.applied_cents,
            "approved": l.approved_cents, "actual": l.actual_cents,
            "eligible": l.eligible, "reason": l.reason,
        })).collect::<Vec<_>>(),
        "allocations": allocations.iter().map(|a| json!({
            "fiscal_year": a.fiscal_year, "amount": a.amount_cents,
        })).collect::<Vec<_>>(),
    })
}

fn load_children(conn: &mut AnyConnection, row: NoticeRow) -> QueryResult<Notice> {
    let lines = nl::table
        .filter(nl::notice_id.eq(&row.id))
        .order(nl::line_no.asc())
        .select(NoticeLineRow::as_select())
        .load(conn)?;
    let allocations = na::table
        .filter(na::notice_id.eq(&row.id))
        .order(na::fiscal_year.asc())
        .select(AllocationRow::as_select())
        .load(conn)?;
    let case_number: String = ap::table
        .find(&row.application_id)
        .select(ap::case_number)
        .first(conn)?;
    let (refers_to_number, previous_grant_cents) = match &row.refers_to {
        Some(r) => n::table
            .find(r)
            .select((n::number, n::granted_cents))
            .first::<(Option<String>, Option<Money>)>(conn)?,
        None => (None, None),
    };
    Ok(Notice {
        row,
        lines,
        allocations,
        case_number,
        refers_to_number,
        previous_grant_cents,
    })
}

/// Who sees a notice: staff every notice; an applicant the signed notices of cases it sees.
fn visible(conn: &mut AnyConnection, row: &NoticeRow, scope: Scope<'_>) -> QueryResult<bool> {
    match scope {
        Scope::All => Ok(true),
        Scope::Municipalities(_) => {
            Ok(row.status == NoticeStatus::Signed
                && cases::visible(conn, &row.application_id, scope)?)
        }
    }
}

/// One notice, if the scope may see it.
pub fn find(conn: &mut AnyConnection, id: &str, scope: Scope<'_>) -> QueryResult<Option<Notice>> {
    let row: Option<NoticeRow> = n::table
        .find(id)
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) if visible(conn, &row, scope)? => load_children(conn, row).map(Some),
        _ => Ok(None),
    }
}

/// The notices of a case, oldest first (applicants: signed ones); `None` if the case is not
/// visible.
pub fn list_for_case(
    conn: &mut AnyConnection,
    case_id: &str,
    scope: Scope<'_>,
) -> QueryResult<Option<Vec<Notice>>> {
    if !cases::visible(conn, case_id, scope)? {
        return Ok(None);
    }
    let mut q = n::table
        .filter(n::application_id.eq(case_id))
        .order((n::prepared_at.asc(), n::id.asc()))
        .select(NoticeRow::as_select())
        .into_boxed();
    if !matches!(scope, Scope::All) {
        q = q.filter(n::status.eq(NoticeStatus::Signed));
    }
    let rows: Vec<NoticeRow> = q.load(conn)?;
    rows.into_iter()
        .map(|r| load_children(conn, r))
        .collect::<QueryResult<Vec<_>>>()
        .map(Some)
}

/// The signed notice whose grant is in force: the latest grant, amendment, final notice or
/// revocation.
pub fn in_force(conn: &mut AnyConnection, case_id: &str) -> QueryResult<Option<Notice>> {
    let row: Option<NoticeRow> = n::table
        .filter(n::application_id.eq(case_id))
        .filter(n::status.eq(NoticeStatus::Signed))
        .filter(n::granted_cents.is_not_null())
        .order(n::seq.desc())
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| load_children(conn, r)).transpose()
}

/// A row of `delivery_rules`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = dr)]
pub struct DeliveryRuleRow {
    pub valid_from: NaiveDate,
    pub days: i32,
    pub added_by: String,
    pub added_at: chrono::NaiveDateTime,
    pub source: Option<String>,
}

/// Every row of `delivery_rules`, oldest first.
pub fn delivery_rule_rows(conn: &mut AnyConnection) -> QueryResult<Vec<DeliveryRuleRow>> {
    dr::table
        .order(dr::valid_from.asc())
        .select(DeliveryRuleRow::as_select())
        .load(conn)
}

/// The rules `domain::calendar::SHIPPED_DELIVERY_RULES` names, written through the audited
/// path where the table lacks one or its legal source (`system`, at start-up, after the
/// migrations): so a database made before a change of the law gets the new rule, with an
/// entry that says so. A shipped rule whose number of days was changed since is left as it
/// is (and named in the log of the start-up).
pub fn ensure_shipped_delivery_rules(
    conn: &mut AnyConnection,
    now: chrono::NaiveDateTime,
) -> QueryResult<usize> {
    use crate::domain::calendar::SHIPPED_DELIVERY_RULES;
    write_tx(conn, |conn| {
        let mut entries = Vec::new();
        for shipped in &SHIPPED_DELIVERY_RULES {
            let row: Option<DeliveryRuleRow> = dr::table
                .find(shipped.valid_from)
                .select(DeliveryRuleRow::as_select())
                .first(conn)
                .optional()?;
            let days = i32::try_from(shipped.days).unwrap_or(i32::MAX);
            let (action, reason, before) = match &row {
                None => (
                    "create",
                    "a rule of the law, shipped with this release",
                    None,
                ),
                Some(r) if r.days != days => {
                    log::warn!(
                        "delivery rule from {}: {} days in the database, {} as shipped; left as it is",
                        r.valid_from,
                        r.days,
                        shipped.days
                    );
                    continue;
                }
                Some(r) if r.source.as_deref() == Some(shipped.source) => continue,
                Some(r) => ("update", "the rule's legal source named", Some(r.clone())),
            };
            let after = DeliveryRuleRow {
                valid_from: shipped.valid_from,
                days,
                added_by: before
                    .as_ref()
                    .map_or("system".to_owned(), |b| b.added_by.clone()),
                added_at: before.as_ref().map_or(now, |b| b.added_at),
                source: Some(shipped.source.to_owned()),
            };
            match before {
                None => diesel::insert_into(dr::table)
                    .values((
                        dr::valid_from.eq(after.valid_from),
                        dr::days.eq(after.days),
                        dr::added_by.eq(&after.added_by),
                        dr::added_at.eq(after.added_at),
                        dr::source.eq(&after.source),
                    ))
                    .execute(conn)?,
                Some(_) => diesel::update(dr::table.find(after.valid_from))
                    .set(dr::source.eq(&after.source))
                    .execute(conn)?,
            };
            let system = super::programmes::Actor {
                subject: "system",
                role: "system",
                now,
            };
            let key = after.valid_from.to_string();
            let changes = serde_json::json!({
                "days": {"before": row.as_ref().map(|r| r.days), "after": after.days},
                "source": {"before": row.as_ref().and_then(|r| r.source.clone()), "after": after.source},
            });
            entries.push(
                system
                    .entry(ledger::DELIVERY_RULE, &key, action, Some(reason), changes)
                    .with_state(
                        row.as_ref()
                            .map_or(serde_json::Value::Null, ledger::delivery_rule),
                        ledger::delivery_rule(&after),
                    ),
            );
        }
        if !entries.is_empty() {
            audit::append_all(conn, &entries.iter().collect::<Vec<_>>())?;
        }
        Ok(entries.len())
    })
}

/// Why a delivery rule cannot be added.
#[derive(Debug)]
pub enum RuleError {
    /// A rule from this day or a later one is stored: the rules are dated facts, appended in
    /// the order of their days.
    NotNewest(DeliveryRuleRow),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for RuleError {
    fn from(e: diesel::result::Error) -> Self {
        RuleError::Db(e)
    }
}

/// Adds a § 41 (2) VwVfG rule from a day on (admin), with its legal source, audited. Only
/// after the newest stored rule: a notice stores its days when it is prepared, so no rule
/// changes what a prepared or signed notice says.
pub fn add_delivery_rule(
    conn: &mut AnyConnection,
    valid_from: NaiveDate,
    days: i32,
    source: &str,
    actor: &super::programmes::Actor<'_>,
) -> Result<DeliveryRuleRow, RuleError> {
    write_tx(conn, |conn| {
        let newest: Option<DeliveryRuleRow> = dr::table
            .order(dr::valid_from.desc())
            .select(DeliveryRuleRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(n) = newest.filter(|n| n.valid_from >= valid_from) {
            return Err(RuleError::NotNewest(n));
        }
        let row = DeliveryRuleRow {
            valid_from,
            days,
            added_by: actor.subject.to_owned(),
            added_at: actor.now,
            source: Some(source.to_owned()),
        };
        diesel::insert_into(dr::table)
            .values((
                dr::valid_from.eq(row.valid_from),
                dr::days.eq(row.days),
                dr::added_by.eq(&row.added_by),
                dr::added_at.eq(row.added_at),
                dr::source.eq(&row.source),
            ))
            .execute(conn)?;
        let changes = serde_json::json!({
            "days": {"before": null, "after": days},
            "source": {"before": null, "after": source},
        });
        let entry = actor
            .entry(
                ledger::DELIVERY_RULE,
                &valid_from.to_string(),
                "create",
                None,
                changes,
            )
            .with_state(serde_json::Value::Null, ledger::delivery_rule(&row));
        audit::append(conn, &entry)?;
        Ok(row)
    })
}

/// The § 41 (2) VwVfG rules, oldest first.
pub fn delivery_rules(conn: &mut AnyConnection) -> QueryResult<Vec<DeliveryRule>> {
    let rows: Vec<(NaiveDate, i32)> = dr::table
        .order(dr::valid_from.asc())
        .select((dr::valid_from, dr::days))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(valid_from, days)| DeliveryRule {
            valid_from,
            days: u32::try_from(days).unwrap_or(0),
        })
        .collect())
}

/// Prepares a notice of `kind` for the case (caseworker). The case does not change.
pub fn prepare(
    conn: &mut AnyConnection,
    case_id: &str,
    kind: NoticeKind,
    req: &NoticeRequest,
    w: &Writer<'_>,
) -> Result<Notice, WriteError> {
    write_tx(conn, |conn| {
        let case = cases::find(conn, case_id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no application {case_id}")))?;
        let terms = cases::programme_terms(conn, &case.row.programme_code)?
            .ok_or_else(|| cases::corrupt("programme missing"))?;
        let force = match step::refers_to_in_force(kind) {
            true => in_force(conn, case_id)?,
            false => None,
        };
        let delivery = delivery_rules(conn)?;
        let granted_at: Option<NaiveDateTime> = n::table
            .filter(n::application_id.eq(case_id))
            .filter(n::status.eq(NoticeStatus::Signed))
            .filter(n::kind.eq(NoticeKind::Grant))
            .order(n::seq.asc())
            .select(n::signed_at)
            .first::<Option<NaiveDateTime>>(conn)
            .optional()?
            .flatten();
        let facts = step::PrepareFacts {
            terms: &terms,
            in_force: force.as_ref(),
            delivery: &delivery,
            granted_on: granted_at.map(crate::domain::calendar::german_date),
        };
        let (notice, entry) = step::prepare(&case, kind, req, facts, w)?;
        insert(conn, &notice)?;
        audit::append(conn, &entry)?;
        Ok(notice)
    })
}

/// The rows of a new notice.
fn insert(conn: &mut AnyConnection, notice: &Notice) -> QueryResult<()> {
    prepared(diesel::insert_into(n::table).values(&notice.row)).execute(conn)?;
    for l in &notice.lines {
        prepared(diesel::insert_into(nl::table).values(l)).execute(conn)?;
    }
    for a in &notice.allocations {
        prepared(diesel::insert_into(na::table).values(a)).execute(conn)?;
    }
    Ok(())
}

/// Everything the document of a signed notice prints, from the notice, its case, the
/// programme and the register; each recipient's administrative court from the Kreis of its
/// membership row on the day of the notice (`domain::courts`).
pub fn document_facts(
    conn: &mut AnyConnection,
    n: &Notice,
    authority: &Authority,
    signer_name: Option<&str>,
) -> Result<NoticeFacts, WriteError> {
    use super::schema::municipalities as mu;
    let r = &n.row;
    let (Some(number), Some(signed_by), Some(signed_at)) = (&r.number, &r.signed_by, r.signed_at)
    else {
        return Err(WriteError::Conflict(
            "the notice is not signed yet; only a signed notice has a document".into(),
        ));
    };
    let case = cases::find(conn, &r.application_id, cases::Scope::All)?
        .ok_or_else(|| WriteError::NotFound(format!("no application {}", r.application_id)))?;
    let (programme, _) = super::programmes::find(conn, &case.row.programme_code)?
        .ok_or_else(|| cases::corrupt("the case's programme is missing"))?;
    let keys: Vec<&str> = case.members.iter().map(|m| m.ags.as_str()).collect();
    let names: Vec<(String, String)> = mu::table
        .filter(mu::ags.eq_any(&keys))
        .select((mu::ags, mu::name))
        .load(conn)?;
    let name_of = |ags: &str| {
        names
            .iter()
            .find(|(a, _)| a == ags)
            .map_or_else(|| ags.to_owned(), |(_, n)| n.clone())
    };
    let mut members = case.members.clone();
    members.sort_by_key(|m| (!m.is_lead, m.position));
    let kind = n.kind();
    let finality = finality(
        r.posted_on,
        u32::try_from(r.delivery_days).unwrap_or(0),
        true,
    )
    .ok_or_else(|| cases::corrupt("the notice's dates are out of range"))?;
    let dated = crate::domain::calendar::german_date(signed_at);
    Ok(NoticeFacts {
        kind,
        authority: authority.clone(),
        recipients: members
            .iter()
            .map(|m| Recipient {
                name: name_of(&m.ags),
                ags: m.ags.clone(),
                share_bp: case.row.joint.then_some(m.share_bp),
                court: KreisKey::parse(&m.kreis)
                    .ok()
                    .and_then(|k| courts::court_for(&k, dated)),
            })
            .collect(),
        postal_address: case.row.postal_address.clone(),
        contact: case.row.contact.clone(),
        number: number.clone(),
        case_number: n.case_number.clone(),
        case_title: case.row.title.clone(),
        programme_name: programme.name.clone(),
        legal_basis: programme.legal_basis.clone(),
        dated,
        refers_to: n.refers_to_number.clone(),
        purpose: r.purpose.clone(),
        binding_years: r.binding_years,
        financing_type: r.financing_type,
        rate_bp: r.rate_bp,
        max_amount: r.max_cents,
        fixed_amount: r.fixed_cents,
        eligible: r.eligible_cents,
        granted: r.granted_cents,
        previous_grant: n.previous_grant_cents,
        paid: r.paid_cents,
        revoked: r.revoked_cents,
        reclaim: r.reclaim_cents,
        reclaim_due: r.reclaim_due,
        interest_from: r.interest_from,
        grant_period: r.grant_period_start.zip(r.grant_period_end),
        proof_due: r.proof_due,
        allocations: n
            .allocations
            .iter()
            .map(|a| (a.fiscal_year, a.amount_cents))
            .collect(),
        lines: n
            .lines
            .iter()
            .map(|l| DocLine {
                decided: l.decided(),
                description: usize::try_from(l.line_no - 1)
                    .ok()
                    .and_then(|i| case.lines.get(i))
                    .map(|c| c.description.clone())
                    .unwrap_or_default(),
            })
            .collect(),
        reason: r.reason.clone(),
        posted_on: r.posted_on,
        delivery_days: u32::try_from(r.delivery_days).unwrap_or(0),
        finality,
        prepared_by: r.prepared_by.clone(),
        // The signer's name from the token (`name`), else the subject.
        signed_by: signer_name.map_or_else(|| signed_by.clone(), str::to_owned),
    })
}

/// The stored document of a signed notice: the bytes rendered at signing.
pub fn document(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<Vec<u8>>> {
    nd::table
        .find(id)
        .select(nd::content)
        .first(conn)
        .optional()
}

/// Renders the signed notice's document once and stores it; returns its SHA-256 (hex).
fn freeze_document(
    conn: &mut AnyConnection,
    signed: &Notice,
    authority: &Authority,
    w: &Writer<'_>,
) -> Result<String, WriteError> {
    let facts = document_facts(conn, signed, authority, w.name)?;
    let now = w.now;
    let pdf = crate::document::render_pdf(&facts)
        .map_err(|e| WriteError::Conflict(format!("the notice's document cannot be made: {e}")))?;
    let sha = crate::domain::audit::hex(&sha2::Sha256::digest(&pdf));
    diesel::insert_into(nd::table)
        .values((
            nd::notice_id.eq(&signed.row.id),
            nd::sha256.eq(&sha),
            nd::content.eq(&pdf),
            nd::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(sha)
}

/// Signs a prepared notice (approver, not its preparer): the document is rendered once with
/// the authority as it is now, stored, and its hash enters the signing's audit entry.
pub fn sign(
    conn: &mut AnyConnection,
    id: &str,
    w: &Writer<'_>,
    authority: &Authority,
) -> Result<Notice, WriteError> {
    write_tx(conn, |conn| {
        let notice = find(conn, id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no notice {id}")))?;
        let case_id = notice.row.application_id.clone();
        let before = cases::find(conn, &case_id, Scope::All)?
            .ok_or_else(|| WriteError::NotFound(format!("no application {case_id}")))?;
        let statuses = step::check_signing(&notice, &before, w)?;
        // The case row first: a concurrent signing of another notice of this case waits here
        // for our commit and then finds the version changed (409), before it numbers anything.
        cases::bump_version(
            conn,
            &case_id,
            statuses.0.as_str(),
            before.row.version,
            w.now,
        )
        .map_err(|e| match e {
            WriteError::Stale => WriteError::Conflict(
                "the case changed while the notice was being signed; prepare it again".into(),
            ),
            other => other,
        })?;
        let referred = match &notice.row.refers_to {
            Some(r) => Some(
                find(conn, r, Scope::All)?
                    .ok_or_else(|| cases::corrupt("referred notice missing"))?,
            ),
            None => None,
        };
        let deltas = step::budget_deltas(&notice, referred.as_ref());
        let seq: i32 = n::table
            .filter(n::application_id.eq(&case_id))
            .filter(n::status.eq(NoticeStatus::Signed))
            .select(diesel::dsl::max(n::seq))
            .first::<Option<i32>>(conn)?
            .unwrap_or(0)
            + 1;
        let mut s = step::sign(&notice, &before, statuses, deltas.clone(), seq, w)?;
        // The document is rendered while only this case's row is locked; the budget rows,
        // which every signing of the programme and year takes, are locked last, for one
        // statement per fiscal year and the commit: signings of different cases do not queue
        // behind a rendering, the updates of the case and the notice, or the log.
        let sha = freeze_document(conn, &s.notice, authority, w)?;
        if let (Some(name), Some(changes)) = (w.name, s.notice_entry.changes.as_object_mut()) {
            // Who signed, as the document prints it: in the log beside the subject.
            changes.insert(
                "signer_name".into(),
                serde_json::json!({"before": null, "after": name}),
            );
        }
        s.notice_entry = s.notice_entry.with_state(
            ledger::notice(&notice, None),
            ledger::notice(&s.notice, Some(&sha)),
        );
        let row = &s.notice.row;
        let updated = prepared(
            diesel::update(
                n::table
                    .find(id)
                    .filter(n::status.eq(NoticeStatus::Prepared)),
            )
            .set((
                n::status.eq(NoticeStatus::Signed),
                n::number.eq(&row.number),
                n::seq.eq(row.seq),
                n::signed_by.eq(&row.signed_by),
                n::signed_at.eq(row.signed_at),
            )),
        )
        .execute(conn)?;
        if updated == 0 {
            return Err(WriteError::Conflict(format!(
                "notice {id} was signed by someone else a moment ago"
            )));
        }
        let r = &s.case.row;
        prepared(diesel::update(ap::table.find(&case_id)).set((
            ap::status.eq(&r.status),
            ap::granted_cents.eq(r.granted_cents),
            ap::reclaimed_cents.eq(r.reclaimed_cents),
            ap::info_due.eq(r.info_due),
            ap::early_start_at.eq(r.early_start_at),
            ap::early_start_by.eq(&r.early_start_by),
            ap::clock_seconds.eq(r.clock_seconds),
            ap::clock_since.eq(r.clock_since),
        )))
        .execute(conn)?;
        let entries = [&s.case_entry, &s.notice_entry];
        let slots = audit::reserve(conn, &entries)?;
        audit::append_reserved(conn, &entries, slots)?;
        // Last, right before the commit: the budget rows every signing of the programme and
        // year waits for. The log's entries, the events and the report totals are written
        // before (a refusal here rolls them back with the rest): with them after it, signings
        // queued on the budget row for the whole of that work (169 a second at 32 clients,
        // 44 ms of waiting per budget update; docs/benchmarks.md).
        budgets::commit(conn, &before.row.programme_code, &deltas)?;
        Ok(s.notice)
    })
}
