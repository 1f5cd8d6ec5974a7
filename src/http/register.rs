//! Managing the register itself (admin): which editions are loaded, loading a newer one.

use actix_web::{HttpResponse, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::json::Json;
use crate::auth::policy;
use crate::error::{ApiError, Problem};
use crate::persistence::register::{self, ImportReport};

#[derive(Debug, Serialize, ToSchema)]
pub struct EditionDto {
    /// Gebietsstand of the edition.
    pub edition: NaiveDate,
    pub imported_at: DateTime<Utc>,
    pub records: i32,
    /// `system` for the edition shipped with the service, else the subject of the admin token.
    pub imported_by: String,
}

/// The register editions loaded so far.
#[utoipa::path(
    operation_id = "list_register_editions",
    tag = "register",
    responses(
        (status = 200, body = Vec<EditionDto>),
    )
)]
#[get("/register/editions")]
pub async fn list_editions(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_REGISTER)?;
    let rows = caller.db(|conn, _| Ok(register::editions(conn)?)).await?;
    let dtos: Vec<EditionDto> = rows
        .into_iter()
        .map(|e| EditionDto {
            edition: e.edition,
            imported_at: e.imported_at.and_utc(),
            records: e.records,
            imported_by: e.imported_by,
        })
        .collect();
    Ok(HttpResponse::Ok().json(dtos))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The edition as TSV, as written by `tools/gv100ad_to_tsv.py` (with its
    /// `# edition<TAB>YYYY-MM-DD` line).
    pub content: String,
}

/// Load a newer register edition. Keys missing from it are kept with `valid_to` set to the day
/// before the edition; no key is ever deleted.
#[utoipa::path(
    operation_id = "import_register_edition",
    tag = "register",
    request_body = ImportRequest,
    responses(
        (status = 201, body = ImportReport),
        (status = 409, description = "edition already loaded", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/register/editions")]
pub async fn import_edition(
    caller: Caller,
    body: Json<ImportRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_REGISTER)?;
    let parsed = register::parse(&body.content, NaiveDate::MIN)
        .map_err(|e| ApiError::validation("content", e))?;
    let edition = parsed.edition.ok_or_else(|| {
        ApiError::validation("content", "names no edition (`# edition<TAB>YYYY-MM-DD`)")
    })?;
    let report = caller
        .db(move |conn, caller| {
            let who = &caller.principal.subject;
            register::import(conn, edition, &parsed.rows, who).map_err(ApiError::internal)
        })
        .await?;
    if report.skipped_already_imported {
        return Err(ApiError::Conflict(format!(
            "the edition {edition} is already loaded"
        )));
    }
    Ok(HttpResponse::Created().json(report))
}
