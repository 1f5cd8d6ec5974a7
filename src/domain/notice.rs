//! Decision notices (Bescheide): their kinds, when each may be prepared, which lifecycle
//! action signing one performs, and the grant a notice sets (partial approval, final notice).

use chrono::{Datelike, NaiveDate};

use super::application::Violation;
use super::grant::{FinancingType, GrantBasis, max_grant};
use super::names::string_enum;
use super::{Action, Money, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// Zuwendungsbescheid (full or partial).
    Grant,
    /// Ablehnungsbescheid.
    Rejection,
    /// Zustimmung zum vorzeitigen Vorhabenbeginn.
    EarlyStart,
    /// Änderungsbescheid: a new grant amount for an approved case.
    Amendment,
    /// Schlussbescheid after the proof of use.
    Final,
    /// Widerrufs-/Rücknahmebescheid with reclaim and interest.
    Revocation,
}

string_enum!(NoticeKind, "notice kind", {
    Grant => "grant",
    Rejection => "rejection",
    EarlyStart => "early_start",
    Amendment => "amendment",
    Final => "final",
    Revocation => "revocation",
});

impl NoticeKind {
    /// The German title of the document.
    pub fn title_de(self) -> &'static str {
        match self {
            NoticeKind::Grant => "Zuwendungsbescheid",
            NoticeKind::Rejection => "Ablehnungsbescheid",
            NoticeKind::EarlyStart => "Zustimmung zum vorzeitigen Vorhabenbeginn",
            NoticeKind::Amendment => "Änderungsbescheid",
            NoticeKind::Final => "Schlussbescheid",
            NoticeKind::Revocation => "Widerrufsbescheid",
        }
    }

    /// The statuses of the case in which this kind of notice may be prepared and signed.
    pub fn allowed_in(self) -> &'static [Status] {
        match self {
            NoticeKind::Grant | NoticeKind::Rejection => &[Status::InReview],
            NoticeKind::EarlyStart => &[Status::Submitted, Status::InReview, Status::InfoRequested],
            NoticeKind::Amendment => &[Status::Approved],
            NoticeKind::Final => &[Status::ProofSubmitted],
            NoticeKind::Revocation => &[Status::Approved, Status::ProofSubmitted, Status::Closed],
        }
    }

    /// The lifecycle action signing performs; `None` leaves the status as it is.
    pub fn drives(self) -> Option<Action> {
        match self {
            NoticeKind::Grant => Some(Action::Approve),
            NoticeKind::Rejection => Some(Action::Reject),
            NoticeKind::Final => Some(Action::Close),
            NoticeKind::Revocation => Some(Action::Revoke),
            NoticeKind::EarlyStart | NoticeKind::Amendment => None,
        }
    }

    /// The notice number suffix letter: `B` (Bescheid) for every kind, numbered per case.
    pub fn number(case_number: &str, n: i64) -> String {
        format!("{case_number}-B{n}")
    }
}

/// Where a notice is: prepared (a draft the applicant cannot see) or signed (in force from
/// its delivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeStatus {
    Prepared,
    Signed,
}

string_enum!(NoticeStatus, "notice status", {
    Prepared => "prepared",
    Signed => "signed",
});

/// A cost line as a notice decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecidedLine {
    pub applied: Money,
    /// What the notice recognises (≤ applied for a grant; actual, capped at approved, for a
    /// final notice).
    pub approved: Money,
    pub eligible: bool,
}

/// How a notice computes its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTerms {
    pub financing_type: FinancingType,
    pub rate_bp: Option<i32>,
    pub cap: Option<Money>,
    /// Festbetragsfinanzierung: the fixed sum (at most the eligible expenditure and the cap).
    pub fixed: Option<Money>,
}

/// The eligible expenditure and grant a notice sets: the sum of the approved amounts of the
/// eligible lines, and the grant by the financing type, rounded down to the cent.
pub fn decided_grant(
    lines: &[DecidedLine],
    terms: &GrantTerms,
    own_contribution: Money,
    third_party: Money,
) -> (Money, Money) {
    let eligible_cents: i64 = lines
        .iter()
        .filter(|l| l.eligible)
        .map(|l| l.approved.cents())
        .sum();
    let eligible = Money::from_cents(eligible_cents).unwrap_or(Money::ZERO);
    let ceiling = max_grant(&GrantBasis {
        financing_type: terms.financing_type,
        rate_bp: terms.rate_bp,
        cap: terms.cap,
        eligible,
        own_contribution,
        third_party,
    });
    let grant = match (terms.financing_type, terms.fixed) {
        (FinancingType::Festbetrag, Some(fixed)) => fixed.min(ceiling),
        _ => ceiling,
    };
    (eligible, grant)
}

/// The final grant after the proof of use: the actual eligible expenditure per line (never
/// more than the line's approved amount) under the same terms, and never more than the grant
/// in force. Money paid above it is to be repaid.
pub fn final_grant(
    approved: &[DecidedLine],
    actual: &[Money],
    terms: &GrantTerms,
    own_contribution: Money,
    third_party: Money,
    current_grant: Money,
) -> (Money, Money) {
    let lines: Vec<DecidedLine> = approved
        .iter()
        .zip(actual)
        .map(|(l, a)| DecidedLine {
            applied: l.approved,
            approved: (*a).min(l.approved),
            eligible: l.eligible,
        })
        .collect();
    let (eligible, grant) = decided_grant(&lines, terms, own_contribution, third_party);
    (eligible, grant.min(current_grant))
}

/// What is to be repaid when `paid` exceeds the grant now in force.
pub fn reclaim(paid: Money, grant: Money) -> Money {
    paid.checked_sub(grant)
        .filter(|d| !d.is_negative())
        .unwrap_or(Money::ZERO)
}

/// A line decision of the caseworker: the amount recognised and why it is less than applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDecision {
    pub line: i32,
    pub approved: Money,
    pub reason: Option<String>,
}

/// What the caseworker asks for; the field names are those of the request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeRequest {
    pub posted_on: Option<NaiveDate>,
    pub reason: Option<String>,
    pub purpose: Option<String>,
    pub binding_years: Option<i32>,
    pub financing_type: Option<FinancingType>,
    pub rate_bp: Option<i32>,
    pub max_amount: Option<Money>,
    pub fixed_amount: Option<Money>,
    pub approved_lines: Vec<LineDecision>,
    pub grant_period_start: Option<NaiveDate>,
    pub grant_period_end: Option<NaiveDate>,
    pub proof_due: Option<NaiveDate>,
    pub allocations: Option<Vec<(i32, Money)>>,
    pub revoked_amount: Option<Money>,
    pub interest_from: Option<NaiveDate>,
    /// Why the interest on the reclaim is waived (§ 49a (3) sentence 2 VwVfG).
    pub interest_waiver: Option<String>,
    pub reclaim_due: Option<NaiveDate>,
}

/// A cost line of the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseLine {
    pub applied: Money,
    pub eligible: bool,
    /// From the proof of use.
    pub actual: Option<Money>,
}

