//! One case played through the write path in memory: the same domain rules, the same row
//! changes and the same audit entries as `persistence::applications`, `persistence::notices`
//! and `persistence::payments` write, at the instant the demo history says. Only the checks
//! that look at today's date against stored data (a funding object no longer fundable, a
//! programme no longer open) use the state of that day instead, which is why the seed does
//! not call the real write path: it refuses backdated work, by design.
//!
//! Every step checks what the real path checks and fails with a message instead of writing
//! something the service could not have written.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use super::rng::Rng;
use crate::domain::application::{
    Content, Member, ProgrammeTerms, WHOLE_SHARE_BP, draft_violations, submission_violations,
    transition_input_violations,
};
use crate::domain::audit::GENESIS;
use crate::domain::calendar::{DeliveryRule, delivery_days};
use crate::domain::money::euros_text;
use crate::domain::notice::{
    CaseFacts, Decided, InForce, NoticeKind, NoticeRequest, ProgrammeLimits, allocation_deltas,
    decide,
};
use crate::domain::{Action, Money, Role, Status, transition};
use crate::persistence::applications::{
    self as cases, ApplicationRow, Case, CostLineRow, FIRST_VERSION, MemberRow,
};
use crate::persistence::audit::{AuditEvent, diff};
use crate::persistence::notices::{self, AllocationRow, NoticeLineRow, NoticeRow};
use crate::persistence::payments::{self, PAYABLE, PaymentRow};

/// How the simulation writes: record ids and the detail of the audit changes.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    rng: Rng,
    /// `None`: random (version 4) UUIDs, as the service makes them. `Some(ms)`: time-ordered
    /// (version 7) UUIDs stamped with these Unix milliseconds, so that a bulk load appends
    /// to the id indexes instead of writing all over them.
    millis: Option<u64>,
    detail: Detail,
}

impl Style {
    /// As the service writes: random ids, the full changes.
    pub(crate) fn service(rng: Rng) -> Style {
        Style {
            rng,
            millis: None,
            detail: Detail::Full,
        }
    }

    /// For a load: ids ordered by `millis` (the case's opening), compact changes.
    pub(crate) fn load(rng: Rng, millis: u64) -> Style {
        Style {
            rng,
            millis: Some(millis),
            detail: Detail::Compact,
        }
    }

    fn next_id(&mut self) -> String {
        match self.millis {
            None => self.rng.uuid(),
            Some(ms) => self.rng.uuid_v7(ms),
        }
    }
}

/// What the audit entries record as `changes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Exactly what the write path records: the diff of the full snapshots of the case or
    /// notice before and after (titles, descriptions, cost lines, partners, notice lines).
    Full,
    /// The diff of the scalar fields only (status, money, dates, numbers), with the sum of
    /// the actual costs for the cost lines: a compact record of what changed, for loads of
    /// millions of cases.
    Compact,
}

/// The scalar part of `Case::snapshot`, plus the sum of the actual costs.
fn compact_case_snapshot(c: &Case) -> Value {
    let r = &c.row;
    let euros = |c: i64| Money::from_cents(c).map_or(Value::Null, |m| json!(m.to_string()));
    let actual: Option<i64> = c.lines.iter().map(|l| l.actual_cents).sum::<Option<i64>>();
    json!({
        "status": r.status,
        "programme": r.programme_code,
        "funding_object": r.funding_object,
        "project_start": r.project_start,
        "project_end": r.project_end,
        "own_contribution": euros(r.own_contribution_cents),
        "third_party_funds": euros(r.third_party_cents),
        "requested_grant": euros(r.requested_cents),
        "joint": r.joint,
        "info_due": r.info_due,
        "early_start_at": r.early_start_at,
        "early_start_by": r.early_start_by,
        "granted_amount": r.granted_cents.map(euros),
        "paid_amount": euros(r.paid_cents),
        "reclaim_amount": euros(r.reclaimed_cents),
        "actual_costs": actual.map(euros),
    })
}

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    pub subject: String,
    pub role: Role,
}

impl Actor {
    pub(crate) fn new(subject: impl Into<String>, role: Role) -> Actor {
        Actor {
            subject: subject.into(),
            role,
        }
    }
}

