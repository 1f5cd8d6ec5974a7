//! Applications (cases): create, read, list, edit drafts, lifecycle transitions, history.

pub mod dto;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use self::dto::{
    ApplicationDto, ApplicationPatch, ApplicationSummary, NewApplication, TransitionBody,
};
use super::caller::{Caller, no_application};
use super::dto::AuditEventDto;
use super::etag;
use super::json::Json;
use super::pagination::{self, Page};
use crate::auth::policy;
use crate::domain::calendar::instant_problem;
use crate::domain::{Action, Ags, KreisKey, Status};
use crate::error::{ApiError, FieldError, Problem};
use crate::persistence::applications::{
    self as repo, Case, Created, Idempotency, ListFilter, TransitionRequest,
};

fn with_etag(status: StatusCode, case: &Case, now: NaiveDateTime) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(etag::header(case.row.version))
        .json(ApplicationDto::new(case, now))
}

/// Create a draft (applicant, for one of its municipalities). With `Idempotency-Key`, a retry
/// with the same key and body gets the first response (`Idempotent-Replayed: true`); the
/// same key with another body gets 422.
#[utoipa::path(
    operation_id = "create_application",
    tag = "applications",
    params((
        "Idempotency-Key" = Option<String>,
        Header,
        description = "makes a retry safe; 1 to 255 visible ASCII characters",
        pattern = "^[!-~]{1,255}$"
    )),
    request_body = NewApplication,
    responses(
        (status = 201, body = ApplicationDto, headers(("ETag" = String), ("Location" = String))),
    )
)]
#[post("/applications")]
pub async fn create(
    caller: Caller,
    req: HttpRequest,
    body: Json<NewApplication>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::CREATE_APPLICATIONS)?;
    let key = super::caller::idempotency_key(&req)?;
    let body = body.into_inner();
    let request_hash = format!(
        "{:x}",
        Sha256::digest(serde_json::to_vec(&body).map_err(ApiError::internal)?)
    );
    if !caller.acts_for(&body.lead_ags) {
        return Err(ApiError::Forbidden(format!(
            "your token does not act for {}; lead_ags must be one of {}",
            body.lead_ags,
            caller.keys.join(", ")
        )));
    }
    let (programme, content) = body.into_content().map_err(ApiError::Validation)?;
    let created = caller
        .db(move |conn, caller| {
            let idem = key.as_deref().map(|k| Idempotency {
                key: k,
                request_hash: &request_hash,
            });
            let render = |c: &Case| {
                serde_json::to_string(&ApplicationDto::new(c, caller.now)).unwrap_or_default()
            };
            Ok(repo::create(
                conn,
                &programme,
                &content,
                &caller.writer(),
                idem,
                &render,
            )?)
        })
        .await?;
    // A create answers the case at its first version; a replay is that same first answer.
    let (status, body, id, replayed) = match created {
        Created::New { id, body, .. } => (201, body, id, false),
        Created::Replay { status, body, id } => (status, body, id, true),
    };
    let mut resp = HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED));
    resp.insert_header((header::LOCATION, format!("/api/v1/applications/{id}")))
        .insert_header(etag::header(repo::FIRST_VERSION))
        .content_type("application/json");
    if replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(resp.body(body))
}

/// One case with its `ETag` (owner or staff; a case of another municipality is 404).
#[utoipa::path(
    operation_id = "get_application",
    tag = "applications",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = ApplicationDto, headers(("ETag" = String))),
    )
)]
#[get("/applications/{id}")]
pub async fn get(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let now = caller.now;
    let case = caller
        .db(move |conn, caller| {
            repo::find(conn, &id, caller.scope())?.ok_or_else(|| no_application(&id))
        })
        .await?;
    Ok(with_etag(StatusCode::OK, &case, now))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One status or several, comma-separated (`submitted,in_review`).
    pub status: Option<String>,
    #[param(example = "THUEREGOVRL-2024")]
    pub programme: Option<String>,
    /// Cases in which this municipality takes part (lead or partner).
    #[param(example = "16063105", pattern = "^160[0-9]{5}$")]
    pub ags: Option<String>,
    /// Cases in which a municipality of this Kreis takes part.
    #[param(example = "16063", pattern = "^160[0-9]{2}$")]
    pub kreis: Option<String>,
    /// The year of the case number (the year the case was opened).
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
    /// Cases changed at or after this time (RFC 3339), for incremental fetches.
    #[serde(default, deserialize_with = "crate::http::strict::instant_option")]
    pub updated_since: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

impl ListQuery {
    fn filter(self) -> Result<ListFilter, ApiError> {
        let mut errors = Vec::new();
        let statuses: Vec<String> = match &self.status {
            None => Vec::new(),
            Some(s) => s
                .split(',')
                .filter_map(|one| match one.trim().parse::<Status>() {
                    Ok(st) => Some(st.as_str().to_owned()),
                    Err(e) => {
                        errors.push(FieldError::new("status", e));
                        None
                    }
                })
                .collect(),
        };
        let ags = self.ags.and_then(|a| match Ags::parse(&a) {
            Ok(a) => Some(a.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("ags", e.to_string()));
                None
            }
        });
        let kreis = self.kreis.and_then(|k| match KreisKey::parse(&k) {
            Ok(k) => Some(k.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("kreis", e.to_string()));
                None
            }
        });
        if self.year.is_some_and(|y| !(2000..=2200).contains(&y)) {
            errors.push(FieldError::new("year", "must be between 2000 and 2200"));
        }
        if let Some(problem) = self.updated_since.and_then(instant_problem) {
            errors.push(FieldError::new("updated_since", problem));
        }
        let limit = pagination::limit(self.limit)?;
        let after = match self.cursor.as_deref() {
            None => None,
            Some(c) => Some(decode_cursor(c)?),
        };
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(ListFilter {
            statuses,
            programme: self.programme,
            ags,
            kreis,
            year: self.year,
            updated_since: self.updated_since.map(|t| t.naive_utc()),
            after,
            limit: limit + 1,
        })
    }
}