/// The programme's limits on the financing terms of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgrammeLimits {
    pub financing_type: FinancingType,
    pub max_rate_bp: Option<i32>,
    pub max_grant: Option<Money>,
}

/// The notice whose grant is in force (the last signed grant, amendment, final notice or
/// revocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InForce {
    pub terms: GrantTerms,
    /// Per cost line, in order.
    pub lines: Vec<DecidedLine>,
    pub granted: Money,
    pub grant_period: Option<(NaiveDate, NaiveDate)>,
    pub proof_due: Option<NaiveDate>,
    pub purpose: Option<String>,
    pub binding_years: Option<i32>,
    pub allocations: Vec<(i32, Money)>,
}

/// What a notice decides about the case it is prepared for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts<'a> {
    pub status: Status,
    pub title: &'a str,
    pub lines: &'a [CaseLine],
    pub own_contribution: Money,
    pub third_party: Money,
    pub requested: Money,
    pub paid: Money,
    /// What signed notices have already asked to be repaid.
    pub reclaimed: Money,
    pub programme: ProgrammeLimits,
    pub in_force: Option<&'a InForce>,
    /// The planned project period (the application's start and end).
    pub project: Option<(NaiveDate, NaiveDate)>,
    /// The day the case's first grant notice was signed, if one was.
    pub granted_on: Option<NaiveDate>,
    pub today: NaiveDate,
    /// § 41 (2) VwVfG days in force on the posting day.
    pub delivery_days: u32,
}

/// A cost line as the notice records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLine {
    pub line: i32,
    pub applied: Money,
    pub approved: Money,
    pub actual: Option<Money>,
    pub eligible: bool,
    pub reason: Option<String>,
}

/// A prepared notice's content, computed from the case and the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub terms: Option<GrantTerms>,
    pub lines: Vec<NoticeLine>,
    pub eligible: Option<Money>,
    pub computed: Option<Money>,
    /// The grant in force once the notice is signed; `None`: it sets no grant.
    pub granted: Option<Money>,
    pub revoked: Option<Money>,
    pub reclaim: Option<Money>,
    pub reclaim_due: Option<NaiveDate>,
    pub interest_from: Option<NaiveDate>,
    pub grant_period: Option<(NaiveDate, NaiveDate)>,
    pub proof_due: Option<NaiveDate>,
    pub purpose: Option<String>,
    pub binding_years: Option<i32>,
    pub reason: Option<String>,
    pub allocations: Vec<(i32, Money)>,
    pub posted_on: NaiveDate,
}

/// What a notice setting `granted` asks to be repaid beyond what earlier notices asked: the
/// overpayment less what was reclaimed already (so that no euro is demanded twice).
fn further_reclaim(facts: &CaseFacts<'_>, granted: Money) -> Money {
    reclaim(facts.paid, granted)
        .checked_sub(facts.reclaimed)
        .filter(|m| !m.is_negative())
        .unwrap_or(Money::ZERO)
}

/// The German reason of a line the proof of use shows above its approval.
pub const ABOVE_APPROVAL_DE: &str =
    "Ist-Ausgaben über dem bewilligten Betrag; anerkannt bis zur Höhe der Bewilligung";

/// Default period of the proof of use after the end of the grant period, in months.
pub const PROOF_MONTHS: u32 = 6;
/// Default Zweckbindungsfrist, in years.
pub const DEFAULT_BINDING_YEARS: i32 = 5;
/// Longest text of a reason or purpose, in characters.
pub const MAX_NOTICE_TEXT: usize = 20_000;

fn violation(field: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        field: field.into(),
        message: message.into(),
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|t| t.trim().is_empty())
}

/// The reductions of an allocation to a lower total, taken from the latest fiscal year first.
pub fn reduce_allocations(old: &[(i32, Money)], total: Money) -> Vec<(i32, Money)> {
    let mut sorted = old.to_vec();
    sorted.sort_by_key(|(y, _)| *y);
    let mut excess = sorted.iter().map(|(_, m)| m.cents()).sum::<i64>() - total.cents();
    for (_, m) in sorted.iter_mut().rev() {
        if excess <= 0 {
            break;
        }
        let cut = excess.min(m.cents());
        *m = Money::from_cents(m.cents() - cut).unwrap_or(Money::ZERO);
        excess -= cut;
    }
    sorted.retain(|(_, m)| m.cents() > 0);
    sorted
}

/// Per fiscal year, how much more (positive) or less (negative) the new allocation commits
/// than the old one; years without a change are left out. Sorted by year, which is also the
/// order in which budget rows are locked (no deadlock between two signings).
pub fn allocation_deltas(old: &[(i32, Money)], new: &[(i32, Money)]) -> Vec<(i32, i64)> {
    let mut years: Vec<i32> = old.iter().chain(new).map(|(y, _)| *y).collect();
    years.sort_unstable();
    years.dedup();
    let sum = |v: &[(i32, Money)], y: i32| -> i64 {
        v.iter()
            .filter(|(x, _)| *x == y)
            .map(|(_, m)| m.cents())
            .sum()
    };
    years
        .into_iter()
        .map(|y| (y, sum(new, y) - sum(old, y)))
        .filter(|(_, d)| *d != 0)
        .collect()
}

/// Checks the requested allocation: unique years from the grant period's start year on,
/// adding up exactly to the grant, and nothing more for a fiscal year that has closed.
fn checked_allocations(
    requested: &[(i32, Money)],
    granted: Money,
    first_year: Option<i32>,
    facts: &CaseFacts<'_>,
    out: &mut Vec<Violation>,
) -> Vec<(i32, Money)> {
    check_closed_years(requested, facts, out);
    let mut years: Vec<i32> = requested.iter().map(|(y, _)| *y).collect();
    years.sort_unstable();
    years.dedup();
    if years.len() != requested.len() {
        out.push(violation("allocations", "each fiscal year at most once"));
    }
    if let Some(first) = first_year
        && let Some((y, _)) = requested
            .iter()
            .find(|(y, _)| *y < first || *y > first + 10)
    {
        out.push(violation(
            "allocations",
            format!(
                "fiscal year {y} lies outside {first}..{} (the grant period's start year and \
                 the ten years after it)",
                first + 10
            ),
        ));
    }
    let total: i64 = requested.iter().map(|(_, m)| m.cents()).sum();
    if total != granted.cents() {
        out.push(violation(
            "allocations",
            format!(
                "the allocations add up to {}, not to the grant {granted}",
                super::money::euros_text(total)
            ),
        ));
    }
    let mut sorted = requested.to_vec();
    sorted.sort_by_key(|(y, _)| *y);
    sorted.retain(|(_, m)| m.cents() > 0);
    sorted
}