/// What the simulation reads from the database once.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// The programmes as stored (their current funding objects).
    pub terms: Vec<ProgrammeTerms>,
    /// The same programmes with every funding object fundable: the state before the
    /// competence centre closed objects (`fundable_now`), which the seed applies to
    /// submissions before `current_from`.
    pub historical: Vec<ProgrammeTerms>,
    pub current_from: NaiveDate,
    pub delivery: Vec<DeliveryRule>,
}

impl Env {
    pub(crate) fn terms(&self, code: &str) -> Result<&ProgrammeTerms, String> {
        self.terms
            .iter()
            .find(|t| t.code == code)
            .ok_or_else(|| format!("no programme {code}"))
    }

    fn terms_on(&self, code: &str, day: NaiveDate) -> Result<&ProgrammeTerms, String> {
        if day >= self.current_from {
            return self.terms(code);
        }
        self.historical
            .iter()
            .find(|t| t.code == code)
            .ok_or_else(|| format!("no programme {code}"))
    }
}

/// The last entry of one record's audit chain.
#[derive(Debug, Clone)]
struct Chain {
    seq: i64,
    hash: String,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            seq: 0,
            hash: GENESIS.to_owned(),
        }
    }
}

/// An entry for the audit log, hashed into its record's chain exactly as
/// `persistence::audit::append` does.
#[allow(clippy::too_many_arguments)]
fn append(
    out: &mut Vec<AuditEvent>,
    chain: &mut Chain,
    record_type: &str,
    record_key: &str,
    at: NaiveDateTime,
    actor: &Actor,
    action: &str,
    from: Option<&str>,
    to: Option<&str>,
    reason: Option<&str>,
    changes: &Value,
) {
    let mut e = AuditEvent {
        id: 0,
        record_type: record_type.to_owned(),
        record_key: record_key.to_owned(),
        seq: chain.seq + 1,
        occurred_at: at,
        actor: actor.subject.clone(),
        role: actor.role.as_str().to_owned(),
        action: action.to_owned(),
        from_status: from.map(str::to_owned),
        to_status: to.map(str::to_owned),
        reason: reason.map(str::to_owned),
        changes: changes.to_string(),
        prev_hash: chain.hash.clone(),
        hash: String::new(),
    };
    e.hash = e.expected_hash();
    chain.seq = e.seq;
    chain.hash.clone_from(&e.hash);
    out.push(e);
}

#[derive(Debug, Clone)]
pub(crate) struct SimNotice {
    pub row: NoticeRow,
    pub lines: Vec<NoticeLineRow>,
    pub allocations: Vec<AllocationRow>,
    chain: Chain,
}

impl SimNotice {
    pub(crate) fn kind(&self) -> Result<NoticeKind, String> {
        self.row.kind.parse()
    }

    fn allocation_pairs(&self) -> Result<Vec<(i32, Money)>, String> {
        notices::allocation_pairs(&self.allocations).map_err(|e| e.to_string())
    }

    fn as_in_force(&self) -> Result<Option<InForce>, String> {
        notices::in_force_of(&self.row, &self.lines, &self.allocations).map_err(|e| e.to_string())
    }

    fn snapshot_as(&self, detail: Detail) -> Value {
        match detail {
            Detail::Full => self.snapshot(),
            Detail::Compact => self.compact_snapshot(),
        }
    }

    /// The scalar part of `snapshot`.
    fn compact_snapshot(&self) -> Value {
        let e = |c: Option<i64>| {
            c.and_then(|c| Money::from_cents(c).ok())
                .map(|m| m.to_string())
        };
        let r = &self.row;
        json!({
            "kind": r.kind, "status": r.status, "number": r.number,
            "case_version": r.case_version, "refers_to": r.refers_to,
            "financing_type": r.financing_type, "rate_bp": r.rate_bp,
            "fixed_amount": e(r.fixed_cents), "eligible_amount": e(r.eligible_cents),
            "granted_amount": e(r.granted_cents), "paid_amount": e(Some(r.paid_cents)),
            "revoked_amount": e(r.revoked_cents), "reclaim_amount": e(r.reclaim_cents),
            "grant_period_start": r.grant_period_start, "grant_period_end": r.grant_period_end,
            "posted_on": r.posted_on,
        })
    }

