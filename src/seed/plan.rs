//! What happens to a case: the specification of a case (programme, partners, money, its
//! fate, the windows its decision must fall into), its cost plan, and the calendar helpers
//! the schedule (`play.rs`) uses.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};

use super::rng::Rng;
use super::sim::Env;
use super::text;
use super::worktime::{DAY, W, WorkTime};
use crate::domain::application::{CostCategory, CostLine};
use crate::domain::notice::LineDecision;
use crate::domain::{FinancingType, Money};

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
    pub postcode: Option<String>,
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

pub(crate) fn isqrt(n: u64) -> u32 {
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

    pub(crate) fn object(self) -> &'static str {
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

impl Spec {
    /// A case with these figures and fate, without a decision window or submission bounds,
    /// open to amendments, without a revocation, played to its end.
    pub(crate) fn new(
        created: W,
        kind: Kind,
        lead: usize,
        partners: Vec<usize>,
        requested: i64,
        grant: i64,
        fate: Fate,
    ) -> Spec {
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
            revoke: false,
            until_proof: false,
        }
    }
}

pub(crate) const EGOV_OBJECTS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
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
        revoke: load && fate == Fate::Granted && !until_proof && rng.chance_pm(4),
        until_proof,
        ..Spec::new(created, kind, lead, partners, requested, grant, fate)
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
pub(crate) fn points(rng: &mut Rng, n: usize, lo: W, hi: W) -> Vec<W> {
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

pub(crate) fn months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n)).unwrap_or(d)
}

pub(crate) fn days(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_add_days(Days::new(u64::try_from(n.max(0)).unwrap_or(0)))
        .unwrap_or(d)
}

/// The fiscal years of a grant over a period of more than one year, in proportion to the
/// days of the period in each year (whole euros, the first year taking the rest).
pub(crate) fn split_years(
    granted: i64,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<(i32, Money)>, String> {
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
        .map(|(y, c)| Ok((y, m(c)?)))
        .collect()
}

pub(crate) fn m(c: i64) -> Result<Money, String> {
    Money::from_cents(c).map_err(|e| e.to_string())
}
