//! Decision notices: prepared by a caseworker against one version of a case, signed by an
//! approver who did not prepare them. Signing is one transaction: the notice gets its number
//! and is never changed again, the budgets are committed, the case moves on, and the history
//! and audit log record it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::applications::{self as cases, Case, Scope, WriteError, Writer};
use super::schema::{
    applications as ap, delivery_rules as dr, notice_allocations as na, notice_lines as nl,
    notices as n,
};
use super::{AnyConnection, audit, budgets, write_tx};
use crate::domain::application::{Tracking, Violation};
use crate::domain::calendar::{DeliveryRule, delivery_days};
use crate::domain::notice::{
    CaseFacts, CaseLine, DecidedLine, GrantTerms, InForce, NoticeKind, NoticeRequest,
    ProgrammeLimits, allocation_deltas, decide,
};
use crate::domain::{Action, FinancingType, Money, Role, Status, transition};

pub const RECORD_TYPE: &str = "notice";
pub const PREPARED: &str = "prepared";
pub const SIGNED: &str = "signed";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = n)]
pub struct NoticeRow {
    pub id: String,
    pub application_id: String,
    pub kind: String,
    pub status: String,
    pub number: Option<String>,
    pub seq: Option<i32>,
    pub case_version: i32,
    pub refers_to: Option<String>,
    pub financing_type: Option<String>,
    pub rate_bp: Option<i32>,
    pub max_cents: Option<i64>,
    pub fixed_cents: Option<i64>,
    pub eligible_cents: Option<i64>,
    pub computed_cents: Option<i64>,
    pub granted_cents: Option<i64>,
    pub paid_cents: i64,
    pub revoked_cents: Option<i64>,
    pub reclaim_cents: Option<i64>,
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

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = nl)]
pub struct NoticeLineRow {
    pub notice_id: String,
    pub line_no: i32,
    pub applied_cents: i64,
    pub approved_cents: i64,
    pub actual_cents: Option<i64>,
    pub eligible: bool,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = na)]
pub struct AllocationRow {
    pub notice_id: String,
    pub fiscal_year: i32,
    pub amount_cents: i64,
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
    pub previous_grant_cents: Option<i64>,
}

fn money(c: i64) -> QueryResult<Money> {
    Money::from_cents(c).map_err(cases::corrupt)
}

fn opt_money(c: Option<i64>) -> QueryResult<Option<Money>> {
    c.map(money).transpose()
}

impl Notice {
    pub fn kind(&self) -> QueryResult<NoticeKind> {
        self.row.kind.parse().map_err(cases::corrupt)
    }

    pub fn is_signed(&self) -> bool {
        self.row.status == SIGNED
    }

    fn allocation_pairs(&self) -> QueryResult<Vec<(i32, Money)>> {
        allocation_pairs(&self.allocations)
    }

    /// This notice as the one in force for a later notice.
    fn as_in_force(&self) -> QueryResult<Option<InForce>> {
        in_force_of(&self.row, &self.lines, &self.allocations)
    }

    /// What the audit log records of a notice.
    fn snapshot(&self) -> Value {
        snapshot_of(&self.row, &self.lines, &self.allocations)
    }
}

/// The financing terms a notice applied (grant-setting kinds).
fn terms(row: &NoticeRow) -> QueryResult<Option<GrantTerms>> {
    let Some(t) = &row.financing_type else {
        return Ok(None);
    };
    Ok(Some(GrantTerms {
        financing_type: t.parse::<FinancingType>().map_err(cases::corrupt)?,
        rate_bp: row.rate_bp,
        cap: opt_money(row.max_cents)?,
        fixed: opt_money(row.fixed_cents)?,
    }))
}

pub(crate) fn allocation_pairs(allocations: &[AllocationRow]) -> QueryResult<Vec<(i32, Money)>> {
    allocations
        .iter()
        .map(|a| Ok((a.fiscal_year, money(a.amount_cents)?)))
        .collect()
}