fn cursor_key(r: &repo::ApplicationRow) -> String {
    format!("{}|{}", r.created_at.and_utc().timestamp_micros(), r.id)
}

fn decode_cursor(c: &str) -> Result<(NaiveDateTime, String), ApiError> {
    let text = pagination::decode(c)?;
    text.split_once('|')
        .and_then(|(micros, id)| {
            let t = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((t.naive_utc(), id.to_owned()))
        })
        .ok_or_else(|| ApiError::validation("cursor", "is not a cursor this API issued"))
}

/// Cases, newest first (applicants: only cases of their municipalities; ministry: 403, it
/// reads aggregates).
#[utoipa::path(
    operation_id = "list_applications",
    tag = "applications",
    params(ListQuery),
    responses(
        (status = 200, body = Page<ApplicationSummary>),
    )
)]
#[get("/applications")]
pub async fn list(caller: Caller, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let filter = query.into_inner().filter()?;
    let limit = filter.limit - 1;
    let rows = caller
        .db(move |conn, caller| Ok(repo::list(conn, caller.scope(), &filter)?))
        .await?;
    let page: Page<ApplicationSummary> =
        pagination::page(rows, limit, cursor_key, ApplicationSummary::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Edit a draft (the lead applicant; `If-Match` required). Submitted cases change only
/// through their lifecycle.
#[utoipa::path(
    operation_id = "update_application",
    tag = "applications",
    params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = ApplicationPatch,
    responses(
        (status = 200, body = ApplicationDto, headers(("ETag" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/applications/{id}")]
pub async fn update(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<ApplicationPatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::EDIT_DRAFTS)?;
    let expected = etag::if_match(&req)?;
    let id = path.into_inner();
    let patch = body.into_inner();
    let now = caller.now;
    let case = caller
        .db(move |conn, caller| {
            let edit = |c: &mut _, p: &mut String| patch.apply(c, p);
            let reason = patch.reason.as_deref();
            Ok(repo::update_draft(
                conn,
                &id,
                expected.expected(),
                &caller.writer(),
                &edit,
                reason,
            )?)
        })
        .await?;
    Ok(with_etag(StatusCode::OK, &case, now))
}

/// A lifecycle action (`If-Match` required). Who may do what from which status:
/// `docs/state-machine.md`. A role that never performs the action gets 403, an action
/// impossible in the current status 409; approve, reject, close and revoke are refused with
/// 422 naming the notice to issue instead.
#[utoipa::path(
    operation_id = "transition_application",
    tag = "applications",
    params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body = TransitionBody,
    responses(
        (status = 200, body = ApplicationDto, headers(("ETag" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/applications/{id}/transitions")]
pub async fn transition(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<TransitionBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let expected = etag::if_match(&req)?;
    let id = path.into_inner();
    let body = body.into_inner();
    let action: Action = body.action.parse().map_err(|_| {
        ApiError::validation(
            "action",
            format!(
                "unknown action {:?}; one of {}",
                body.action,
                Action::ALL
                    .iter()
                    .filter(|a| a.driving_notice().is_none())
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    let now = caller.now;
    let case = caller
        .db(move |conn, caller| {
            let actual: Option<Vec<(i32, crate::domain::Money)>> = body
                .actual_costs
                .as_ref()
                .map(|a| a.iter().map(|c| (c.line, c.amount)).collect());
            let t = TransitionRequest {
                action,
                reason: body.reason.as_deref(),
                response_due: body.response_due,
                expected: expected.expected(),
                actual_costs: actual.as_deref(),
            };
            Ok(repo::apply_transition(conn, &id, &caller.writer(), &t)?)
        })
        .await?;
    Ok(with_etag(StatusCode::OK, &case, now))
}

/// The case's history: every event with time, actor, role, action, from, to, reason and the
/// changed fields before and after (owner or staff).
#[utoipa::path(
    operation_id = "application_history",
    tag = "applications",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Vec<AuditEventDto>),
    )
)]
#[get("/applications/{id}/history")]
pub async fn history(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_APPLICATIONS)?;
    let id = path.into_inner();
    let events = caller
        .db(move |conn, caller| {
            repo::history(conn, &id, caller.scope())?.ok_or_else(|| no_application(&id))
        })
        .await?;
    let dtos: Vec<AuditEventDto> = events.into_iter().map(AuditEventDto::from).collect();
    Ok(HttpResponse::Ok().json(dtos))
}

/// The case as `GET /applications/{id}` shows it at `at`, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    id: &str,
    at: NaiveDateTime,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let case = repo::find(conn, id, crate::persistence::applications::Scope::All)?;
    super::dto::represented(
        case.as_ref().map(|c| ApplicationDto::new(c, at)),
        Some(id.to_owned()),
    )
}

/// `represent` of a case a write holds as it wrote it.
pub(crate) fn represent_written(
    case: &crate::persistence::applications::Case,
    at: NaiveDateTime,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    super::dto::represented(
        Some(ApplicationDto::new(case, at)),
        Some(case.row.id.clone()),
    )
}
