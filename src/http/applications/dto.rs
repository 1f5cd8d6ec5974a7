//! Request and response bodies of the application endpoints, and their conversion to and from
//! the domain's `Content`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::application::{
    Content, CostCategory, CostLine, MAX_COST_LINES, MAX_PARTNERS, Member, Violation,
    WHOLE_SHARE_BP,
};
use crate::domain::rate::{parse_rate, rate_string};
use crate::domain::{Ags, Money};
use crate::error::FieldError;
use crate::persistence::applications::{ApplicationRow, Case};

const MAX_TITLE: usize = 300;
const MAX_TEXT: usize = 20_000;
const MAX_LINE_TEXT: usize = 1_000;
const MAX_CONTACT: usize = 300;
const MAX_ADDRESS: usize = 1_000;

/// A cost-plan line as sent by the applicant.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CostLineInput {
    pub category: CostCategory,
    #[schema(example = "Schnittstellenmodul")]
    pub description: String,
    #[schema(value_type = crate::schemas::Amount, example = "40000.00")]
    pub amount: Money,
    /// Whether the expenditure is eligible (zuwendungsfähig).
    pub eligible: bool,
}

/// A municipality of a joint application, with its share (the lead included).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerInput {
    #[schema(example = "16063001")]
    pub ags: String,
    /// Decimal string, at most four decimals; the shares of all partners add up to exactly 1.
    #[schema(example = "0.3333", pattern = "^[0-9]+(\\.[0-9]{1,4})?$")]
    pub share: String,
}

/// A new draft. Only `programme`, `funding_object`, `lead_ags` and `title` are required to
/// save a draft; submission checks the rest.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    #[schema(example = "THUEREGOVRL-2024")]
    pub programme: String,
    #[schema(example = "c")]
    pub funding_object: String,
    /// The lead applicant: one of the municipalities in the token.
    #[schema(example = "16063105")]
    pub lead_ags: String,
    #[schema(example = "Schnittstelle DMS – Fachverfahren Bauamt", max_length = 300)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub project_start: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub project_end: Option<NaiveDate>,
    #[serde(default)]
    pub cost_lines: Vec<CostLineInput>,
    #[serde(default)]
    #[schema(value_type = crate::schemas::Amount, example = "10800.50")]
    pub own_contribution: Money,
    #[serde(default)]
    #[schema(value_type = crate::schemas::Amount, example = "0.00")]
    pub third_party_funds: Money,
    #[serde(default)]
    #[schema(value_type = crate::schemas::Amount, example = "42000.00")]
    pub requested_grant: Money,
    /// Empty for a single application; for a joint one every municipality, the lead included.
    #[serde(default)]
    pub partners: Vec<PartnerInput>,
    /// Who the competence centre writes to, by name and function; required to submit.
    #[schema(example = "Ingo Beispiel, Leiter IT", max_length = 300)]
    pub contact: Option<String>,
    /// The postal address notices are sent to, lines separated by `\n`; required to submit.
    #[schema(
        example = "Stadtverwaltung Eisenach\nMarkt 1\n99817 Eisenach",
        max_length = 1000
    )]
    pub postal_address: Option<String>,
}

/// Changes to a draft; absent fields stay. `cost_lines` and `partners` replace the whole list
/// (`[]` empties it); only `project_start` and `project_end` may be cleared with `null`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationPatch {
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub programme: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub funding_object: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default, deserialize_with = "crate::http::strict::date_double_option")]
    pub project_start: Option<Option<NaiveDate>>,
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default, deserialize_with = "crate::http::strict::date_double_option")]
    pub project_end: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<Vec<CostLineInput>>)]
    pub cost_lines: Option<Option<Vec<CostLineInput>>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub own_contribution: Option<Option<Money>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub third_party_funds: Option<Option<Money>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub requested_grant: Option<Option<Money>>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<Vec<PartnerInput>>)]
    pub partners: Option<Option<Vec<PartnerInput>>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>, max_length = 300)]
    pub contact: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::http::double_option")]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub postal_address: Option<Option<String>>,
    /// Why, for the history.
    pub reason: Option<String>,
}

/// A field that may be left out but not cleared: `null` is an error, not "no change".
fn required<T>(field: &str, v: Option<Option<T>>, errors: &mut Vec<FieldError>) -> Option<T> {
    match v {
        None => None,
        Some(None) => {
            errors.push(FieldError::new(
                field,
                "cannot be null; send a value or leave the field out",
            ));
            None
        }
        Some(Some(v)) => Some(v),
    }
}

