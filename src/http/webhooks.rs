//! `/api/v1/webhooks`: admins subscribe other systems to the event feed (docs/webhooks.md).
//! A subscription names a target URL and event type patterns; its secret is shown once, in
//! the answer to its creation, and never again (not in a GET, a list or an event). The
//! deliveries and their attempts are listed per subscription; a delivered or failed one can
//! be sent again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, Idempotent, body_of, created_response};
use super::etag;
use super::json::Json;
use super::pagination::{self, Page};
use super::webhook_delivery::{Targets, resolve};
use crate::auth::policy;
use crate::domain::event::{record_kind, valid_pattern};
use crate::domain::webhook::{parse_target, secret_from};
use crate::error::{ApiError, FieldError, Problem};
use crate::persistence::webhooks::{self as repo, Attempt, Change, Delivery, Subscription};

/// A subscription as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: String,
    #[schema(example = "https://etl.example.org/hooks/foerderakte")]
    pub url: String,
    /// Event type patterns: `notice.signed`, `payment.*`, `*`.
    #[schema(example = json!(["notice.signed", "payment.*"]))]
    pub events: Vec<String>,
    /// Whether events are delivered (`false`: queued deliveries wait, new events are not
    /// queued for it).
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

impl WebhookDto {
    fn of(s: &Subscription) -> Result<WebhookDto, ApiError> {
        Ok(WebhookDto {
            id: s.id.clone(),
            url: s.url.clone(),
            events: s.patterns()?,
            active: s.active,
            created_at: s.created_at.and_utc(),
            created_by: s.created_by.clone(),
            updated_at: s.updated_at.and_utc(),
            updated_by: s.updated_by.clone(),
        })
    }
}

/// A new subscription, with its secret: shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewWebhookDto {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    /// The signing secret (`whsec_<base64>`, Standard Webhooks): keep it; it is not shown
    /// again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// An `https` URL of a public host.
    #[schema(example = "https://etl.example.org/hooks/foerderakte")]
    pub url: String,
    /// Event type patterns, 1 to 50: an event type, `<record>.*` or `*`.
    #[schema(example = json!(["notice.signed", "payment.*"]))]
    pub events: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub active: Option<bool>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptDto {
    /// From 1, over the delivery's whole life (a redelivery continues the count).
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    /// The target's HTTP status; absent if it did not answer.
    pub status_code: Option<i32>,
    /// Why the attempt failed (a non-2xx status, a timeout, a refused address, …).
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery of one event to one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// The `webhook-id` of every attempt (`msg_…`).
    pub id: String,
    /// The event (`evt_…`, as in the feed).
    pub event_id: String,
    pub event_type: String,
    pub record_type: String,
    pub record_id: String,
    /// `pending` (due at `next_attempt_at`), `delivered` or `failed` (parked after the last
    /// retry, or its subscription removed; an admin can redeliver it).
    #[schema(example = "delivered")]
    pub status: String,
    pub attempts: i32,
    /// When a pending delivery is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub history: Vec<AttemptDto>,
}

fn delivery_dto((d, attempts): (Delivery, Vec<Attempt>)) -> DeliveryDto {
    DeliveryDto {
        event_id: format!("evt_{}", d.event_id),
        record_type: record_kind(&d.record_type)
            .map_or(d.record_type.clone(), |k| k.feed_name.to_owned()),
        next_attempt_at: (d.status == repo::PENDING).then(|| d.next_attempt_at.and_utc()),
        history: attempts
            .into_iter()
            .map(|a| AttemptDto {
                attempt: a.attempt,
                attempted_at: a.attempted_at.and_utc(),
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
        id: d.id,
        event_type: d.event_type,
        record_id: d.record_id,
        status: d.status,
        attempts: d.attempts,
        last_status_code: d.last_status,
        last_error: d.last_error,
        created_at: d.created_at.and_utc(),
    }
}

fn no_webhook(id: &str) -> ApiError {
    ApiError::NotFound(format!("no webhook {id}"))
}

/// The patterns of a subscription, checked: 1 to 50 known patterns, each once.
fn patterns(events: &[String]) -> Result<Vec<String>, FieldError> {
    if events.is_empty() || events.len() > 50 {
        return Err(FieldError::new("events", "must list 1 to 50 event types"));
    }
    if let Some(bad) = events.iter().find(|p| !valid_pattern(p)) {
        return Err(FieldError::new(
            "events",
            format!("{bad:?} is not an event type (`notice.signed`, `payment.*`, `*`)"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for p in events {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Checks a target URL: the rule (`domain::webhook::parse_target`), then every address its
/// host resolves to (blocking DNS, off the request's thread).
async fn check_url(url: String, targets: Targets) -> Result<String, ApiError> {
    let insecure = targets.allow_insecure;
    let target =
        parse_target(&url, insecure).map_err(|e| ApiError::validation("url", e.clone()))?;
    web::block(move || resolve(&target, insecure))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::validation("url", e))?;
    Ok(url)
}

fn targets(req: &HttpRequest) -> Result<Targets, ApiError> {
    req.app_data::<web::Data<Targets>>()
        .map(|t| *t.get_ref())
        .ok_or_else(|| ApiError::internal("no webhook targets in the app data"))
}

/// Subscribe a target to events (admin). The answer carries the signing secret, once.
#[utoipa::path(
    operation_id = "create_webhook",
    tag = "webhooks",
    params(
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = NewWebhook,
    responses(
        (status = 201, body = NewWebhookDto, headers(("Location" = String), ("ETag" = String))),
    )
)]
#[post("/webhooks")]
pub async fn create(
    caller: Caller,
    req: HttpRequest,
    body: Json<NewWebhook>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let b = body.into_inner();
    let idem = Idempotent::of(&req, "create_webhook", &b)?;
    let patterns = patterns(&b.events).map_err(|e| ApiError::Validation(vec![e]))?;
    let url = check_url(b.url, targets(&req)?).await?;
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let mut random = [0u8; 32];
                getrandom::fill(&mut random).map_err(ApiError::internal)?;
                let secret = secret_from(&random);
                let id = uuid::Uuid::new_v4().to_string();
                let row = repo::create(conn, &id, &url, &patterns, &secret, &caller.actor())?;
                let dto = NewWebhookDto {
                    webhook: WebhookDto::of(&row)?,
                    secret,
                };
                Ok(((), id, body_of(&dto)?))
            })
        })
        .await?;
    let mut resp = created_response(created, StatusCode::CREATED, |id| {
        Some(format!("/api/v1/webhooks/{id}"))
    });
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&etag::etag(1)) {
        resp.headers_mut().insert(actix_web::http::header::ETAG, v);
    }
    Ok(resp)
}

/// The subscriptions (admin), oldest first, without their secrets.
#[utoipa::path(
    operation_id = "list_webhooks",
    tag = "webhooks",
    responses((status = 200, body = Vec<WebhookDto>))
)]
#[get("/webhooks")]
pub async fn list(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let rows = caller.db(|conn, _| Ok(repo::list(conn)?)).await?;
    let dtos = rows
        .iter()
        .map(WebhookDto::of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(dtos))
}

