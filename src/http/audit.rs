//! The audit log (admin): read it, and verify its hash chains.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::caller::Caller;
use super::dto::AuditEventDto;
use super::pagination::{self, Page};
use crate::auth::policy;
use crate::error::{ApiError, Problem};
use crate::persistence::audit::{self as repo, VerifyReport};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The append-only audit log, oldest first.
#[utoipa::path(
    operation_id = "list_audit_entries",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = Page<AuditEventDto>),
    )
)]
#[get("/audit")]
pub async fn list(caller: Caller, query: web::Query<AuditQuery>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_AUDIT)?;
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = q
        .cursor
        .as_deref()
        .map(pagination::decode)
        .transpose()?
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::validation("cursor", "is not a cursor this API issued"))
        })
        .transpose()?;
    let since = q.since.map(|s| s.naive_utc());
    let rows = caller
        .db(move |conn, _| Ok(repo::list(conn, since, after, limit + 1)?))
        .await?;
    let page = pagination::page(rows, limit, |e| e.id.to_string(), AuditEventDto::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Walks every record's hash chain and names the first broken entry.
#[utoipa::path(
    operation_id = "verify_audit_chain",
    tag = "audit",
    responses(
        (status = 200, description = "the log verifies", body = VerifyReport),
        (status = 409, description = "an entry does not verify; `detail` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit/verify")]
pub async fn verify(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_AUDIT)?;
    let report = caller.db(|conn, _| Ok(repo::verify(conn)?)).await?;
    match report.first_broken {
        None => Ok(HttpResponse::Ok().json(report)),
        Some(b) => Err(ApiError::Conflict(format!(
            "the audit log does not verify: entry {} ({} {} seq {}): {}",
            b.id, b.record_type, b.record_key, b.seq, b.problem
        ))),
    }
}
