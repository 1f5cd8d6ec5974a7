//! Decision notices: prepare (caseworker), sign (approver, four eyes), read, and the interest
//! owed on reclaims.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{Caller, Idempotent, body_of, created_response, no_application};
use super::json::Json;
use crate::auth::policy;
use crate::document::Authority;
use crate::domain::application::MAX_COST_LINES;
use crate::domain::calendar::finality;
use crate::domain::notice::{LineDecision, NoticeKind, NoticeRequest};
use crate::domain::rate::{parse_rate, rate_string};
use crate::domain::{FinancingType, Money};
use crate::error::{ApiError, FieldError, Problem};
use crate::persistence::applications as cases;
use crate::persistence::notices::{self as repo, Notice};

/// At most this many fiscal years in one allocation.
const MAX_ALLOCATIONS: usize = 20;

/// A cost line as the notice decides it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovedLine {
    /// The cost line, numbered from 1 in the order of the case's `cost_lines`.
    #[serde(deserialize_with = "crate::http::whole_i32")]
    pub line: i32,
    #[schema(value_type = crate::schemas::Amount, example = "10000.00")]
    pub approved_amount: Money,
    /// Why the line is recognised with less than applied for (required then).
    #[schema(example = "Schulung nur anteilig förderfähig")]
    pub reason: Option<String>,
}

/// A part of the grant in one fiscal year.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    #[serde(deserialize_with = "crate::http::whole_i32")]
    pub fiscal_year: i32,
    #[schema(value_type = crate::schemas::Amount, example = "30000.00")]
    pub amount: Money,
}

/// A notice to prepare. Which fields a kind takes: see the API guide; a field a kind does not
/// take is refused (422), so that nothing sent is silently ignored.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    /// `grant`, `rejection`, `early_start`, `amendment`, `final` or `revocation`.
    #[schema(
        example = "grant",
        pattern = "^(grant|rejection|early_start|amendment|final|revocation)$"
    )]
    pub kind: String,
    /// The day the notice is posted (not before today); delivery and finality follow from it.
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub posted_on: Option<NaiveDate>,
    /// Begründung; required for a rejection and a revocation.
    pub reason: Option<String>,
    /// Zuwendungszweck; default the case title.
    pub purpose: Option<String>,
    /// Zweckbindungsfrist in years (default 5).
    #[serde(default, deserialize_with = "crate::http::whole_i32_option")]
    pub binding_years: Option<i32>,
    /// `anteil`, `fehlbedarf`, `festbetrag` or `voll`; default the programme's.
    #[schema(example = "anteil", pattern = "^(anteil|fehlbedarf|festbetrag|voll)$")]
    pub financing_type: Option<String>,
    /// Funding rate for `anteil`, a decimal string (above 0, at most 1, at most four
    /// decimals); default and maximum the programme's.
    #[schema(example = "0.80", pattern = "^[0-9]+(\\.[0-9]{1,4})?$")]
    pub rate: Option<String>,
    /// Höchstbetrag; default and maximum the programme's maximum grant.
    #[schema(value_type = Option<crate::schemas::Amount>, example = "50000.00")]
    pub max_amount: Option<Money>,
    /// The fixed sum of a `festbetrag` financing.
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub fixed_amount: Option<Money>,
    /// Lines recognised with less than applied for (or, in a final notice, less than spent).
    #[serde(default)]
    pub approved_lines: Vec<ApprovedLine>,
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub grant_period_start: Option<NaiveDate>,
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub grant_period_end: Option<NaiveDate>,
    /// When the proof of use is due; default six months after the grant period.
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub proof_due: Option<NaiveDate>,
    /// The grant per fiscal year, adding up to it exactly; default all in the year the grant
    /// period starts.
    pub allocations: Option<Vec<Allocation>>,
    /// Revocation: how much of the grant in force is revoked.
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub revoked_amount: Option<Money>,
    /// Revocation: the day the grant lost effect; interest on the reclaim runs from it (on
    /// each paid tranche from its payout at the earliest). Final notice that reclaims: from
    /// when interest runs, unless `interest_waiver` is given.
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub interest_from: Option<NaiveDate>,
    /// Final notice that reclaims: why no interest is claimed (§ 49a Abs. 3 Satz 2 VwVfG);
    /// printed in the Begründung.
    #[schema(max_length = 20000)]
    pub interest_waiver: Option<String>,
    /// Final notice, revocation: when the reclaim is due; default one month after delivery.
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub reclaim_due: Option<NaiveDate>,
}

