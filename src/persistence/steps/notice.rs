//! What preparing and signing a notice change. `domain::notice::decide` computes what a
//! notice decides; these steps turn it into the notice's rows, move the case on at signing,
//! compute the budget commitments and write the audit entries. No I/O.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::add;
use crate::domain::application::{ProgrammeTerms, Tracking, Violation};
use crate::domain::calendar::{DeliveryRule, delivery_days};
use crate::domain::money::euros_text;
use crate::domain::notice::{
    CaseFacts, NoticeKind, NoticeRequest, NoticeStatus, ProgrammeLimits, allocation_deltas, decide,
};
use crate::domain::{Action, Money, Role, Status, transition};
use crate::persistence::applications::{self as cases, Case, WriteError, Writer, corrupt};
use crate::persistence::audit::{Entry, diff};
use crate::persistence::ledger;
use crate::persistence::notices::{
    AllocationRow, Notice, NoticeLineRow, NoticeRow, RECORD_TYPE, case_lines,
};

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
            crate::domain::calendar::german_date(at)
        )));
    }
    Ok(())
}

/// A kind of notice that changes the grant in force refers to it.
pub(crate) fn refers_to_in_force(kind: NoticeKind) -> bool {
    matches!(
        kind,
        NoticeKind::Amendment | NoticeKind::Final | NoticeKind::Revocation
    )
}

/// What preparing a notice reads besides the case.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PrepareFacts<'a> {
    pub terms: &'a ProgrammeTerms,
    /// The notice in force, for the kinds that change it (`refers_to_in_force`).
    pub in_force: Option<&'a Notice>,
    pub delivery: &'a [DeliveryRule],
    /// The German day the case's first grant notice was signed, if one was.
    pub granted_on: Option<NaiveDate>,
}

/// The days after posting a notice is deemed delivered, for the posting day of `req`.
fn delivery(
    req: &NoticeRequest,
    rules: &[DeliveryRule],
    w: &Writer<'_>,
) -> Result<u32, WriteError> {
    let posted = req.posted_on.unwrap_or(w.today());
    match delivery_days(rules, posted) {
        Some(days) => Ok(days),
        // A day before the first rule (1900) lies before today, which `decide` refuses too;
        // without a rule for today the rules themselves are broken.
        None if posted < w.today() => Err(WriteError::Invalid(vec![Violation {
            field: "posted_on".into(),
            message: format!("must not lie before today ({})", w.today()),
        }])),
        None => Err(corrupt(format!("no delivery rule for {posted}")).into()),
    }
}