fn non_negative(field: &str, m: Money, errors: &mut Vec<FieldError>) -> Money {
    match m.non_negative() {
        Ok(m) => m,
        Err(e) => {
            errors.push(FieldError::new(field, e.to_string()));
            Money::ZERO
        }
    }
}

/// A contact or address text: trimmed (blank is none), at most `max` characters, no control
/// character but the line break (an address has lines).
fn contact_text(
    field: &str,
    s: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let s = s.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())?;
    text_limit(field, &s, max, errors);
    if s.chars().any(|ch| ch.is_control() && ch != '\n') {
        errors.push(FieldError::new(
            field,
            "no control characters but line breaks",
        ));
    }
    Some(s)
}

fn text_limit(field: &str, s: &str, max: usize, errors: &mut Vec<FieldError>) {
    if s.chars().count() > max {
        errors.push(FieldError::new(field, format!("at most {max} characters")));
    }
}

fn cost_lines(input: Vec<CostLineInput>, errors: &mut Vec<FieldError>) -> Vec<CostLine> {
    if input.len() > MAX_COST_LINES {
        errors.push(FieldError::new(
            "cost_lines",
            format!("at most {MAX_COST_LINES} lines"),
        ));
    }
    input
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            text_limit(
                &format!("cost_lines[{i}].description"),
                &l.description,
                MAX_LINE_TEXT,
                errors,
            );
            CostLine {
                category: l.category,
                amount: non_negative(&format!("cost_lines[{i}].amount"), l.amount, errors),
                description: l.description,
                eligible: l.eligible,
            }
        })
        .collect()
}

/// Partners as members; `None` when a key or share does not parse (the errors say which).
fn members(input: Vec<PartnerInput>, errors: &mut Vec<FieldError>) -> Vec<Member> {
    if input.len() > MAX_PARTNERS {
        errors.push(FieldError::new(
            "partners",
            format!("at most {MAX_PARTNERS} partners"),
        ));
    }
    input
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let ags = Ags::parse(&p.ags)
                .map_err(|e| {
                    errors.push(FieldError::new(format!("partners[{i}].ags"), e.to_string()))
                })
                .ok();
            let share = parse_rate(&p.share)
                .map_err(|e| errors.push(FieldError::new(format!("partners[{i}].share"), e)))
                .ok();
            Some(Member {
                ags: ags?,
                share_bp: share?,
            })
        })
        .collect()
}

impl NewApplication {
    /// The domain content, or every input error at once.
    pub fn into_content(self) -> Result<(String, Content), Vec<FieldError>> {
        let mut errors = Vec::new();
        let lead = Ags::parse(&self.lead_ags)
            .map_err(|e| errors.push(FieldError::new("lead_ags", e.to_string())))
            .ok();
        text_limit("title", &self.title, MAX_TITLE, &mut errors);
        text_limit("description", &self.description, MAX_TEXT, &mut errors);
        let contact = contact_text("contact", self.contact, MAX_CONTACT, &mut errors);
        let postal_address = contact_text(
            "postal_address",
            self.postal_address,
            MAX_ADDRESS,
            &mut errors,
        );
        let joint = !self.partners.is_empty();
        let mut content = Content {
            joint,
            members: members(self.partners, &mut errors),
            funding_object: self.funding_object,
            title: self.title,
            description: self.description,
            project_start: self.project_start,
            project_end: self.project_end,
            cost_lines: cost_lines(self.cost_lines, &mut errors),
            own_contribution: non_negative("own_contribution", self.own_contribution, &mut errors),
            third_party_funds: non_negative(
                "third_party_funds",
                self.third_party_funds,
                &mut errors,
            ),
            requested_grant: non_negative("requested_grant", self.requested_grant, &mut errors),
            contact,
            postal_address,
            lead: match lead {
                Some(l) => l,
                None => return Err(errors),
            },
        };
        if !joint {
            content.members = vec![Member {
                ags: content.lead.clone(),
                share_bp: WHOLE_SHARE_BP,
            }];
        }
        if errors.is_empty() {
            Ok((self.programme, content))
        } else {
            Err(errors)
        }
    }
}