/// Annuality (§ 45 (1) LHO): a fiscal year before the current one has closed, so a notice
/// allocates nothing to it beyond what the notice in force already allocated there.
fn check_closed_years(requested: &[(i32, Money)], facts: &CaseFacts<'_>, out: &mut Vec<Violation>) {
    let current = facts.today.year();
    let in_force = |y: i32| -> i64 {
        facts.in_force.map_or(0, |f| {
            f.allocations
                .iter()
                .filter(|(x, _)| *x == y)
                .map(|(_, m)| m.cents())
                .sum()
        })
    };
    let mut closed: Vec<i32> = requested
        .iter()
        .filter(|(y, m)| *y < current && m.cents() > in_force(*y))
        .map(|(y, _)| *y)
        .collect();
    closed.sort_unstable();
    closed.dedup();
    for y in closed {
        let kept = super::money::euros_text(in_force(y));
        out.push(violation(
            "allocations",
            format!(
                "the fiscal year {y} has closed (§ 45 (1) LHO): it keeps at most the {kept} \
                 allocated to it before; allocate to {current} or later"
            ),
        ));
    }
}

/// The financing terms of a grant or amendment: the request's, else the ones in force, else
/// the programme's; never above the programme's rate or cap.
fn terms_for(r: &NoticeRequest, facts: &CaseFacts<'_>, out: &mut Vec<Violation>) -> GrantTerms {
    let base = facts.in_force.map(|f| f.terms);
    let p = facts.programme;
    let financing_type = r
        .financing_type
        .or(base.map(|b| b.financing_type))
        .unwrap_or(p.financing_type);
    let anteil = financing_type == FinancingType::Anteil;
    if r.rate_bp.is_some() && !anteil {
        out.push(violation(
            "rate",
            "a rate belongs to an anteil financing only",
        ));
    }
    let rate_bp = if anteil {
        r.rate_bp.or(base.and_then(|b| b.rate_bp)).or(p.max_rate_bp)
    } else {
        None
    };
    if let (Some(rate), Some(max)) = (rate_bp, p.max_rate_bp)
        && rate > max
    {
        out.push(violation(
            "rate",
            format!(
                "{} is above the programme's maximum rate {}",
                super::rate::rate_string(rate),
                super::rate::rate_string(max)
            ),
        ));
    }
    let cap = r.max_amount.or(base.and_then(|b| b.cap)).or(p.max_grant);
    if let (Some(cap), Some(max)) = (cap, p.max_grant)
        && cap > max
    {
        out.push(violation(
            "max_amount",
            format!("{cap} is above the programme's maximum grant {max}"),
        ));
    }
    if r.fixed_amount.is_some() && financing_type != FinancingType::Festbetrag {
        out.push(violation(
            "fixed_amount",
            "a fixed amount belongs to a festbetrag financing only",
        ));
    }
    let fixed = if financing_type == FinancingType::Festbetrag {
        let fixed = r.fixed_amount.or(base.and_then(|b| b.fixed));
        if fixed.is_none() {
            out.push(violation(
                "fixed_amount",
                "a festbetrag financing needs the fixed amount",
            ));
        }
        fixed
    } else {
        None
    };
    GrantTerms {
        financing_type,
        rate_bp,
        cap,
        fixed,
    }
}

/// Applies the caseworker's line decisions to `base` (the approved amount per line before
/// them); each named line must exist, may not exceed `base`, and a reduction needs a reason.
fn decide_lines(
    facts: &CaseFacts<'_>,
    base: &[Money],
    decisions: &[LineDecision],
    out: &mut Vec<Violation>,
) -> Vec<NoticeLine> {
    let mut lines: Vec<NoticeLine> = facts
        .lines
        .iter()
        .zip(base)
        .enumerate()
        .map(|(i, (l, b))| NoticeLine {
            line: i32::try_from(i + 1).unwrap_or(i32::MAX),
            applied: l.applied,
            approved: *b,
            actual: l.actual,
            eligible: l.eligible,
            reason: None,
        })
        .collect();
    let mut seen = Vec::new();
    for (i, d) in decisions.iter().enumerate() {
        let field = |f: &str| format!("approved_lines[{i}].{f}");
        if seen.contains(&d.line) {
            out.push(violation(
                field("line"),
                format!("line {} named twice", d.line),
            ));
            continue;
        }
        seen.push(d.line);
        // checked: a line of i32::MIN (found by schemathesis) overflowed here.
        let Some(line) = d
            .line
            .checked_sub(1)
            .and_then(|k| usize::try_from(k).ok())
            .and_then(|k| lines.get_mut(k))
        else {
            out.push(violation(
                field("line"),
                format!("the case has no cost line {}", d.line),
            ));
            continue;
        };
        if d.approved > line.approved {
            out.push(violation(
                field("approved_amount"),
                format!(
                    "{} is more than the {} this line can be recognised with",
                    d.approved, line.approved
                ),
            ));
            continue;
        }
        if d.approved < line.applied && blank(&d.reason) {
            out.push(violation(
                field("reason"),
                "a reduced line needs the reason for the reduction",
            ));
        }
        if d.reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_NOTICE_TEXT)
        {
            out.push(violation(field("reason"), "too long"));
        }
        line.approved = d.approved;
        line.reason = d.reason.clone().filter(|r| !r.trim().is_empty());
    }
    lines
}

fn decided_lines(lines: &[NoticeLine]) -> Vec<DecidedLine> {
    lines
        .iter()
        .map(|l| DecidedLine {
            applied: l.applied,
            approved: l.approved,
            eligible: l.eligible,
        })
        .collect()
}

/// How a request says whether it has a field.
type Present = fn(&NoticeRequest) -> bool;

const GRANT_SETTING: &[NoticeKind] = &[NoticeKind::Grant, NoticeKind::Amendment];
const LINE_DECIDING: &[NoticeKind] = &[NoticeKind::Grant, NoticeKind::Amendment, NoticeKind::Final];
const RECLAIMING: &[NoticeKind] = &[NoticeKind::Final, NoticeKind::Revocation];
const REVOKING: &[NoticeKind] = &[NoticeKind::Revocation];
const FINAL: &[NoticeKind] = &[NoticeKind::Final];

/// The request fields that only some kinds of notice take: (field, the kinds that take it,
/// whether the request has it). A field not listed here is taken by every kind. The order is
/// the order in which the violations are reported.
const KIND_FIELDS: [(&str, &[NoticeKind], Present); 14] = [
    ("financing_type", GRANT_SETTING, |r| {
        r.financing_type.is_some()
    }),
    ("rate", GRANT_SETTING, |r| r.rate_bp.is_some()),
    ("max_amount", GRANT_SETTING, |r| r.max_amount.is_some()),
    ("fixed_amount", GRANT_SETTING, |r| r.fixed_amount.is_some()),
    ("grant_period_start", GRANT_SETTING, |r| {
        r.grant_period_start.is_some()
    }),
    ("grant_period_end", GRANT_SETTING, |r| {
        r.grant_period_end.is_some()
    }),
    ("proof_due", GRANT_SETTING, |r| r.proof_due.is_some()),
    ("binding_years", GRANT_SETTING, |r| {
        r.binding_years.is_some()
    }),
    ("approved_lines", LINE_DECIDING, |r| {
        !r.approved_lines.is_empty()
    }),
    ("allocations", LINE_DECIDING, |r| r.allocations.is_some()),
    ("revoked_amount", REVOKING, |r| r.revoked_amount.is_some()),
    ("interest_from", RECLAIMING, |r| r.interest_from.is_some()),
    ("interest_waiver", FINAL, |r| r.interest_waiver.is_some()),
    ("reclaim_due", RECLAIMING, |r| r.reclaim_due.is_some()),
];

