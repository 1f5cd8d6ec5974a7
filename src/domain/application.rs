//! An application's content and the rules it must meet to be submitted. Pure: the caller
//! supplies the programme's terms, which municipality keys are current, and today's date.

use std::collections::HashSet;

use chrono::{Months, NaiveDate};
use serde::Deserialize;

use super::grant::{FinancingType, GrantBasis, max_grant};
use super::names::string_enum;
use super::rate::rate_string;
use super::{Ags, Money};

/// Basis points of a whole share (1 = 100 %).
pub const WHOLE_SHARE_BP: i32 = 10_000;

/// The longest project period accepted; a longer one is almost always a typing error.
pub const MAX_PROJECT_YEARS: u32 = 10;

/// Most cost lines and partners a request may carry (input limits, not legal rules).
pub const MAX_COST_LINES: usize = 500;
pub const MAX_PARTNERS: usize = 100;

/// What a cost line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostCategory {
    Software,
    Hardware,
    Services,
    Personnel,
    Training,
    /// Fees (Honorare), e.g. of a feasibility study.
    Fees,
    Other,
}

string_enum!(CostCategory, "cost category", {
    Software => "software",
    Hardware => "hardware",
    Services => "services",
    Personnel => "personnel",
    Training => "training",
    Fees => "fees",
    Other => "other",
});

impl CostCategory {
    pub fn parse(s: &str) -> Option<CostCategory> {
        CostCategory::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostLine {
    pub category: CostCategory,
    pub description: String,
    pub amount: Money,
    pub eligible: bool,
}

/// A municipality taking part, with its share in basis points. A single application has one
/// member, the lead, with the whole share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub ags: Ags,
    pub share_bp: i32,
}

/// The content of an application, as far as the submit rules look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub lead: Ags,
    /// A joint application (gemeinsamer Antrag): `members` are the partners as listed,
    /// the lead included.
    pub joint: bool,
    pub members: Vec<Member>,
    pub funding_object: String,
    pub title: String,
    pub description: String,
    pub project_start: Option<NaiveDate>,
    pub project_end: Option<NaiveDate>,
    pub cost_lines: Vec<CostLine>,
    pub own_contribution: Money,
    pub third_party_funds: Money,
    pub requested_grant: Money,
    /// Who the competence centre writes to, by name and function ("Ingo Beispiel, Leiter
    /// IT"); required at submission.
    pub contact: Option<String>,
    /// The postal address notices are sent to, lines separated by line breaks; required at
    /// submission.
    pub postal_address: Option<String>,
}

/// Sums of the cost plan, in cents (bounded: at most `MAX_COST_LINES` lines of at most
/// `money::MAX_CENTS` each, far below `i64::MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub total_cost: i64,
    pub eligible: i64,
}

impl Content {
    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            total_cost: 0,
            eligible: 0,
        };
        for l in &self.cost_lines {
            t.total_cost = t.total_cost.saturating_add(l.amount.cents());
            if l.eligible {
                t.eligible = t.eligible.saturating_add(l.amount.cents());
            }
        }
        t
    }
}

impl Totals {
    /// The sums as amounts, or the violation of a cost plan whose sum exceeds the largest
    /// accepted amount (each line may reach it, their sum may not: it is stored as an amount).
    pub fn amounts(self) -> Result<(Money, Money), Violation> {
        match (
            Money::from_cents(self.total_cost),
            Money::from_cents(self.eligible),
        ) {
            (Ok(total), Ok(eligible)) => Ok((total, eligible)),
            _ => Err(v(
                "cost_lines",
                format!(
                    "the cost lines add up to more than the largest accepted amount ({})",
                    euros(super::money::MAX_CENTS)
                ),
            )),
        }
    }
}