impl ApplicationPatch {
    /// Applies the patch to a draft's content and programme; returns the input errors.
    pub fn apply(&self, c: &mut Content, programme: &mut String) -> Vec<Violation> {
        let mut errors = Vec::new();
        let p = self.clone();
        if let Some(v) = required("programme", p.programme, &mut errors) {
            *programme = v;
        }
        if let Some(v) = required("funding_object", p.funding_object, &mut errors) {
            c.funding_object = v;
        }
        if let Some(v) = required("title", p.title, &mut errors) {
            text_limit("title", &v, MAX_TITLE, &mut errors);
            c.title = v;
        }
        if let Some(v) = required("description", p.description, &mut errors) {
            text_limit("description", &v, MAX_TEXT, &mut errors);
            c.description = v;
        }
        if let Some(v) = p.project_start {
            c.project_start = v;
        }
        if let Some(v) = p.project_end {
            c.project_end = v;
        }
        if let Some(v) = required("cost_lines", p.cost_lines, &mut errors) {
            c.cost_lines = cost_lines(v, &mut errors);
        }
        if let Some(v) = required("own_contribution", p.own_contribution, &mut errors) {
            c.own_contribution = non_negative("own_contribution", v, &mut errors);
        }
        if let Some(v) = required("third_party_funds", p.third_party_funds, &mut errors) {
            c.third_party_funds = non_negative("third_party_funds", v, &mut errors);
        }
        if let Some(v) = required("requested_grant", p.requested_grant, &mut errors) {
            c.requested_grant = non_negative("requested_grant", v, &mut errors);
        }
        if let Some(v) = p.contact {
            c.contact = contact_text("contact", v, MAX_CONTACT, &mut errors);
        }
        if let Some(v) = p.postal_address {
            c.postal_address = contact_text("postal_address", v, MAX_ADDRESS, &mut errors);
        }
        if let Some(v) = required("partners", p.partners, &mut errors) {
            c.joint = !v.is_empty();
            c.members = members(v, &mut errors);
            if !c.joint {
                c.members = vec![Member {
                    ags: c.lead.clone(),
                    share_bp: WHOLE_SHARE_BP,
                }];
            }
        }
        errors
            .into_iter()
            .map(|e| Violation {
                field: e.field,
                message: e.message,
            })
            .collect()
    }
}

/// A lifecycle action.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    /// `submit`, `start_review`, `request_info`, `provide_info`, `withdraw`, `submit_proof`,
    /// `return_proof` or `permit_early_start`. Approval, rejection, closing and revocation
    /// happen by signing the corresponding notice.
    #[schema(
        example = "request_info",
        pattern = "^(submit|start_review|request_info|provide_info|withdraw|submit_proof|return_proof|permit_early_start)$"
    )]
    pub action: String,
    /// Why; required for `request_info` (which information) and `return_proof`.
    #[schema(example = "Angebot des Dienstleisters fehlt")]
    pub reason: Option<String>,
    /// The applicant's response deadline; `request_info` only, after today.
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub response_due: Option<NaiveDate>,
    /// `submit_proof` only, and required there: the actual eligible expenditure of every cost
    /// line (Verwendungsnachweis, zahlenmäßiger Nachweis).
    pub actual_costs: Option<Vec<ActualCost>>,
}