impl NoticeKind {
    /// Whether a notice of this kind takes the request field `field`.
    pub fn accepts(self, field: &str) -> bool {
        KIND_FIELDS
            .iter()
            .find(|(f, _, _)| *f == field)
            .is_none_or(|(_, kinds, _)| kinds.contains(&self))
    }

    /// Whether a notice of this kind must state its reasons (Begründung).
    fn states_reasons(self) -> bool {
        matches!(self, NoticeKind::Rejection | NoticeKind::Revocation)
    }
}

/// "grant", "grant or amendment", "grant, amendment or final".
fn kinds_text(kinds: &[NoticeKind]) -> String {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// One violation, in one wording, for each field the request has that `kind` does not take.
fn foreign_fields(kind: NoticeKind, r: &NoticeRequest, out: &mut Vec<Violation>) {
    for (field, kinds, present) in KIND_FIELDS {
        if present(r) && !kinds.contains(&kind) {
            out.push(violation(
                field,
                format!("only a {} notice has {field}", kinds_text(kinds)),
            ));
        }
    }
}

/// The posting day: required, and not before today.
fn checked_posted_on(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    out: &mut Vec<Violation>,
) -> NaiveDate {
    match r.posted_on {
        None => {
            out.push(violation(
                "posted_on",
                "the day the notice is posted is required",
            ));
            facts.today
        }
        Some(d) if d < facts.today => {
            out.push(violation(
                "posted_on",
                format!("must not lie before today ({})", facts.today),
            ));
            d
        }
        Some(d) => d,
    }
}

/// How far ahead of today a notice may be dated for posting.
pub const MAX_POSTING_AHEAD_DAYS: u64 = 90;
/// The longest grant period (Bewilligungszeitraum), in years.
pub const MAX_GRANT_PERIOD_YEARS: u32 = 10;

/// Every date of the request within `calendar::BUSINESS_YEARS`, and the posting day at most
/// `MAX_POSTING_AHEAD_DAYS` ahead: each violation names its field.
fn check_date_bounds(r: &NoticeRequest, today: NaiveDate, out: &mut Vec<Violation>) {
    let dates = [
        ("posted_on", r.posted_on),
        ("grant_period_start", r.grant_period_start),
        ("grant_period_end", r.grant_period_end),
        ("proof_due", r.proof_due),
        ("interest_from", r.interest_from),
        ("reclaim_due", r.reclaim_due),
    ];
    for (field, date) in dates {
        if let Some(problem) = date.and_then(super::calendar::business_date_problem) {
            out.push(violation(field, problem));
        }
    }
    let latest = today.checked_add_days(chrono::Days::new(MAX_POSTING_AHEAD_DAYS));
    if let (Some(p), Some(latest)) = (r.posted_on, latest)
        && p > latest
        && out.iter().all(|v| v.field != "posted_on")
    {
        out.push(violation(
            "posted_on",
            format!("must not lie more than {MAX_POSTING_AHEAD_DAYS} days after today ({latest} at the latest)"),
        ));
    }
}

/// The grant period against the planned project period: the two overlap, and the grant
/// period is at most `MAX_GRANT_PERIOD_YEARS` long.
fn check_period(
    (start, end): (NaiveDate, NaiveDate),
    project: Option<(NaiveDate, NaiveDate)>,
    out: &mut Vec<Violation>,
) {
    if start
        .checked_add_months(chrono::Months::new(12 * MAX_GRANT_PERIOD_YEARS))
        .is_none_or(|limit| end > limit)
    {
        out.push(violation(
            "grant_period_end",
            format!("the grant period may not exceed {MAX_GRANT_PERIOD_YEARS} years"),
        ));
    }
    let Some((p_start, p_end)) = project else {
        return;
    };
    if start > p_end {
        out.push(violation(
            "grant_period_start",
            format!(
                "the grant period must overlap the planned project period {p_start} to \
                 {p_end}; it starts after the project ends"
            ),
        ));
    } else if end < p_start {
        out.push(violation(
            "grant_period_end",
            format!(
                "the grant period must overlap the planned project period {p_start} to \
                 {p_end}; it ends before the project starts"
            ),
        ));
    }
}

/// The rules on the texts and the binding period that hold for every kind.
fn check_texts(kind: NoticeKind, r: &NoticeRequest, out: &mut Vec<Violation>) {
    for (field, text) in [
        ("reason", &r.reason),
        ("purpose", &r.purpose),
        ("interest_waiver", &r.interest_waiver),
    ] {
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_NOTICE_TEXT)
        {
            out.push(violation(
                field,
                format!("at most {MAX_NOTICE_TEXT} characters"),
            ));
        }
    }
    if kind.states_reasons() && blank(&r.reason) {
        out.push(violation(
            "reason",
            format!("a {kind} notice states its reasons (Begründung)"),
        ));
    }
    if r.binding_years.is_some_and(|y| !(0..=30).contains(&y)) {
        out.push(violation("binding_years", "between 0 and 30 years"));
    }
}

fn nonblank(s: &Option<String>) -> Option<String> {
    s.clone().filter(|p| !p.trim().is_empty())
}

impl Decided {
    /// A notice that decides nothing yet but its texts and posting day.
    fn empty(r: &NoticeRequest, posted_on: NaiveDate) -> Decided {
        Decided {
            terms: None,
            lines: Vec::new(),
            eligible: None,
            computed: None,
            granted: None,
            revoked: None,
            reclaim: None,
            reclaim_due: None,
            interest_from: None,
            grant_period: None,
            proof_due: None,
            purpose: nonblank(&r.purpose),
            binding_years: None,
            reason: nonblank(&r.reason),
            allocations: Vec::new(),
            posted_on,
        }
    }
}

/// Computes a notice of `kind` for the case, or says everything that is wrong with the
/// request. The status rule (which kind in which status) is checked by the caller (409).
pub fn decide(
    kind: NoticeKind,
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
) -> Result<Decided, Vec<Violation>> {
    let mut out = Vec::new();
    check_date_bounds(r, facts.today, &mut out);
    if !out.is_empty() {
        // Nothing is computed on a date out of bounds (deadlines, interest, the PDF).
        return Err(out);
    }
    let posted_on = checked_posted_on(r, facts, &mut out);
    check_texts(kind, r, &mut out);
    foreign_fields(kind, r, &mut out);
    let mut d = Decided::empty(r, posted_on);
    match kind {
        // A rejection decides nothing beyond its reasons (`states_reasons`); a second early
        // start is a conflict the caller reports (409), not a request error.
        NoticeKind::Rejection | NoticeKind::EarlyStart => {}
        NoticeKind::Grant => decide_grant(r, facts, &mut d, &mut out),
        NoticeKind::Amendment => decide_amendment(r, facts, &mut d, &mut out),
        NoticeKind::Final | NoticeKind::Revocation => {
            let Some(f) = facts.in_force else {
                out.push(violation("kind", "the case has no grant in force"));
                return Err(out);
            };
            if kind == NoticeKind::Final {
                decide_final(r, facts, f, &mut d, &mut out);
            } else {
                decide_revocation(r, facts, f, &mut d, &mut out);
            }
        }
    }
    decide_reclaim_due(r, facts, &mut d, &mut out);
    if out.is_empty() { Ok(d) } else { Err(out) }
}

