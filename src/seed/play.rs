//! The schedule that plays a case through the simulation, step by step, up to the end of
//! the history: when its draft, submission, review and decision happen (`Timeline`), what
//! it applies for (`draw`), and its life after creation, one phase a function. The order
//! of the random draws is part of the history: the same seed gives the same cases.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use super::plan::{
    CostPlan, EGOV_2018, EGOV_2024, EGOV_OBJECTS, Fate, KOOP, Kind, STUDIE, Spec, World, cost_plan,
    days, draw_request, isqrt, m, months, points, split_years,
};
use super::rng::Rng;
use super::sim::{Actor, Sim, Style};
use super::text;
use super::worktime::{DAY, W};
use crate::domain::application::{Content, Member};
use crate::domain::notice::{LineDecision, NoticeKind, NoticeRequest};
use crate::domain::split::split_by_shares;
use crate::domain::{Action, Ags, FinancingType, Money, Role};
use crate::persistence::steps::payment as payment_step;

/// Why a case's play ends early.
enum Stop {
    /// The next step lies after the end of the history: the case stays where it is (a
    /// notice may stay prepared, a payment requested).
    End,
    Failed(String),
}

impl From<String> for Stop {
    fn from(e: String) -> Self {
        Stop::Failed(e)
    }
}

impl From<&str> for Stop {
    fn from(e: &str) -> Self {
        Stop::Failed(e.to_owned())
    }
}

type Played<T = ()> = Result<T, Stop>;

/// When the draft, its submission, the review and the decision happen.
struct Timeline {
    edit_at: Option<W>,
    submit: W,
    review: W,
    rounds: usize,
    decision: W,
    prepared: W,
    /// Early start: prepared and signed.
    early_at: Option<(W, W)>,
    /// Information requests and answers, in pairs.
    info: Vec<W>,
}

fn timeline(spec: &Spec, rng: &mut Rng, case_number: &str) -> Result<Timeline, String> {
    let c = spec.created;
    let mut edit_at = rng.chance(30).then(|| c + rng.range(DAY / 4, 4 * DAY));
    let mut submit = edit_at.unwrap_or(c) + rng.range(DAY / 2, 10 * DAY);
    if let Some(after) = spec.submit_after
        && submit < after
    {
        submit = after + rng.range(0, 5 * DAY);
    }
    if let Some(by) = spec.submit_by
        && submit > by
    {
        if edit_at.is_some_and(|e| e >= by) {
            edit_at = None;
        }
        let from = edit_at.unwrap_or(c);
        if from >= by {
            return Err(format!(
                "{case_number}: opened after its submission deadline"
            ));
        }
        submit = rng.range(from + 1, by);
    }
    let review = submit + rng.range(DAY / 2, 8 * DAY);
    let rounds = rng.weighted(&[70, 25, 5]);
    let early = spec.fate != Fate::Withdrawn && rng.chance(8);
    let mut decision = review
        + rng.range(12 * DAY, 55 * DAY)
        + i64::try_from(rounds).unwrap_or(0) * rng.range(8 * DAY, 25 * DAY);
    if let Some((lo, hi)) = spec.window
        && (decision < lo || decision > hi)
    {
        let from = lo.max(review + 6 * DAY);
        if from > hi {
            return Err(format!(
                "{case_number}: no room for the decision in its window"
            ));
        }
        decision = rng.range(from, hi.min(from + 45 * DAY));
    }
    let prepared = (decision - rng.range(DAY / 2, 4 * DAY)).max(review + (decision - review) / 2);
    let mid = points(rng, 2 * usize::from(early) + 2 * rounds, review, prepared);
    let (early_at, info) = if early {
        (Some((mid[0], mid[1])), mid[2..].to_vec())
    } else {
        (None, mid)
    };
    Ok(Timeline {
        edit_at,
        submit,
        review,
        rounds,
        decision,
        prepared,
        early_at,
        info,
    })
}

/// What the case applies for.
struct Drawn {
    programme: &'static str,
    grant: i64,
    plan: CostPlan,
    content: Content,
    project_start: NaiveDate,
    project_end: NaiveDate,
}