/// The terms of a programme that the submit rules apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeTerms {
    pub code: String,
    pub financing_type: FinancingType,
    pub max_rate_bp: Option<i32>,
    pub min_grant: Option<Money>,
    pub max_grant: Option<Money>,
    pub min_partners: Option<i32>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub call_opens: Option<NaiveDate>,
    pub call_closes: Option<NaiveDate>,
    /// `(code, fundable_now)`
    pub funding_objects: Vec<(String, bool)>,
}

/// A rule the application breaks, with the request field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

fn v(field: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        field: field.into(),
        message: message.into(),
    }
}

use super::money::euros_text as euros;

/// Structural rules a draft must meet even before submission: a joint application lists the
/// lead among its partners, no municipality twice.
pub fn draft_violations(c: &Content) -> Vec<Violation> {
    let mut out = Vec::new();
    for (field, date) in [
        ("project_start", c.project_start),
        ("project_end", c.project_end),
    ] {
        if let Some(problem) = date.and_then(super::calendar::business_date_problem) {
            out.push(v(field, problem));
        }
    }
    if let Err(too_much) = c.totals().amounts() {
        out.push(too_much);
    }
    if c.joint {
        if c.members.len() < 2 {
            out.push(v(
                "partners",
                "a joint application has at least two municipalities; leave partners empty \
                 for a single application",
            ));
        }
        if !c.members.iter().any(|m| m.ags == c.lead) {
            out.push(v(
                "partners",
                format!(
                    "a joint application lists the lead applicant {} among its partners, with its share",
                    c.lead.as_str()
                ),
            ));
        }
        let mut seen = HashSet::new();
        for (i, m) in c.members.iter().enumerate() {
            if !seen.insert(m.ags.as_str()) {
                out.push(v(
                    format!("partners[{i}].ags"),
                    format!("{} is listed twice", m.ags.as_str()),
                ));
            }
        }
    }
    out
}

/// Every rule the application breaks if it were submitted `today`; empty means it may be.
pub fn submission_violations(
    c: &Content,
    p: &ProgrammeTerms,
    current: &HashSet<String>,
    today: NaiveDate,
) -> Vec<Violation> {
    let mut out = draft_violations(c);
    applicant_violations(c, current, today, &mut out);
    partner_count_violations(c, p, &mut out);
    programme_window_violations(p, today, &mut out);
    funding_object_violations(c, p, &mut out);
    project_violations(c, today, &mut out);
    let t = c.totals();
    cost_plan_violations(c, t, &mut out);
    requested_grant_violations(c, p, t, &mut out);
    out
}

/// Who applies: the lead and every partner are current municipalities or Landkreise, and the
/// shares of a joint application add up to exactly 1.
fn applicant_violations(
    c: &Content,
    current: &HashSet<String>,
    today: NaiveDate,
    out: &mut Vec<Violation>,
) {
    let not_current = |a: &Ags| {
        (!current.contains(a.as_str())).then(|| {
            format!(
                "{} is not a current Thuringian municipality or Landkreis on {today}",
                a.as_str()
            )
        })
    };
    if let Some(message) = not_current(&c.lead) {
        out.push(v("lead_ags", message));
    }
    if !c.joint {
        return;
    }
    for (i, m) in c.members.iter().enumerate() {
        if m.ags != c.lead
            && let Some(message) = not_current(&m.ags)
        {
            out.push(v(format!("partners[{i}].ags"), message));
        }
    }
    let sum: i64 = c.members.iter().map(|m| i64::from(m.share_bp)).sum();
    if sum != i64::from(WHOLE_SHARE_BP) {
        out.push(v(
            "partners",
            format!(
                "the shares add up to {}, not exactly 1",
                rate_string(i32::try_from(sum).unwrap_or(i32::MAX))
            ),
        ));
    }
}

/// A cooperation programme's least number of municipalities, the lead included.
fn partner_count_violations(c: &Content, p: &ProgrammeTerms, out: &mut Vec<Violation>) {
    if let Some(min) = p.min_partners {
        let n = if c.joint { c.members.len() } else { 1 };
        if i64::try_from(n).unwrap_or(i64::MAX) < i64::from(min) {
            out.push(v(
                "partners",
                format!(
                    "{} is a cooperation of at least {min} municipalities, the lead included; {n} given",
                    p.code
                ),
            ));
        }
    }
}

