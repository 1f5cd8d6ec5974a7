//! The § 41 (2) VwVfG deemed-delivery rules as dated data: read by every role, extended by
//! an administrator from a day on, each with its legal source (audited).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{Caller, Idempotent, body_of, created_response};
use super::json::Json;
use crate::auth::policy;
use crate::error::{ApiError, FieldError, Problem};
use crate::persistence::notices::{self as repo, DeliveryRuleRow, RuleError};

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryRuleDto {
    /// Notices posted from this day on (until the next rule) ...
    pub valid_from: NaiveDate,
    /// ... are deemed delivered on this day after posting.
    pub days: i32,
    /// The legal source of the rule.
    pub source: Option<String>,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

impl From<&DeliveryRuleRow> for DeliveryRuleDto {
    fn from(r: &DeliveryRuleRow) -> Self {
        DeliveryRuleDto {
            valid_from: r.valid_from,
            days: r.days,
            source: r.source.clone(),
            added_by: r.added_by.clone(),
            added_at: r.added_at.and_utc(),
        }
    }
}

/// The deemed-delivery rules (§ 41 (2) VwVfG), oldest first: a notice posted on a day is
/// deemed delivered on the `days`-th day after, by the rule in force on its posting day.
#[utoipa::path(
    operation_id = "list_delivery_rules",
    tag = "notices",
    responses((status = 200, body = Vec<DeliveryRuleDto>))
)]
#[get("/delivery-rules")]
pub async fn list(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let rows = caller
        .db(|conn, _| Ok(repo::delivery_rule_rows(conn)?))
        .await?;
    let dto: Vec<DeliveryRuleDto> = rows.iter().map(DeliveryRuleDto::from).collect();
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeliveryRule {
    /// The first posting day the rule applies to; after the newest stored rule.
    #[serde(deserialize_with = "crate::http::strict::date")]
    pub valid_from: NaiveDate,
    /// The day after posting on which a notice is deemed delivered (1 to 30).
    #[serde(deserialize_with = "crate::http::whole_i32")]
    pub days: i32,
    /// The statute and its version, e.g. "§ 41 Abs. 2 VwVfG i. d. F. von Art. 2 PostModG".
    #[schema(min_length = 1, max_length = 2000)]
    pub source: String,
}

/// Add a deemed-delivery rule from a day on (admin), with its legal source; audited. Rules
/// are appended after the newest one: prepared and signed notices keep the days they state.
/// With `Idempotency-Key`, a retry with the same key and body gets the first response.
#[utoipa::path(
    operation_id = "add_delivery_rule",
    tag = "notices",
    params(
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = NewDeliveryRule,
    responses(
        (status = 201, body = Vec<DeliveryRuleDto>),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/delivery-rules")]
pub async fn add(
    caller: Caller,
    req: HttpRequest,
    body: Json<NewDeliveryRule>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let b = body.into_inner();
    let idem = Idempotent::of(&req, "add_delivery_rule", &b)?;
    let mut errors = Vec::new();
    if let Some(p) = crate::domain::calendar::business_date_problem(b.valid_from) {
        errors.push(FieldError::new("valid_from", p));
    }
    if !(1..=30).contains(&b.days) {
        errors.push(FieldError::new("days", "between 1 and 30"));
    }
    let source = b.source.trim().to_owned();
    if source.is_empty() || source.chars().count() > 2000 {
        errors.push(FieldError::new(
            "source",
            "name the legal source (1 to 2000 characters)",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let actor = caller.actor();
                match repo::add_delivery_rule(conn, b.valid_from, b.days, &source, &actor) {
                    Ok(_) => {}
                    Err(RuleError::NotNewest(n)) => {
                        return Err(ApiError::Conflict(format!(
                            "a rule from {} is stored ({} days); a new rule starts after the \
                             newest one",
                            n.valid_from, n.days
                        )));
                    }
                    Err(RuleError::Db(e)) => return Err(e.into()),
                }
                let rows = repo::delivery_rule_rows(conn)?;
                let dto: Vec<DeliveryRuleDto> = rows.iter().map(DeliveryRuleDto::from).collect();
                Ok(((), b.valid_from.to_string(), body_of(&dto)?))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::CREATED, |_| None))
}

/// The delivery rule valid from `key` (the log's key), as the API lists it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    key: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let rows = repo::delivery_rule_rows(conn)?;
    let row = rows.iter().find(|r| r.valid_from.to_string() == key);
    super::dto::represented(row.map(DeliveryRuleDto::from), None)
}
