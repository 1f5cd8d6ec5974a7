//! One case played through the write path's steps in memory, at the instants the history
//! says: every write calls the same `persistence::steps` function as the API's transaction
//! (the same checks, rows, numbers, budget commitments and audit entries) and keeps what it
//! returns, so that the rows can be inserted in bulk. What the transaction reads from the
//! database, the simulation knows: the programmes (`Env`), the notices and payments of the
//! case, its audit chains.
//!
//! One fact is the history's own: the funding objects the competence centre has closed
//! since (`fundable_now` false today) were open before `Env::current_from`, so submissions
//! before that day are checked against the programme as it was then.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};

use super::rng::Rng;
use crate::domain::application::{Content, ProgrammeTerms};
use crate::domain::calendar::{DeliveryRule, german_date};
use crate::domain::notice::{NoticeKind, NoticeRequest};
use crate::domain::payment::PaymentStatus;
use crate::domain::{Action, Money, Role};
use crate::persistence::Expected;
use crate::persistence::applications::{Case, TransitionRequest, WriteError, Writer};
use crate::persistence::audit::Entry;
use crate::persistence::notices::Notice;
use crate::persistence::payments::PaymentRow;
use crate::persistence::steps::case::{self as case_step, SubmitFacts, member_keys};
use crate::persistence::steps::notice as notice_step;
use crate::persistence::steps::payment as payment_step;

/// How the simulation names the records it creates.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    rng: Rng,
    /// `None`: random (version 4) UUIDs, as the service makes them. `Some(ms)`: time-ordered
    /// (version 7) UUIDs stamped with these Unix milliseconds, so that a bulk load appends
    /// to the id indexes instead of writing all over them.
    millis: Option<u64>,
}

impl Style {
    /// As the service names records: random ids.
    pub(crate) fn service(rng: Rng) -> Style {
        Style { rng, millis: None }
    }

    /// For a load: ids ordered by `millis` (the case's opening).
    pub(crate) fn load(rng: Rng, millis: u64) -> Style {
        Style {
            rng,
            millis: Some(millis),
        }
    }

    fn next_id(&mut self) -> String {
        match self.millis {
            None => self.rng.uuid(),
            Some(ms) => self.rng.uuid_v7(ms),
        }
    }
}

/// Who acts: a token's subject, role and (applicants) municipalities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    pub subject: String,
    pub role: Role,
    pub municipalities: Vec<String>,
}

impl Actor {
    pub(crate) fn new(subject: impl Into<String>, role: Role) -> Actor {
        Actor {
            subject: subject.into(),
            role,
            municipalities: Vec::new(),
        }
    }

    /// The applicant of a municipality.
    pub(crate) fn applicant(subject: impl Into<String>, ags: &str) -> Actor {
        Actor {
            subject: subject.into(),
            role: Role::Applicant,
            municipalities: vec![ags.to_owned()],
        }
    }

    /// This actor as the write path's writer at `at`, creating `new_id` if the write
    /// creates a record.
    pub(crate) fn writer<'a>(&'a self, at: NaiveDateTime, new_id: Option<&'a str>) -> Writer<'a> {
        Writer {
            subject: &self.subject,
            role: self.role,
            municipalities: &self.municipalities,
            now: at,
            new_id,
            name: None,
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

/// A change of what a programme-year's budget commits, made by a signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    pub programme: String,
    pub fiscal_year: i32,
    pub delta: i64,
    pub at: NaiveDateTime,
    pub by: String,
}

/// A write of the history, as the API would receive it: who, when, on which record, with
/// which input. The demo history replays these through the API's transactions
/// (`seed::replay`).
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub at: NaiveDateTime,
    pub actor: Actor,
    /// The case, notice or payment request the write is about (the case for a create).
    pub record: String,
    /// The case's version the writer read (its `If-Match`).
    pub version: i32,
    /// The id of the record the write creates.
    pub new_id: Option<String>,
    pub op: Op,
}

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Create {
        programme: String,
        content: Box<Content>,
    },
    Edit {
        content: Box<Content>,
        reason: Option<String>,
    },
    Transition {
        action: Action,
        reason: Option<String>,
        response_due: Option<NaiveDate>,
        actual: Option<Vec<(i32, Money)>>,
    },
    Prepare {
        kind: NoticeKind,
        req: Box<NoticeRequest>,
    },
    Sign,
    Request {
        amount: Money,
        reason: Option<String>,
    },
    Payout,
    /// An administrator sets a budget.
    Budget {
        programme: String,
        year: i32,
        amount: Money,
        reason: String,
    },
    /// An administrator opens or closes funding objects of a programme.
    Programme {
        code: String,
        objects: Vec<(String, bool)>,
        reason: String,
    },
}