/// A grant (full, or partial with reduced lines): the lines as applied for unless the
/// caseworker decides otherwise, the allocation by default all in the grant period's first year.
fn decide_grant(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) {
    let terms = terms_for(r, facts, out);
    let applied: Vec<Money> = facts.lines.iter().map(|l| l.applied).collect();
    let lines = grant_lines(r, facts, &applied, out);
    let period = decide_grant_dates(r, facts, d, out);
    let granted = set_grant(facts, terms, &lines, d, out);
    let first_year = period.map(|(s, _)| s.year());
    d.allocations = match &r.allocations {
        Some(a) => checked_allocations(a, granted, first_year, facts, out),
        // The first fiscal year of the period that is still open (§ 45 (1) LHO).
        None => first_year
            .map(|y| vec![(y.max(facts.today.year()), granted)])
            .unwrap_or_default(),
    };
    d.lines = lines;
}

/// An amendment: a new grant for an approved case, from the lines in force; never below what
/// was paid, and a raise says in which fiscal years.
fn decide_amendment(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) {
    let terms = terms_for(r, facts, out);
    let base: Vec<Money> = match facts.in_force {
        Some(f) => f.lines.iter().map(|l| l.approved).collect(),
        None => facts.lines.iter().map(|l| l.applied).collect(),
    };
    let lines = grant_lines(r, facts, &base, out);
    let period = decide_grant_dates(r, facts, d, out);
    let granted = set_grant(facts, terms, &lines, d, out);
    if granted < facts.paid {
        out.push(violation(
            "approved_lines",
            format!(
                "the new grant {granted} is below the {} already paid; a reduction below what \
                 was paid is a revocation",
                facts.paid
            ),
        ));
    }
    let first_year = period.map(|(s, _)| s.year());
    d.allocations = match (&r.allocations, facts.in_force) {
        (Some(a), _) => checked_allocations(a, granted, first_year, facts, out),
        (None, Some(f)) if granted <= f.granted => reduce_allocations(&f.allocations, granted),
        (None, _) => {
            out.push(violation(
                "allocations",
                "an amendment that raises the grant says in which fiscal years",
            ));
            Vec::new()
        }
    };
    d.lines = lines;
}

/// The lines of a grant or amendment: the caseworker's decisions (each line at most as
/// applied for, so an amendment may raise a line again), the others at `base`.
fn grant_lines(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    base: &[Money],
    out: &mut Vec<Violation>,
) -> Vec<NoticeLine> {
    let ceiling: Vec<Money> = facts.lines.iter().map(|l| l.applied).collect();
    let mut lines = decide_lines(facts, &ceiling, &r.approved_lines, out);
    for (l, b) in lines.iter_mut().zip(base) {
        if !r.approved_lines.iter().any(|d| d.line == l.line) {
            l.approved = *b;
        }
    }
    lines
}

/// The grant of a grant or amendment notice: by the terms from the decided lines, never more
/// than requested, and not zero (that is a rejection). Returns the grant.
fn set_grant(
    facts: &CaseFacts<'_>,
    terms: GrantTerms,
    lines: &[NoticeLine],
    d: &mut Decided,
    out: &mut Vec<Violation>,
) -> Money {
    let (eligible, computed) = decided_grant(
        &decided_lines(lines),
        &terms,
        facts.own_contribution,
        facts.third_party,
    );
    let granted = computed.min(facts.requested);
    if granted == Money::ZERO {
        out.push(violation(
            "approved_lines",
            "the grant comes to 0.00; issue a rejection notice instead",
        ));
    }
    d.terms = Some(terms);
    d.eligible = Some(eligible);
    d.computed = Some(computed);
    d.granted = Some(granted);
    granted
}

/// The grant period, proof-of-use deadline, binding years and purpose of a grant or
/// amendment: the request's, else those in force, else the defaults. Returns the period.
fn decide_grant_dates(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) -> Option<(NaiveDate, NaiveDate)> {
    let in_force = facts.in_force;
    let period = grant_period(r, in_force, out);
    if let Some(p) = period {
        check_period(p, facts.project, out);
    }
    d.grant_period = period;
    d.proof_due = r
        .proof_due
        .or(in_force
            .and_then(|f| f.proof_due)
            .filter(|_| r.grant_period_end.is_none()))
        .or(period.and_then(|(_, e)| e.checked_add_months(chrono::Months::new(PROOF_MONTHS))));
    if let (Some(due), Some((_, end))) = (d.proof_due, period)
        && due <= end
    {
        out.push(violation(
            "proof_due",
            "must lie after the end of the grant period",
        ));
    }
    d.binding_years = r
        .binding_years
        .or(in_force.and_then(|f| f.binding_years))
        .or(Some(DEFAULT_BINDING_YEARS));
    if d.purpose.is_none() {
        d.purpose = in_force
            .and_then(|f| f.purpose.clone())
            .or_else(|| Some(facts.title.to_owned()));
    }
    period
}

/// The grant period: the request's start and end, else those in force; the end not before
/// the start.
fn grant_period(
    r: &NoticeRequest,
    in_force: Option<&InForce>,
    out: &mut Vec<Violation>,
) -> Option<(NaiveDate, NaiveDate)> {
    let start = r
        .grant_period_start
        .or(in_force.and_then(|f| f.grant_period.map(|p| p.0)));
    let end = r
        .grant_period_end
        .or(in_force.and_then(|f| f.grant_period.map(|p| p.1)));
    match (start, end) {
        (Some(s), Some(e)) if e >= s => Some((s, e)),
        (Some(_), Some(_)) => {
            out.push(violation(
                "grant_period_end",
                "must not lie before the start",
            ));
            None
        }
        (s, e) => {
            for (field, missing) in [
                ("grant_period_start", s.is_none()),
                ("grant_period_end", e.is_none()),
            ] {
                if missing {
                    out.push(violation(field, "a grant needs its grant period"));
                }
            }
            None
        }
    }
}

/// A final notice after the proof of use: the actual costs recognised up to the approval in
/// force, the grant never above the one in force, the overpayment reclaimed.
fn decide_final(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    f: &InForce,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) {
    let lines = final_lines(r, facts, f, out);
    let (eligible, computed) = decided_grant(
        &decided_lines(&lines),
        &f.terms,
        facts.own_contribution,
        facts.third_party,
    );
    let granted = computed.min(f.granted);
    d.terms = Some(f.terms);
    d.eligible = Some(eligible);
    d.computed = Some(computed);
    d.granted = Some(granted);
    d.grant_period = f.grant_period;
    d.proof_due = f.proof_due;
    d.binding_years = f.binding_years;
    d.purpose = d.purpose.take().or_else(|| f.purpose.clone());
    d.allocations = match &r.allocations {
        Some(a) => checked_allocations(a, granted, None, facts, out),
        None => reduce_allocations(&f.allocations, granted),
    };
    d.lines = lines;
    let reclaim = further_reclaim(facts, granted);
    d.reclaim = Some(reclaim);
    decide_final_interest(r, facts, reclaim, d, out);
}