/// The programme and funding object on the day of submission: the 2024 programme from its
/// start; from `current_from` only an object that is still fundable.
fn programme_of(
    world: &World,
    rng: &mut Rng,
    kind: Kind,
    submitted: NaiveDate,
) -> Result<(&'static str, Kind), String> {
    Ok(match kind {
        Kind::Egov(o) if submitted >= world.egov_2024_from => {
            let terms = world.env.terms(EGOV_2024)?;
            let fundable = |x: &str| terms.funding_objects.iter().any(|(c, f)| c == x && *f);
            if submitted >= world.env.current_from && !fundable(o) {
                let now: Vec<&str> = EGOV_OBJECTS.into_iter().filter(|x| fundable(x)).collect();
                let o = now
                    .first()
                    .copied()
                    .ok_or("no fundable object of THUEREGOVRL-2024")?;
                (
                    EGOV_2024,
                    Kind::Egov(if now.len() > 1 { rng.pick(&now) } else { o }),
                )
            } else {
                (EGOV_2024, Kind::Egov(o))
            }
        }
        Kind::Egov(o) => (EGOV_2018, Kind::Egov(o)),
        Kind::Koop => (KOOP, Kind::Koop),
        Kind::Studie => (STUDIE, Kind::Studie),
    })
}

/// The project period: after the early start, else after submission and decision.
fn project_period(
    world: &World,
    spec: &Spec,
    rng: &mut Rng,
    t: &Timeline,
) -> (NaiveDate, NaiveDate) {
    let wt = &world.wt;
    let sdate = wt.date(t.submit);
    let project_start = match t.early_at {
        Some((_, signed)) => days(wt.date(signed), rng.range(1, 20)),
        None => days(sdate, rng.range(30, 100)).max(days(wt.date(t.decision), rng.range(7, 50))),
    };
    let duration = match spec.kind {
        Kind::Koop => rng.range(12, 36),
        Kind::Studie => rng.range(4, 9),
        Kind::Egov("f") => rng.range(3, 8),
        Kind::Egov(_) => rng.range(6, 24),
    };
    let end = months(project_start, u32::try_from(duration).unwrap_or(12)) - chrono::Days::new(1);
    (project_start, end)
}

/// The partners with shares by √population (a joint case).
fn members(world: &World, spec: &Spec) -> Result<Vec<Member>, String> {
    if spec.partners.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys = vec![spec.lead];
    keys.extend(&spec.partners);
    let weights: Vec<i32> = keys
        .iter()
        .map(|k| {
            i32::try_from(isqrt(
                u64::try_from(world.munis[*k].population.max(100)).unwrap_or(100),
            ))
            .unwrap_or(1)
        })
        .collect();
    let shares = split_by_shares(m(10_000)?, &weights).ok_or("no shares")?;
    keys.iter()
        .zip(shares)
        .map(|(k, s)| {
            Ok(Member {
                ags: Ags::parse(&world.munis[*k].ags).map_err(|e| e.to_string())?,
                share_bp: i32::try_from(s.cents()).unwrap_or(1).max(1),
            })
        })
        .collect()
}

/// Two or three of the description phrases, each once.
fn description(rng: &mut Rng) -> String {
    let mut description = String::new();
    let n = rng.range(2, 3);
    let mut used = Vec::new();
    while i64::try_from(used.len()).unwrap_or(0) < n {
        let p = rng.below(text::PHRASES.len() as u64) as usize;
        if !used.contains(&p) {
            used.push(p);
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str(text::PHRASES[p]);
        }
    }
    description
}

