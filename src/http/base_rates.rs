//! Base rates of § 247 BGB for interest on reclaims: read by every role, extended by admin.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{Caller, Idempotent, body_of, created_response};
use super::json::Json;
use crate::auth::policy;
use crate::domain::calendar::{business_date_problem, parse_date};
use crate::domain::interest::{is_change_day, known_until, parse_percent, percent_string};
use crate::error::{ApiError, FieldError, Problem};
use crate::persistence::base_rates::{self as repo, AddError, BaseRateRow};

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

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBaseRate {
    /// 1 January or 1 July.
    #[serde(deserialize_with = "crate::http::strict::date")]
    pub valid_from: NaiveDate,
    /// Percent per year as announced by the Bundesbank, at most two decimals
    /// (`-?[0-9]+(\.[0-9]+)?`: no exponent, no `+`, no `_`, not `-0`).
    #[schema(example = "1.27", pattern = "^-?[0-9]+(\\.[0-9]{1,2})?$")]
    pub rate_percent: String,
}

/// Add an announced base rate (admin). Stored rates are never changed. With
/// `Idempotency-Key`, a retry with the same key and body gets the first response.
#[utoipa::path(
    operation_id = "add_base_rate",
    tag = "programmes",
    params(
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = NewBaseRate,
    responses(
        (status = 201, body = BaseRatesDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/base-rates")]
pub async fn add(
    caller: Caller,
    req: HttpRequest,
    body: Json<NewBaseRate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let b = body.into_inner();
    let idem = Idempotent::of(&req, "add_base_rate", &b)?;
    let mut errors = Vec::new();
    if let Some(problem) = business_date_problem(b.valid_from) {
        errors.push(FieldError::new("valid_from", problem));
    } else if !is_change_day(b.valid_from) {
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
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let actor = caller.actor();
                repo::add(conn, b.valid_from, hundredths, &actor, caller.now).map_err(add_error)?;
                let body = body_of(&dto(&repo::list(conn)?))?;
                Ok(((), b.valid_from.to_string(), body))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::CREATED, |_| None))
}

fn add_error(e: AddError) -> ApiError {
    match e {
        AddError::Exists(r) => ApiError::Conflict(format!(
            "a base rate from {} is stored already ({} %, added by {}); a wrong rate is \
             corrected with POST /api/v1/base-rates/{}/corrections and a reason",
            r.valid_from,
            percent_string(r.hundredths),
            r.added_by,
            r.valid_from
        )),
        AddError::Past(newest) => ApiError::Conflict(format!(
            "the newest stored base rate is from {}: a rate for an earlier half-year is a \
             past fact that interest may already rest on; a wrong stored rate is corrected \
             with POST /api/v1/base-rates/{{valid_from}}/corrections and a reason",
            newest.valid_from
        )),
        AddError::Missing => ApiError::NotFound("no base rate from this day is stored".into()),
        AddError::Db(e) => e.into(),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseRateCorrection {
    /// The rate as it should have been stored, percent per year, at most two decimals.
    #[schema(example = "1.27", pattern = "^-?[0-9]+(\\.[0-9]{1,2})?$")]
    pub rate_percent: String,
    /// Why the stored rate was wrong (kept in the audit log).
    pub reason: String,
}

/// Correct a stored base rate that was entered wrongly (admin): an explicit act with a
/// reason, audited with the rate before and after. Interest computed afterwards uses the
/// corrected rate; signed notices' documents never change.
///
/// With `Idempotency-Key`, a retry with the same key and body gets the first response.
#[utoipa::path(
    operation_id = "correct_base_rate",
    tag = "programmes",
    params(
        ("valid_from" = NaiveDate, Path, description = "The day the stored rate holds from"),
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = BaseRateCorrection,
    responses(
        (status = 200, body = BaseRatesDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/base-rates/{valid_from}/corrections")]
pub async fn correct(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<BaseRateCorrection>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let mut errors = Vec::new();
    let day = path.into_inner();
    let valid_from = parse_date(&day)
        .map_err(|e| errors.push(FieldError::new("valid_from", e)))
        .ok();
    let b = body.into_inner();
    let idem = Idempotent::of(&req, "correct_base_rate", &(&day, &b))?;
    let hundredths = parse_percent(&b.rate_percent)
        .map_err(|e| errors.push(FieldError::new("rate_percent", e)))
        .ok();
    let reason = b.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 2000 {
        errors.push(FieldError::new(
            "reason",
            "say why the stored rate was wrong (1 to 2000 characters)",
        ));
    }
    let (Some(valid_from), Some(hundredths), true) = (valid_from, hundredths, errors.is_empty())
    else {
        return Err(ApiError::Validation(errors));
    };
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::OK, &mut |conn| {
                let actor = caller.actor();
                match repo::correct(conn, valid_from, hundredths, &reason, &actor) {
                    Ok(_) => {}
                    Err(AddError::Exists(r)) => {
                        return Err(ApiError::Conflict(format!(
                            "the base rate from {} is {} % already",
                            r.valid_from,
                            percent_string(r.hundredths)
                        )));
                    }
                    Err(e) => return Err(add_error(e)),
                }
                let body = body_of(&dto(&repo::list(conn)?))?;
                Ok(((), valid_from.to_string(), body))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::OK, |_| None))
}

/// The base rate valid from `key` (the log's key), as the API lists it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    key: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let rows = repo::list(conn)?;
    let row = rows.iter().find(|r| r.valid_from.to_string() == key);
    super::dto::represented(row.map(BaseRateDto::from), None)
}