impl NewNotice {
    fn into_request(self) -> Result<(NoticeKind, NoticeRequest), ApiError> {
        let mut errors = Vec::new();
        let kind = self
            .kind
            .parse::<NoticeKind>()
            .map_err(|_| {
                errors.push(FieldError::new(
                    "kind",
                    format!(
                        "one of {}",
                        NoticeKind::ALL.map(NoticeKind::as_str).join(", ")
                    ),
                ))
            })
            .ok();
        let financing_type = self.financing_type.as_deref().and_then(|t| {
            t.parse::<FinancingType>()
                .map_err(|e| errors.push(FieldError::new("financing_type", e)))
                .ok()
        });
        let rate_bp = self.rate.as_deref().and_then(|r| {
            parse_rate(r)
                .map_err(|e| errors.push(FieldError::new("rate", e)))
                .ok()
        });
        let mut amounts: Vec<(String, Money)> = [
            ("max_amount", self.max_amount),
            ("fixed_amount", self.fixed_amount),
            ("revoked_amount", self.revoked_amount),
        ]
        .into_iter()
        .filter_map(|(f, m)| Some((f.to_owned(), m?)))
        .collect();
        amounts.extend(self.approved_lines.iter().enumerate().map(|(i, l)| {
            (
                format!("approved_lines[{i}].approved_amount"),
                l.approved_amount,
            )
        }));
        amounts.extend(
            self.allocations
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, a)| (format!("allocations[{i}].amount"), a.amount)),
        );
        for (field, m) in amounts {
            if m.is_negative() {
                errors.push(FieldError::new(field, "must not be negative"));
            }
        }
        if self.approved_lines.len() > MAX_COST_LINES {
            errors.push(FieldError::new(
                "approved_lines",
                format!("at most {MAX_COST_LINES} lines"),
            ));
        }
        if self
            .allocations
            .as_ref()
            .is_some_and(|a| a.len() > MAX_ALLOCATIONS)
        {
            errors.push(FieldError::new(
                "allocations",
                format!("at most {MAX_ALLOCATIONS} fiscal years"),
            ));
        }
        let Some(kind) = kind.filter(|_| errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };
        Ok((
            kind,
            NoticeRequest {
                posted_on: self.posted_on,
                reason: self.reason,
                purpose: self.purpose,
                binding_years: self.binding_years,
                financing_type,
                rate_bp,
                max_amount: self.max_amount,
                fixed_amount: self.fixed_amount,
                approved_lines: self
                    .approved_lines
                    .into_iter()
                    .map(|l| LineDecision {
                        line: l.line,
                        approved: l.approved_amount,
                        reason: l.reason,
                    })
                    .collect(),
                grant_period_start: self.grant_period_start,
                grant_period_end: self.grant_period_end,
                proof_due: self.proof_due,
                allocations: self
                    .allocations
                    .map(|a| a.into_iter().map(|x| (x.fiscal_year, x.amount)).collect()),
                revoked_amount: self.revoked_amount,
                interest_from: self.interest_from,
                interest_waiver: self.interest_waiver,
                reclaim_due: self.reclaim_due,
            },
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeLineDto {
    pub line: i32,
    pub description: String,
    /// Eligible in the application (only eligible lines count).
    pub eligible: bool,
    #[schema(value_type = String)]
    pub applied_amount: Money,
    /// What the notice recognises.
    #[schema(value_type = String)]
    pub approved_amount: Money,
    /// From the proof of use (final notices).
    #[schema(value_type = Option<String>)]
    pub actual_amount: Option<Money>,
    /// Why the line is recognised with less.
    pub reason: Option<String>,
}

/// A notice. Amounts the kind does not set are null.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeDto {
    pub id: String,
    pub application_id: String,
    pub case_number: String,
    pub kind: String,
    /// `prepared` or `signed`.
    pub status: String,
    /// Given at signing: the case number, `-B` and the count of signed notices of the case.
    #[schema(example = "EGOV-2026-0042-B1")]
    pub number: Option<String>,
    /// The notice in force that this one changes.
    pub refers_to: Option<String>,
    pub refers_to_number: Option<String>,
    /// The version of the case the notice was prepared against; signing a notice whose case
    /// has changed since is refused.
    pub case_version: i32,
    pub financing_type: Option<String>,
    pub rate: Option<String>,
    #[schema(value_type = Option<String>)]
    pub max_amount: Option<Money>,
    #[schema(value_type = Option<String>)]
    pub fixed_amount: Option<Money>,
    /// Sum of the recognised amounts of the eligible lines.
    #[schema(value_type = Option<String>)]
    pub eligible_amount: Option<Money>,
    /// The grant by the financing rule, rounded down to the cent.
    #[schema(value_type = Option<String>)]
    pub computed_amount: Option<Money>,
    /// The grant in force once signed: the computed amount, at most the requested grant (a
    /// final notice: at most the grant in force).
    #[schema(value_type = Option<String>)]
    pub granted_amount: Option<Money>,
    /// The grant in force before this notice.
    #[schema(value_type = Option<String>)]
    pub previous_grant: Option<Money>,
    /// Paid on the case when the notice was prepared.
    #[schema(value_type = String)]
    pub paid_amount: Money,
    #[schema(value_type = Option<String>)]
    pub revoked_amount: Option<Money>,
    /// To be repaid: paid above the grant this notice sets.
    #[schema(value_type = Option<String>)]
    pub reclaim_amount: Option<Money>,
    pub reclaim_due: Option<NaiveDate>,
    /// Interest on the reclaim runs from this day (§ 49a (3) VwVfG).
    pub interest_from: Option<NaiveDate>,
    pub grant_period_start: Option<NaiveDate>,
    pub grant_period_end: Option<NaiveDate>,
    pub proof_due: Option<NaiveDate>,
    pub purpose: Option<String>,
    pub binding_years: Option<i32>,
    pub reason: Option<String>,
    pub lines: Vec<NoticeLineDto>,
    pub allocations: Vec<Allocation>,
    pub posted_on: NaiveDate,
    /// § 41 (2) VwVfG: deemed delivered on this day after posting.
    pub delivery_days: i32,
    pub deemed_delivery: Option<NaiveDate>,
    /// The last day of the one-month appeal period (moved past weekends and Thuringian
    /// public holidays).
    pub appeal_deadline: Option<NaiveDate>,
    /// The day the notice becomes final (bestandskräftig) unless contested.
    pub final_on: Option<NaiveDate>,
    pub prepared_by: String,
    pub prepared_at: DateTime<Utc>,
    pub signed_by: Option<String>,
    pub signed_at: Option<DateTime<Utc>>,
}

impl NoticeDto {
    pub fn new(n: &Notice, descriptions: &[String]) -> Self {
        let r = &n.row;
        let f = finality(
            r.posted_on,
            u32::try_from(r.delivery_days).unwrap_or(0),
            true,
        );
        NoticeDto {
            id: r.id.clone(),
            application_id: r.application_id.clone(),
            case_number: n.case_number.clone(),
            kind: r.kind.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            number: r.number.clone(),
            refers_to: r.refers_to.clone(),
            refers_to_number: n.refers_to_number.clone(),
            case_version: r.case_version,
            financing_type: r.financing_type.map(|t| t.as_str().to_owned()),
            rate: r.rate_bp.map(rate_string),
            max_amount: r.max_cents,
            fixed_amount: r.fixed_cents,
            eligible_amount: r.eligible_cents,
            computed_amount: r.computed_cents,
            granted_amount: r.granted_cents,
            previous_grant: n.previous_grant_cents,
            paid_amount: r.paid_cents,
            revoked_amount: r.revoked_cents,
            reclaim_amount: r.reclaim_cents,
            reclaim_due: r.reclaim_due,
            interest_from: r.interest_from,
            grant_period_start: r.grant_period_start,
            grant_period_end: r.grant_period_end,
            proof_due: r.proof_due,
            purpose: r.purpose.clone(),
            binding_years: r.binding_years,
            reason: r.reason.clone(),
            lines: n
                .lines
                .iter()
                .map(|l| NoticeLineDto {
                    line: l.line_no,
                    description: usize::try_from(l.line_no - 1)
                        .ok()
                        .and_then(|i| descriptions.get(i))
                        .cloned()
                        .unwrap_or_default(),
                    eligible: l.eligible,
                    applied_amount: l.applied_cents,
                    approved_amount: l.approved_cents,
                    actual_amount: l.actual_cents,
                    reason: l.reason.clone(),
                })
                .collect(),
            allocations: n
                .allocations
                .iter()
                .map(|a| Allocation {
                    fiscal_year: a.fiscal_year,
                    amount: a.amount_cents,
                })
                .collect(),
            posted_on: r.posted_on,
            delivery_days: r.delivery_days,
            deemed_delivery: f.map(|f| f.delivered_on),
            appeal_deadline: f.map(|f| f.appeal_deadline),
            final_on: f.map(|f| f.final_on),
            prepared_by: r.prepared_by.clone(),
            prepared_at: r.prepared_at.and_utc(),
            signed_by: r.signed_by.clone(),
            signed_at: r.signed_at.map(|t| t.and_utc()),
        }
    }
}

/// The descriptions of a case's cost lines, in order (a notice shows them by line number).
fn descriptions(
    conn: &mut crate::persistence::AnyConnection,
    case_id: &str,
) -> diesel::QueryResult<Vec<String>> {
    Ok(cases::find(conn, case_id, cases::Scope::All)?
        .map(|c| c.lines.into_iter().map(|l| l.description).collect())
        .unwrap_or_default())
}

/// The notice as answered, with its case's cost line descriptions.
fn dto(conn: &mut crate::persistence::AnyConnection, n: &Notice) -> Result<NoticeDto, ApiError> {
    Ok(NoticeDto::new(
        n,
        &descriptions(conn, &n.row.application_id)?,
    ))
}

fn no_notice(id: &str) -> ApiError {
    ApiError::NotFound(format!("no notice {id}"))
}

/// Prepare a notice for a case (caseworker). The answer shows what signing will decide,
/// computed now: the grant is rounded down to the cent and never above the requested grant.
/// With `Idempotency-Key`, a retry with the same key and body gets the first response
/// (`Idempotent-Replayed: true`); the same key with another request gets 422.
#[utoipa::path(
    operation_id = "prepare_notice",
    tag = "notices",
    params(
        ("id" = String, Path, description = "the application"),
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = NewNotice,
    responses(
        (status = 201, body = NoticeDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/notices")]
pub async fn prepare(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<NewNotice>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::PREPARE_NOTICES)?;
    let id = path.into_inner();
    let body = body.into_inner();
    let idem = Idempotent::of(&req, "prepare_notice", &(&id, &body))?;
    let (kind, request) = body.into_request()?;
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let notice = repo::prepare(conn, &id, kind, &request, &caller.writer())?;
                let dto = NoticeDto::new(&notice, &descriptions(conn, &id)?);
                Ok(((), dto.id.clone(), body_of(&dto)?))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::CREATED, |nid| {
        Some(format!("/api/v1/notices/{nid}"))
    }))
}

/// Sign a prepared notice (approver; not the person who prepared it). In one transaction the
/// notice gets its number and becomes immutable, the budgets are committed, the case moves on
/// and its history records it.
#[utoipa::path(
    operation_id = "sign_notice",
    tag = "notices",
    params(("id" = String, Path, description = "the notice")),
    responses(
        (status = 200, body = NoticeDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notices/{id}/sign")]
pub async fn sign(
    caller: Caller,
    path: web::Path<String>,
    authority: web::Data<Authority>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::SIGN_NOTICES)?;
    let id = path.into_inner();
    let dto = caller
        .db(move |conn, caller| {
            let notice = repo::sign(conn, &id, &caller.writer(), &authority)?;
            dto(conn, &notice)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// One notice (staff; applicants: signed notices of their cases).
#[utoipa::path(
    operation_id = "get_notice",
    tag = "notices",
    params(("id" = String, Path, description = "the notice")),
    responses(
        (status = 200, body = NoticeDto),
    )
)]
#[get("/notices/{id}")]
pub async fn get(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let dto = caller
        .db(move |conn, caller| {
            let notice = repo::find(conn, &id, caller.scope())?.ok_or_else(|| no_notice(&id))?;
            dto(conn, &notice)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// The notices of a case, oldest first (staff; applicants: the signed ones).
#[utoipa::path(
    operation_id = "list_application_notices",
    tag = "notices",
    params(("id" = String, Path, description = "the application")),
    responses(
        (status = 200, body = Vec<NoticeDto>),
    )
)]
#[get("/applications/{id}/notices")]
pub async fn list(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let dtos = caller
        .db(move |conn, caller| {
            let notices = repo::list_for_case(conn, &id, caller.scope())?
                .ok_or_else(|| no_application(&id))?;
            let d = descriptions(conn, &id)?;
            Ok(notices
                .iter()
                .map(|n| NoticeDto::new(n, &d))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(dtos))
}

/// The signed notice as a German PDF (recipient, decision, amounts, grant period,
/// allocation, ancillary provisions, reasons, legal-remedy instructions, delivery and
/// finality dates). 409 while the notice is only prepared.
#[utoipa::path(
    operation_id = "notice_document",
    tag = "notices",
    params(("id" = String, Path, description = "the notice")),
    responses(
        (status = 200, body = String, content_type = "application/pdf",
         description = "the document (binary)"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notices/{id}/document")]
pub async fn document(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let _turn = caller.heavy().await?;
    let (number, pdf) = caller
        .db(move |conn, caller| {
            let notice = repo::find(conn, &id, caller.scope())?.ok_or_else(|| no_notice(&id))?;
            let Some(number) = notice.row.number.clone() else {
                return Err(ApiError::Conflict(
                    "the notice is not signed yet; only a signed notice has a document".into(),
                ));
            };
            let pdf = repo::document(conn, &id)?.ok_or_else(|| {
                ApiError::NotFound(format!(
                    "notice {number} was loaded in bulk without its document"
                ))
            })?;
            Ok((number, pdf))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{number}.pdf\""),
        ))
        .body(pdf))
}

/// The notice as `GET /notices/{id}` shows it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    id: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let Some(n) = repo::find(conn, id, cases::Scope::All)? else {
        return super::dto::represented(None::<NoticeDto>, None);
    };
    let dto = NoticeDto::new(&n, &descriptions(conn, &n.row.application_id)?);
    super::dto::represented(Some(dto), Some(n.row.application_id))
}