/// The programme is valid and its call open on `today`.
fn programme_window_violations(p: &ProgrammeTerms, today: NaiveDate, out: &mut Vec<Violation>) {
    if today < p.valid_from {
        out.push(v(
            "programme",
            format!("{} is valid only from {}", p.code, p.valid_from),
        ));
    }
    if let Some(to) = p.valid_to
        && today > to
    {
        out.push(v(
            "programme",
            format!("{} was valid only until {to}", p.code),
        ));
    }
    if let Some(opens) = p.call_opens
        && today < opens
    {
        out.push(v(
            "programme",
            format!("the call of {} opens on {opens}", p.code),
        ));
    }
    if let Some(closes) = p.call_closes
        && today > closes
    {
        out.push(v(
            "programme",
            format!("the call of {} closed on {closes}", p.code),
        ));
    }
}

/// The funding object is one of the programme's and fundable at present.
fn funding_object_violations(c: &Content, p: &ProgrammeTerms, out: &mut Vec<Violation>) {
    match p
        .funding_objects
        .iter()
        .find(|(code, _)| *code == c.funding_object)
    {
        None => out.push(v(
            "funding_object",
            format!("{} has no funding object {:?}", p.code, c.funding_object),
        )),
        Some((_, false)) => out.push(v(
            "funding_object",
            format!(
                "funding object {} of {} is not fundable at present",
                c.funding_object, p.code
            ),
        )),
        Some((_, true)) => {}
    }
}

/// What the project is: title, description, and a project period of at most
/// `MAX_PROJECT_YEARS` that has not begun yet.
fn project_violations(c: &Content, today: NaiveDate, out: &mut Vec<Violation>) {
    if c.title.trim().is_empty() {
        out.push(v("title", "is required"));
    }
    // Who the notices go to: a person by name and function, and a postal address.
    for (field, value) in [
        ("contact", &c.contact),
        ("postal_address", &c.postal_address),
    ] {
        if value.as_deref().is_none_or(|t| t.trim().is_empty()) {
            out.push(v(
                field,
                "is required to submit: who the notices are sent to",
            ));
        }
    }
    if c.description.trim().is_empty() {
        out.push(v("description", "is required"));
    }
    let (start, end) = match (c.project_start, c.project_end) {
        (None, _) => return out.push(v("project_start", "is required")),
        (_, None) => return out.push(v("project_end", "is required")),
        (Some(start), Some(end)) => (start, end),
    };
    if end < start {
        out.push(v(
            "project_end",
            format!("lies before project_start {start}"),
        ));
    } else if start
        .checked_add_months(Months::new(12 * MAX_PROJECT_YEARS))
        .is_some_and(|limit| end > limit)
    {
        out.push(v(
            "project_end",
            format!("the project period may not exceed {MAX_PROJECT_YEARS} years"),
        ));
    }
    if start < today {
        out.push(v(
            "project_start",
            format!(
                "the project has begun ({start}); only projects not yet begun can be funded \
                 (VV Nr. 1.3 zu § 44 ThürLHO)"
            ),
        ));
    }
}

/// The cost plan: at least one eligible line, and the costs balanced by own contribution,
/// third-party funds and the requested grant.
fn cost_plan_violations(c: &Content, t: Totals, out: &mut Vec<Violation>) {
    if c.cost_lines.is_empty() {
        out.push(v("cost_lines", "at least one cost line is required"));
    } else if t.eligible == 0 {
        out.push(v("cost_lines", "no cost line is eligible"));
    }
    let financed = c
        .own_contribution
        .cents()
        .saturating_add(c.third_party_funds.cents())
        .saturating_add(c.requested_grant.cents());
    if financed != t.total_cost {
        out.push(v(
            "requested_grant",
            format!(
                "the plan is not balanced: total cost {} ≠ own contribution {} + third-party \
                 funds {} + requested grant {} (difference {})",
                euros(t.total_cost),
                c.own_contribution,
                c.third_party_funds,
                c.requested_grant,
                euros(t.total_cost - financed)
            ),
        ));
    }
}