    /// What the audit log records of a notice, as `persistence::notices` writes it.
    fn snapshot(&self) -> Value {
        notices::snapshot_of(&self.row, &self.lines, &self.allocations)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SimPayment {
    pub row: PaymentRow,
    chain: Chain,
}

/// A change of what a programme-year's budget commits, made by a signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    pub programme: String,
    pub fiscal_year: i32,
    pub delta: i64,
    pub at: NaiveDateTime,
    pub by: String,
}

fn money(c: i64) -> Result<Money, String> {
    Money::from_cents(c).map_err(|e| e.to_string())
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn violations(what: &str, v: &[crate::domain::application::Violation]) -> String {
    let list: Vec<String> = v
        .iter()
        .map(|v| format!("{}: {}", v.field, v.message))
        .collect();
    format!("{what}: {}", list.join("; "))
}

/// The case's rows after a content write (as `write_content`).
fn content_rows(row: &mut ApplicationRow, content: &Content) -> (Vec<CostLineRow>, Vec<MemberRow>) {
    let t = content.totals();
    row.funding_object.clone_from(&content.funding_object);
    row.joint = content.joint;
    row.title.clone_from(&content.title);
    row.description.clone_from(&content.description);
    row.project_start = content.project_start;
    row.project_end = content.project_end;
    row.total_cost_cents = t.total_cost;
    row.eligible_cents = t.eligible;
    row.own_contribution_cents = content.own_contribution.cents();
    row.third_party_cents = content.third_party_funds.cents();
    row.requested_cents = content.requested_grant.cents();
    let lines = content
        .cost_lines
        .iter()
        .enumerate()
        .map(|(i, l)| CostLineRow {
            application_id: row.id.clone(),
            line_no: i32::try_from(i + 1).unwrap_or(i32::MAX),
            category: l.category.as_str().to_owned(),
            description: l.description.clone(),
            amount_cents: l.amount.cents(),
            eligible: l.eligible,
            actual_cents: None,
        })
        .collect();
    let members: Vec<Member> = if content.joint {
        content.members.clone()
    } else {
        vec![Member {
            ags: content.lead.clone(),
            share_bp: WHOLE_SHARE_BP,
        }]
    };
    let members = members
        .iter()
        .enumerate()
        .map(|(i, m)| MemberRow {
            application_id: row.id.clone(),
            position: i32::try_from(i).unwrap_or(i32::MAX),
            ags: m.ags.as_str().to_owned(),
            kreis: m.ags.kreis().as_str().to_owned(),
            share_bp: m.share_bp,
            is_lead: m.ags == content.lead,
        })
        .collect();
    (lines, members)
}

/// A case in memory, with everything written about it so far.
#[derive(Debug)]
pub(crate) struct Sim<'e> {
    env: &'e Env,
    pub case: Case,
    snapshot: Value,
    chain: Chain,
    pub notices: Vec<SimNotice>,
    in_force: Option<usize>,
    pub payments: Vec<SimPayment>,
    pub audit: Vec<AuditEvent>,
    pub commits: Vec<Commit>,
    style: Style,
}

impl<'e> Sim<'e> {
    /// `persistence::applications::create`: a draft with its content and number.
    pub(crate) fn create(
        env: &'e Env,
        mut style: Style,
        case_number: String,
        programme: &str,
        content: &Content,
        at: NaiveDateTime,
        actor: &Actor,
    ) -> Result<Sim<'e>, String> {
        let v = draft_violations(content);
        if !v.is_empty() {
            return Err(violations("draft", &v));
        }
        let terms = env.terms(programme)?;
        if !terms
            .funding_objects
            .iter()
            .any(|(o, _)| *o == content.funding_object)
        {
            return Err(format!(
                "{programme} has no funding object {}",
                content.funding_object
            ));
        }
        let mut row = ApplicationRow {
            id: style.next_id(),
            case_number,
            case_year: at.year(),
            programme_code: programme.to_owned(),
            funding_object: String::new(),
            lead_ags: content.lead.as_str().to_owned(),
            joint: false,
            title: String::new(),
            description: String::new(),
            project_start: None,
            project_end: None,
            total_cost_cents: 0,
            eligible_cents: 0,
            own_contribution_cents: 0,
            third_party_cents: 0,
            requested_cents: 0,
            granted_cents: None,
            paid_cents: 0,
            status: Status::Draft.as_str().to_owned(),
            version: FIRST_VERSION,
            info_due: None,
            early_start_at: None,
            early_start_by: None,
            clock_seconds: 0,
            clock_since: None,
            submitted_at: None,
            created_by: actor.subject.clone(),
            created_at: at,
            updated_at: at,
            reclaimed_cents: 0,
        };
        let (lines, members) = content_rows(&mut row, content);
        let case = Case {
            row,
            lines,
            members,
        };
        let snapshot = match style.detail {
            Detail::Full => case.snapshot(),
            Detail::Compact => compact_case_snapshot(&case),
        };
        let mut changes = diff(&json!({}), &snapshot);
        if let Value::Object(m) = &mut changes {
            m.insert(
                "case_number".into(),
                json!({"before": null, "after": case.row.case_number}),
            );
        }
        let mut sim = Sim {
            env,
            case,
            snapshot,
            chain: Chain::new(),
            notices: Vec::new(),
            in_force: None,
            payments: Vec::new(),
            audit: Vec::with_capacity(24),
            commits: Vec::new(),
            style,
        };
        let id = sim.case.row.id.clone();
        append(
            &mut sim.audit,
            &mut sim.chain,
            cases::RECORD_TYPE,
            &id,
            at,
            actor,
            "create",
            None,
            Some(Status::Draft.as_str()),
            None,
            &changes,
        );
        Ok(sim)
    }

