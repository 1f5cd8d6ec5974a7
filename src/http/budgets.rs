//! Budgets per programme and fiscal year: set by administrators, committed by signed notices.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::DateTime;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::etag::{self, IfMatch};
use super::json::Json;
use crate::auth::policy;
use crate::domain::Money;
use crate::error::{ApiError, Problem};
use crate::persistence::budgets::{self as repo, Budget, Condition};

#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetDto {
    pub programme: String,
    pub fiscal_year: i32,
    #[schema(value_type = String, example = "10000000.00")]
    pub amount: Money,
    /// Allocated to this year by signed notices.
    #[schema(value_type = String)]
    pub committed: Money,
    /// Released payouts of the programme in this calendar year.
    #[schema(value_type = String)]
    pub paid: Money,
    /// `amount − committed`.
    #[schema(value_type = String)]
    pub available: Money,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl From<&Budget> for BudgetDto {
    fn from(b: &Budget) -> Self {
        let r = &b.row;
        BudgetDto {
            programme: r.programme_code.clone(),
            fiscal_year: r.fiscal_year,
            amount: r.amount_cents,
            committed: r.committed_cents,
            paid: b.paid_cents,
            available: b.available,
            updated_by: r.updated_by.clone(),
            updated_at: r.updated_at.and_utc(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    #[schema(value_type = crate::schemas::Amount, example = "10000000.00")]
    pub amount: Money,
    /// Why (recorded in the audit log), e.g. the budget law it follows.
    pub reason: Option<String>,
}

fn no_programme(code: &str) -> ApiError {
    ApiError::NotFound(format!("no programme {code}"))
}

/// The budgets of a programme by fiscal year (admin, ministry, caseworker, approver).
#[utoipa::path(
    operation_id = "list_budgets",
    tag = "programmes",
    params(("code" = String, Path)),
    responses(
        (status = 200, body = Vec<BudgetDto>),
    )
)]
#[get("/programmes/{code}/budgets")]
pub async fn list(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_BUDGETS)?;
    let code = path.into_inner();
    let budgets = caller
        .db(move |conn, _| repo::list(conn, &code)?.ok_or_else(|| no_programme(&code)))
        .await?;
    Ok(HttpResponse::Ok().json(budgets.iter().map(BudgetDto::from).collect::<Vec<_>>()))
}

fn no_budget(code: &str, year: i32) -> ApiError {
    ApiError::NotFound(format!("no budget of programme {code} for {year}"))
}

fn check_year(year: i32) -> Result<(), ApiError> {
    if (2000..=2200).contains(&year) {
        return Ok(());
    }
    Err(ApiError::validation(
        "year",
        "must be between 2000 and 2200",
    ))
}

/// The answer with a budget and its `ETag` (its version).
fn with_etag(mut resp: actix_web::HttpResponseBuilder, budget: &Budget) -> HttpResponse {
    resp.insert_header(etag::header(budget.row.version))
        .json(BudgetDto::from(budget))
}

/// One budget of a programme with its `ETag`, for a `PUT` with `If-Match` (admin, ministry,
/// caseworker, approver). The `ETag` changes with every change of the budget: its amount and
/// what signings commit of it.
#[utoipa::path(
    operation_id = "get_budget",
    tag = "programmes",
    params(
        ("code" = String, Path),
        ("year" = i32, Path, minimum = 2000, maximum = 2200)
    ),
    responses(
        (status = 200, body = BudgetDto, headers(("ETag" = String))),
        (status = 400, description = "the year is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the year lies outside 2000–2200", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes/{code}/budgets/{year}")]
pub async fn get(caller: Caller, path: web::Path<(String, i32)>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_BUDGETS)?;
    let (code, year) = path.into_inner();
    check_year(year)?;
    let budget = caller
        .db(move |conn, _| repo::find(conn, &code, year)?.ok_or_else(|| no_budget(&code, year)))
        .await?;
    Ok(with_etag(HttpResponse::Ok(), &budget))
}

/// What a PUT requires (RFC 9110 § 13.1): `If-Match` to change a budget (the `ETag` of the GET
/// it was read with; a weak or stale one: 412), `If-None-Match: *` to create one (412 if it
/// exists). Without either: 428, whether or not the budget exists, so that no PUT overwrites
/// a budget its sender has not seen. Both at once can never hold: 412.
fn condition(req: &HttpRequest) -> Result<(Option<IfMatch>, bool), ApiError> {
    let if_match = etag::optional_if_match(req)?;
    let create = etag::if_none_match_any(req)?;
    match (&if_match, create) {
        (Some(_), false) | (None, true) => Ok((if_match, create)),
        (Some(_), true) => Err(ApiError::PreconditionFailed(
            "If-Match (the budget exists) and If-None-Match: * (it does not) cannot both hold"
                .into(),
        )),
        (None, false) => Err(ApiError::PreconditionRequired(
            "setting a budget needs If-Match with the ETag of your last GET of it to change \
             it, or If-None-Match: * to create it"
                .into(),
        )),
    }
}

/// Set the budget of a programme-year (admin): change it with `If-Match` (200), create it with
/// `If-None-Match: *` (201). It cannot be set below what signed notices have committed of it
/// (409).
#[utoipa::path(
    operation_id = "put_budget",
    tag = "programmes",
    params(
        ("code" = String, Path),
        ("year" = i32, Path, minimum = 2000, maximum = 2200),
        (
            "If-Match" = Option<String>,
            Header,
            description = "the ETag of the budget as last read, to change it"
        ),
        (
            "If-None-Match" = Option<String>,
            Header,
            description = "`*`, to create a budget that does not exist yet",
            pattern = "^\\*$"
        ),
    ),
    request_body = BudgetInput,
    responses(
        (status = 200, body = BudgetDto, headers(("ETag" = String))),
        (status = 201, body = BudgetDto, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/programmes/{code}/budgets/{year}")]
pub async fn put(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, i32)>,
    body: Json<BudgetInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let (code, year) = path.into_inner();
    let (if_match, _) = condition(&req)?;
    check_year(year)?;
    let body = body.into_inner();
    if body.amount.is_negative() {
        return Err(ApiError::validation("amount", "must not be negative"));
    }
    let set = caller
        .db(move |conn, caller| {
            let reason = body.reason.as_deref();
            let condition = match &if_match {
                Some(m) => Condition::Matches(m.expected()),
                None => Condition::Absent,
            };
            let key = (code.as_str(), year);
            repo::put(conn, key, condition, body.amount, reason, &caller.writer())?
                .ok_or_else(|| no_programme(&code))
        })
        .await?;
    if set.created {
        let b = &set.budget.row;
        let mut resp = HttpResponse::Created();
        resp.insert_header((
            header::LOCATION,
            format!(
                "/api/v1/programmes/{}/budgets/{}",
                b.programme_code, b.fiscal_year
            ),
        ));
        return Ok(with_etag(resp, &set.budget));
    }
    Ok(with_etag(HttpResponse::Ok(), &set.budget))
}

/// The budget as `GET /programmes/{code}/budgets/{year}` shows it, for its event (`key`:
/// `<programme>/<year>`, as the log names it).
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    key: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let found = match key.rsplit_once('/') {
        Some((code, year)) => match year.parse::<i32>() {
            Ok(year) => repo::find(conn, code, year)?,
            Err(_) => None,
        },
        None => None,
    };
    super::dto::represented(found.as_ref().map(BudgetDto::from), None)
}