/// A notice of `kind` prepared for the case by the writer (the case does not change), with
/// its audit entry.
pub(crate) fn prepare(
    case: &Case,
    kind: NoticeKind,
    req: &NoticeRequest,
    facts: PrepareFacts<'_>,
    w: &Writer<'_>,
) -> Result<(Notice, Entry), WriteError> {
    let status = case.row.status;
    check_status(kind, status)?;
    check_early_start(kind, case)?;
    let force = facts.in_force.filter(|_| refers_to_in_force(kind));
    let force_terms = force.and_then(Notice::as_in_force);
    let lines = case_lines(&case.lines);
    let days = delivery(req, facts.delivery, w)?;
    let terms = facts.terms;
    let case_facts = CaseFacts {
        status,
        title: &case.row.title,
        lines: &lines,
        own_contribution: case.row.own_contribution_cents,
        third_party: case.row.third_party_cents,
        requested: case.row.requested_cents,
        paid: case.row.paid_cents,
        reclaimed: case.row.reclaimed_cents,
        programme: ProgrammeLimits {
            financing_type: terms.financing_type,
            max_rate_bp: terms.max_rate_bp,
            max_grant: terms.max_grant,
        },
        in_force: force_terms.as_ref(),
        project: case.row.project_start.zip(case.row.project_end),
        granted_on: facts.granted_on,
        today: w.today(),
        delivery_days: days,
    };
    let d = decide(kind, req, &case_facts).map_err(WriteError::Invalid)?;
    let id = w.make_id();
    let row = NoticeRow {
        id: id.clone(),
        application_id: case.row.id.clone(),
        kind,
        status: NoticeStatus::Prepared,
        number: None,
        seq: None,
        case_version: case.row.version,
        refers_to: force.map(|f| f.row.id.clone()),
        financing_type: d.terms.map(|t| t.financing_type),
        rate_bp: d.terms.and_then(|t| t.rate_bp),
        max_cents: d.terms.and_then(|t| t.cap),
        fixed_cents: d.terms.and_then(|t| t.fixed),
        eligible_cents: d.eligible,
        computed_cents: d.computed,
        granted_cents: d.granted,
        paid_cents: case.row.paid_cents,
        revoked_cents: d.revoked,
        reclaim_cents: d.reclaim,
        reclaim_due: d.reclaim_due,
        interest_from: d.interest_from,
        grant_period_start: d.grant_period.map(|p| p.0),
        grant_period_end: d.grant_period.map(|p| p.1),
        proof_due: d.proof_due,
        purpose: d.purpose.clone(),
        binding_years: d.binding_years,
        reason: d.reason.clone(),
        posted_on: d.posted_on,
        delivery_days: i32::try_from(days).unwrap_or(i32::MAX),
        prepared_by: w.subject.to_owned(),
        prepared_at: w.now,
        signed_by: None,
        signed_at: None,
    };
    let mut lines: Vec<NoticeLineRow> = d
        .lines
        .iter()
        .map(|l| NoticeLineRow {
            notice_id: id.clone(),
            line_no: l.line,
            applied_cents: l.applied,
            approved_cents: l.approved,
            actual_cents: l.actual,
            eligible: l.eligible,
            reason: l.reason.clone(),
        })
        .collect();
    lines.sort_by_key(|l| l.line_no);
    let mut allocations: Vec<AllocationRow> = d
        .allocations
        .iter()
        .map(|(year, amount)| AllocationRow {
            notice_id: id.clone(),
            fiscal_year: *year,
            amount_cents: *amount,
        })
        .collect();
    allocations.sort_by_key(|a| a.fiscal_year);
    let notice = Notice {
        row,
        lines,
        allocations,
        case_number: case.row.case_number.clone(),
        refers_to_number: force.and_then(|f| f.row.number.clone()),
        previous_grant_cents: force.and_then(|f| f.row.granted_cents),
    };
    let entry = w
        .entry(
            RECORD_TYPE,
            &id,
            "prepare",
            None,
            Some(NoticeStatus::Prepared.as_str()),
            None,
            diff(&json!({}), &notice.snapshot()),
        )
        .with_state(Value::Null, ledger::notice(&notice, None));
    Ok((notice, entry))
}

/// The lifecycle action a signed notice records in the case's history.
fn history_action(kind: NoticeKind) -> &'static str {
    match kind.drives() {
        Some(a) => a.as_str(),
        None if kind == NoticeKind::EarlyStart => Action::PermitEarlyStart.as_str(),
        None => "amend",
    }
}

/// Whether the writer may sign the notice for the case as it is now: still prepared (409),
/// not by its preparer (403), the case at the prepared version (409) and in a status the
/// kind allows (409). Returns the case's status now and after the signing.
pub(crate) fn check_signing(
    notice: &Notice,
    case: &Case,
    w: &Writer<'_>,
) -> Result<(Status, Status), WriteError> {
    if notice.is_signed() {
        return Err(WriteError::Conflict(format!(
            "notice {} is signed and never changes; a correction is a new notice (an \
             amendment or revocation) that refers to it",
            notice.row.number.as_deref().unwrap_or(&notice.row.id)
        )));
    }
    if notice.row.prepared_by == w.subject {
        return Err(WriteError::Forbidden(
            "four-eyes principle: a notice is signed by someone other than the person who \
             prepared it"
                .into(),
        ));
    }
    let kind = notice.kind();
    if case.row.version != notice.row.case_version {
        return Err(WriteError::Conflict(format!(
            "the case has changed since this notice was prepared (version {} then, {} \
             now); prepare the notice again",
            notice.row.case_version, case.row.version
        )));
    }
    let from = case.row.status;
    check_status(kind, from)?;
    check_early_start(kind, case)?;
    let to = match kind.drives() {
        Some(a) => transition(from, a, Role::Approver).map_err(WriteError::Refused)?,
        None => from,
    };
    Ok((from, to))
}