/// A final notice that reclaims bears interest like a revocation (§ 49a (3) VwVfG; BVerwG,
/// 19.11.2009, 3 C 7.09: a final notice that sets the grant lower replaces the provisional
/// one retroactively), from `interest_from`, unless it waives the interest with a reason
/// (§ 49a (3) sentence 2). One of the two, when something is reclaimed; neither otherwise.
fn decide_final_interest(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    reclaim: Money,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) {
    let waiver = nonblank(&r.interest_waiver);
    match (reclaim.cents() > 0, r.interest_from, &waiver) {
        (false, None, None) => {}
        (false, _, _) => {
            let field = if r.interest_from.is_some() {
                "interest_from"
            } else {
                "interest_waiver"
            };
            out.push(violation(
                field,
                "nothing is reclaimed, so no interest runs",
            ));
        }
        (true, Some(_), Some(_)) => out.push(violation(
            "interest_waiver",
            "either interest runs from interest_from or it is waived, not both",
        )),
        (true, None, None) => out.push(violation(
            "interest_from",
            "a final notice that reclaims says from when interest runs (§ 49a (3) VwVfG), or \
             waives it with a reason in interest_waiver (§ 49a (3) sentence 2)",
        )),
        (true, Some(day), None) => {
            if let Some(v) = interest_start_violation(day, d.posted_on, facts) {
                out.push(v);
            } else {
                d.interest_from = Some(day);
            }
        }
        // The waiver is a decision of discretion, so it is stated in the Begründung (§ 39
        // VwVfG); a final notice that reclaims without `interest_from` is one that waived it.
        (true, None, Some(w)) => {
            let waiver = format!(
                "Von der Geltendmachung von Zinsen auf den Erstattungsbetrag wird nach {} \
                 abgesehen: {w}",
                super::remedy::vwvfg("§ 49a Abs. 3 Satz 2", d.posted_on)
            );
            d.reason = Some(match d.reason.take() {
                Some(r) => format!("{r}\n\n{waiver}"),
                None => waiver,
            });
        }
    }
}

/// Why `day` cannot be the day from which interest runs, if it cannot: more than a year after
/// posting, or before the grant was signed (§ 49a (3) VwVfG: interest on money paid under it).
fn interest_start_violation(
    day: NaiveDate,
    posted_on: NaiveDate,
    facts: &CaseFacts<'_>,
) -> Option<Violation> {
    if day > posted_on + chrono::Days::new(366) {
        return Some(violation(
            "interest_from",
            "lies more than a year after posting",
        ));
    }
    let granted_on = facts.granted_on.filter(|g| day < *g)?;
    Some(violation(
        "interest_from",
        format!(
            "lies before the grant was signed ({granted_on}); interest runs on money paid under it"
        ),
    ))
}

/// The lines of a final notice: every line needs its actual costs; recognised are the actual
/// costs, at most the approved amount of the notice in force, unless the caseworker decides
/// less.
fn final_lines(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    f: &InForce,
    out: &mut Vec<Violation>,
) -> Vec<NoticeLine> {
    let missing: Vec<String> = facts
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.actual.is_none())
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    if !missing.is_empty() {
        out.push(violation(
            "kind",
            format!(
                "the proof of use lacks the actual costs of line(s) {}",
                missing.join(", ")
            ),
        ));
    }
    let base: Vec<Money> = facts
        .lines
        .iter()
        .zip(&f.lines)
        .map(|(l, a)| l.actual.unwrap_or(Money::ZERO).min(a.approved))
        .collect();
    let mut lines = decide_lines(facts, &base, &r.approved_lines, out);
    for (l, a) in lines.iter_mut().zip(&f.lines) {
        if l.reason.is_none() && l.actual.is_some_and(|x| x > a.approved) {
            l.reason = Some(ABOVE_APPROVAL_DE.to_owned());
        }
    }
    lines
}

/// A revocation: part or all of the grant in force revoked, the overpayment reclaimed with
/// interest from the day the grant lost effect.
fn decide_revocation(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    f: &InForce,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) {
    match r.revoked_amount {
        None => out.push(violation(
            "revoked_amount",
            "how much of the grant is revoked",
        )),
        Some(x) if x == Money::ZERO || x > f.granted => out.push(violation(
            "revoked_amount",
            format!(
                "must lie above 0.00 and not above the grant in force {}",
                f.granted
            ),
        )),
        Some(x) => {
            let granted = f.granted.checked_sub(x).unwrap_or(Money::ZERO);
            d.revoked = Some(x);
            d.granted = Some(granted);
            d.reclaim = Some(further_reclaim(facts, granted));
            d.allocations = reduce_allocations(&f.allocations, granted);
        }
    }
    // The day the grant lost effect: the revocation's effect, and the start of interest
    // unless the notice waives it (§ 49a (3) sentence 2 VwVfG). Interest never runs before
    // the grant was made, nor on a tranche before its payout (domain::reclaim).
    match r.interest_from {
        None => out.push(violation(
            "interest_from",
            "the day the grant lost effect, from which interest runs",
        )),
        Some(day) => match interest_start_violation(day, d.posted_on, facts) {
            Some(v) => out.push(v),
            None => d.interest_from = Some(day),
        },
    }

    d.terms = Some(f.terms);
    d.grant_period = f.grant_period;
    d.purpose = d.purpose.take().or_else(|| f.purpose.clone());
    d.lines = facts
        .lines
        .iter()
        .zip(&f.lines)
        .enumerate()
        .map(|(i, (l, a))| NoticeLine {
            line: i32::try_from(i + 1).unwrap_or(i32::MAX),
            applied: l.applied,
            approved: a.approved,
            actual: l.actual,
            eligible: l.eligible,
            reason: None,
        })
        .collect();
}