/// One subscription (admin) with its `ETag`, without its secret.
#[utoipa::path(
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookDto, headers(("ETag" = String))))
)]
#[get("/webhooks/{id}")]
pub async fn get(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let id = path.into_inner();
    let row = caller
        .db(move |conn, _| repo::find(conn, &id)?.ok_or_else(|| no_webhook(&id)))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag::header(row.version))
        .json(WebhookDto::of(&row)?))
}

/// Change a subscription's URL, event types or whether it is active (admin, `If-Match`).
#[utoipa::path(
    operation_id = "update_webhook",
    tag = "webhooks",
    params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookDto, headers(("ETag" = String))))
)]
#[patch("/webhooks/{id}")]
pub async fn update(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<WebhookPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let expected = etag::if_match(&req)?;
    let id = path.into_inner();
    let b = body.into_inner();
    let patterns = match &b.events {
        Some(e) => Some(patterns(e).map_err(|e| ApiError::Validation(vec![e]))?),
        None => None,
    };
    let url = match b.url {
        Some(u) => Some(check_url(u, targets(&req)?).await?),
        None => None,
    };
    let change = Change {
        url,
        patterns,
        active: b.active,
    };
    let row = caller
        .db(move |conn, caller| {
            Ok(repo::update(
                conn,
                &id,
                expected.expected(),
                &change,
                &caller.actor(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag::header(row.version))
        .json(WebhookDto::of(&row)?))
}

/// Remove a subscription (admin, `If-Match`): nothing more is delivered to it; its pending
/// deliveries are listed as failed.
#[utoipa::path(
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = String, Path), ("If-Match" = String, Header)),
    responses((status = 204, description = "removed"))
)]
#[delete("/webhooks/{id}")]
pub async fn remove(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let expected = etag::if_match(&req)?;
    let id = path.into_inner();
    caller
        .db(move |conn, caller| {
            Ok(repo::delete(
                conn,
                &id,
                expected.expected(),
                &caller.actor(),
            )?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The deliveries of a subscription (admin), newest event first, each with its attempts.
#[utoipa::path(
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("id" = String, Path), DeliveryQuery),
    responses((status = 200, body = Page<DeliveryDto>))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let id = path.into_inner();
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            pagination::decode(c)?
                .strip_prefix("delivery:")
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(|| ApiError::validation("cursor", "is not a cursor this API issued"))?,
        ),
    };
    let rows = caller
        .db(move |conn, _| {
            repo::find(conn, &id)?.ok_or_else(|| no_webhook(&id))?;
            Ok(repo::deliveries(conn, &id, before, limit + 1)?)
        })
        .await?;
    let page = pagination::page(
        rows,
        limit,
        |(d, _)| format!("delivery:{}", d.event_position),
        delivery_dto,
    );
    Ok(HttpResponse::Ok().json(page))
}

/// Send a delivered or failed delivery again (admin): pending and due at once, the retry
/// schedule from its start; its attempts so far stay in its history. 409 if it is pending.
#[utoipa::path(
    operation_id = "redeliver_webhook_delivery",
    tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)),
    responses(
        (status = 200, body = DeliveryDto),
        (status = 409, description = "the delivery is pending already", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_WEBHOOKS)?;
    let (id, delivery) = path.into_inner();
    let found = caller
        .db(move |conn, caller| Ok(repo::redeliver(conn, &id, &delivery, &caller.actor())?))
        .await?;
    Ok(HttpResponse::Ok().json(delivery_dto(found)))
}

/// A subscription as `GET /webhooks/{id}` shows it (without its secret), for its event;
/// `null` once it is removed.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    id: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let dto = match repo::find(conn, id)? {
        Some(s) => Some(WebhookDto::of(&s).map_err(|e| {
            diesel::result::Error::QueryBuilderError(format!("webhook {id}: {e}").into())
        })?),
        None => None,
    };
    super::dto::represented(dto, None)
}