/// The requested grant: above zero, within the programme's rule (`max_grant`) and not below
/// its minimum.
fn requested_grant_violations(
    c: &Content,
    p: &ProgrammeTerms,
    t: Totals,
    out: &mut Vec<Violation>,
) {
    if c.requested_grant.cents() <= 0 {
        out.push(v("requested_grant", "must be above 0.00"));
        return;
    }
    let eligible = Money::from_cents(t.eligible).unwrap_or(Money::ZERO);
    let allowed = max_grant(&GrantBasis {
        financing_type: p.financing_type,
        rate_bp: p.max_rate_bp,
        cap: p.max_grant,
        eligible,
        own_contribution: c.own_contribution,
        third_party: c.third_party_funds,
    });
    if c.requested_grant > allowed {
        out.push(v(
            "requested_grant",
            format!(
                "exceeds what {} allows: at most {allowed} ({})",
                p.code,
                rule_text(p, eligible)
            ),
        ));
    }
    if let Some(min) = p.min_grant
        && c.requested_grant < min
    {
        out.push(v(
            "requested_grant",
            format!("is below the minimum grant of {min} of {}", p.code),
        ));
    }
}

/// The case-number prefix of a programme: `EGOV` for the E-Government-Richtlinie, `FAG` for
/// § 24 ThürFAG, else the code's first segment.
pub fn case_number_prefix(programme_code: &str) -> &str {
    if programme_code.starts_with("THUEREGOVRL") {
        "EGOV"
    } else if programme_code.starts_with("THUERFAG") {
        "FAG"
    } else {
        programme_code.split('-').next().unwrap_or(programme_code)
    }
}

/// `EGOV-2026-0042`: prefix, the year the case was opened, a number counted per prefix and year.
pub fn case_number(prefix: &str, year: i32, n: i32) -> String {
    let CaseNumberFormat { head, digits } = case_number_format(prefix, year);
    format!("{head}{n:0digits$}")
}

/// How the numbers of a prefix and year are written: `head`, then the count with leading
/// zeros to at least `digits` digits (more digits once the count needs them). The database
/// writes a number allocated in one statement with these (`persistence::case_numbers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNumberFormat {
    pub head: String,
    pub digits: usize,
}

pub fn case_number_format(prefix: &str, year: i32) -> CaseNumberFormat {
    CaseNumberFormat {
        head: format!("{prefix}-{year}-"),
        digits: 4,
    }
}