/// The actual expenditure of one cost line.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActualCost {
    /// The cost line, numbered from 1.
    #[serde(deserialize_with = "crate::http::whole_i32")]
    pub line: i32,
    #[schema(value_type = crate::schemas::Amount, example = "35000.00")]
    pub amount: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CostLineDto {
    /// Numbered from 1 in the order of the cost plan.
    pub line: i32,
    pub category: String,
    pub description: String,
    #[schema(value_type = String, example = "40000.00")]
    pub amount: Money,
    pub eligible: bool,
    /// The actual expenditure from the proof of use (null before).
    #[schema(value_type = Option<String>)]
    pub actual_amount: Option<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerDto {
    pub ags: String,
    #[schema(example = "0.3333")]
    pub share: String,
    pub lead: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EarlyStartDto {
    pub permitted_at: DateTime<Utc>,
    pub permitted_by: String,
}

/// A case as returned by GET (with its `ETag`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationDto {
    pub id: String,
    #[schema(example = "EGOV-2026-0042")]
    pub case_number: String,
    #[schema(example = "draft")]
    pub status: String,
    /// The version `ETag` and `If-Match` carry.
    pub version: i32,
    pub programme: String,
    pub funding_object: String,
    pub lead_ags: String,
    pub joint: bool,
    /// Empty for a single application.
    pub partners: Vec<PartnerDto>,
    pub title: String,
    pub description: String,
    pub project_start: Option<NaiveDate>,
    pub project_end: Option<NaiveDate>,
    pub cost_lines: Vec<CostLineDto>,
    #[schema(value_type = String)]
    pub total_cost: Money,
    /// Sum of the eligible cost lines.
    #[schema(value_type = String)]
    pub eligible_total: Money,
    #[schema(value_type = String)]
    pub own_contribution: Money,
    #[schema(value_type = String)]
    pub third_party_funds: Money,
    #[schema(value_type = String)]
    pub requested_grant: Money,
    /// Who the competence centre writes to, by name and function.
    pub contact: Option<String>,
    /// The postal address notices are sent to, lines separated by `\n`.
    pub postal_address: Option<String>,
    /// Null until a grant notice is signed.
    #[schema(value_type = Option<String>)]
    pub granted_amount: Option<Money>,
    #[schema(value_type = String)]
    pub paid_amount: Money,
    /// What signed final and revocation notices ask to be repaid.
    #[schema(value_type = String)]
    pub reclaim_amount: Money,
    /// The response deadline of an open information request.
    pub info_due: Option<NaiveDate>,
    /// Permission to start before the decision (not a funding promise).
    pub early_start: Option<EarlyStartDto>,
    /// Whole days of processing from submission, not counting time waiting for information.
    pub processing_days: i64,
    pub processing_clock_running: bool,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApplicationDto {
    pub fn new(c: &Case, now: NaiveDateTime) -> Self {
        let r = &c.row;
        ApplicationDto {
            id: r.id.clone(),
            case_number: r.case_number.clone(),
            status: r.status.as_str().to_owned(),
            version: r.version,
            programme: r.programme_code.clone(),
            funding_object: r.funding_object.clone(),
            lead_ags: r.lead_ags.clone(),
            joint: r.joint,
            partners: if r.joint {
                c.members
                    .iter()
                    .map(|m| PartnerDto {
                        ags: m.ags.clone(),
                        share: rate_string(m.share_bp),
                        lead: m.is_lead,
                    })
                    .collect()
            } else {
                Vec::new()
            },
            title: r.title.clone(),
            description: r.description.clone(),
            project_start: r.project_start,
            project_end: r.project_end,
            cost_lines: c
                .lines
                .iter()
                .map(|l| CostLineDto {
                    line: l.line_no,
                    category: l.category.as_str().to_owned(),
                    description: l.description.clone(),
                    amount: l.amount_cents,
                    eligible: l.eligible,
                    actual_amount: l.actual_cents,
                })
                .collect(),
            total_cost: r.total_cost_cents,
            eligible_total: r.eligible_cents,
            own_contribution: r.own_contribution_cents,
            third_party_funds: r.third_party_cents,
            requested_grant: r.requested_cents,
            contact: r.contact.clone(),
            postal_address: r.postal_address.clone(),
            granted_amount: r.granted_cents,
            paid_amount: r.paid_cents,
            reclaim_amount: r.reclaimed_cents,
            info_due: r.info_due,
            early_start: match (r.early_start_at, &r.early_start_by) {
                (Some(at), Some(by)) => Some(EarlyStartDto {
                    permitted_at: at.and_utc(),
                    permitted_by: by.clone(),
                }),
                _ => None,
            },
            processing_days: r.clock().days_at(now),
            processing_clock_running: r.clock_since.is_some(),
            submitted_at: r.submitted_at.map(|t| t.and_utc()),
            created_by: r.created_by.clone(),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

/// A case in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationSummary {
    pub id: String,
    pub case_number: String,
    pub status: String,
    pub version: i32,
    pub programme: String,
    pub funding_object: String,
    pub lead_ags: String,
    pub joint: bool,
    pub title: String,
    #[schema(value_type = String)]
    pub eligible_total: Money,
    #[schema(value_type = String)]
    pub requested_grant: Money,
    #[schema(value_type = Option<String>)]
    pub granted_amount: Option<Money>,
    #[schema(value_type = String)]
    pub paid_amount: Money,
    pub info_due: Option<NaiveDate>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ApplicationRow> for ApplicationSummary {
    fn from(r: ApplicationRow) -> Self {
        ApplicationSummary {
            eligible_total: r.eligible_cents,
            requested_grant: r.requested_cents,
            granted_amount: r.granted_cents,
            paid_amount: r.paid_cents,
            submitted_at: r.submitted_at.map(|t| t.and_utc()),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            id: r.id,
            case_number: r.case_number,
            status: r.status.as_str().to_owned(),
            version: r.version,
            programme: r.programme_code,
            funding_object: r.funding_object,
            lead_ags: r.lead_ags,
            joint: r.joint,
            title: r.title,
            info_due: r.info_due,
        }
    }
}
