//! What a programme must be as a whole, checked on the programme as an edit would leave it
//! (not on the edit alone: lowering `max_grant` below the stored `min_grant` is as wrong as
//! sending both). Every violation names its field, so that one answer lists them all.

use chrono::NaiveDate;

use super::FinancingType;
use super::application::{MAX_PARTNERS, Violation};
use super::calendar::business_date_problem;
use super::money::Money;

/// A programme's editable terms, as stored or as they would be after an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeState {
    pub name: String,
    pub legal_basis: String,
    pub financing_type: FinancingType,
    pub max_rate_bp: Option<i32>,
    pub min_grant: Option<Money>,
    pub max_grant: Option<Money>,
    pub min_partners: Option<i32>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub call_opens: Option<NaiveDate>,
    pub call_closes: Option<NaiveDate>,
}

/// A funding object as an edit names it: its code, its new description if any, and whether
/// the programme has it already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundingObjectEdit<'a> {
    pub code: &'a str,
    pub description: Option<&'a str>,
    pub exists: bool,
}

fn v(field: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        field: field.into(),
        message: message.into(),
    }
}

/// Every rule `p` breaks.
pub fn violations(p: &ProgrammeState) -> Vec<Violation> {
    let mut out = Vec::new();
    for (field, text) in [("name", &p.name), ("legal_basis", &p.legal_basis)] {
        if text.trim().is_empty() {
            out.push(v(field, "must not be empty"));
        }
    }
    rate_violations(p, &mut out);
    grant_violations(p, &mut out);
    if let Some(n) = p.min_partners
        && !(1..=MAX_PARTNERS as i32).contains(&n)
    {
        out.push(v(
            "min_partners",
            format!("must be between 1 and {MAX_PARTNERS}"),
        ));
    }
    date_violations(p, &mut out);
    out
}

fn rate_violations(p: &ProgrammeState, out: &mut Vec<Violation>) {
    match p.max_rate_bp {
        Some(bp) if !(1..=10_000).contains(&bp) => {
            out.push(v("max_rate", "must be above 0 and at most 1"));
        }
        // Without a maximum rate an `anteil` grant is computed at 100 % (`grant::max_grant`):
        // full financing is its own financing type (`voll`), not a rate left out.
        None if p.financing_type == FinancingType::Anteil => out.push(v(
            "max_rate",
            "an anteil programme needs a maximum rate above 0 and at most 1",
        )),
        _ => {}
    }
}

fn grant_violations(p: &ProgrammeState, out: &mut Vec<Violation>) {
    for (field, amount) in [("min_grant", p.min_grant), ("max_grant", p.max_grant)] {
        if amount.is_some_and(Money::is_negative) {
            out.push(v(field, "must not be negative"));
        }
    }
    if p.max_grant == Some(Money::ZERO) {
        out.push(v(
            "max_grant",
            "must be above 0.00 (or null for no maximum)",
        ));
    }
    if let (Some(min), Some(max)) = (p.min_grant, p.max_grant)
        && min > max
    {
        out.push(v(
            "min_grant",
            format!("{min} is above the maximum grant {max}"),
        ));
        out.push(v(
            "max_grant",
            format!("{max} is below the minimum grant {min}"),
        ));
    }
}

fn date_violations(p: &ProgrammeState, out: &mut Vec<Violation>) {
    let dates = [
        ("valid_to", p.valid_to),
        ("call_opens", p.call_opens),
        ("call_closes", p.call_closes),
    ];
    for (field, date) in dates {
        if let Some(problem) = date.and_then(business_date_problem) {
            out.push(v(field, problem));
        }
    }
    if let Some(to) = p.valid_to
        && to < p.valid_from
    {
        out.push(v(
            "valid_to",
            format!("{to} lies before valid_from ({})", p.valid_from),
        ));
    }
    if let (Some(opens), Some(closes)) = (p.call_opens, p.call_closes)
        && closes < opens
    {
        out.push(v(
            "call_opens",
            format!("{opens} lies after call_closes ({closes})"),
        ));
        out.push(v(
            "call_closes",
            format!("{closes} lies before call_opens ({opens})"),
        ));
    }
}