/// The budget changes of a signing: the change of the allocation in force, year by year
/// (`referred`: the notice this one changes).
pub(crate) fn budget_deltas(notice: &Notice, referred: Option<&Notice>) -> Vec<(i32, i64)> {
    if notice.row.granted_cents.is_none() {
        return Vec::new();
    }
    let old = match referred {
        Some(r) => r.allocation_pairs(),
        None => Vec::new(),
    };
    allocation_deltas(&old, &notice.allocation_pairs())
}

/// What a signing changes.
#[derive(Debug, Clone)]
pub(crate) struct Signing {
    pub notice: Notice,
    pub case: Case,
    /// Budget changes per fiscal year, in year order.
    pub deltas: Vec<(i32, i64)>,
    pub case_entry: Entry,
    pub notice_entry: Entry,
}

/// The signing of a notice that passed `check_signing`: its number (`seq`-th signed notice of
/// the case), the case's new status, grant, reclaim and tracking, and both audit entries.
pub(crate) fn sign(
    notice: &Notice,
    before: &Case,
    (from, to): (Status, Status),
    deltas: Vec<(i32, i64)>,
    seq: i32,
    w: &Writer<'_>,
) -> Result<Signing, WriteError> {
    let kind = notice.kind();
    let number = NoticeKind::number(&before.row.case_number, i64::from(seq));
    let mut signed = notice.clone();
    signed.row.status = NoticeStatus::Signed;
    signed.row.number = Some(number.clone());
    signed.row.seq = Some(seq);
    signed.row.signed_by = Some(w.subject.to_owned());
    signed.row.signed_at = Some(w.now);
    let action = kind.drives().unwrap_or(Action::PermitEarlyStart);
    let track: Tracking = match kind {
        NoticeKind::Amendment => before.row.tracking(),
        _ => before
            .row
            .tracking()
            .after(action, to, None, w.now, w.subject)
            .map_err(WriteError::Conflict)?,
    };
    let mut after = before.clone();
    let r = &mut after.row;
    r.version = before.row.version + 1;
    r.updated_at = w.now;
    r.status = to;
    r.granted_cents = notice.row.granted_cents.or(before.row.granted_cents);
    r.reclaimed_cents = add(
        before.row.reclaimed_cents,
        notice.row.reclaim_cents.unwrap_or(Money::ZERO),
    )?;
    r.info_due = track.info_due;
    (r.early_start_at, r.early_start_by) = track.early_start.unzip();
    r.clock_seconds = track.clock.accumulated_secs;
    r.clock_since = track.clock.running_since;
    let case_entry = w
        .entry(
            cases::RECORD_TYPE,
            &before.row.id,
            history_action(kind),
            Some(from.as_str()),
            Some(to.as_str()),
            Some(&number),
            diff(&before.snapshot(), &after.snapshot()),
        )
        .with_state(ledger::case(before), ledger::case(&after));
    let mut changes = diff(&notice.snapshot(), &signed.snapshot());
    if let Value::Object(m) = &mut changes {
        m.insert(
            "budget_commitments".into(),
            json!({"before": null, "after": deltas.iter().map(|(y, c)| json!({
                "programme": before.row.programme_code, "fiscal_year": y,
                "change": euros_text(*c),
            })).collect::<Vec<_>>()}),
        );
    }
    let notice_entry = w
        .entry(
            RECORD_TYPE,
            &notice.row.id,
            "sign",
            Some(NoticeStatus::Prepared.as_str()),
            Some(NoticeStatus::Signed.as_str()),
            Some(&number),
            changes,
        )
        .with_state(ledger::notice(notice, None), ledger::notice(&signed, None));
    Ok(Signing {
        notice: signed,
        case: after,
        deltas,
        case_entry,
        notice_entry,
    })
}