    pub(crate) fn status(&self) -> Result<Status, String> {
        self.case.row.status()
    }

    /// The version bump every write of the case row makes (`bump_version`).
    fn bump(&mut self, at: NaiveDateTime) {
        self.case.row.version += 1;
        self.case.row.updated_at = at;
    }

    #[allow(clippy::too_many_arguments)]
    fn app_event(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        reason: Option<&str>,
        changes: &Value,
    ) {
        let id = self.case.row.id.clone();
        append(
            &mut self.audit,
            &mut self.chain,
            cases::RECORD_TYPE,
            &id,
            at,
            actor,
            action,
            from,
            to,
            reason,
            changes,
        );
    }

    fn case_snapshot(&self) -> Value {
        match self.style.detail {
            Detail::Full => self.case.snapshot(),
            Detail::Compact => compact_case_snapshot(&self.case),
        }
    }

    /// The snapshot after a change, and the diff from the one before.
    fn changed(&mut self) -> Value {
        let after = self.case_snapshot();
        let changes = diff(&self.snapshot, &after);
        self.snapshot = after;
        changes
    }

    /// `update_draft`: the lead applicant edits the draft.
    pub(crate) fn edit(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        reason: Option<&str>,
        edit: impl FnOnce(&mut Content),
    ) -> Result<(), String> {
        if self.status()? != Status::Draft {
            return Err(format!("edit of a case in {}", self.case.row.status));
        }
        let before = self.case.content().map_err(err)?;
        let mut content = before.clone();
        edit(&mut content);
        if content == before {
            return Ok(());
        }
        let v = draft_violations(&content);
        if !v.is_empty() {
            return Err(violations("edit", &v));
        }
        self.bump(at);
        let (lines, members) = content_rows(&mut self.case.row, &content);
        self.case.lines = lines;
        self.case.members = members;
        let changes = self.changed();
        self.app_event(at, actor, "edit", None, None, reason, &changes);
        Ok(())
    }

