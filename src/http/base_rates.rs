//! Base rates of § 247 BGB for interest on reclaims: read by every role, extended by admin.

use actix_web::{HttpResponse, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::json::Json;
use crate::auth::policy;
use crate::domain::interest::{is_change_day, known_until, parse_percent, percent_string};
use crate::error::{ApiError, FieldError, Problem};
use crate::persistence::base_rates::{self as repo, AddError, BaseRateRow};
use crate::persistence::programmes::Actor;

#[derive(Debug, Serialize, ToSchema)]
pub struct BaseRateDto {
    pub valid_from: NaiveDate,
    /// Percent per year, as a decimal string (`"1.27"`, `"-0.88"`).
    #[schema(example = "1.27")]
    pub rate_percent: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

impl From<&BaseRateRow> for BaseRateDto {
    fn from(r: &BaseRateRow) -> Self {
        BaseRateDto {
            valid_from: r.valid_from,
            rate_percent: percent_string(r.hundredths),
            added_by: r.added_by.clone(),
            added_at: r.added_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BaseRatesDto {
    /// Each rate holds from `valid_from` until the next one.
    pub rates: Vec<BaseRateDto>,
    /// The last day with a known rate: the end of the newest rate's half-year. Interest for a
    /// later day is refused until an administrator adds the next rate.
    pub known_until: Option<NaiveDate>,
}

fn dto(rows: &[BaseRateRow]) -> BaseRatesDto {
    let rates: Vec<_> = rows.iter().map(BaseRateRow::rate).collect();
    BaseRatesDto {
        rates: rows.iter().map(BaseRateDto::from).collect(),
        known_until: known_until(&rates),
    }
}

/// The base rates (Basiszinssatz, § 247 BGB) the service computes interest with.
#[utoipa::path(
    operation_id = "list_base_rates",
    tag = "programmes",
    responses(
        (status = 200, body = BaseRatesDto),
    )
)]
#[get("/base-rates")]
pub async fn list(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let rows = caller.db(|conn, _| Ok(repo::list(conn)?)).await?;
    Ok(HttpResponse::Ok().json(dto(&rows)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBaseRate {
    /// 1 January or 1 July.
    pub valid_from: NaiveDate,
    /// Percent per year as announced by the Bundesbank, at most two decimals.
    #[schema(example = "1.27")]
    pub rate_percent: String,
}

/// Add an announced base rate (admin). Stored rates are never changed.
#[utoipa::path(
    operation_id = "add_base_rate",
    tag = "programmes",
    request_body = NewBaseRate,
    responses(
        (status = 201, body = BaseRatesDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/base-rates")]
pub async fn add(caller: Caller, body: Json<NewBaseRate>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let b = body.into_inner();
    let mut errors = Vec::new();
    if !is_change_day(b.valid_from) {
        errors.push(FieldError::new(
            "valid_from",
            "the base rate changes only on 1 January and 1 July (§ 247 (1) BGB)",
        ));
    }
    let hundredths = parse_percent(&b.rate_percent)
        .map_err(|e| errors.push(FieldError::new("rate_percent", e)))
        .ok();
    let Some(hundredths) = hundredths.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let rows = caller.db(move |conn, caller| {
        let actor = Actor {
            subject: &caller.principal.subject,
            role: caller.principal.role.as_str(),
            now: caller.now,
        };
        match repo::add(conn, b.valid_from, hundredths, &actor, caller.now) {
            Ok(_) => Ok(repo::list(conn)?),
            Err(AddError::Exists(r)) => Err(ApiError::Conflict(format!(
                "a base rate from {} is stored already ({} %, added by {}); stored rates are never changed",
                r.valid_from,
                percent_string(r.hundredths),
                r.added_by
            ))),
            Err(AddError::Db(e)) => Err(e.into()),
        }
    })
    .await?;
    Ok(HttpResponse::Created().json(dto(&rows)))
}
