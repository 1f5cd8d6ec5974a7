//! Payment requests and payouts: the applicant requests a tranche, a caseworker prepares the
//! payout, an approver who did not prepare it releases it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{Caller, Idempotent, body_of, created_response, no_application};
use super::json::Json;
use crate::auth::policy;
use crate::domain::Money;
use crate::error::{ApiError, Problem};
use crate::persistence::payments::{self as repo, PaymentRow};

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentRequestDto {
    pub id: String,
    pub application_id: String,
    #[schema(value_type = String, example = "20000.00")]
    pub amount: Money,
    pub reason: Option<String>,
    /// `requested`, `prepared`, `paid` or `rejected`.
    pub status: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub prepared_by: Option<String>,
    pub prepared_at: Option<DateTime<Utc>>,
    pub paid_by: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejection_reason: Option<String>,
}

impl From<PaymentRow> for PaymentRequestDto {
    fn from(r: PaymentRow) -> Self {
        PaymentRequestDto {
            amount: r.amount_cents,
            requested_at: r.requested_at.and_utc(),
            prepared_at: r.prepared_at.map(|t| t.and_utc()),
            paid_at: r.paid_at.map(|t| t.and_utc()),
            rejected_at: r.rejected_at.map(|t| t.and_utc()),
            id: r.id,
            application_id: r.application_id,
            reason: r.reason,
            status: r.status.as_str().to_owned(),
            requested_by: r.requested_by,
            prepared_by: r.prepared_by,
            paid_by: r.paid_by,
            rejected_by: r.rejected_by,
            rejection_reason: r.rejection_reason,
        }
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPaymentRequest {
    #[schema(value_type = crate::schemas::Amount, example = "20000.00")]
    pub amount: Money,
    #[schema(example = "1. Abschlag: Lizenzen geliefert")]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// Why the request is turned down.
    #[schema(min_length = 1, max_length = 20000)]
    pub reason: String,
}

const MAX_REASON: usize = 20_000;

/// Request a tranche (the lead applicant): at most the grant less what is paid and what is
/// requested already. With `Idempotency-Key`, a retry with the same key and body gets the
/// first response (`Idempotent-Replayed: true`); the same key with another request gets 422.
#[utoipa::path(
    operation_id = "request_payment",
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
    request_body = NewPaymentRequest,
    responses(
        (status = 201, body = PaymentRequestDto, headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/payment-requests")]
pub async fn request(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<NewPaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::REQUEST_PAYMENTS)?;
    let id = path.into_inner();
    let body = body.into_inner();
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        return Err(ApiError::validation("reason", "too long"));
    }
    let idem = Idempotent::of(&req, "request_payment", &(&id, &body))?;
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let reason = body.reason.as_deref();
                let row = repo::request(conn, &id, body.amount, reason, &caller.writer())?;
                let pid = row.id.clone();
                Ok(((), pid, body_of(&PaymentRequestDto::from(row))?))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::CREATED, |pid| {
        Some(format!("/api/v1/payment-requests/{pid}"))
    }))
}

/// The payment requests of a case, oldest first (owner or staff).
#[utoipa::path(
    operation_id = "list_payment_requests",
    tag = "payments",
    params(("id" = String, Path, description = "the application")),
    responses(
        (status = 200, body = Vec<PaymentRequestDto>),
    )
)]
#[get("/applications/{id}/payment-requests")]
pub async fn list(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let rows = caller
        .db(move |conn, caller| {
            repo::list_for_case(conn, &id, caller.scope())?.ok_or_else(|| no_application(&id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(PaymentRequestDto::from)
            .collect::<Vec<_>>(),
    ))
}

/// Move a payout on: a caseworker prepares a requested one; an approver who did not prepare it
/// releases a prepared one, which counts as paid today. The sum paid never exceeds the grant
/// (409, also when releases race).
#[utoipa::path(
    operation_id = "pay_out_payment_request",
    tag = "payments",
    params(("id" = String, Path, description = "the payment request")),
    responses(
        (status = 200, body = PaymentRequestDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payment-requests/{id}/payout")]
pub async fn payout(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::PAY_OUT)?;
    let id = path.into_inner();
    let row = caller
        .db(move |conn, caller| Ok(repo::payout(conn, &id, &caller.writer())?))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentRequestDto::from(row)))
}

/// Turn down a payment request that is not paid yet (caseworker), saying why.
#[utoipa::path(
    operation_id = "reject_payment_request",
    tag = "payments",
    params(("id" = String, Path, description = "the payment request")),
    request_body = Rejection,
    responses(
        (status = 200, body = PaymentRequestDto),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/payment-requests/{id}/reject")]
pub async fn reject(
    caller: Caller,
    path: web::Path<String>,
    body: Json<Rejection>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::REJECT_PAYMENTS)?;
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    if reason.trim().is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::validation(
            "reason",
            "say why the request is turned down (at most 20,000 characters)",
        ));
    }
    let row = caller
        .db(move |conn, caller| Ok(repo::reject(conn, &id, &reason, &caller.writer())?))
        .await?;
    Ok(HttpResponse::Ok().json(PaymentRequestDto::from(row)))
}

/// The payment request as the API shows it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    id: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let row = repo::find(conn, id, crate::persistence::applications::Scope::All)?;
    let case = row.as_ref().map(|r| r.application_id.clone());
    super::dto::represented(row.map(PaymentRequestDto::from), case)
}