    /// `apply_transition`.
    pub(crate) fn transition(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        action: Action,
        reason: Option<&str>,
        response_due: Option<NaiveDate>,
        actual: Option<&[(i32, Money)]>,
    ) -> Result<(), String> {
        let today = at.date();
        let input = transition_input_violations(action, reason, response_due, today);
        if !input.is_empty() {
            return Err(violations(action.as_str(), &input));
        }
        let from = self.status()?;
        let to = transition(from, action, actor.role).map_err(err)?;
        self.check_lead(actor)?;
        match (action, actual) {
            (Action::SubmitProof, Some(a)) => {
                let mut named: Vec<i32> = a.iter().map(|(l, _)| *l).collect();
                named.sort_unstable();
                let expected: Vec<i32> =
                    (1..=i32::try_from(self.case.lines.len()).unwrap_or(0)).collect();
                if named != expected {
                    return Err("the proof of use names every cost line once".into());
                }
            }
            (Action::SubmitProof, None) => return Err("a proof of use without costs".into()),
            (_, Some(_)) => return Err(format!("{action} carries no actual costs")),
            (_, None) => {}
        }
        if action == Action::Submit {
            let content = self.case.content().map_err(err)?;
            let terms = self.env.terms_on(&self.case.row.programme_code, today)?;
            let current: HashSet<String> =
                self.case.members.iter().map(|m| m.ags.clone()).collect();
            let v = submission_violations(&content, terms, &current, today);
            if !v.is_empty() {
                return Err(violations("submit", &v));
            }
        }
        let track = self
            .case
            .row
            .tracking()
            .after(action, to, response_due, at, &actor.subject)?;
        self.bump(at);
        let r = &mut self.case.row;
        r.status = to.as_str().to_owned();
        r.info_due = track.info_due;
        r.early_start_at = track.early_start.as_ref().map(|e| e.0);
        r.early_start_by = track.early_start.map(|e| e.1);
        r.clock_seconds = track.clock.accumulated_secs;
        r.clock_since = track.clock.running_since;
        r.submitted_at = track.submitted_at;
        for (line, amount) in actual.unwrap_or_default() {
            if let Some(l) = self.case.lines.iter_mut().find(|l| l.line_no == *line) {
                l.actual_cents = Some(amount.cents());
            }
        }
        let changes = self.changed();
        self.app_event(
            at,
            actor,
            action.as_str(),
            Some(from.as_str()),
            Some(to.as_str()),
            reason,
            &changes,
        );
        Ok(())
    }

    fn check_lead(&self, actor: &Actor) -> Result<(), String> {
        if actor.role == Role::Applicant
            && actor.subject != super::text::applicant(&self.case.row.lead_ags)
        {
            return Err(format!(
                "{} is not the lead applicant of {}",
                actor.subject, self.case.row.case_number
            ));
        }
        Ok(())
    }

    /// The notice in force (the latest signed notice that set a grant).
    pub(crate) fn in_force(&self) -> Option<&SimNotice> {
        self.in_force.and_then(|i| self.notices.get(i))
    }

    /// What `decide` says a notice of `kind` prepared on `today` would be, without writing.
    pub(crate) fn decide(
        &self,
        kind: NoticeKind,
        req: &NoticeRequest,
        today: NaiveDate,
    ) -> Result<(Decided, u32), String> {
        let status = self.status()?;
        if !kind.allowed_in().contains(&status) {
            return Err(format!("a {kind} notice for a case in {status}"));
        }
        if kind == NoticeKind::EarlyStart && self.case.row.early_start_at.is_some() {
            return Err("early start was permitted already".into());
        }
        let terms = self.env.terms(&self.case.row.programme_code)?;
        let force = match kind {
            NoticeKind::Amendment | NoticeKind::Final | NoticeKind::Revocation => self.in_force(),
            _ => None,
        };
        let force_terms = force.map(SimNotice::as_in_force).transpose()?.flatten();
        let lines = notices::case_lines(&self.case.lines).map_err(|e| e.to_string())?;
        let posted = req.posted_on.unwrap_or(today);
        let days = delivery_days(&self.env.delivery, posted)
            .ok_or_else(|| format!("no delivery rule for {posted}"))?;
        let r = &self.case.row;
        let facts = CaseFacts {
            status,
            title: &r.title,
            lines: &lines,
            own_contribution: money(r.own_contribution_cents)?,
            third_party: money(r.third_party_cents)?,
            requested: money(r.requested_cents)?,
            paid: money(r.paid_cents)?,
            reclaimed: money(r.reclaimed_cents)?,
            programme: ProgrammeLimits {
                financing_type: terms.financing_type,
                max_rate_bp: terms.max_rate_bp,
                max_grant: terms.max_grant,
            },
            in_force: force_terms.as_ref(),
            today,
            delivery_days: days,
        };
        let d = decide(kind, req, &facts).map_err(|v| violations(kind.as_str(), &v))?;
        Ok((d, days))
    }