/// The due day of a reclaim: the request's, else a month after the deemed delivery; a
/// notice that reclaims nothing has none.
fn decide_reclaim_due(
    r: &NoticeRequest,
    facts: &CaseFacts<'_>,
    d: &mut Decided,
    out: &mut Vec<Violation>,
) {
    if d.reclaim.is_some_and(|m| m > Money::ZERO) {
        let default_due = super::calendar::deemed_delivery(d.posted_on, facts.delivery_days)
            .and_then(|day| super::calendar::period_end(day, 1));
        d.reclaim_due = r.reclaim_due.or(default_due);
        if d.reclaim_due.is_some_and(|due| due < d.posted_on) {
            out.push(violation(
                "reclaim_due",
                "must not lie before the posting day",
            ));
        }
    } else if r.reclaim_due.is_some() {
        out.push(violation("reclaim_due", "nothing is to be repaid"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn line(applied: &str, approved: &str, eligible: bool) -> DecidedLine {
        DecidedLine {
            applied: m(applied),
            approved: m(approved),
            eligible,
        }
    }

    const ANTEIL_80: GrantTerms = GrantTerms {
        financing_type: FinancingType::Anteil,
        rate_bp: Some(8000),
        cap: None,
        fixed: None,
    };

    #[test]
    fn a_partial_approval_recomputes_the_grant_from_the_approved_lines() {
        // the API page's example: line 2 cut from 12500.50 to 10000.00 → 80 % of 50000.00
        let lines = [
            line("40000.00", "40000.00", true),
            line("12500.50", "10000.00", true),
            line("300.00", "300.00", false),
        ];
        let terms = GrantTerms {
            cap: Some(m("50000.00")),
            ..ANTEIL_80
        };
        let (eligible, grant) = decided_grant(&lines, &terms, m("10800.50"), Money::ZERO);
        assert_eq!((eligible, grant), (m("50000.00"), m("40000.00")));
    }

    #[test]
    fn fehlbedarf_and_festbetrag_notices_are_exact_to_the_cent() {
        let lines = [line("123456.78", "123456.78", true)];
        let fehlbedarf = GrantTerms {
            financing_type: FinancingType::Fehlbedarf,
            rate_bp: None,
            cap: None,
            fixed: None,
        };
        let (_, g) = decided_grant(&lines, &fehlbedarf, m("20000.00"), m("3456.77"));
        assert_eq!(g, m("100000.01"));
        let festbetrag = GrantTerms {
            financing_type: FinancingType::Festbetrag,
            rate_bp: None,
            cap: Some(m("500000.00")),
            fixed: Some(m("75000.00")),
        };
        let (_, g) = decided_grant(&lines, &festbetrag, Money::ZERO, Money::ZERO);
        assert_eq!(g, m("75000.00"));
    }

    #[test]
    fn lower_actual_costs_lower_the_final_grant_and_overpayment_is_reclaimed() {
        let approved = [
            line("40000.00", "40000.00", true),
            line("12500.50", "10000.00", true),
        ];
        // actual: 35000.00 and 11000.00 (above the approved 10000.00: counts as 10000.00)
        let (eligible, grant) = final_grant(
            &approved,
            &[m("35000.00"), m("11000.00")],
            &ANTEIL_80,
            Money::ZERO,
            Money::ZERO,
            m("40000.00"),
        );
        assert_eq!((eligible, grant), (m("45000.00"), m("36000.00")));
        assert_eq!(reclaim(m("40000.00"), grant), m("4000.00"));
        assert_eq!(reclaim(m("30000.00"), grant), Money::ZERO);
    }

    #[test]
    fn each_kind_drives_its_lifecycle_action() {
        for k in NoticeKind::ALL {
            if let Some(a) = k.drives() {
                assert_eq!(a.driving_notice().map(|n| n.as_str()), Some(k.as_str()));
            }
            assert_eq!(k.as_str().parse::<NoticeKind>(), Ok(k));
        }
        assert_eq!(NoticeKind::number("EGOV-2026-0042", 1), "EGOV-2026-0042-B1");
    }

    fn facts<'a>(lines: &'a [CaseLine], in_force: Option<&'a InForce>) -> CaseFacts<'a> {
        CaseFacts {
            status: Status::InReview,
            title: "Schnittstelle DMS",
            lines,
            own_contribution: m("10500.50"),
            third_party: Money::ZERO,
            requested: m("42000.00"),
            paid: Money::ZERO,
            reclaimed: Money::ZERO,
            programme: ProgrammeLimits {
                financing_type: FinancingType::Anteil,
                max_rate_bp: Some(8000),
                max_grant: None,
            },
            in_force,
            project: Some((d("2027-01-01"), d("2028-12-31"))),
            granted_on: None,
            today: d("2026-11-22"),
            delivery_days: 3,
        }
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn case_lines() -> Vec<CaseLine> {
        vec![
            CaseLine {
                applied: m("40000.00"),
                eligible: true,
                actual: None,
            },
            CaseLine {
                applied: m("12500.50"),
                eligible: true,
                actual: None,
            },
        ]
    }

    fn grant_request() -> NoticeRequest {
        NoticeRequest {
            posted_on: Some(d("2026-11-23")),
            grant_period_start: Some(d("2027-03-01")),
            grant_period_end: Some(d("2027-12-31")),
            ..NoticeRequest::default()
        }
    }

    fn fields(r: Result<Decided, Vec<Violation>>) -> Vec<String> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn a_grant_is_the_rule_amount_but_never_more_than_requested() {
        let lines = case_lines();
        // 80 % of 52500.50 = 42000.40, more than the 42000.00 requested
        let g = decide(NoticeKind::Grant, &grant_request(), &facts(&lines, None)).unwrap();
        assert_eq!(g.computed, Some(m("42000.40")));
        assert_eq!(g.granted, Some(m("42000.00")));
        assert_eq!(g.allocations, vec![(2027, m("42000.00"))]);
        assert_eq!(g.proof_due, Some(d("2028-06-30")));
        assert_eq!(g.binding_years, Some(DEFAULT_BINDING_YEARS));
        assert_eq!(g.purpose.as_deref(), Some("Schnittstelle DMS"));
    }

    #[test]
    fn a_request_error_names_its_field() {
        let lines = case_lines();
        let f = facts(&lines, None);
        let bad = |change: &dyn Fn(&mut NoticeRequest)| {
            let mut r = grant_request();
            change(&mut r);
            fields(decide(NoticeKind::Grant, &r, &f))
        };
        assert_eq!(bad(&|r| r.rate_bp = Some(9000)), ["rate"]);
        assert_eq!(bad(&|r| r.posted_on = Some(d("2026-11-21"))), ["posted_on"]);
        assert_eq!(bad(&|r| r.grant_period_end = None), ["grant_period_end"]);
        assert_eq!(
            bad(&|r| r.revoked_amount = Some(m("1.00"))),
            ["revoked_amount"]
        );
        assert_eq!(
            bad(&|r| r.approved_lines = vec![LineDecision {
                line: 2,
                approved: m("10000.00"),
                reason: None
            }]),
            ["approved_lines[0].reason"]
        );
        assert_eq!(
            bad(&|r| r.approved_lines = vec![LineDecision {
                line: 1,
                approved: m("40000.01"),
                reason: Some("x".into())
            }]),
            ["approved_lines[0].approved_amount"]
        );
        assert_eq!(
            bad(&|r| r.approved_lines = vec![LineDecision {
                line: 3,
                approved: m("1.00"),
                reason: Some("x".into())
            }]),
            ["approved_lines[0].line"]
        );
        for line in [0, -1, i32::MIN] {
            assert_eq!(
                bad(&|r| r.approved_lines = vec![LineDecision {
                    line,
                    approved: m("1.00"),
                    reason: Some("x".into())
                }]),
                ["approved_lines[0].line"],
                "line {line}"
            );
        }
        assert_eq!(
            bad(&|r| r.allocations = Some(vec![(2027, m("30000.00")), (2028, m("11999.99"))])),
            ["allocations"]
        );
        assert_eq!(
            bad(&|r| r.allocations = Some(vec![(2026, m("42000.00"))])),
            ["allocations"]
        );
        assert_eq!(
            fields(decide(
                NoticeKind::Rejection,
                &NoticeRequest {
                    posted_on: Some(d("2026-11-23")),
                    ..Default::default()
                },
                &f
            )),
            ["reason"]
        );
    }

    fn in_force_40000() -> InForce {
        InForce {
            terms: ANTEIL_80,
            lines: vec![
                line("40000.00", "40000.00", true),
                line("12500.50", "10000.00", true),
            ],
            granted: m("40000.00"),
            grant_period: Some((d("2027-03-01"), d("2027-12-31"))),
            proof_due: Some(d("2028-06-30")),
            purpose: None,
            binding_years: Some(5),
            allocations: vec![(2027, m("30000.00")), (2028, m("10000.00"))],
        }
    }

    #[test]
    fn a_final_notice_recognises_actual_costs_up_to_the_approval_and_reclaims_the_rest_once() {
        let f = in_force_40000();
        let mut lines = case_lines();
        lines[0].actual = Some(m("35000.00"));
        lines[1].actual = Some(m("11000.00"));
        let mut facts = facts(&lines, Some(&f));
        facts.status = Status::ProofSubmitted;
        facts.paid = m("40000.00");
        let mut r = NoticeRequest {
            posted_on: Some(d("2026-11-23")),
            ..Default::default()
        };
        // It reclaims, so it says from when interest runs, or waives it (§ 49a (3) VwVfG).
        let refused = decide(NoticeKind::Final, &r, &facts).unwrap_err();
        assert_eq!(refused[0].field, "interest_from");
        r.interest_waiver = Some("Verzögerung beim Auftragnehmer".into());
        let waived = decide(NoticeKind::Final, &r, &facts).unwrap();
        assert_eq!(waived.interest_from, None);
        assert!(
            waived
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("§ 49a Abs. 3 Satz 2")
        );
        r.interest_waiver = None;
        r.interest_from = Some(d("2026-11-23"));
        let fin = decide(NoticeKind::Final, &r, &facts).unwrap();
        assert_eq!(fin.interest_from, Some(d("2026-11-23")));
        assert_eq!(
            (fin.eligible, fin.granted),
            (Some(m("45000.00")), Some(m("36000.00")))
        );
        assert_eq!(fin.reclaim, Some(m("4000.00")));
        assert_eq!(fin.lines[1].reason.as_deref(), Some(ABOVE_APPROVAL_DE));
        // the 4000.00 come out of the latest fiscal year
        assert_eq!(
            fin.allocations,
            vec![(2027, m("30000.00")), (2028, m("6000.00"))]
        );
        // posted Mon 23 Nov, delivered Thu 26 Nov, due 26 Dec (holiday) → Mon 28 Dec
        assert_eq!(fin.reclaim_due, Some(d("2026-12-28")));
        // a later revocation asks only for what was not reclaimed already
        facts.reclaimed = m("4000.00");
        let after_final = InForce {
            granted: m("36000.00"),
            ..f.clone()
        };
        facts.in_force = Some(&after_final);
        let r = NoticeRequest {
            posted_on: Some(d("2026-11-23")),
            reason: Some("Zweckverfehlung".into()),
            revoked_amount: Some(m("6000.00")),
            interest_from: Some(d("2024-03-15")),
            ..Default::default()
        };
        let rev = decide(NoticeKind::Revocation, &r, &facts).unwrap();
        assert_eq!(
            (rev.granted, rev.reclaim),
            (Some(m("30000.00")), Some(m("6000.00")))
        );
    }

    #[test]
    fn an_amendment_below_what_was_paid_is_refused_and_a_raise_needs_allocations() {
        let f = in_force_40000();
        let lines = case_lines();
        let mut facts = facts(&lines, Some(&f));
        facts.status = Status::Approved;
        facts.paid = m("35000.00");
        let cut = NoticeRequest {
            posted_on: Some(d("2026-11-23")),
            approved_lines: vec![LineDecision {
                line: 1,
                approved: m("30000.00"),
                reason: Some("Angebot günstiger".into()),
            }],
            ..Default::default()
        };
        // 80 % of 40000.00 = 32000.00 < 35000.00 paid
        assert_eq!(
            fields(decide(NoticeKind::Amendment, &cut, &facts)),
            ["approved_lines"]
        );
        let raise = NoticeRequest {
            posted_on: Some(d("2026-11-23")),
            approved_lines: vec![LineDecision {
                line: 2,
                approved: m("12500.50"),
                reason: None,
            }],
            ..Default::default()
        };
        assert_eq!(
            fields(decide(NoticeKind::Amendment, &raise, &facts)),
            ["allocations"]
        );
        let raise = NoticeRequest {
            allocations: Some(vec![(2027, m("30000.00")), (2028, m("12000.00"))]),
            ..raise
        };
        let a = decide(NoticeKind::Amendment, &raise, &facts).unwrap();
        assert_eq!(a.granted, Some(m("42000.00")));
        assert_eq!(
            allocation_deltas(&f.allocations, &a.allocations),
            vec![(2028, 200_000)]
        );
    }

    #[test]
    fn a_field_of_another_kind_is_refused_in_one_wording() {
        let lines = case_lines();
        let f = in_force_40000();
        let facts = facts(&lines, Some(&f));
        let r = NoticeRequest {
            posted_on: Some(d("2026-11-23")),
            reason: Some("Zweckverfehlung".into()),
            allocations: Some(vec![(2027, m("1.00"))]),
            reclaim_due: Some(d("2026-12-31")),
            ..Default::default()
        };
        let refused = decide(NoticeKind::Rejection, &r, &facts).unwrap_err();
        let messages: Vec<(&str, &str)> = refused
            .iter()
            .map(|v| (v.field.as_str(), v.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    "allocations",
                    "only a grant, amendment or final notice has allocations"
                ),
                (
                    "reclaim_due",
                    "only a final or revocation notice has reclaim_due"
                ),
                ("reclaim_due", "nothing is to be repaid"),
            ]
        );
        assert!(NoticeKind::Final.accepts("allocations"));
        assert!(!NoticeKind::EarlyStart.accepts("rate"));
        assert!(NoticeKind::EarlyStart.accepts("posted_on"));
    }

    proptest! {
        #[test]
        fn a_reduced_allocation_adds_up_to_the_new_total_and_never_grows_a_year(
            amounts in proptest::collection::vec(0i64..10_000_000, 1..6),
            keep in 0u32..=100,
        ) {
            let old: Vec<(i32, Money)> = amounts
                .iter()
                .enumerate()
                .map(|(i, c)| (2027 + i as i32, Money::from_cents(*c).unwrap()))
                .collect();
            let total: i64 = amounts.iter().sum();
            let new_total = Money::from_cents(total * i64::from(keep) / 100).unwrap();
            let new = reduce_allocations(&old, new_total);
            prop_assert_eq!(new.iter().map(|(_, m)| m.cents()).sum::<i64>(), new_total.cents());
            let deltas = allocation_deltas(&old, &new);
            prop_assert!(deltas.iter().all(|(_, d)| *d < 0));
            prop_assert_eq!(deltas.iter().map(|(_, d)| d).sum::<i64>(), new_total.cents() - total);
        }
    }
}
