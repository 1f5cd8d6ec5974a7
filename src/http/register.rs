//! Managing the register itself (admin): which editions are loaded, loading a newer one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::{Caller, Idempotent, body_of, created_response};
use super::json::Json;
use crate::auth::policy;
use crate::error::{ApiError, Problem};
use crate::persistence::register::{self, ImportError, ImportReport, Retirement};

#[derive(Debug, Serialize, ToSchema)]
pub struct EditionDto {
    /// Gebietsstand of the edition.
    pub edition: NaiveDate,
    pub imported_at: DateTime<Utc>,
    pub records: i32,
    /// `system` for the edition shipped with the service, else the subject of the admin token.
    pub imported_by: String,
}

fn edition_dto(e: register::Edition) -> EditionDto {
    EditionDto {
        edition: e.edition,
        imported_at: e.imported_at.and_utc(),
        records: e.records,
        imported_by: e.imported_by,
    }
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
    let dtos: Vec<EditionDto> = rows.into_iter().map(edition_dto).collect();
    Ok(HttpResponse::Ok().json(dtos))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The edition as TSV, as written by `tools/gv100ad_to_tsv.py` (with its
    /// `# edition<TAB>YYYY-MM-DD` line).
    pub content: String,
    /// Load the edition even if it retires (by leaving them out) more than 5 % of the
    /// register's current entries; without it such an edition is refused with 409.
    #[serde(default)]
    pub force: bool,
}

/// Load a newer register edition, audited (an entry per municipality it inserts or changes
/// and one for the edition with the counts). Keys missing from it are kept with `valid_to`
/// set to the day before the edition; no key is ever deleted. Refused: a file that does not
/// parse or whose kinds contradict their keys (422), an edition already loaded or older than
/// the latest one (409), one that would retire more than 5 % of the current entries unless
/// `force` is set (409). With `Idempotency-Key`, a retry with the same key and body gets the
/// first response (instead of 409 for an edition already loaded).
#[utoipa::path(
    operation_id = "import_register_edition",
    tag = "register",
    params(
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    request_body = ImportRequest,
    responses(
        (status = 201, body = ImportReport),
        (status = 409, description = "edition already loaded, older than the latest one, or retiring more than 5 % of the register without `force`", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/register/editions")]
pub async fn import_edition(
    caller: Caller,
    req: HttpRequest,
    body: Json<ImportRequest, { super::errors::JSON_LIMIT }>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_REGISTER)?;
    let idem = Idempotent::of(&req, "import_register_edition", &*body)?;
    let ImportRequest { content, force } = body.into_inner();
    let parsed = register::parse(&content, NaiveDate::MIN)
        .map_err(|e| ApiError::validation("content", e))?;
    let edition = parsed.edition.ok_or_else(|| {
        ApiError::validation("content", "names no edition (`# edition<TAB>YYYY-MM-DD`)")
    })?;
    let retirement = Retirement::from_force(force);
    let created = caller
        .db(move |conn, caller| {
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let report =
                    register::import(conn, edition, &parsed.rows, &caller.actor(), retirement)
                        .map_err(|e| match e {
                            ImportError::Database(e) => ApiError::from(e),
                            refused => ApiError::Conflict(refused.to_string()),
                        })?;
                Ok(((), edition.to_string(), body_of(&report)?))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::CREATED, |_| None))
}

/// The edition as `GET /register/editions` lists it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    key: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let found = register::editions(conn)?
        .into_iter()
        .find(|e| e.edition.to_string() == key);
    super::dto::represented(found.map(edition_dto), None)
}