fn draw(world: &World, spec: &Spec, rng: &mut Rng, t: &Timeline) -> Result<Drawn, String> {
    let lead = &world.munis[spec.lead];
    let (project_start, project_end) = project_period(world, spec, rng, t);
    let (programme, kind) = programme_of(world, rng, spec.kind, world.wt.date(t.submit))?;
    let (requested, grant) = if kind == spec.kind {
        (spec.requested, spec.grant)
    } else {
        // Another funding object than drawn: another amount, too.
        let r = draw_request(rng, kind, lead.population) * 100;
        let grant = if spec.grant < spec.requested {
            r * 9 / 10 / 100 * 100
        } else {
            r
        };
        (r, grant)
    };
    let terms = world.env.terms(programme)?;
    // Never above the programme's maximum grant (a drawn request may carry cents above it).
    let requested = terms
        .max_grant
        .map_or(requested, |cap| requested.min(cap.cents()));
    let grant = grant.min(requested);
    let rate = terms.max_rate_bp.unwrap_or(10_000);
    let plan = cost_plan(rng, kind, terms.financing_type, rate, requested, grant)?;
    let members = members(world, spec)?;
    let body = text::body(&lead.name, &lead.kind);
    let title = rng.pick(text::titles(kind.object())).replace("{}", &body);
    let content = Content {
        lead: Ags::parse(&lead.ags).map_err(|e| e.to_string())?,
        joint: !members.is_empty(),
        members,
        funding_object: kind.object().to_owned(),
        title,
        description: description(rng),
        // A draft that is edited gets its project period with the edit.
        project_start: t.edit_at.is_none().then_some(project_start),
        project_end: t.edit_at.is_none().then_some(project_end),
        cost_lines: plan.lines.clone(),
        own_contribution: m(plan.own)?,
        third_party_funds: m(plan.third)?,
        requested_grant: m(requested)?,
        contact: Some(text::contact(&lead.ags)),
        postal_address: Some(text::postal_address(
            &lead.name,
            &lead.kind,
            lead.postcode.as_deref(),
        )),
    };
    Ok(Drawn {
        programme,
        grant,
        plan,
        content,
        project_start,
        project_end,
    })
}

/// A case being played: the simulation, its actors and the instant of its last step.
struct Play<'w, 'r> {
    world: &'w World,
    spec: &'r Spec,
    rng: &'r mut Rng,
    sim: Sim<'w>,
    applicant: Actor,
    caseworker: Actor,
    last: W,
}

impl Play<'_, '_> {
    /// The instant of the next step: after the one before, and within the history.
    fn at(&mut self, w: W) -> Played<NaiveDateTime> {
        if w > self.world.end {
            return Err(Stop::End);
        }
        if w <= self.last {
            let number = &self.sim.case.row.case_number;
            return Err(Stop::Failed(format!("{number}: steps out of order")));
        }
        self.last = w;
        Ok(self.world.wt.at(w))
    }

    fn date(&self, w: W) -> NaiveDate {
        self.world.wt.date(w)
    }

    fn approver(&mut self) -> Actor {
        Actor::new(self.rng.pick(&text::APPROVERS), Role::Approver)
    }

    /// The approvers who prepared or signed a notice that set the case's grant: none of them
    /// releases its payouts (`domain::payment::four_eyes_refusal`).
    fn grant_makers(&self) -> Vec<&'static str> {
        let rows = self.sim.notices.iter().map(|n| &n.row);
        let makers = payment_step::grant_makers(rows);
        text::APPROVERS
            .into_iter()
            .filter(|a| {
                makers
                    .iter()
                    .any(|m| m.signed_by == Some(*a) || m.prepared_by == *a)
            })
            .collect()
    }

    /// The approver who signs notice `i`: drawn as ever, but a grant-setting notice is not
    /// signed by the last approver who has made none of the case's grants, so that one is left
    /// to release its payouts.
    fn signer(&mut self, i: usize) -> Actor {
        let drawn = self.approver();
        let sets_grant = self
            .sim
            .notices
            .get(i)
            .is_some_and(|n| n.row.granted_cents.is_some());
        let makers = self.grant_makers();
        let free = text::APPROVERS
            .iter()
            .filter(|a| !makers.contains(a) && **a != drawn.subject)
            .count();
        match makers.first() {
            Some(maker)
                if sets_grant && free == 0 && !makers.iter().any(|m| *m == drawn.subject) =>
            {
                Actor::new(*maker, Role::Approver)
            }
            _ => drawn,
        }
    }

    /// The approver who releases a payout: drawn as ever, or, if that one made a grant of the
    /// case, the next approver in the list who made none.
    fn releaser(&mut self) -> Result<Actor, Stop> {
        let drawn = self.approver();
        let makers = self.grant_makers();
        let start = text::APPROVERS
            .iter()
            .position(|a| *a == drawn.subject)
            .unwrap_or(0);
        (0..text::APPROVERS.len())
            .map(|k| text::APPROVERS[(start + k) % text::APPROVERS.len()])
            .find(|a| !makers.contains(a))
            .map(|a| Actor::new(a, Role::Approver))
            .ok_or_else(|| {
                let number = &self.sim.case.row.case_number;
                Stop::Failed(format!("{number}: every approver made a grant of the case"))
            })
    }

    fn transition(&mut self, w: W, by: Who, action: Action, reason: Option<&str>) -> Played {
        let at = self.at(w)?;
        let actor = match by {
            Who::Applicant => &self.applicant,
            Who::Caseworker => &self.caseworker,
        };
        Ok(self.sim.transition(at, actor, action, reason, None, None)?)
    }

    /// A notice prepared at `p` by the caseworker and signed at `s` by an approver.
    fn notice(&mut self, p: W, s: W, kind: NoticeKind, req: &NoticeRequest) -> Played {
        let at = self.at(p)?;
        let i = self.sim.prepare_notice(at, &self.caseworker, kind, req)?;
        let approver = self.signer(i);
        let at = self.at(s)?;
        Ok(self.sim.sign_notice(at, &approver, i)?)
    }

    /// A payment requested at `r`, prepared at `p` and released at `x`.
    fn payment(&mut self, (r, p, x): (W, W, W), amount: i64, reason: &str) -> Played {
        let at = self.at(r)?;
        let i = self
            .sim
            .request_payment(at, &self.applicant, amount, Some(reason))?;
        let at = self.at(p)?;
        self.sim.payout(at, &self.caseworker, i)?;
        let approver = self.releaser()?;
        let at = self.at(x)?;
        Ok(self.sim.payout(at, &approver, i)?)
    }
}

