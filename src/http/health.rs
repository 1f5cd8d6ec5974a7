//! Liveness and readiness probes (unauthenticated).

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::limits::HealthPool;
use crate::error::{ApiError, Problem};
use crate::persistence;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthStatus {
    /// `ok`
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(operation_id = "health_live", tag = "operations", responses((status = 200, body = HealthStatus)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthStatus { status: "ok" })
}

/// The database answers and every migration is applied. The probe has a connection of its
/// own (`limits::HealthPool`): a pool exhausted by requests does not make it fail.
#[utoipa::path(operation_id = "health_ready", tag = "operations", responses(
    (status = 200, body = HealthStatus),
    (status = 503, description = "database unreachable or migrations pending", body = Problem, content_type = "application/problem+json"),
))]
#[get("/health/ready")]
pub async fn ready(pool: web::Data<HealthPool>) -> Result<HttpResponse, ApiError> {
    let pool = web::Data::new(pool.0.clone());
    let current = super::db(&pool, |conn| {
        persistence::ping(conn)?;
        persistence::migrations_current(conn).map_err(ApiError::internal)
    })
    .await
    .map_err(|e| match e {
        ApiError::ServiceUnavailable(m) => ApiError::ServiceUnavailable(m),
        other => {
            log::error!("readiness check failed: {other}");
            ApiError::ServiceUnavailable("the database is not ready".into())
        }
    })?;
    if !current {
        return Err(ApiError::ServiceUnavailable(
            "database migrations are pending".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(HealthStatus { status: "ok" }))
}