/// An audit entry of the history with its place in its record's history; the bulk load links
/// it into the global chain when it writes it (`persistence::audit::Chain::link`).
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub entry: Entry,
    pub seq: i64,
}

/// The records' history counts in memory: what `persistence::audit::append_all` reads.
#[derive(Debug, Default)]
pub(crate) struct Chains {
    heads: HashMap<(&'static str, String), i64>,
}

impl Chains {
    /// The entry as the next of its record's history.
    pub(crate) fn append(&mut self, e: &Entry) -> Logged {
        let head = self
            .heads
            .entry((e.record_type, e.record_key.clone()))
            .or_insert(0);
        *head += 1;
        Logged {
            entry: e.clone(),
            seq: *head,
        }
    }
}

/// A refused step as the seed reports it.
fn refused(what: &str, e: WriteError) -> String {
    match e {
        WriteError::Invalid(v) => {
            let list: Vec<String> = v
                .iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect();
            format!("{what}: {}", list.join("; "))
        }
        other => format!("{what}: {other:?}"),
    }
}

/// A case in memory, with everything written about it so far.
#[derive(Debug)]
pub(crate) struct Sim<'e> {
    env: &'e Env,
    pub case: Case,
    pub notices: Vec<Notice>,
    in_force: Option<usize>,
    pub payments: Vec<PaymentRow>,
    pub audit: Vec<Logged>,
    chains: Chains,
    pub commits: Vec<Commit>,
    style: Style,
    /// The writes in order, when asked for (`record_steps`).
    pub steps: Option<Vec<Step>>,
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
        let known: HashSet<String> = member_keys(content).into_iter().collect();
        let terms = env.terms(programme)?;
        let v = case_step::draft_check(programme, Some(terms), &known, content);
        if !v.is_empty() {
            return Err(refused("draft", WriteError::Invalid(v)));
        }
        let id = style.next_id();
        let w = actor.writer(at, None);
        let (case, entry) = case_step::create(id, case_number, programme, content, &w)
            .map_err(|e| refused("draft", e))?;
        let mut sim = Sim {
            env,
            case,
            notices: Vec::new(),
            in_force: None,
            payments: Vec::new(),
            audit: Vec::with_capacity(24),
            chains: Chains::default(),
            commits: Vec::new(),
            style,
            steps: None,
        };
        sim.log(&entry);
        Ok(sim)
    }

    /// Keeps the writes from now on, starting with the create (`at`, `actor`, `content`).
    pub(crate) fn record_steps(&mut self, at: NaiveDateTime, actor: &Actor, content: &Content) {
        let create = Step {
            at,
            actor: actor.clone(),
            record: self.case.row.id.clone(),
            version: 0,
            new_id: Some(self.case.row.id.clone()),
            op: Op::Create {
                programme: self.case.row.programme_code.clone(),
                content: Box::new(content.clone()),
            },
        };
        self.steps = Some(vec![create]);
    }

    /// Records a write on `record` (when steps are kept), at the case's current version.
    fn step(&mut self, at: NaiveDateTime, actor: &Actor, record: &str, id: Option<&str>, op: Op) {
        let version = self.case.row.version;
        if let Some(steps) = &mut self.steps {
            steps.push(Step {
                at,
                actor: actor.clone(),
                record: record.to_owned(),
                version,
                new_id: id.map(str::to_owned),
                op,
            });
        }
    }

    /// A write on the case that creates the record `id` (a notice, a payment request).
    fn created(&mut self, at: NaiveDateTime, actor: &Actor, id: &str, op: Op, e: &Entry) {
        let case = self.case.row.id.clone();
        self.step(at, actor, &case, Some(id), op);
        self.log(e);
    }

    fn log(&mut self, e: &Entry) {
        let event = self.chains.append(e);
        self.audit.push(event);
    }

    /// `update_draft`: the lead applicant edits the draft.
    pub(crate) fn edit(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        reason: Option<&str>,
        edit: impl FnOnce(&mut Content),
    ) -> Result<(), String> {
        let w = actor.writer(at, None);
        let step = |sim: &Sim<'_>| -> Result<Option<(Case, Entry)>, WriteError> {
            w.check_lead(&sim.case)?;
            case_step::editable(&sim.case)?;
            let mut content = sim.case.content()?;
            edit(&mut content);
            let programme = &sim.case.row.programme_code;
            let known: HashSet<String> = member_keys(&content).into_iter().collect();
            let terms = sim.env.terms(programme).ok();
            let v = case_step::draft_check(programme, terms, &known, &content);
            if !v.is_empty() {
                return Err(WriteError::Invalid(v));
            }
            case_step::edit(&sim.case, programme, &content, reason, &w)
        };
        if let Some((case, entry)) = step(self).map_err(|e| refused("edit", e))? {
            let content = Box::new(case.content().map_err(|e| e.to_string())?);
            let reason = reason.map(str::to_owned);
            let id = case.row.id.clone();
            self.step(at, actor, &id, None, Op::Edit { content, reason });
            self.case = case;
            self.log(&entry);
        }
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
        let t = TransitionRequest {
            action,
            reason,
            response_due,
            expected: Expected::Version(self.case.row.version),
            actual_costs: actual,
        };
        let terms = self
            .env
            .terms_on(&self.case.row.programme_code, german_date(at))?;
        let current: HashSet<String> = self.case.members.iter().map(|m| m.ags.clone()).collect();
        let submit = SubmitFacts {
            terms,
            current: &current,
        };
        let w = actor.writer(at, None);
        let grant_start = self.in_force().and_then(|n| n.row.grant_period_start);
        let (case, entry) =
            case_step::transition_case(&self.case, &t, Some(submit), grant_start, &w)
                .map_err(|e| refused(action.as_str(), e))?;
        let op = Op::Transition {
            action,
            reason: reason.map(str::to_owned),
            response_due,
            actual: actual.map(<[_]>::to_vec),
        };
        let id = self.case.row.id.clone();
        self.step(at, actor, &id, None, op);
        self.case = case;
        self.log(&entry);
        Ok(())
    }

    /// The notice in force (the latest signed notice that set a grant).
    pub(crate) fn in_force(&self) -> Option<&Notice> {
        self.in_force.and_then(|i| self.notices.get(i))
    }

    /// The notice of `kind` the writer would prepare at `at`, without keeping it.
    pub(crate) fn draft_notice(
        &self,
        at: NaiveDateTime,
        actor: &Actor,
        kind: NoticeKind,
        req: &NoticeRequest,
        id: Option<&str>,
    ) -> Result<(Notice, Entry), String> {
        let terms = self.env.terms(&self.case.row.programme_code)?;
        let granted_on = self
            .notices
            .iter()
            .filter(|n| n.is_signed() && n.kind() == NoticeKind::Grant)
            .find_map(|n| n.row.signed_at)
            .map(german_date);
        let facts = notice_step::PrepareFacts {
            terms,
            in_force: self.in_force(),
            delivery: &self.env.delivery,
            granted_on,
        };
        let w = actor.writer(at, id);
        notice_step::prepare(&self.case, kind, req, facts, &w)
            .map_err(|e| refused(&format!("{kind} notice"), e))
    }

    /// `persistence::notices::prepare` (caseworker); returns the notice's index.
    pub(crate) fn prepare_notice(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        kind: NoticeKind,
        req: &NoticeRequest,
    ) -> Result<usize, String> {
        let id = self.style.next_id();
        let (notice, entry) = self.draft_notice(at, actor, kind, req, Some(&id))?;
        let req = Box::new(req.clone());
        self.created(at, actor, &id, Op::Prepare { kind, req }, &entry);
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
        let w = actor.writer(at, None);
        let s = self.signing(idx, &w).map_err(|e| refused("signing", e))?;
        self.step(at, actor, &s.notice.row.id, None, Op::Sign);
        for (year, delta) in &s.deltas {
            self.commits.push(Commit {
                programme: self.case.row.programme_code.clone(),
                fiscal_year: *year,
                delta: *delta,
                at,
                by: actor.subject.clone(),
            });
        }
        if s.notice.row.granted_cents.is_some() {
            self.in_force = Some(idx);
        }
        self.notices[idx] = s.notice;
        self.case = s.case;
        self.log(&s.case_entry);
        self.log(&s.notice_entry);
        Ok(())
    }

    fn signing(&self, idx: usize, w: &Writer<'_>) -> Result<notice_step::Signing, WriteError> {
        let notice = self
            .notices
            .get(idx)
            .ok_or_else(|| WriteError::Conflict("no such notice".into()))?;
        let statuses = notice_step::check_signing(notice, &self.case, w)?;
        let referred = notice
            .row
            .refers_to
            .as_ref()
            .and_then(|r| self.notices.iter().find(|n| n.row.id == *r));
        let deltas = notice_step::budget_deltas(notice, referred);
        let seq = self
            .notices
            .iter()
            .filter_map(|n| n.row.seq)
            .max()
            .unwrap_or(0)
            + 1;
        notice_step::sign(notice, &self.case, statuses, deltas, seq, w)
    }

    /// Requested or prepared, not yet paid.
    fn open_payments(&self) -> i64 {
        self.payments
            .iter()
            .filter(|p| p.status.is_open())
            .map(|p| p.amount_cents.cents())
            .sum()
    }

    /// What the lead applicant may still request.
    pub(crate) fn payment_room(&self) -> i64 {
        self.case.row.granted_cents.map_or(0, Money::cents)
            - self.case.row.paid_cents.cents()
            - self.open_payments()
    }

    /// What the notice in force lets be paid by the end of fiscal year `year` beyond what is
    /// paid or requested (`domain::payment::payout_refusal`'s annuality).
    pub(crate) fn payment_room_in(&self, year: i32) -> i64 {
        let allocated: i64 = self.in_force().map_or(0, |n| {
            n.allocation_pairs()
                .iter()
                .filter(|(y, _)| *y <= year)
                .map(|(_, m)| m.cents())
                .sum()
        });
        let room = allocated - self.case.row.paid_cents.cents() - self.open_payments();
        room.min(self.payment_room())
    }

    /// `persistence::payments::request` (lead applicant); returns the request's index.
    pub(crate) fn request_payment(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        amount: i64,
        reason: Option<&str>,
    ) -> Result<usize, String> {
        let id = self.style.next_id();
        let w = actor.writer(at, Some(&id));
        let amount = Money::from_cents(amount).map_err(|e| e.to_string())?;
        let open = Money::from_cents(self.open_payments()).map_err(|e| e.to_string())?;
        let (row, entry) = payment_step::request(&self.case, open, amount, reason, &w)
            .map_err(|e| refused("payment request", e))?;
        let reason = reason.map(str::to_owned);
        self.created(at, actor, &id, Op::Request { amount, reason }, &entry);
        self.payments.push(row);
        Ok(self.payments.len() - 1)
    }

    /// `persistence::payments::payout`: a caseworker prepares a requested payout, an approver
    /// releases a prepared one.
    pub(crate) fn payout(
        &mut self,
        at: NaiveDateTime,
        actor: &Actor,
        idx: usize,
    ) -> Result<(), String> {
        let w = actor.writer(at, None);
        let row = self.payments.get(idx).ok_or("no such payment request")?;
        payment_step::check_payout_role(row, &w).map_err(|e| refused("payout", e))?;
        let (case, payment, entries) = if row.status == PaymentStatus::Requested {
            let (payment, entry) =
                payment_step::prepare(&self.case, row, &w).map_err(|e| refused("payout", e))?;
            (None, payment, vec![entry])
        } else {
            let terms = self.in_force().and_then(Notice::payout_terms);
            let makers = payment_step::grant_makers(self.notices.iter().map(|n| &n.row));
            let r = payment_step::release(&self.case, row, terms.as_ref(), &makers, &w)
                .map_err(|e| refused("payout", e))?;
            (Some(r.case), r.payment, r.entries.to_vec())
        };
        self.step(at, actor, &payment.id, None, Op::Payout);
        if let Some(case) = case {
            self.case = case;
        }
        self.payments[idx] = payment;
        for e in &entries {
            self.log(e);
        }
        Ok(())
    }
}