#[derive(Clone, Copy)]
enum Who {
    Applicant,
    Caseworker,
}

/// Plays the case through, up to the end of the history.
pub(crate) fn run_case<'w>(
    world: &'w World,
    spec: &Spec,
    rng: &mut Rng,
    case_number: String,
    load: bool,
) -> Result<Sim<'w>, String> {
    let t = timeline(spec, rng, &case_number)?;
    let d = draw(world, spec, rng, &t)?;
    let lead = &world.munis[spec.lead];
    let applicant = Actor::applicant(text::applicant(&lead.ags), &lead.ags);
    let caseworker = Actor::new(rng.pick(&text::CASEWORKERS), Role::Caseworker);
    let c = spec.created;
    if c > world.end {
        return Err(format!(
            "{case_number}: opened after the end of the history"
        ));
    }
    let ids = Rng::stream(rng.next(), 0x1D5);
    let created = world.wt.at(c);
    let style = if load {
        let millis = created.and_utc().timestamp_millis();
        Style::load(ids, u64::try_from(millis).unwrap_or(0))
    } else {
        Style::service(ids)
    };
    let mut sim = Sim::create(
        &world.env,
        style,
        case_number,
        d.programme,
        &d.content,
        created,
        &applicant,
    )?;
    if !load {
        sim.record_steps(created, &applicant, &d.content);
    }
    let mut play = Play {
        world,
        spec,
        rng,
        sim,
        applicant,
        caseworker,
        last: c,
    };
    match play.life(&t, &d) {
        Ok(()) | Err(Stop::End) => Ok(play.sim),
        Err(Stop::Failed(e)) => Err(e),
    }
}

impl Play<'_, '_> {
    /// Everything after the draft was opened; each phase ends the play where the case's
    /// fate ends it (`Stop::End`).
    fn life(&mut self, t: &Timeline, d: &Drawn) -> Played {
        self.draft(t, d)?;
        self.review(t)?;
        let (cursor, period_end) = self.decision(t, d)?;
        let cursor = self.amendment(cursor)?;
        let (cursor, first_paid) = self.tranches(cursor, period_end)?;
        if self.spec.revoke {
            return self.revocation(cursor, first_paid);
        }
        let proof = self.proof_of_use(cursor, period_end)?;
        self.final_notice(proof, d)
    }