/// The cost lines of a case as a notice decides on them (also for the seed).
pub(crate) fn case_lines(lines: &[cases::CostLineRow]) -> QueryResult<Vec<CaseLine>> {
    lines
        .iter()
        .map(|l| {
            Ok(CaseLine {
                applied: money(l.amount_cents)?,
                eligible: l.eligible,
                actual: opt_money(l.actual_cents)?,
            })
        })
        .collect()
}

/// A notice, from its rows, as the one in force for a later notice (also for the seed,
/// which plays notices through in memory).
pub(crate) fn in_force_of(
    row: &NoticeRow,
    lines: &[NoticeLineRow],
    allocations: &[AllocationRow],
) -> QueryResult<Option<InForce>> {
    let (Some(terms), Some(granted)) = (terms(row)?, row.granted_cents) else {
        return Ok(None);
    };
    let lines = lines
        .iter()
        .map(|l| {
            Ok(DecidedLine {
                applied: money(l.applied_cents)?,
                approved: money(l.approved_cents)?,
                eligible: l.eligible,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    Ok(Some(InForce {
        terms,
        lines,
        granted: money(granted)?,
        grant_period: row.grant_period_start.zip(row.grant_period_end),
        proof_due: row.proof_due,
        purpose: row.purpose.clone(),
        binding_years: row.binding_years,
        allocations: allocation_pairs(allocations)?,
    }))
}

/// What the audit log records of a notice, from its rows.
pub(crate) fn snapshot_of(
    row: &NoticeRow,
    lines: &[NoticeLineRow],
    allocations: &[AllocationRow],
) -> Value {
    let e = |c: Option<i64>| {
        c.and_then(|c| Money::from_cents(c).ok())
            .map(|m| m.to_string())
    };
    let r = row;
    json!({
        "kind": r.kind, "status": r.status, "number": r.number,
        "case_version": r.case_version, "refers_to": r.refers_to,
        "financing_type": r.financing_type, "rate_bp": r.rate_bp,
        "max_amount": e(r.max_cents), "fixed_amount": e(r.fixed_cents),
        "eligible_amount": e(r.eligible_cents), "computed_amount": e(r.computed_cents),
        "granted_amount": e(r.granted_cents), "paid_amount": e(Some(r.paid_cents)),
        "revoked_amount": e(r.revoked_cents), "reclaim_amount": e(r.reclaim_cents),
        "reclaim_due": r.reclaim_due, "interest_from": r.interest_from,
        "grant_period_start": r.grant_period_start, "grant_period_end": r.grant_period_end,
        "proof_due": r.proof_due, "purpose": r.purpose, "binding_years": r.binding_years,
        "reason": r.reason, "posted_on": r.posted_on, "delivery_days": r.delivery_days,
        "lines": lines.iter().map(|l| json!({
            "line": l.line_no, "applied": e(Some(l.applied_cents)),
            "approved": e(Some(l.approved_cents)), "actual": e(l.actual_cents),
            "eligible": l.eligible, "reason": l.reason,
        })).collect::<Vec<_>>(),
        "allocations": allocations.iter().map(|a| json!({
            "fiscal_year": a.fiscal_year, "amount": e(Some(a.amount_cents)),
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
            .first::<(Option<String>, Option<i64>)>(conn)?,
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
            Ok(row.status == SIGNED && cases::find(conn, &row.application_id, scope)?.is_some())
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
    if cases::find(conn, case_id, scope)?.is_none() {
        return Ok(None);
    }
    let mut q = n::table
        .filter(n::application_id.eq(case_id))
        .order((n::prepared_at.asc(), n::id.asc()))
        .select(NoticeRow::as_select())
        .into_boxed();
    if !matches!(scope, Scope::All) {
        q = q.filter(n::status.eq(SIGNED));
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
        .filter(n::status.eq(SIGNED))
        .filter(n::granted_cents.is_not_null())
        .order(n::seq.desc())
        .select(NoticeRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|r| load_children(conn, r)).transpose()
}

/// The signed notices with a reclaim and a day from which interest runs.
pub fn reclaims_with_interest(
    conn: &mut AnyConnection,
    case_id: &str,
) -> QueryResult<Vec<NoticeRow>> {
    n::table
        .filter(n::application_id.eq(case_id))
        .filter(n::status.eq(SIGNED))
        .filter(n::reclaim_cents.gt(0_i64))
        .filter(n::interest_from.is_not_null())
        .order(n::seq.asc())
        .select(NoticeRow::as_select())
        .load(conn)
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

fn case_status(case: &Case) -> Result<Status, WriteError> {
    Ok(case.row.status().map_err(cases::corrupt)?)
}

/// The status rule of a kind of notice, as a conflict message.
fn check_status(kind: NoticeKind, status: Status) -> Result<(), WriteError> {
    if kind.allowed_in().contains(&status) {
        return Ok(());
    }
    Err(WriteError::Conflict(format!(
        "a {kind} notice is issued for a case in {}; this case is {status}",
        kind.allowed_in()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    )))
}

fn check_early_start(kind: NoticeKind, case: &Case) -> Result<(), WriteError> {
    if kind == NoticeKind::EarlyStart
        && let (Some(at), Some(by)) = (case.row.early_start_at, &case.row.early_start_by)
    {
        return Err(WriteError::Conflict(format!(
            "early start was permitted on {} by {by}",
            at.date()
        )));
    }
    Ok(())
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
        let status = case_status(&case)?;
        check_status(kind, status)?;
        check_early_start(kind, &case)?;
        let terms = cases::programme_terms(conn, &case.row.programme_code)?
            .ok_or_else(|| cases::corrupt("programme missing"))?;
        let force = match kind {
            NoticeKind::Amendment | NoticeKind::Final | NoticeKind::Revocation => {
                in_force(conn, case_id)?
            }
            _ => None,
        };
        let force_terms = force
            .as_ref()
            .map(Notice::as_in_force)
            .transpose()?
            .flatten();
        let lines = case_lines(&case.lines)?;
        let rules = delivery_rules(conn)?;
        let posted = req.posted_on.unwrap_or(w.now.date());
        let days = match delivery_days(&rules, posted) {
            Some(days) => days,
            // A day before the first rule (1900) lies before today, which `decide` refuses
            // too; without a rule for today the rules themselves are broken.
            None if posted < w.now.date() => {
                return Err(WriteError::Invalid(vec![Violation {
                    field: "posted_on".into(),
                    message: format!("must not lie before today ({})", w.now.date()),
                }]));
            }
            None => return Err(cases::corrupt(format!("no delivery rule for {posted}")).into()),
        };
        let facts = CaseFacts {
            status,
            title: &case.row.title,
            lines: &lines,
            own_contribution: money(case.row.own_contribution_cents)?,
            third_party: money(case.row.third_party_cents)?,
            requested: money(case.row.requested_cents)?,
            paid: money(case.row.paid_cents)?,
            reclaimed: money(case.row.reclaimed_cents)?,
            programme: ProgrammeLimits {
                financing_type: terms.financing_type,
                max_rate_bp: terms.max_rate_bp,
                max_grant: terms.max_grant,
            },
            in_force: force_terms.as_ref(),
            today: w.now.date(),
            delivery_days: days,
        };
        let d = decide(kind, req, &facts).map_err(WriteError::Invalid)?;
        let id = uuid::Uuid::new_v4().to_string();
        let cents = |m: Option<Money>| m.map(Money::cents);
        diesel::insert_into(n::table)
            .values((
                n::id.eq(&id),
                n::application_id.eq(case_id),
                n::kind.eq(kind.as_str()),
                n::status.eq(PREPARED),
                n::case_version.eq(case.row.version),
                n::refers_to.eq(force.as_ref().map(|f| f.row.id.clone())),
                n::financing_type.eq(d.terms.map(|t| t.financing_type.as_str())),
                n::rate_bp.eq(d.terms.and_then(|t| t.rate_bp)),
                n::max_cents.eq(d.terms.and_then(|t| t.cap).map(Money::cents)),
                n::fixed_cents.eq(d.terms.and_then(|t| t.fixed).map(Money::cents)),
                n::eligible_cents.eq(cents(d.eligible)),
                n::computed_cents.eq(cents(d.computed)),
                n::granted_cents.eq(cents(d.granted)),
                n::paid_cents.eq(case.row.paid_cents),
                n::revoked_cents.eq(cents(d.revoked)),
                n::reclaim_cents.eq(cents(d.reclaim)),
                n::reclaim_due.eq(d.reclaim_due),
                n::interest_from.eq(d.interest_from),
                n::grant_period_start.eq(d.grant_period.map(|p| p.0)),
                n::grant_period_end.eq(d.grant_period.map(|p| p.1)),
                n::proof_due.eq(d.proof_due),
                n::purpose.eq(&d.purpose),
                n::binding_years.eq(d.binding_years),
                n::reason.eq(&d.reason),
                n::posted_on.eq(d.posted_on),
                n::delivery_days.eq(i32::try_from(days).unwrap_or(i32::MAX)),
                n::prepared_by.eq(w.subject),
                n::prepared_at.eq(w.now),
            ))
            .execute(conn)?;
        for l in &d.lines {
            diesel::insert_into(nl::table)
                .values((
                    nl::notice_id.eq(&id),
                    nl::line_no.eq(l.line),
                    nl::applied_cents.eq(l.applied.cents()),
                    nl::approved_cents.eq(l.approved.cents()),
                    nl::actual_cents.eq(l.actual.map(Money::cents)),
                    nl::eligible.eq(l.eligible),
                    nl::reason.eq(&l.reason),
                ))
                .execute(conn)?;
        }
        for (year, amount) in &d.allocations {
            diesel::insert_into(na::table)
                .values((
                    na::notice_id.eq(&id),
                    na::fiscal_year.eq(year),
                    na::amount_cents.eq(amount.cents()),
                ))
                .execute(conn)?;
        }
        let notice = find(conn, &id, Scope::All)?
            .ok_or_else(|| WriteError::NotFound(format!("no notice {id}")))?;
        audit::append(
            conn,
            &w.event_on(
                RECORD_TYPE,
                &id,
                "prepare",
                None,
                Some(PREPARED),
                None,
                audit::diff(&json!({}), &notice.snapshot()),
            ),
        )?;
        Ok(notice)
    })
}

/// The lifecycle action a signed notice records in the case's history.
fn history_action(kind: NoticeKind) -> &'static str {
    match kind.drives() {
        Some(a) => a.as_str(),
        None if kind == NoticeKind::EarlyStart => Action::PermitEarlyStart.as_str(),
        None => "amend",
    }
}

/// Signs a prepared notice (approver, not its preparer).
pub fn sign(conn: &mut AnyConnection, id: &str, w: &Writer<'_>) -> Result<Notice, WriteError> {
    write_tx(conn, |conn| {
        let notice = find(conn, id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no notice {id}")))?;
        if notice.is_signed() {
            return Err(WriteError::Conflict(format!(
                "notice {} is signed and never changes; a correction is a new notice (an \
                 amendment or revocation) that refers to it",
                notice.row.number.as_deref().unwrap_or(id)
            )));
        }
        if notice.row.prepared_by == w.subject {
            return Err(WriteError::Forbidden(
                "four-eyes principle: a notice is signed by someone other than the person who \
                 prepared it"
                    .into(),
            ));
        }
        let kind = notice.kind()?;
        let case_id = notice.row.application_id.clone();
        let before = cases::find(conn, &case_id, Scope::All)?
            .ok_or_else(|| WriteError::NotFound(format!("no application {case_id}")))?;
        if before.row.version != notice.row.case_version {
            return Err(WriteError::Conflict(format!(
                "the case has changed since this notice was prepared (version {} then, {} \
                 now); prepare the notice again",
                notice.row.case_version, before.row.version
            )));
        }
        let from = case_status(&before)?;
        check_status(kind, from)?;
        check_early_start(kind, &before)?;
        let action = kind.drives().unwrap_or(Action::PermitEarlyStart);
        let to = match kind.drives() {
            Some(a) => transition(from, a, Role::Approver).map_err(WriteError::Refused)?,
            None => from,
        };
        // The case row first: a concurrent signing of another notice of this case waits here
        // for our commit and then finds the version changed (409), before it numbers anything.
        cases::bump_version(conn, &case_id, from.as_str(), before.row.version, w.now).map_err(
            |e| match e {
                WriteError::Stale => WriteError::Conflict(
                    "the case changed while the notice was being signed; prepare it again".into(),
                ),
                other => other,
            },
        )?;
        // Budgets: the change of the allocation in force, year by year.
        let deltas = if notice.row.granted_cents.is_some() {
            let old = match &notice.row.refers_to {
                Some(r) => find(conn, r, Scope::All)?
                    .ok_or_else(|| cases::corrupt("referred notice missing"))?
                    .allocation_pairs()?,
                None => Vec::new(),
            };
            allocation_deltas(&old, &notice.allocation_pairs()?)
        } else {
            Vec::new()
        };
        budgets::commit(conn, &before.row.programme_code, &deltas, w.now, w.subject)?;
        let seq: i32 = n::table
            .filter(n::application_id.eq(&case_id))
            .filter(n::status.eq(SIGNED))
            .select(diesel::dsl::max(n::seq))
            .first::<Option<i32>>(conn)?
            .unwrap_or(0)
            + 1;
        let number = NoticeKind::number(&before.row.case_number, i64::from(seq));
        let updated = diesel::update(n::table.find(id).filter(n::status.eq(PREPARED)))
            .set((
                n::status.eq(SIGNED),
                n::number.eq(&number),
                n::seq.eq(seq),
                n::signed_by.eq(w.subject),
                n::signed_at.eq(w.now),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Err(WriteError::Conflict(format!(
                "notice {id} was signed by someone else a moment ago"
            )));
        }
        let track: Tracking = match kind {
            NoticeKind::Amendment => before.row.tracking(),
            _ => before
                .row
                .tracking()
                .after(action, to, None, w.now, w.subject)
                .map_err(WriteError::Conflict)?,
        };
        let reclaim = notice.row.reclaim_cents.unwrap_or(0);
        diesel::update(ap::table.find(&case_id))
            .set((
                ap::status.eq(to.as_str()),
                ap::granted_cents.eq(notice.row.granted_cents.or(before.row.granted_cents)),
                ap::reclaimed_cents.eq(before.row.reclaimed_cents + reclaim),
                ap::info_due.eq(track.info_due),
                ap::early_start_at.eq(track.early_start.as_ref().map(|e| e.0)),
                ap::early_start_by.eq(track.early_start.map(|e| e.1)),
                ap::clock_seconds.eq(track.clock.accumulated_secs),
                ap::clock_since.eq(track.clock.running_since),
            ))
            .execute(conn)?;
        let after = cases::find(conn, &case_id, Scope::All)?
            .ok_or_else(|| WriteError::NotFound(format!("no application {case_id}")))?;
        let reason = number.clone();
        audit::append(
            conn,
            &w.event_on(
                cases::RECORD_TYPE,
                &case_id,
                history_action(kind),
                Some(from.as_str()),
                Some(to.as_str()),
                Some(&reason),
                audit::diff(&before.snapshot(), &after.snapshot()),
            ),
        )?;
        let signed = find(conn, id, Scope::All)?
            .ok_or_else(|| WriteError::NotFound(format!("no notice {id}")))?;
        let mut changes = audit::diff(&notice.snapshot(), &signed.snapshot());
        if let Value::Object(m) = &mut changes {
            m.insert(
                "budget_commitments".into(),
                json!({"before": null, "after": deltas.iter().map(|(y, c)| json!({
                    "programme": before.row.programme_code, "fiscal_year": y,
                    "change": crate::domain::money::euros_text(*c),
                })).collect::<Vec<_>>()}),
            );
        }
        audit::append(
            conn,
            &w.event_on(
                RECORD_TYPE,
                id,
                "sign",
                Some(PREPARED),
                Some(SIGNED),
                Some(&number),
                changes,
            ),
        )?;
        Ok(signed)
    })
}
