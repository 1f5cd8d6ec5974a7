//! Repayments on a reclaim (caseworker records, owner and staff read) and the reclaim's
//! account: tranche by tranche, with interest (§ 49a (3) VwVfG) and the repayments credited
//! (§ 367 (1) BGB) — `domain::reclaim`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, idempotency_key, no_application};
use super::json::Json;
use crate::auth::policy;
use crate::domain::Money;
use crate::domain::interest::percent_string;
use crate::domain::reclaim::{Account, TrancheAccount, account};
use crate::error::{ApiError, Problem};
use crate::persistence::idempotency::{Created, Idempotency};
use crate::persistence::repayments::{self as repo, RepaymentRow};
use crate::persistence::{applications as cases, base_rates};

#[derive(Debug, Serialize, ToSchema)]
pub struct RepaymentDto {
    pub id: String,
    pub application_id: String,
    #[schema(value_type = String, example = "4000.00")]
    pub amount: Money,
    pub received_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<RepaymentRow> for RepaymentDto {
    fn from(r: RepaymentRow) -> Self {
        RepaymentDto {
            id: r.id,
            application_id: r.application_id,
            amount: r.amount_cents,
            received_on: r.received_on,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRepayment {
    #[schema(value_type = crate::schemas::Amount, example = "4000.00")]
    pub amount: Money,
    /// The day the money was received (German date; not in the future).
    #[serde(deserialize_with = "crate::http::strict::date")]
    pub received_on: NaiveDate,
}

/// Record a repayment received on the case's reclaims (caseworker): at most what is
/// outstanding on the day of receipt, interest included; repayments in the order received.
/// With `Idempotency-Key`, a retry with the same key and body gets the first response.
#[utoipa::path(
    operation_id = "record_repayment",
    tag = "payments",
    params(
        ("id" = String, Path, description = "the application"),
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = NewRepayment,
    responses(
        (status = 201, body = RepaymentDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/repayments")]
pub async fn record(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<NewRepayment>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::RECORD_REPAYMENTS)?;
    let key = idempotency_key(&req)?;
    let id = path.into_inner();
    let body = body.into_inner();
    let request_hash = format!(
        "{:x}",
        Sha256::digest(serde_json::to_vec(&(&id, &body)).map_err(ApiError::internal)?)
    );
    let created = caller
        .db(move |conn, caller| {
            let idem = key.as_deref().map(|k| Idempotency {
                key: k,
                request_hash: &request_hash,
            });
            let w = caller.writer();
            Ok(
                crate::persistence::idempotency::once::<_, cases::WriteError>(
                    conn,
                    w.subject,
                    w.now,
                    idem,
                    201,
                    &mut |conn| {
                        let row = repo::record(conn, &id, body.amount, body.received_on, &w)?;
                        let rid = row.id.clone();
                        let body = serde_json::to_string(&RepaymentDto::from(row.clone()))
                            .map_err(|e| cases::WriteError::Db(cases::corrupt(e)))?;
                        Ok((row, rid, body))
                    },
                )?,
            )
        })
        .await?;
    let (status, body, rid, replayed) = match created {
        Created::New { id, body, .. } => (201, body, id, false),
        Created::Replay { status, body, id } => (status, body, id, true),
    };
    let mut resp = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED));
    resp.insert_header((header::LOCATION, format!("/api/v1/repayments/{rid}")))
        .content_type("application/json");
    if replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(resp.body(body))
}

/// The repayments of a case with what is reclaimed, repaid and outstanding (principal).
#[derive(Debug, Serialize, ToSchema)]
pub struct RepaymentsDto {
    pub items: Vec<RepaymentDto>,
    #[schema(value_type = String)]
    pub reclaimed: Money,
    #[schema(value_type = String)]
    pub repaid: Money,
    /// Reclaimed less repaid (interest is in the account, `/interest`).
    #[schema(value_type = String)]
    pub outstanding: Money,
}

/// The repayments of a case, oldest first (owner or staff).
#[utoipa::path(
    operation_id = "list_repayments",
    tag = "payments",
    params(("id" = String, Path, description = "the application")),
    responses((status = 200, body = RepaymentsDto))
)]
#[get("/applications/{id}/repayments")]
pub async fn list(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let dto = caller
        .db(move |conn, caller| {
            let rows = repo::list_for_case(conn, &id, caller.scope())?
                .ok_or_else(|| no_application(&id))?;
            let case =
                cases::find(conn, &id, caller.scope())?.ok_or_else(|| no_application(&id))?;
            let repaid: i64 = rows.iter().map(|r| r.amount_cents.cents()).sum();
            let reclaimed = case.row.reclaimed_cents;
            let money = |c: i64| Money::from_cents(c).map_err(ApiError::internal);
            Ok(RepaymentsDto {
                reclaimed,
                repaid: money(repaid)?,
                outstanding: money(reclaimed.cents() - repaid)?,
                items: rows.into_iter().map(RepaymentDto::from).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InterestQuery {
    /// The day up to which interest is computed (not counted itself).
    #[serde(deserialize_with = "crate::http::strict::date")]
    pub as_of: NaiveDate,
}

/// One stretch of days at one rate on a tranche's outstanding principal.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterestPeriodDto {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub days: i64,
    #[schema(value_type = String)]
    pub principal: Money,
    /// Base rate + 5 points, percent per year.
    pub rate_percent: String,
}

/// A part of a payout that a reclaim covers, with its interest.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrancheDto {
    /// The number of the reclaiming notice.
    pub notice: String,
    pub payment_request: String,
    pub paid_on: NaiveDate,
    #[schema(value_type = String)]
    pub principal: Money,
    /// The later of the notice's `interest_from` and `paid_on`; null: no interest claimed.
    pub interest_from: Option<NaiveDate>,
    #[schema(value_type = String)]
    pub principal_repaid: Money,
    #[schema(value_type = String)]
    pub interest: Money,
    #[schema(value_type = String)]
    pub interest_repaid: Money,
    pub periods: Vec<InterestPeriodDto>,
}

impl From<&TrancheAccount> for TrancheDto {
    fn from(t: &TrancheAccount) -> Self {
        TrancheDto {
            notice: t.tranche.notice.clone(),
            payment_request: t.tranche.payment.clone(),
            paid_on: t.tranche.paid_on,
            principal: t.tranche.amount,
            interest_from: t.tranche.interest_from,
            principal_repaid: t.principal_repaid,
            interest: t.interest,
            interest_repaid: t.interest_repaid,
            periods: t
                .periods
                .iter()
                .map(|p| InterestPeriodDto {
                    from: p.from,
                    to: p.to,
                    days: p.days,
                    principal: p.principal,
                    rate_percent: percent_string(p.rate_hundredths),
                })
                .collect(),
        }
    }
}

/// The reclaims' account on a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct InterestDto {
    pub as_of: NaiveDate,
    /// What the signed reclaims demand back.
    #[schema(value_type = String)]
    pub principal: Money,
    /// Received back up to `as_of`.
    #[schema(value_type = String)]
    pub repaid: Money,
    #[schema(value_type = String)]
    pub principal_outstanding: Money,
    /// Accrued until `as_of`, whether repaid or not.
    #[schema(value_type = String)]
    pub interest: Money,
    #[schema(value_type = String)]
    pub interest_outstanding: Money,
    pub tranches: Vec<TrancheDto>,
}

impl InterestDto {
    fn new(as_of: NaiveDate, a: &Account) -> Self {
        InterestDto {
            as_of,
            principal: a.principal,
            repaid: a.repaid,
            principal_outstanding: a.principal_outstanding,
            interest: a.interest,
            interest_outstanding: a.interest_outstanding,
            tranches: a.tranches.iter().map(TrancheDto::from).collect(),
        }
    }
}

/// The account of the case's reclaims on a day (§ 49a (3) VwVfG): each reclaimed part of a
/// payout (the latest money first) bears five percentage points above the base rate per year
/// from the later of `interest_from` and its payout day; day-exact per base-rate period,
/// actual/365; repayments pay accrued interest first, then principal (§ 367 (1) BGB).
#[utoipa::path(
    operation_id = "application_interest",
    tag = "notices",
    params(("id" = String, Path, description = "the application"), InterestQuery),
    responses((status = 200, body = InterestDto))
)]
#[get("/applications/{id}/interest")]
pub async fn interest(
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<InterestQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let as_of = query.into_inner().as_of;
    if let Some(problem) = crate::domain::calendar::business_date_problem(as_of) {
        return Err(ApiError::validation("as_of", problem));
    }
    let dto = caller
        .db(move |conn, caller| {
            if cases::find(conn, &id, caller.scope())?.is_none() {
                return Err(no_application(&id));
            }
            let rates: Vec<_> = base_rates::list(conn)?.iter().map(|r| r.rate()).collect();
            let facts = repo::reclaim_facts(conn, &id)?;
            let a = account(&facts.tranches, &facts.repayment_pairs(), as_of, &rates)
                .map_err(|e| ApiError::validation("as_of", e.to_string()))?;
            Ok(InterestDto::new(as_of, &a))
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto))
}

/// The repayment as the API lists it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    id: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let row = repo::find(conn, id)?;
    let case = row.as_ref().map(|r| r.application_id.clone());
    super::dto::represented(row.map(RepaymentDto::from), case)
}