    /// The draft's edit, and a draft that stays or is withdrawn.
    fn draft(&mut self, t: &Timeline, d: &Drawn) -> Played {
        if let Some(e) = t.edit_at {
            let at = self.at(e)?;
            let (start, end) = (d.project_start, d.project_end);
            self.sim.edit(at, &self.applicant, None, |c| {
                c.project_start = Some(start);
                c.project_end = Some(end);
                c.description.push(' ');
                c.description.push_str(text::EDIT_PHRASE);
            })?;
        }
        match self.spec.fate {
            Fate::Draft => Err(Stop::End),
            Fate::DraftWithdrawn => {
                let w = t.edit_at.unwrap_or(self.spec.created) + self.rng.range(5 * DAY, 60 * DAY);
                let at = self.at(w)?;
                let reason = self.rng.pick(&text::WITHDRAWALS);
                let actor = &self.applicant;
                self.sim
                    .transition(at, actor, Action::Withdraw, Some(reason), None, None)?;
                Err(Stop::End)
            }
            _ => Ok(()),
        }
    }

    /// Submission, review, an early start, information requests; a pending case ends here.
    fn review(&mut self, t: &Timeline) -> Played {
        self.transition(t.submit, Who::Applicant, Action::Submit, None)?;
        self.transition(t.review, Who::Caseworker, Action::StartReview, None)?;
        if let Some((p, s)) = t.early_at {
            // Prepared in the days before it is posted: a notice is dated for posting at most
            // `MAX_POSTING_AHEAD_DAYS` ahead (domain::notice).
            let p = p.max(s - 5 * DAY);
            let req = NoticeRequest {
                posted_on: Some(self.date(s)),
                reason: Some(text::EARLY_START.to_owned()),
                ..NoticeRequest::default()
            };
            self.notice(p, s, NoticeKind::EarlyStart, &req)?;
        }
        let unanswered = self.spec.fate == Fate::Pending && self.rng.chance(35);
        for (k, pair) in t.info.chunks(2).enumerate() {
            let asked = self.at(pair[0])?;
            let due = days(asked.date(), self.rng.range(14, 28));
            let reason = self.rng.pick(&text::INFO_REQUESTS);
            let actor = &self.caseworker;
            self.sim.transition(
                asked,
                actor,
                Action::RequestInfo,
                Some(reason),
                Some(due),
                None,
            )?;
            if unanswered && k + 1 == t.rounds {
                break;
            }
            self.transition(pair[1], Who::Applicant, Action::ProvideInfo, None)?;
        }
        match self.spec.fate {
            Fate::Pending => Err(Stop::End),
            _ => Ok(()),
        }
    }

    /// The decision: a withdrawal, a rejection or the grant; returns the instant of the
    /// grant's signing and the end of its grant period.
    fn decision(&mut self, t: &Timeline, d: &Drawn) -> Played<(W, NaiveDate)> {
        let decided_on = self.date(t.decision);
        match self.spec.fate {
            Fate::Withdrawn => {
                let reason = self.rng.pick(&text::WITHDRAWALS);
                self.transition(t.decision, Who::Applicant, Action::Withdraw, Some(reason))?;
                return Err(Stop::End);
            }
            Fate::Rejected => {
                let req = NoticeRequest {
                    posted_on: Some(decided_on),
                    reason: Some((self.rng.pick(&text::REJECTIONS)).to_owned()),
                    ..NoticeRequest::default()
                };
                self.notice(t.prepared, t.decision, NoticeKind::Rejection, &req)?;
                return Err(Stop::End);
            }
            _ => {}
        }
        let period_start = if t.early_at.is_some() {
            d.project_start
        } else {
            d.project_start.max(decided_on)
        };
        let period_end = d.project_end.max(months(period_start, 3));
        let mut req = NoticeRequest {
            posted_on: Some(decided_on),
            grant_period_start: Some(period_start),
            grant_period_end: Some(period_end),
            approved_lines: d.plan.cuts.clone(),
            fixed_amount: d.plan.fixed.map(m).transpose()?,
            ..NoticeRequest::default()
        };
        let prepared_at = self.world.wt.at(t.prepared);
        let (draft, _) =
            self.sim
                .draft_notice(prepared_at, &self.caseworker, NoticeKind::Grant, &req, None)?;
        let granted = draft.row.granted_cents.map_or(0, Money::cents);
        if granted != d.grant {
            let number = &self.sim.case.row.case_number;
            return Err(Stop::Failed(format!(
                "{number}: the grant notice comes to {granted}, not the planned {}",
                d.grant
            )));
        }
        // Annuality: no allocation to a fiscal year that closed before the signing (an early
        // start may have begun the period in the year before).
        let alloc_start = period_start.max(decided_on);
        if alloc_start.year() < period_end.year() && self.rng.chance(60) {
            req.allocations = Some(split_years(granted, alloc_start, period_end)?);
        }
        self.notice(t.prepared, t.decision, NoticeKind::Grant, &req)?;
        Ok((t.decision, period_end))
    }

