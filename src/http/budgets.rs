//! Budgets per programme and fiscal year: set by administrators, committed by signed notices.

use actix_web::{HttpResponse, get, put, web};
use chrono::DateTime;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::json::Json;
use crate::auth::policy;
use crate::domain::Money;
use crate::error::{ApiError, Problem};
use crate::persistence::budgets::{self as repo, Budget};

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

/// Set the budget of a programme-year (admin). It cannot be set below what signed notices
/// have committed of it (409).
#[utoipa::path(
    operation_id = "put_budget",
    tag = "programmes",
    params(
        ("code" = String, Path),
        ("year" = i32, Path, minimum = 2000, maximum = 2200)
    ),
    request_body = BudgetInput,
    responses(
        (status = 200, body = BudgetDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/programmes/{code}/budgets/{year}")]
pub async fn put(
    caller: Caller,
    path: web::Path<(String, i32)>,
    body: Json<BudgetInput>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let (code, year) = path.into_inner();
    if !(2000..=2200).contains(&year) {
        return Err(ApiError::validation(
            "year",
            "must be between 2000 and 2200",
        ));
    }
    let body = body.into_inner();
    if body.amount.is_negative() {
        return Err(ApiError::validation("amount", "must not be negative"));
    }
    let budget = caller
        .db(move |conn, caller| {
            let reason = body.reason.as_deref();
            repo::put(conn, &code, year, body.amount, reason, &caller.writer())?
                .ok_or_else(|| no_programme(&code))
        })
        .await?;
    Ok(HttpResponse::Ok().json(BudgetDto::from(&budget)))
}