    /// `persistence::notices::prepare` (caseworker); returns the notice's index.
    pub(crate) fn prepare_notice(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        kind: NoticeKind,
        req: &NoticeRequest,
    ) -> Result<usize, String> {
        if actor.role != Role::Caseworker {
            return Err(format!("a {} prepares no notices", actor.role));
        }
        let (d, days) = self.decide(kind, req, at.date())?;
        let refers_to = match kind {
            NoticeKind::Amendment | NoticeKind::Final | NoticeKind::Revocation => {
                self.in_force().map(|f| f.row.id.clone())
            }
            _ => None,
        };
        let id = self.style.next_id();
        let cents = |m: Option<Money>| m.map(Money::cents);
        let row = NoticeRow {
            id: id.clone(),
            application_id: self.case.row.id.clone(),
            kind: kind.as_str().to_owned(),
            status: notices::PREPARED.to_owned(),
            number: None,
            seq: None,
            case_version: self.case.row.version,
            refers_to,
            financing_type: d.terms.map(|t| t.financing_type.as_str().to_owned()),
            rate_bp: d.terms.and_then(|t| t.rate_bp),
            max_cents: d.terms.and_then(|t| t.cap).map(Money::cents),
            fixed_cents: d.terms.and_then(|t| t.fixed).map(Money::cents),
            eligible_cents: cents(d.eligible),
            computed_cents: cents(d.computed),
            granted_cents: cents(d.granted),
            paid_cents: self.case.row.paid_cents,
            revoked_cents: cents(d.revoked),
            reclaim_cents: cents(d.reclaim),
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
            prepared_by: actor.subject.clone(),
            prepared_at: at,
            signed_by: None,
            signed_at: None,
        };
        let lines = d
            .lines
            .iter()
            .map(|l| NoticeLineRow {
                notice_id: id.clone(),
                line_no: l.line,
                applied_cents: l.applied.cents(),
                approved_cents: l.approved.cents(),
                actual_cents: l.actual.map(Money::cents),
                eligible: l.eligible,
                reason: l.reason.clone(),
            })
            .collect();
        let allocations = d
            .allocations
            .iter()
            .map(|(year, amount)| AllocationRow {
                notice_id: id.clone(),
                fiscal_year: *year,
                amount_cents: amount.cents(),
            })
            .collect();
        let mut notice = SimNotice {
            row,
            lines,
            allocations,
            chain: Chain::new(),
        };
        let changes = diff(&json!({}), &notice.snapshot_as(self.style.detail));
        append(
            &mut self.audit,
            &mut notice.chain,
            notices::RECORD_TYPE,
            &id,
            at,
            actor,
            "prepare",
            None,
            Some(notices::PREPARED),
            None,
            &changes,
        );
        self.notices.push(notice);
        Ok(self.notices.len() - 1)
    }

