//! What happens to a case, and when: the specification of a case (programme, partners,
//! money, its fate, the windows its decision must fall into) and the schedule that plays it
//! through the simulation, step by step, up to the end of the history.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};

use super::rng::Rng;
use super::sim::{Actor, Env, Sim, Style};
use super::text;
use super::worktime::{DAY, W, WorkTime};
use crate::domain::application::{Content, CostCategory, CostLine, Member};
use crate::domain::notice::{LineDecision, NoticeKind, NoticeRequest};
use crate::domain::split::split_by_shares;
use crate::domain::{Action, Ags, FinancingType, Money, Role};

pub(crate) const EGOV_2018: &str = "THUEREGOVRL-2018";
pub(crate) const EGOV_2024: &str = "THUEREGOVRL-2024";
pub(crate) const KOOP: &str = "THUERFAG-24-KOOP";
pub(crate) const STUDIE: &str = "THUERFAG-24-STUDIE";

/// A municipality that may apply (current, not a Landkreis).
#[derive(Debug, Clone)]
pub(crate) struct Muni {
    pub ags: String,
    pub name: String,
    pub kind: String,
    pub population: i64,
}

/// Everything a case is built from.
#[derive(Debug)]
pub(crate) struct World {
    pub env: Env,
    pub wt: WorkTime,
    pub munis: Vec<Muni>,
    /// Busier towns apply more often: √population.
    pub weights: Vec<u32>,
    pub by_kreis: BTreeMap<String, Vec<usize>>,
    /// The last instant of the history.
    pub end: W,
    /// The day the THUEREGOVRL-2024 replaced the 2018 programme.
    pub egov_2024_from: NaiveDate,
}

impl World {
    pub(crate) fn new(env: Env, munis: Vec<Muni>, first: NaiveDate, end: NaiveDate) -> World {
        // Far enough after the end for every date a schedule computes.
        let wt = WorkTime::new(first, end + Days::new(3 * 366));
        let weights = munis
            .iter()
            .map(|m| isqrt(u64::try_from(m.population.max(100)).unwrap_or(100)))
            .collect();
        let mut by_kreis: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, m) in munis.iter().enumerate() {
            by_kreis.entry(m.ags[..5].to_owned()).or_default().push(i);
        }
        let end = wt.end_of(end);
        World {
            env,
            wt,
            munis,
            weights,
            by_kreis,
            end,
            egov_2024_from: date(2024, 7, 1),
        }
    }
}

fn isqrt(n: u64) -> u32 {
    let mut x = 0u64;
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    u32::try_from(x).unwrap_or(u32::MAX)
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// What a case applies for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// E-Government-Richtlinie, with its funding object `a`–`f`; the programme (2018 or
    /// 2024) follows from the day of submission.
    Egov(&'static str),
    Koop,
    Studie,
}

impl Kind {
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Kind::Egov(_) => "EGOV",
            Kind::Koop | Kind::Studie => "FAG",
        }
    }

    fn object(self) -> &'static str {
        match self {
            Kind::Egov(o) => o,
            Kind::Koop => "koop",
            Kind::Studie => "studie",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Still a draft.
    Draft,
    /// Withdrawn before submission.
    DraftWithdrawn,
    Withdrawn,
    Rejected,
    Granted,
    /// Submitted, never decided (load mode: a share of the cases stays open).
    Pending,
}

#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub created: W,
    pub kind: Kind,
    pub lead: usize,
    /// The partners besides the lead (a joint case); empty for a single case.
    pub partners: Vec<usize>,
    pub requested: i64,
    /// The grant a granted case gets (at most `requested`; less is a partial approval).
    pub grant: i64,
    pub fate: Fate,
    /// The decision (signing, or the withdrawal) lies in this window.
    pub window: Option<(W, W)>,
    pub submit_after: Option<W>,
    pub submit_by: Option<W>,
    /// The proof of use shows at least the approved costs: the final grant is the grant.
    pub full_final: bool,
    /// Amendments and final grants below the grant may happen.
    pub changes: bool,
    /// A revocation with a reclaim after the first payouts.
    pub revoke: bool,
    /// The history of a granted case ends with its proof of use (load mode: a share of the
    /// cases waits for the final notice).
    pub until_proof: bool,
}