    /// An amendment that lowers the grant, before anything is paid.
    fn amendment(&mut self, cursor: W) -> Played<W> {
        if !(self.spec.changes && self.rng.chance_pm(40)) {
            return Ok(cursor);
        }
        let p = cursor + self.rng.range(10 * DAY, 30 * DAY);
        let s = p + self.rng.range(DAY, 5 * DAY);
        let force = self.sim.in_force().ok_or("no grant in force")?;
        let anteil = force.row.financing_type == Some(FinancingType::Anteil);
        let line = force
            .lines
            .iter()
            .filter(|l| anteil && l.eligible && l.approved_cents.cents() > 10_000)
            .max_by_key(|l| l.approved_cents)
            .map(|l| (l.line_no, l.approved_cents.cents()));
        let Some((line, approved)) = line else {
            return Ok(cursor);
        };
        let req = NoticeRequest {
            posted_on: Some(self.date(s)),
            reason: Some((self.rng.pick(&text::AMENDMENTS)).to_owned()),
            approved_lines: vec![LineDecision {
                line,
                approved: m(approved * self.rng.range(75, 90) / 100)?,
                reason: Some(text::AMENDMENTS[0].to_owned()),
            }],
            ..NoticeRequest::default()
        };
        self.notice(p, s, NoticeKind::Amendment, &req)?;
        Ok(s)
    }

    /// Tranches while the project runs; returns the last payout's instant and the day of
    /// the first.
    fn tranches(&mut self, cursor: W, period_end: NaiveDate) -> Played<(W, Option<NaiveDate>)> {
        let rng = &mut *self.rng;
        let tranches: Vec<i64> = match (self.spec.revoke, rng.weighted(&[10, 40, 35, 15])) {
            (true, _) | (false, 2) => vec![rng.range(3_000, 4_000), rng.range(2_000, 3_000)],
            (false, 0) => Vec::new(),
            (false, 1) => vec![rng.range(5_000, 7_000)],
            (false, _) => vec![rng.range(2_000, 2_300); 3],
        };
        let from = cursor + 10 * DAY;
        let until = self.world.wt.end_of(period_end).max(from + 20 * DAY);
        let segment = (until - from) / i64::try_from(tranches.len().max(1)).unwrap_or(1);
        let mut first_paid = None;
        let mut cursor = cursor;
        for (k, bp) in tranches.iter().enumerate() {
            let base = from + segment * i64::try_from(k).unwrap_or(0);
            let gap = (segment / 4).clamp(DAY / 2, 4 * DAY);
            let r = (base + self.rng.range(0, segment / 2)).max(cursor + DAY / 4);
            let p = r + self.rng.range(DAY / 4, gap);
            let x = p + self.rng.range(DAY / 4, gap);
            let granted = self.sim.case.row.granted_cents.map_or(0, Money::cents);
            // Annuality: a tranche takes at most what the allocations of its year allow.
            let room = self.sim.payment_room_in(self.date(x).year());
            let amount = (granted * bp / 10_000 / 100 * 100).min(room);
            if amount <= 0 {
                continue;
            }
            self.payment((r, p, x), amount, text::TRANCHE)?;
            first_paid.get_or_insert(self.date(x));
            cursor = x;
        }
        Ok((cursor, first_paid))
    }

    /// A revocation: the project failed; what was paid above the remaining grant is
    /// reclaimed, with interest from the first payout.
    fn revocation(&mut self, cursor: W, first_paid: Option<NaiveDate>) -> Played {
        let p = cursor + self.rng.range(20 * DAY, 60 * DAY);
        let s = p + self.rng.range(DAY, 5 * DAY);
        let paid = self.sim.case.row.paid_cents.cents();
        let granted = self.sim.case.row.granted_cents.map_or(0, Money::cents);
        let keep = paid * self.rng.range(20, 50) / 100 / 100 * 100;
        let req = NoticeRequest {
            posted_on: Some(self.date(s)),
            reason: Some(text::REVOCATION.to_owned()),
            revoked_amount: Some(m(granted - keep)?),
            interest_from: first_paid,
            ..NoticeRequest::default()
        };
        self.notice(p, s, NoticeKind::Revocation, &req)
    }