/// A proof of use (Verwendungsnachweis) accounts for money spent in the grant period, so it is
/// submitted once that period has begun; `grant_start` is the start of the period of the
/// notice in force.
pub fn proof_before_grant_period(
    grant_start: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<Violation> {
    match grant_start {
        Some(start) if today < start => Some(v(
            "action",
            format!(
                "a proof of use is submitted once the grant period has begun ({start}); \
                 today is {today}"
            ),
        )),
        _ => None,
    }
}

/// What a lifecycle action needs besides the case: an information request says what is
/// needed and by when; returning a proof of use says why.
pub fn transition_input_violations(
    action: super::Action,
    reason: Option<&str>,
    response_due: Option<NaiveDate>,
    today: NaiveDate,
) -> Vec<Violation> {
    use super::Action;
    let mut out = Vec::new();
    if let Some(notice) = action.driving_notice() {
        out.push(v(
            "action",
            format!(
                "{action} is not a transition of its own: it happens when an approver signs a \
                 {n} notice (prepare one of kind \"{n}\" for the case)",
                n = notice.as_str()
            ),
        ));
        return out;
    }
    let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
    match action {
        Action::RequestInfo => {
            if !has_reason {
                out.push(v("reason", "say which information is needed"));
            }
            match response_due {
                None => out.push(v(
                    "response_due",
                    "an information request needs a response deadline",
                )),
                Some(d) if d <= today => {
                    out.push(v("response_due", format!("must lie after today ({today})")))
                }
                Some(d) => {
                    if let Some(problem) = super::calendar::business_date_problem(d) {
                        out.push(v("response_due", problem));
                    }
                }
            }
        }
        Action::ReturnProof if !has_reason => {
            out.push(v("reason", "say why the proof of use is returned"))
        }
        _ => {}
    }
    if action != Action::RequestInfo && response_due.is_some() {
        out.push(v(
            "response_due",
            format!("only an information request has a deadline, not {action}"),
        ));
    }
    out
}

/// What a case keeps besides its content and status; lifecycle actions change it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// The response deadline of an open information request.
    pub info_due: Option<NaiveDate>,
    /// Early-start permission: when and by whom.
    pub early_start: Option<(chrono::NaiveDateTime, String)>,
    pub submitted_at: Option<chrono::NaiveDateTime>,
    pub clock: super::Clock,
}

impl Tracking {
    /// The tracking after `action` moved the case to `to` at `now`, done by `actor`. A second
    /// early-start permission is refused (the message says who gave the first).
    pub fn after(
        &self,
        action: super::Action,
        to: super::Status,
        response_due: Option<NaiveDate>,
        now: chrono::NaiveDateTime,
        actor: &str,
    ) -> Result<Tracking, String> {
        use super::Action;
        let mut t = self.clone();
        match action {
            Action::Submit => t.submitted_at = Some(now),
            Action::RequestInfo => t.info_due = response_due,
            Action::ProvideInfo | Action::Withdraw => t.info_due = None,
            Action::PermitEarlyStart => {
                if let Some((at, by)) = &self.early_start {
                    return Err(format!(
                        "early start was permitted on {} by {by}",
                        super::calendar::german_date(*at)
                    ));
                }
                t.early_start = Some((now, actor.to_owned()));
            }
            Action::StartReview
            | Action::SubmitProof
            | Action::ReturnProof
            | Action::Approve
            | Action::Reject
            | Action::Close
            | Action::Revoke => {}
        }
        t.clock = self.clock.enter(to, now);
        Ok(t)
    }
}