const EGOV_OBJECTS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const EGOV_OBJECT_WEIGHTS: [u32; 6] = [22, 25, 15, 15, 10, 13];

/// A requested grant in euros, typical of the kind and the size of the municipality.
pub(crate) fn draw_request(rng: &mut Rng, kind: Kind, population: i64) -> i64 {
    let tiers: &[(u32, i64, i64)] = match kind.object() {
        "a" => &[
            (50, 15_000, 60_000),
            (35, 60_000, 200_000),
            (15, 200_000, 600_000),
        ],
        "b" => &[
            (60, 8_000, 40_000),
            (30, 40_000, 120_000),
            (10, 120_000, 300_000),
        ],
        "c" => &[(70, 5_000, 30_000), (30, 30_000, 90_000)],
        "d" => &[(70, 6_000, 30_000), (30, 30_000, 80_000)],
        "e" => &[(70, 4_000, 25_000), (30, 25_000, 60_000)],
        "f" => &[(80, 1_500, 8_000), (20, 8_000, 20_000)],
        "koop" => &[
            (50, 60_000, 200_000),
            (40, 200_000, 400_000),
            (10, 400_000, 500_000),
        ],
        _ => &[(60, 8_000, 20_000), (40, 20_000, 30_000)],
    };
    let weights: Vec<u32> = tiers.iter().map(|t| t.0).collect();
    let (_, lo, hi) = tiers[rng.weighted(&weights)];
    let euros = rng.range(lo, hi);
    let scaled = match (kind, population) {
        (Kind::Egov(_), p) if p < 2_000 => euros * 6 / 10,
        (Kind::Egov(_), p) if p < 10_000 => euros,
        (Kind::Egov(_), p) if p < 50_000 => euros * 16 / 10,
        (Kind::Egov(_), _) => euros * 25 / 10,
        _ => euros,
    };
    match kind {
        Kind::Koop => scaled.min(500_000),
        Kind::Studie => scaled.min(30_000),
        Kind::Egov(_) => scaled,
    }
}

/// A municipality, more often a bigger one.
pub(crate) fn draw_muni(world: &World, rng: &mut Rng) -> usize {
    rng.weighted(&world.weights)
}