    /// The proof of use, perhaps returned once; returns its instant.
    fn proof_of_use(&mut self, cursor: W, period_end: NaiveDate) -> Played<W> {
        let proof_day = days(period_end, self.rng.range(10, 120));
        let wt = &self.world.wt;
        let mut proof = (wt.start_of(proof_day) + self.rng.range(0, DAY - 1)).max(cursor + DAY);
        let force = self.sim.in_force().ok_or("no grant in force")?;
        let spec = self.spec;
        let rng = &mut *self.rng;
        let actual: Vec<(i32, Money)> = self
            .sim
            .case
            .lines
            .iter()
            .zip(&force.lines)
            .map(|(l, n)| {
                let base = if l.eligible {
                    n.approved_cents.cents()
                } else {
                    l.amount_cents.cents()
                };
                let f = if spec.full_final || !spec.changes || rng.chance(70) {
                    rng.range(10_000, 10_800)
                } else {
                    rng.range(8_600, 10_000)
                };
                Ok((l.line_no, m(base * f / 10_000)?))
            })
            .collect::<Result<_, String>>()?;
        self.submit_proof(proof, &actual)?;
        if self.rng.chance(4) {
            let back = proof + self.rng.range(10 * DAY, 30 * DAY);
            let reason = Some(text::RETURN_PROOF);
            self.transition(back, Who::Caseworker, Action::ReturnProof, reason)?;
            proof = back + self.rng.range(10 * DAY, 30 * DAY);
            self.submit_proof(proof, &actual)?;
        }
        match self.spec.until_proof {
            true => Err(Stop::End),
            false => Ok(proof),
        }
    }

    fn submit_proof(&mut self, w: W, actual: &[(i32, Money)]) -> Played {
        let at = self.at(w)?;
        let actor = &self.applicant;
        Ok(self
            .sim
            .transition(at, actor, Action::SubmitProof, None, None, Some(actual))?)
    }

    /// The final notice and the final payment.
    fn final_notice(&mut self, proof: W, d: &Drawn) -> Played {
        let p = proof + self.rng.range(15 * DAY, 60 * DAY);
        let s = p + self.rng.range(DAY, 5 * DAY);
        let mut req = NoticeRequest {
            posted_on: Some(self.date(s)),
            ..NoticeRequest::default()
        };
        // A final notice that reclaims claims interest (§ 49a (3) VwVfG), here from its own
        // posting day; each tranche from its payout at the earliest.
        // Whether it reclaims: a draft with a waiver is accepted only if it does.
        let prepared_at = self.world.wt.at(p);
        let probe = NoticeRequest {
            interest_waiver: Some("probe".to_owned()),
            ..req.clone()
        };
        let reclaims = self
            .sim
            .draft_notice(
                prepared_at,
                &self.caseworker,
                NoticeKind::Final,
                &probe,
                None,
            )
            .is_ok_and(|(n, _)| n.row.reclaim_cents.is_some_and(|r| r.cents() > 0));
        if reclaims {
            req.interest_from = req.posted_on;
        }
        self.notice(p, s, NoticeKind::Final, &req)?;
        if self.spec.full_final
            && self.sim.case.row.granted_cents.map(Money::cents) != Some(d.grant)
        {
            let number = &self.sim.case.row.case_number;
            return Err(Stop::Failed(format!(
                "{number}: the final grant differs from the grant"
            )));
        }
        let rest = self.sim.payment_room();
        if rest > 0 {
            let r = s + self.rng.range(5 * DAY, 20 * DAY);
            let p = r + self.rng.range(DAY / 2, 4 * DAY);
            let x = p + self.rng.range(DAY / 2, 4 * DAY);
            let rest = rest.min(self.sim.payment_room_in(self.date(x).year()));
            if rest > 0 {
                self.payment((r, p, x), rest, text::FINAL_PAYMENT)?;
            }
        }
        Ok(())
    }
}