fn rule_text(p: &ProgrammeTerms, eligible: Money) -> String {
    let base = match p.financing_type {
        FinancingType::Anteil => format!(
            "{} % of the eligible expenditure {eligible}, rounded down to the cent",
            rust_decimal::Decimal::new(i64::from(p.max_rate_bp.unwrap_or(WHOLE_SHARE_BP)), 2)
                .normalize()
        ),
        FinancingType::Fehlbedarf => format!(
            "the eligible expenditure {eligible} less own contribution and third-party funds"
        ),
        FinancingType::Festbetrag => {
            format!("a fixed sum, at most the eligible expenditure {eligible}")
        }
        FinancingType::Voll => format!("the eligible expenditure {eligible}"),
    };
    match p.max_grant {
        Some(cap) => format!("{base}; at most {cap}"),
        None => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }
    fn ags(s: &str) -> Ags {
        Ags::parse(s).unwrap()
    }

    #[test]
    fn a_case_number_has_four_digits_at_least_and_more_when_the_count_needs_them() {
        assert_eq!(case_number("EGOV", 2026, 42), "EGOV-2026-0042");
        assert_eq!(case_number("FAG", 2019, 9999), "FAG-2019-9999");
        assert_eq!(case_number("FAG", 2019, 10_000), "FAG-2019-10000");
        let f = case_number_format("EGOV", 2026);
        assert_eq!((f.head.as_str(), f.digits), ("EGOV-2026-", 4));
    }
    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    const TODAY: &str = "2026-11-22";

    /// The example draft of the API page, moved into the future.
    fn content() -> Content {
        Content {
            lead: ags("16063105"),
            joint: false,
            members: vec![Member {
                ags: ags("16063105"),
                share_bp: WHOLE_SHARE_BP,
            }],
            funding_object: "c".into(),
            title: "Schnittstelle DMS – Fachverfahren Bauamt".into(),
            description: "Anbindung des Bauamts".into(),
            project_start: Some(date("2027-03-01")),
            project_end: Some(date("2027-12-31")),
            cost_lines: vec![
                CostLine {
                    category: CostCategory::Software,
                    description: "Schnittstellenmodul".into(),
                    amount: m("40000.00"),
                    eligible: true,
                },
                CostLine {
                    category: CostCategory::Services,
                    description: "Einführung und Schulung".into(),
                    amount: m("12500.50"),
                    eligible: true,
                },
                CostLine {
                    category: CostCategory::Other,
                    description: "Bewirtung".into(),
                    amount: m("300.00"),
                    eligible: false,
                },
            ],
            own_contribution: m("10800.50"),
            third_party_funds: m("0.00"),
            requested_grant: m("42000.00"),
            contact: Some("Ingo Beispiel, Leiter IT".into()),
            postal_address: Some("Stadtverwaltung Eisenach\nMarkt 1\n99817 Eisenach".into()),
        }
    }

    fn egovrl() -> ProgrammeTerms {
        ProgrammeTerms {
            code: "THUEREGOVRL-2024".into(),
            financing_type: FinancingType::Anteil,
            max_rate_bp: Some(8000),
            min_grant: None,
            max_grant: None,
            min_partners: None,
            valid_from: date("2024-07-01"),
            valid_to: None,
            call_opens: None,
            call_closes: None,
            funding_objects: vec![("a".into(), false), ("c".into(), true)],
        }
    }

    fn current() -> HashSet<String> {
        ["16063105", "16063001", "16063003", "16063000"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn fields(c: &Content, p: &ProgrammeTerms) -> Vec<String> {
        submission_violations(c, p, &current(), date(TODAY))
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn the_api_example_may_be_submitted() {
        assert_eq!(fields(&content(), &egovrl()), Vec::<String>::new());
    }

    #[test]
    fn each_rule_names_its_field() {
        type Case = (
            &'static str,
            fn(&mut Content, &mut ProgrammeTerms),
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "historical lead",
                |c, _| c.lead = ags("16056000"),
                "lead_ags",
            ),
            (
                "programme expired",
                |_, p| p.valid_to = Some(date("2024-06-30")),
                "programme",
            ),
            (
                "call not open yet",
                |_, p| p.call_opens = Some(date("2027-01-01")),
                "programme",
            ),
            (
                "call closed",
                |_, p| p.call_closes = Some(date("2026-10-31")),
                "programme",
            ),
            (
                "unknown object",
                |c, _| c.funding_object = "z".into(),
                "funding_object",
            ),
            (
                "object not fundable",
                |c, _| c.funding_object = "a".into(),
                "funding_object",
            ),
            (
                "end before start",
                |c, _| c.project_end = Some(date("2027-01-01")),
                "project_end",
            ),
            ("no end", |c, _| c.project_end = None, "project_end"),
            (
                "too long",
                |c, _| c.project_end = Some(date("2038-01-01")),
                "project_end",
            ),
            (
                "already begun",
                |c, _| c.project_start = Some(date("2026-11-01")),
                "project_start",
            ),
            (
                "unbalanced",
                |c, _| c.own_contribution = m("10800.49"),
                "requested_grant",
            ),
            (
                "above the rate",
                |c, _| {
                    c.requested_grant = m("42000.41");
                    c.own_contribution = m("10800.09");
                },
                "requested_grant",
            ),
            (
                "above the cap",
                |_, p| p.max_grant = Some(m("30000.00")),
                "requested_grant",
            ),
            (
                "below the minimum",
                |_, p| p.min_grant = Some(m("50000.00")),
                "requested_grant",
            ),
            (
                "no lines",
                |c, _| {
                    c.cost_lines.clear();
                    c.own_contribution = m("0.00");
                    c.requested_grant = m("0.00");
                },
                "cost_lines",
            ),
            ("no title", |c, _| c.title = "  ".into(), "title"),
        ];
        for (what, change, field) in cases {
            let (mut c, mut p) = (content(), egovrl());
            change(&mut c, &mut p);
            let got = fields(&c, &p);
            assert!(got.iter().any(|f| f == field), "{what}: {got:?}");
        }
    }

    #[test]
    fn a_cooperation_needs_three_partners_whose_shares_add_up_to_exactly_one() {
        let mut p = egovrl();
        p.min_partners = Some(3);
        let mut c = content();
        c.joint = true;
        c.members = vec![
            Member {
                ags: ags("16063105"),
                share_bp: 5000,
            },
            Member {
                ags: ags("16063001"),
                share_bp: 5000,
            },
        ];
        assert_eq!(fields(&c, &p), ["partners"]);
        c.members.push(Member {
            ags: ags("16063003"),
            share_bp: 1,
        });
        assert_eq!(fields(&c, &p), ["partners"]);
        c.members = vec![
            Member {
                ags: ags("16063105"),
                share_bp: 3333,
            },
            Member {
                ags: ags("16063001"),
                share_bp: 3333,
            },
            Member {
                ags: ags("16063000"),
                share_bp: 3334,
            },
        ];
        assert_eq!(fields(&c, &p), Vec::<String>::new());
        c.members[2].ags = ags("16056000");
        assert_eq!(fields(&c, &p), ["partners[2].ags"]);
    }

    #[test]
    fn actions_keep_the_deadline_the_early_start_and_the_clock() {
        use crate::domain::{Action, Clock, Status};
        let at = |d: &str| date(d).and_hms_opt(9, 0, 0).unwrap();
        let t = Tracking {
            info_due: None,
            early_start: None,
            submitted_at: None,
            clock: Clock::default(),
        };
        let t = t
            .after(
                Action::Submit,
                Status::Submitted,
                None,
                at("2027-01-04"),
                "a",
            )
            .unwrap();
        assert_eq!(t.submitted_at, Some(at("2027-01-04")));
        let due = Some(date("2027-02-01"));
        let t = t
            .after(
                Action::RequestInfo,
                Status::InfoRequested,
                due,
                at("2027-01-14"),
                "c",
            )
            .unwrap();
        assert_eq!((t.info_due, t.clock.days_at(at("2027-01-30"))), (due, 10));
        let t = t
            .after(
                Action::PermitEarlyStart,
                Status::InfoRequested,
                None,
                at("2027-01-15"),
                "c",
            )
            .unwrap();
        assert_eq!(t.early_start, Some((at("2027-01-15"), "c".to_owned())));
        let again = t.after(
            Action::PermitEarlyStart,
            Status::InfoRequested,
            None,
            at("2027-01-16"),
            "d",
        );
        assert_eq!(
            again,
            Err("early start was permitted on 2027-01-15 by c".to_owned())
        );
        let t = t
            .after(
                Action::ProvideInfo,
                Status::InReview,
                None,
                at("2027-01-20"),
                "a",
            )
            .unwrap();
        assert_eq!(
            (t.info_due, t.clock.running_since),
            (None, Some(at("2027-01-20")))
        );
    }

    #[test]
    fn a_joint_application_lists_its_lead_once() {
        let mut c = content();
        c.joint = true;
        c.members = vec![
            Member {
                ags: ags("16063001"),
                share_bp: 5000,
            },
            Member {
                ags: ags("16063001"),
                share_bp: 5000,
            },
        ];
        let got: Vec<String> = draft_violations(&c).into_iter().map(|v| v.field).collect();
        assert_eq!(got, ["partners", "partners[1].ags"]);
    }
}