/// `n` partners besides `lead`, from its Kreis where it has enough municipalities.
pub(crate) fn draw_partners(world: &World, rng: &mut Rng, lead: usize, n: usize) -> Vec<usize> {
    let kreis = &world.munis[lead].ags[..5];
    let pool: Vec<usize> = match world.by_kreis.get(kreis) {
        Some(k) if k.len() > n + 1 => k.clone(),
        _ => (0..world.munis.len()).collect(),
    };
    let mut out: Vec<usize> = Vec::with_capacity(n);
    while out.len() < n {
        let p = rng.pick(&pool);
        if p != lead && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// A generic case opened at `created`: the mix of programmes and fates of an ordinary year.
/// For a load, the mix of the whole: about 60 % granted, 10 % rejected or withdrawn, the
/// rest open or in the proof stage, now and then a revocation.
pub(crate) fn generic_spec(world: &World, rng: &mut Rng, created: W, load: bool) -> Spec {
    let kind = match rng.weighted(&[84, 8, 8]) {
        0 => Kind::Egov(EGOV_OBJECTS[rng.weighted(&EGOV_OBJECT_WEIGHTS)]),
        1 => Kind::Koop,
        _ => Kind::Studie,
    };
    let lead = draw_muni(world, rng);
    let partners = match kind {
        Kind::Koop => {
            let n = 2 + rng.weighted(&[50, 30, 15, 5]);
            draw_partners(world, rng, lead, n)
        }
        Kind::Studie if rng.chance(25) => {
            let n = 1 + rng.weighted(&[50, 35, 15]);
            draw_partners(world, rng, lead, n)
        }
        Kind::Egov(_) if rng.chance(3) => {
            let n = 1 + rng.weighted(&[70, 30]);
            draw_partners(world, rng, lead, n)
        }
        _ => Vec::new(),
    };
    let euros = draw_request(rng, kind, world.munis[lead].population);
    let requested = (euros * 100 + rng.range(0, 99)).max(100);
    let recent = created > world.end - 35 * DAY;
    let draft = if recent { 25 } else { 1 };
    let weights = if load {
        [60, 5, 4, 1, draft + 2, 13, 15]
    } else {
        [84, 5, 4, 2, draft, 0, 0]
    };
    let fate = match rng.weighted(&weights) {
        0 | 6 => Fate::Granted,
        1 => Fate::Rejected,
        2 => Fate::Withdrawn,
        3 => Fate::DraftWithdrawn,
        4 => Fate::Draft,
        _ => Fate::Pending,
    };
    let until_proof = load && fate == Fate::Granted && rng.chance(20);
    let grant = if rng.chance(12) {
        (requested * rng.range(70, 95) / 100 / 100 * 100).max(100)
    } else {
        requested
    };
    Spec {
        created,
        kind,
        lead,
        partners,
        requested,
        grant,
        fate,
        window: None,
        submit_after: None,
        submit_by: None,
        full_final: false,
        changes: true,
        revoke: load && fate == Fate::Granted && !until_proof && rng.chance_pm(4),
        until_proof,
    }
}

/// The cost plan of a request: cost lines whose eligible sum lets the programme grant
/// `requested` (and, with the cuts, exactly `grant`), the own contribution and third-party
/// funds that balance it, the line cuts of the grant notice and the fixed amount of a
/// festbetrag financing.
#[derive(Debug, Clone)]
pub(crate) struct CostPlan {
    pub lines: Vec<CostLine>,
    pub own: i64,
    pub third: i64,
    pub cuts: Vec<LineDecision>,
    pub fixed: Option<i64>,
}

fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

fn up_to_euro(c: i64) -> i64 {
    ceil_div(c, 100) * 100
}

fn cut_reason(c: CostCategory) -> &'static str {
    match c {
        CostCategory::Software => text::CUT_REASONS[3],
        CostCategory::Personnel => text::CUT_REASONS[2],
        CostCategory::Hardware => text::CUT_REASONS[1],
        _ => text::CUT_REASONS[0],
    }
}

pub(crate) fn cost_plan(
    rng: &mut Rng,
    kind: Kind,
    financing: FinancingType,
    rate_bp: i32,
    requested: i64,
    grant: i64,
) -> Result<CostPlan, String> {
    let rate = i64::from(rate_bp);
    // The eligible sum before and after the cuts.
    let (eligible, approved, fixed) = match financing {
        FinancingType::Anteil => {
            let needed = up_to_euro(ceil_div(requested * 10_000, rate));
            let extra = if grant == requested && rng.chance(60) {
                requested * rng.range(1, 20) / 100 / 100 * 100
            } else {
                0
            };
            let eligible = needed + extra;
            let approved = if grant < requested {
                ceil_div(grant * 10_000, rate)
            } else {
                eligible
            };
            (eligible, approved, None)
        }
        FinancingType::Festbetrag => {
            let eligible = requested * rng.range(115, 160) / 100 / 100 * 100;
            (
                eligible.max(requested),
                eligible.max(requested),
                Some(grant),
            )
        }
        other => return Err(format!("the seed has no cost plans for {other} financing")),
    };
    let object = kind.object();
    let templates = text::eligible_lines(object);
    let k = 1 + rng.below(templates.len() as u64) as usize;
    let weights: Vec<i64> = (0..k)
        .map(|i| match i {
            0 => rng.range(50, 70),
            1 => rng.range(20, 40),
            _ => rng.range(8, 20),
        })
        .collect();
    let sum: i64 = weights.iter().sum();
    let mut amounts: Vec<i64> = weights
        .iter()
        .map(|w| eligible * w / sum / 100 * 100)
        .collect();
    let rest = eligible - amounts.iter().skip(1).sum::<i64>();
    amounts[0] = rest;
    let mut lines: Vec<CostLine> = templates
        .iter()
        .zip(&amounts)
        .map(|((category, description), amount)| {
            Ok(CostLine {
                category: *category,
                description: (*description).to_owned(),
                amount: Money::from_cents(*amount).map_err(|e| e.to_string())?,
                eligible: true,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    // Cuts of the grant notice: from the largest lines first.
    let mut cuts = Vec::new();
    let mut cut = eligible - approved;
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(lines[*i].amount.cents()));
    for i in order {
        if cut <= 0 {
            break;
        }
        let amount = lines[i].amount.cents();
        let c = cut.min(amount);
        cut -= c;
        cuts.push(LineDecision {
            line: i32::try_from(i + 1).unwrap_or(1),
            approved: Money::from_cents(amount - c).map_err(|e| e.to_string())?,
            reason: Some(cut_reason(lines[i].category).to_owned()),
        });
    }
    cuts.sort_by_key(|c| c.line);
    if rng.chance(25) {
        let (category, description) = rng.pick(&text::INELIGIBLE_LINES);
        let euros = if category == CostCategory::Hardware {
            rng.range(500, 8_000)
        } else {
            rng.range(150, 900)
        };
        lines.push(CostLine {
            category,
            description: description.to_owned(),
            amount: Money::from_cents(euros * 100).map_err(|e| e.to_string())?,
            eligible: false,
        });
    }
    let total: i64 = lines.iter().map(|l| l.amount.cents()).sum();
    let third = if matches!(kind, Kind::Egov(_)) && rng.chance(6) {
        (total * rng.range(3, 10) / 100 / 100 * 100).min(total - requested)
    } else {
        0
    };
    Ok(CostPlan {
        lines,
        own: total - requested - third,
        third,
        cuts,
        fixed,
    })
}

/// Points on the working-time axis, at random between `lo` and `hi`, in order and distinct.
fn points(rng: &mut Rng, n: usize, lo: W, hi: W) -> Vec<W> {
    let mut p: Vec<W> = (0..n)
        .map(|_| rng.range(lo + 1, hi.max(lo + 2) - 1))
        .collect();
    p.sort_unstable();
    for i in 1..p.len() {
        if p[i] <= p[i - 1] {
            p[i] = p[i - 1] + 1;
        }
    }
    p
}

fn months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(d)
}

fn days(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_add_days(Days::new(u64::try_from(n.max(0)).unwrap_or(0)))
        .unwrap_or(d)
}

/// The fiscal years of a grant over a period of more than one year, in proportion to the
/// days of the period in each year (whole euros, the first year taking the rest).
fn split_years(granted: i64, start: NaiveDate, end: NaiveDate) -> Vec<(i32, Money)> {
    let years: Vec<i32> = (start.year()..=end.year()).take(3).collect();
    let last = *years.last().unwrap_or(&start.year());
    let end = end.min(date(last, 12, 31));
    let day_count = |y: i32| {
        let a = start.max(date(y, 1, 1));
        let b = end.min(date(y, 12, 31));
        (b - a).num_days().max(0) + 1
    };
    let total: i64 = years.iter().map(|y| day_count(*y)).sum();
    let mut parts: Vec<i64> = years
        .iter()
        .map(|y| granted * day_count(*y) / total.max(1) / 100 * 100)
        .collect();
    let rest = granted - parts.iter().skip(1).sum::<i64>();
    parts[0] = rest;
    years
        .into_iter()
        .zip(parts)
        .filter(|(_, c)| *c > 0)
        .map(|(y, c)| (y, Money::from_cents(c).unwrap_or(Money::ZERO)))
        .collect()
}

fn m(c: i64) -> Result<Money, String> {
    Money::from_cents(c).map_err(|e| e.to_string())
}

struct Steps {
    last: W,
    end: W,
}

enum Next {
    At(W),
    Beyond,
    OutOfOrder,
}

impl Steps {
    fn next(&mut self, w: W) -> Next {
        if w > self.end {
            Next::Beyond
        } else if w <= self.last {
            Next::OutOfOrder
        } else {
            self.last = w;
            Next::At(w)
        }
    }
}

/// Plays the case through, up to the end of the history.
pub(crate) fn run_case<'w>(
    world: &'w World,
    spec: &Spec,
    rng: &mut Rng,
    case_number: String,
    load: bool,
) -> Result<Sim<'w>, String> {
    let wt = &world.wt;
    let end = world.end;
    let c = spec.created;

    // When: the draft, its submission, the review and the decision.
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
        (Some((mid[0], mid[1])), &mid[2..])
    } else {
        (None, &mid[..])
    };

    // What: the project period, the content.
    let lead = &world.munis[spec.lead];
    let sdate = wt.date(submit);
    let project_start = match early_at {
        Some((_, signed)) => days(wt.date(signed), rng.range(1, 20)),
        None => days(sdate, rng.range(30, 100)).max(days(wt.date(decision), rng.range(7, 50))),
    };
    let duration = match spec.kind {
        Kind::Koop => rng.range(12, 36),
        Kind::Studie => rng.range(4, 9),
        Kind::Egov("f") => rng.range(3, 8),
        Kind::Egov(_) => rng.range(6, 24),
    };
    let project_end = months(project_start, u32::try_from(duration).unwrap_or(12)) - Days::new(1);
    let (programme, kind) = match spec.kind {
        Kind::Egov(o) if sdate >= world.egov_2024_from => {
            let terms = world.env.terms(EGOV_2024)?;
            let fundable = |x: &str| terms.funding_objects.iter().any(|(c, f)| c == x && *f);
            if sdate >= world.env.current_from && !fundable(o) {
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
    };
    let (requested, grant) = if kind == spec.kind {
        (spec.requested, spec.grant)
    } else {
        // Another funding object than drawn: another amount, too.
        let r = draw_request(rng, kind, lead.population) * 100;
        (
            r,
            if spec.grant < spec.requested {
                r * 9 / 10 / 100 * 100
            } else {
                r
            },
        )
    };
    let terms = world.env.terms(programme)?;
    // Never above the programme's maximum grant (a drawn request may carry cents above it).
    let requested = terms
        .max_grant
        .map_or(requested, |cap| requested.min(cap.cents()));
    let grant = grant.min(requested);
    let plan = cost_plan(
        rng,
        kind,
        terms.financing_type,
        terms.max_rate_bp.unwrap_or(10_000),
        requested,
        grant,
    )?;
    let lead_ags = Ags::parse(&lead.ags).map_err(|e| e.to_string())?;
    let joint = !spec.partners.is_empty();
    let members = if joint {
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
            .collect::<Result<Vec<_>, String>>()?
    } else {
        Vec::new()
    };
    let body = text::body(&lead.name, &lead.kind);
    let title = rng.pick(text::titles(kind.object())).replace("{}", &body);
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
    let content = Content {
        lead: lead_ags,
        joint,
        members,
        funding_object: kind.object().to_owned(),
        title,
        description,
        // A draft that is edited gets its project period with the edit.
        project_start: edit_at.is_none().then_some(project_start),
        project_end: edit_at.is_none().then_some(project_end),
        cost_lines: plan.lines.clone(),
        own_contribution: m(plan.own)?,
        third_party_funds: m(plan.third)?,
        requested_grant: m(requested)?,
    };

    // Who.
    let applicant = Actor::applicant(text::applicant(&lead.ags), &lead.ags);
    let caseworker = Actor::new(rng.pick(&text::CASEWORKERS), Role::Caseworker);
    let approver = |rng: &mut Rng| Actor::new(rng.pick(&text::APPROVERS), Role::Approver);

    if c > end {
        return Err(format!(
            "{case_number}: opened after the end of the history"
        ));
    }
    let ids = Rng::stream(rng.next(), 0x1D5);
    let style = if load {
        let millis = wt.at(c).and_utc().timestamp_millis();
        Style::load(ids, u64::try_from(millis).unwrap_or(0))
    } else {
        Style::service(ids)
    };
    let mut sim = Sim::create(
        &world.env,
        style,
        case_number,
        programme,
        &content,
        wt.at(c),
        &applicant,
    )?;
    if !load {
        sim.record_steps(wt.at(c), &applicant, &content);
    }
    // Every step after the one before; a step after the end of the history ends the case
    // where it stands (a notice may stay prepared, a payment requested).
    let mut steps = Steps { last: c, end };
    macro_rules! at {
        ($w:expr) => {{
            match steps.next($w) {
                Next::Beyond => return Ok(sim),
                Next::OutOfOrder => {
                    return Err(format!("{}: steps out of order", sim.case.row.case_number));
                }
                Next::At(w) => wt.at(w),
            }
        }};
    }
    if let Some(e) = edit_at {
        sim.edit(at!(e), &applicant, None, |c| {
            c.project_start = Some(project_start);
            c.project_end = Some(project_end);
            c.description.push(' ');
            c.description.push_str(text::EDIT_PHRASE);
        })?;
    }
    match spec.fate {
        Fate::Draft => return Ok(sim),
        Fate::DraftWithdrawn => {
            let w = at!(edit_at.unwrap_or(c) + rng.range(5 * DAY, 60 * DAY));
            let reason = rng.pick(&text::WITHDRAWALS);
            sim.transition(w, &applicant, Action::Withdraw, Some(reason), None, None)?;
            return Ok(sim);
        }
        _ => {}
    }
    sim.transition(at!(submit), &applicant, Action::Submit, None, None, None)?;
    sim.transition(
        at!(review),
        &caseworker,
        Action::StartReview,
        None,
        None,
        None,
    )?;
    if let Some((p, s)) = early_at {
        let req = NoticeRequest {
            posted_on: Some(wt.date(s)),
            reason: Some(text::EARLY_START.to_owned()),
            ..NoticeRequest::default()
        };
        let i = sim.prepare_notice(at!(p), &caseworker, NoticeKind::EarlyStart, &req)?;
        let a = approver(rng);
        sim.sign_notice(at!(s), &a, i)?;
    }
    let unanswered = spec.fate == Fate::Pending && rng.chance(35);
    for (k, pair) in info.chunks(2).enumerate() {
        let asked = at!(pair[0]);
        let due = days(asked.date(), rng.range(14, 28));
        let reason = rng.pick(&text::INFO_REQUESTS);
        sim.transition(
            asked,
            &caseworker,
            Action::RequestInfo,
            Some(reason),
            Some(due),
            None,
        )?;
        if unanswered && k + 1 == rounds {
            break;
        }
        sim.transition(
            at!(pair[1]),
            &applicant,
            Action::ProvideInfo,
            None,
            None,
            None,
        )?;
    }
    if spec.fate == Fate::Pending {
        return Ok(sim);
    }
    let decided_on = wt.date(decision);
    match spec.fate {
        Fate::Withdrawn => {
            let reason = rng.pick(&text::WITHDRAWALS);
            sim.transition(
                at!(decision),
                &applicant,
                Action::Withdraw,
                Some(reason),
                None,
                None,
            )?;
            return Ok(sim);
        }
        Fate::Rejected => {
            let req = NoticeRequest {
                posted_on: Some(decided_on),
                reason: Some((rng.pick(&text::REJECTIONS)).to_owned()),
                ..NoticeRequest::default()
            };
            let i = sim.prepare_notice(at!(prepared), &caseworker, NoticeKind::Rejection, &req)?;
            let a = approver(rng);
            sim.sign_notice(at!(decision), &a, i)?;
            return Ok(sim);
        }
        _ => {}
    }

    // The grant.
    let period_start = if early_at.is_some() {
        project_start
    } else {
        project_start.max(decided_on)
    };
    let period_end = project_end.max(months(period_start, 3));
    let mut req = NoticeRequest {
        posted_on: Some(decided_on),
        grant_period_start: Some(period_start),
        grant_period_end: Some(period_end),
        approved_lines: plan.cuts.clone(),
        fixed_amount: plan.fixed.map(m).transpose()?,
        ..NoticeRequest::default()
    };
    let prepared_at = at!(prepared);
    let (draft, _) = sim.draft_notice(prepared_at, &caseworker, NoticeKind::Grant, &req, None)?;
    let granted = draft.row.granted_cents.unwrap_or(0);
    if granted != grant {
        return Err(format!(
            "{}: the grant notice comes to {granted}, not the planned {grant}",
            sim.case.row.case_number
        ));
    }
    if period_start.year() < period_end.year() && rng.chance(60) {
        req.allocations = Some(split_years(granted, period_start, period_end));
    }
    let i = sim.prepare_notice(prepared_at, &caseworker, NoticeKind::Grant, &req)?;
    let a = approver(rng);
    sim.sign_notice(at!(decision), &a, i)?;
    let mut cursor = decision;

    // An amendment that lowers the grant, before anything is paid.
    if spec.changes && rng.chance_pm(40) {
        let p = cursor + rng.range(10 * DAY, 30 * DAY);
        let s = p + rng.range(DAY, 5 * DAY);
        let force = sim.in_force().ok_or("no grant in force")?;
        let anteil = force.row.financing_type.as_deref() == Some("anteil");
        let line = force
            .lines
            .iter()
            .filter(|l| anteil && l.eligible && l.approved_cents > 10_000)
            .max_by_key(|l| l.approved_cents)
            .map(|l| (l.line_no, l.approved_cents));
        if let Some((line, approved)) = line {
            let req = NoticeRequest {
                posted_on: Some(wt.date(s)),
                reason: Some((rng.pick(&text::AMENDMENTS)).to_owned()),
                approved_lines: vec![LineDecision {
                    line,
                    approved: m(approved * rng.range(75, 90) / 100)?,
                    reason: Some(text::AMENDMENTS[0].to_owned()),
                }],
                ..NoticeRequest::default()
            };
            let i = sim.prepare_notice(at!(p), &caseworker, NoticeKind::Amendment, &req)?;
            let a = approver(rng);
            sim.sign_notice(at!(s), &a, i)?;
            cursor = s;
        }
    }

    // Tranches while the project runs.
    let tranches: Vec<i64> = match (spec.revoke, rng.weighted(&[10, 40, 35, 15])) {
        (true, _) | (false, 2) => vec![rng.range(3_000, 4_000), rng.range(2_000, 3_000)],
        (false, 0) => Vec::new(),
        (false, 1) => vec![rng.range(5_000, 7_000)],
        (false, _) => vec![rng.range(2_000, 2_300); 3],
    };
    let from = cursor + 10 * DAY;
    let until = wt.end_of(period_end).max(from + 20 * DAY);
    let segment = (until - from) / i64::try_from(tranches.len().max(1)).unwrap_or(1);
    let mut first_paid: Option<NaiveDate> = None;
    for (k, bp) in tranches.iter().enumerate() {
        let base = from + segment * i64::try_from(k).unwrap_or(0);
        let r = (base + rng.range(0, segment / 2)).max(cursor + DAY / 4);
        let p = r + rng.range(DAY / 4, (segment / 4).clamp(DAY / 2, 4 * DAY));
        let x = p + rng.range(DAY / 4, (segment / 4).clamp(DAY / 2, 4 * DAY));
        let granted = sim.case.row.granted_cents.unwrap_or(0);
        let amount = (granted * bp / 10_000 / 100 * 100)
            .min(sim.payment_room())
            .max(1);
        let i = sim.request_payment(at!(r), &applicant, amount, Some(text::TRANCHE))?;
        sim.prepare_payment(at!(p), &caseworker, i)?;
        let a = approver(rng);
        sim.release_payment(at!(x), &a, i)?;
        first_paid.get_or_insert(wt.date(x));
        cursor = x;
    }

    // A revocation: the project failed; what was paid above the remaining grant is reclaimed.
    if spec.revoke {
        let p = cursor + rng.range(20 * DAY, 60 * DAY);
        let s = p + rng.range(DAY, 5 * DAY);
        let paid = sim.case.row.paid_cents;
        let granted = sim.case.row.granted_cents.unwrap_or(0);
        let keep = paid * rng.range(20, 50) / 100 / 100 * 100;
        let req = NoticeRequest {
            posted_on: Some(wt.date(s)),
            reason: Some(text::REVOCATION.to_owned()),
            revoked_amount: Some(m(granted - keep)?),
            interest_from: first_paid,
            ..NoticeRequest::default()
        };
        let i = sim.prepare_notice(at!(p), &caseworker, NoticeKind::Revocation, &req)?;
        let a = approver(rng);
        sim.sign_notice(at!(s), &a, i)?;
        return Ok(sim);
    }

    // The proof of use, perhaps returned once, and the final notice.
    let proof_day = days(period_end, rng.range(10, 120));
    let mut proof = (wt.start_of(proof_day) + rng.range(0, DAY - 1)).max(cursor + DAY);
    let force = sim.in_force().ok_or("no grant in force")?;
    let actual: Vec<(i32, Money)> = sim
        .case
        .lines
        .iter()
        .zip(&force.lines)
        .map(|(l, n)| {
            let base = if l.eligible {
                n.approved_cents
            } else {
                l.amount_cents
            };
            let f = if spec.full_final || !spec.changes || rng.chance(70) {
                rng.range(10_000, 10_800)
            } else {
                rng.range(8_600, 10_000)
            };
            Ok((l.line_no, m(base * f / 10_000)?))
        })
        .collect::<Result<_, String>>()?;
    sim.transition(
        at!(proof),
        &applicant,
        Action::SubmitProof,
        None,
        None,
        Some(&actual),
    )?;
    if rng.chance(4) {
        let back = proof + rng.range(10 * DAY, 30 * DAY);
        sim.transition(
            at!(back),
            &caseworker,
            Action::ReturnProof,
            Some(text::RETURN_PROOF),
            None,
            None,
        )?;
        proof = back + rng.range(10 * DAY, 30 * DAY);
        sim.transition(
            at!(proof),
            &applicant,
            Action::SubmitProof,
            None,
            None,
            Some(&actual),
        )?;
    }
    if spec.until_proof {
        return Ok(sim);
    }
    let p = proof + rng.range(15 * DAY, 60 * DAY);
    let s = p + rng.range(DAY, 5 * DAY);
    let req = NoticeRequest {
        posted_on: Some(wt.date(s)),
        ..NoticeRequest::default()
    };
    let i = sim.prepare_notice(at!(p), &caseworker, NoticeKind::Final, &req)?;
    let a = approver(rng);
    sim.sign_notice(at!(s), &a, i)?;
    if spec.full_final && sim.case.row.granted_cents != Some(grant) {
        return Err(format!(
            "{}: the final grant differs from the grant",
            sim.case.row.case_number
        ));
    }

    // The final payment.
    let rest = sim.payment_room();
    if rest > 0 {
        let r = s + rng.range(5 * DAY, 20 * DAY);
        let p = r + rng.range(DAY / 2, 4 * DAY);
        let x = p + rng.range(DAY / 2, 4 * DAY);
        let i = sim.request_payment(at!(r), &applicant, rest, Some(text::FINAL_PAYMENT))?;
        sim.prepare_payment(at!(p), &caseworker, i)?;
        let a = approver(rng);
        sim.release_payment(at!(x), &a, i)?;
    }
    Ok(sim)
}