    /// `persistence::notices::sign` (approver, not the preparer).
    pub(crate) fn sign_notice(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        idx: usize,
    ) -> Result<(), String> {
        if actor.role != Role::Approver {
            return Err(format!("a {} signs no notices", actor.role));
        }
        let notice = self.notices.get(idx).ok_or("no such notice")?;
        if notice.row.status != notices::PREPARED {
            return Err(format!("notice {} is signed already", notice.row.id));
        }
        if notice.row.prepared_by == actor.subject {
            return Err("four-eyes principle".into());
        }
        if notice.row.case_version != self.case.row.version {
            return Err(format!(
                "{}: the case changed since the notice was prepared",
                self.case.row.case_number
            ));
        }
        let kind = notice.kind()?;
        let from = self.status()?;
        if !kind.allowed_in().contains(&from) {
            return Err(format!("signing a {kind} notice for a case in {from}"));
        }
        if kind == NoticeKind::EarlyStart && self.case.row.early_start_at.is_some() {
            return Err("early start was permitted already".into());
        }
        let action = kind.drives().unwrap_or(Action::PermitEarlyStart);
        let to = match kind.drives() {
            Some(a) => transition(from, a, Role::Approver).map_err(err)?,
            None => from,
        };
        let deltas = if notice.row.granted_cents.is_some() {
            let old = match &notice.row.refers_to {
                Some(r) => self
                    .notices
                    .iter()
                    .find(|n| n.row.id == *r)
                    .ok_or("the referred notice is missing")?
                    .allocation_pairs()?,
                None => Vec::new(),
            };
            allocation_deltas(&old, &notice.allocation_pairs()?)
        } else {
            Vec::new()
        };
        for (year, delta) in &deltas {
            self.commits.push(Commit {
                programme: self.case.row.programme_code.clone(),
                fiscal_year: *year,
                delta: *delta,
                at,
                by: actor.subject.clone(),
            });
        }
        let seq = self
            .notices
            .iter()
            .filter_map(|n| n.row.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let number = NoticeKind::number(&self.case.row.case_number, i64::from(seq));
        let prepared = notice.snapshot_as(self.style.detail);
        let notice_granted = notice.row.granted_cents;
        let reclaim = notice.row.reclaim_cents.unwrap_or(0);
        self.bump(at);
        {
            let n = &mut self.notices[idx];
            n.row.status = notices::SIGNED.to_owned();
            n.row.number = Some(number.clone());
            n.row.seq = Some(seq);
            n.row.signed_by = Some(actor.subject.clone());
            n.row.signed_at = Some(at);
        }
        let track = match kind {
            NoticeKind::Amendment => self.case.row.tracking(),
            _ => self
                .case
                .row
                .tracking()
                .after(action, to, None, at, &actor.subject)?,
        };
        let r = &mut self.case.row;
        r.status = to.as_str().to_owned();
        r.granted_cents = notice_granted.or(r.granted_cents);
        r.reclaimed_cents += reclaim;
        r.info_due = track.info_due;
        r.early_start_at = track.early_start.as_ref().map(|e| e.0);
        r.early_start_by = track.early_start.map(|e| e.1);
        r.clock_seconds = track.clock.accumulated_secs;
        r.clock_since = track.clock.running_since;
        let history_action = match kind.drives() {
            Some(a) => a.as_str(),
            None if kind == NoticeKind::EarlyStart => Action::PermitEarlyStart.as_str(),
            None => "amend",
        };
        let changes = self.changed();
        self.app_event(
            at,
            actor,
            history_action,
            Some(from.as_str()),
            Some(to.as_str()),
            Some(&number),
            &changes,
        );
        let programme = self.case.row.programme_code.clone();
        let detail = self.style.detail;
        let n = &mut self.notices[idx];
        let mut changes = diff(&prepared, &n.snapshot_as(detail));
        if let Value::Object(m) = &mut changes {
            m.insert(
                "budget_commitments".into(),
                json!({"before": null, "after": deltas.iter().map(|(y, c)| json!({
                    "programme": programme, "fiscal_year": y,
                    "change": euros_text(*c),
                })).collect::<Vec<_>>()}),
            );
        }
        let id = n.row.id.clone();
        append(
            &mut self.audit,
            &mut n.chain,
            notices::RECORD_TYPE,
            &id,
            at,
            actor,
            "sign",
            Some(notices::PREPARED),
            Some(notices::SIGNED),
            Some(&number),
            &changes,
        );
        if notice_granted.is_some() {
            self.in_force = Some(idx);
        }
        Ok(())
    }

    fn payable(&self) -> bool {
        PAYABLE
            .iter()
            .any(|s| s.as_str() == self.case.row.status.as_str())
    }

    /// Requested or prepared, not yet paid.
    fn open_payments(&self) -> i64 {
        self.payments
            .iter()
            .filter(|p| p.row.status == "requested" || p.row.status == "prepared")
            .map(|p| p.row.amount_cents)
            .sum()
    }

    /// What the lead applicant may still request.
    pub(crate) fn payment_room(&self) -> i64 {
        self.case.row.granted_cents.unwrap_or(0) - self.case.row.paid_cents - self.open_payments()
    }

    /// `persistence::payments::request` (lead applicant); returns the request's index.
    pub(crate) fn request_payment(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        amount: i64,
        reason: Option<&str>,
    ) -> Result<usize, String> {
        self.check_lead(actor)?;
        if actor.role != Role::Applicant {
            return Err(format!("a {} requests no payments", actor.role));
        }
        if !self.payable() {
            return Err(format!("a payment for a case in {}", self.case.row.status));
        }
        if amount <= 0 || amount > self.payment_room() {
            return Err(format!(
                "{}: payment of {} with {} left",
                self.case.row.case_number,
                euros_text(amount),
                euros_text(self.payment_room())
            ));
        }
        let id = self.style.next_id();
        let row = PaymentRow {
            id: id.clone(),
            application_id: self.case.row.id.clone(),
            amount_cents: amount,
            reason: reason.map(str::to_owned),
            status: "requested".into(),
            requested_by: actor.subject.clone(),
            requested_at: at,
            prepared_by: None,
            prepared_at: None,
            paid_by: None,
            paid_at: None,
            paid_year: None,
            rejected_by: None,
            rejected_at: None,
            rejection_reason: None,
        };
        let mut p = SimPayment {
            row,
            chain: Chain::new(),
        };
        let changes = json!({
            "application": {"before": null, "after": self.case.row.id},
            "amount": {"before": null, "after": money(amount)?.to_string()},
        });
        append(
            &mut self.audit,
            &mut p.chain,
            payments::RECORD_TYPE,
            &id,
            at,
            actor,
            "request",
            None,
            Some("requested"),
            reason,
            &changes,
        );
        self.payments.push(p);
        Ok(self.payments.len() - 1)
    }

    /// `persistence::payments::payout` by a caseworker: prepares a requested payout.
    pub(crate) fn prepare_payment(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        idx: usize,
    ) -> Result<(), String> {
        if actor.role != Role::Caseworker {
            return Err(format!("a {} prepares no payouts", actor.role));
        }
        if !self.payable() {
            return Err(format!("a payout for a case in {}", self.case.row.status));
        }
        let room = self.case.row.granted_cents.unwrap_or(0) - self.case.row.paid_cents;
        let p = self
            .payments
            .get_mut(idx)
            .ok_or("no such payment request")?;
        if p.row.status != "requested" || p.row.amount_cents > room {
            return Err(format!("cannot prepare payment request {}", p.row.id));
        }
        p.row.status = "prepared".into();
        p.row.prepared_by = Some(actor.subject.clone());
        p.row.prepared_at = Some(at);
        let id = p.row.id.clone();
        append(
            &mut self.audit,
            &mut p.chain,
            payments::RECORD_TYPE,
            &id,
            at,
            actor,
            "prepare",
            Some("requested"),
            Some("prepared"),
            None,
            &json!({}),
        );
        Ok(())
    }

    /// `persistence::payments::payout` by an approver: releases a prepared payout.
    pub(crate) fn release_payment(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        idx: usize,
    ) -> Result<(), String> {
        if actor.role != Role::Approver {
            return Err(format!("a {} releases no payouts", actor.role));
        }
        let payable = self.payable();
        let p = self.payments.get(idx).ok_or("no such payment request")?;
        if p.row.status != "prepared" || p.row.prepared_by.as_deref() == Some(&actor.subject) {
            return Err(format!("cannot release payment request {}", p.row.id));
        }
        let x = p.row.amount_cents;
        let reason = format!("payment request {}", p.row.id);
        let granted = self
            .case
            .row
            .granted_cents
            .ok_or("a payout without a grant")?;
        if !payable || self.case.row.paid_cents + x > granted {
            return Err(format!(
                "{}: payout above the grant",
                self.case.row.case_number
            ));
        }
        self.case.row.paid_cents += x;
        self.bump(at);
        let status = self.case.row.status.clone();
        let paid = self.case.row.paid_cents;
        self.app_event(
            at,
            actor,
            "payout",
            Some(&status),
            Some(&status),
            Some(&reason),
            &json!({"paid_amount": {
                "before": euros_text(paid - x),
                "after": euros_text(paid),
            }}),
        );
        // The payout changes what the case's snapshot shows as paid.
        self.snapshot = self.case_snapshot();
        let p = &mut self.payments[idx];
        p.row.status = "paid".into();
        p.row.paid_by = Some(actor.subject.clone());
        p.row.paid_at = Some(at);
        p.row.paid_year = Some(crate::domain::calendar::german_year(at));
        let id = p.row.id.clone();
        append(
            &mut self.audit,
            &mut p.chain,
            payments::RECORD_TYPE,
            &id,
            at,
            actor,
            "pay",
            Some("prepared"),
            Some("paid"),
            None,
            &json!({}),
        );
        Ok(())
    }
}