/// Every rule the funding objects of an edit break, named by their place in the edit's
/// `funding_objects`: a code that is blank or padded, a code twice, a blank description, a
/// new object without one.
pub fn funding_object_violations(objects: &[FundingObjectEdit<'_>]) -> Vec<Violation> {
    let mut out = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        let field = |name: &str| format!("funding_objects[{i}].{name}");
        if o.code.trim().is_empty() {
            out.push(v(field("code"), "must not be empty"));
        } else if o.code.trim() != o.code {
            out.push(v(field("code"), "must not begin or end with white space"));
        } else if objects[..i].iter().any(|earlier| earlier.code == o.code) {
            out.push(v(
                field("code"),
                format!("{:?} is named twice in this change", o.code),
            ));
        }
        match o.description {
            Some(d) if d.trim().is_empty() => {
                out.push(v(field("description"), "must not be empty"))
            }
            None if !o.exists && !o.code.trim().is_empty() => out.push(v(
                field("description"),
                format!("funding object {:?} is new and needs a description", o.code),
            )),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn money(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn shipped() -> ProgrammeState {
        ProgrammeState {
            name: "E-Government-Förderung ab 2024".into(),
            legal_basis: "ThürEGovRL".into(),
            financing_type: FinancingType::Anteil,
            max_rate_bp: Some(8000),
            min_grant: None,
            max_grant: None,
            min_partners: None,
            valid_from: date("2024-07-01"),
            valid_to: None,
            call_opens: None,
            call_closes: None,
        }
    }

    fn fields(p: &ProgrammeState) -> Vec<String> {
        violations(p).into_iter().map(|x| x.field).collect()
    }

    #[test]
    fn a_sound_programme_has_no_violations() {
        assert!(violations(&shipped()).is_empty());
        let festbetrag = ProgrammeState {
            financing_type: FinancingType::Festbetrag,
            max_rate_bp: None,
            max_grant: Some(money("500000.00")),
            min_grant: Some(money("500000.00")),
            min_partners: Some(3),
            valid_to: Some(date("2024-07-01")),
            call_opens: Some(date("2025-01-01")),
            call_closes: Some(date("2025-01-01")),
            ..shipped()
        };
        assert!(violations(&festbetrag).is_empty());
    }

    #[test]
    fn every_broken_rule_names_its_field_at_once() {
        let broken = ProgrammeState {
            name: " ".into(),
            max_rate_bp: None,
            min_grant: Some(money("60000.00")),
            max_grant: Some(money("50000.00")),
            min_partners: Some(0),
            valid_to: Some(date("2024-06-30")),
            call_opens: Some(date("2026-02-01")),
            call_closes: Some(date("2026-01-31")),
            ..shipped()
        };
        assert_eq!(
            fields(&broken),
            [
                "name",
                "max_rate",
                "min_grant",
                "max_grant",
                "min_partners",
                "valid_to",
                "call_opens",
                "call_closes"
            ]
        );
        let out_of_range = ProgrammeState {
            max_rate_bp: Some(10_001),
            max_grant: Some(Money::ZERO),
            min_grant: Some(money("-1.00")),
            valid_to: Some(date("2101-01-01")),
            ..shipped()
        };
        assert_eq!(
            fields(&out_of_range),
            ["max_rate", "min_grant", "max_grant", "valid_to"]
        );
    }

    #[test]
    fn funding_objects_need_a_code_once_and_a_description() {
        let edit = |code, description, exists| FundingObjectEdit {
            code,
            description,
            exists,
        };
        let objects = [
            edit("a", None, true),
            edit("", Some("x"), false),
            edit(" b", Some("x"), false),
            edit("a", Some("x"), true),
            edit("c", Some("  "), true),
            edit("z", None, false),
        ];
        let got: Vec<String> = funding_object_violations(&objects)
            .into_iter()
            .map(|x| x.field)
            .collect();
        assert_eq!(
            got,
            [
                "funding_objects[1].code",
                "funding_objects[2].code",
                "funding_objects[3].code",
                "funding_objects[4].description",
                "funding_objects[5].description"
            ]
        );
        assert!(funding_object_violations(&[edit("c", Some("Neu"), false)]).is_empty());
    }
}
