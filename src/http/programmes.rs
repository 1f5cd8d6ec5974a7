//! Programmes (Förderprogramme): read by every role, changed by admin.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::dto::field_errors;
use super::etag;
use super::json::Json;
use crate::auth::policy;
use crate::domain::Money;
use crate::domain::application::Violation;
use crate::domain::rate::{parse_rate, rate_string};
use crate::error::ApiError;
use crate::persistence::programmes::{
    self as repo, FundingObject, FundingObjectChange, Programme, ProgrammeChanges, ProgrammeEdit,
    UpdateOutcome,
};

#[derive(Debug, Serialize, ToSchema)]
pub struct FundingObjectDto {
    #[schema(example = "c")]
    pub code: String,
    pub description: String,
    /// Whether applications for this object are accepted at present.
    pub fundable_now: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeDto {
    #[schema(example = "THUEREGOVRL-2024")]
    pub code: String,
    pub name: String,
    pub legal_basis: String,
    /// Default financing type: `anteil`, `fehlbedarf`, `festbetrag` or `voll`.
    pub financing_type: String,
    /// Maximum funding rate as a decimal string (`"0.80"` = 80 %).
    pub max_rate: Option<String>,
    #[schema(value_type = Option<String>, example = "500000.00")]
    pub min_grant: Option<Money>,
    #[schema(value_type = Option<String>, example = "500000.00")]
    pub max_grant: Option<Money>,
    /// Minimum number of partner municipalities (joint applications).
    pub min_partners: Option<i32>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub call_opens: Option<NaiveDate>,
    pub call_closes: Option<NaiveDate>,
    pub funding_objects: Vec<FundingObjectDto>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl ProgrammeDto {
    fn new(p: Programme, objects: Vec<FundingObject>) -> Self {
        ProgrammeDto {
            max_rate: p.max_rate_bp.map(rate_string),
            min_grant: p.min_grant_cents,
            max_grant: p.max_grant_cents,
            code: p.code,
            name: p.name,
            legal_basis: p.legal_basis,
            financing_type: p.financing_type.as_str().to_owned(),
            min_partners: p.min_partners,
            valid_from: p.valid_from,
            valid_to: p.valid_to,
            call_opens: p.call_opens,
            call_closes: p.call_closes,
            funding_objects: objects
                .into_iter()
                .map(|o| FundingObjectDto {
                    code: o.code,
                    description: o.description,
                    fundable_now: o.fundable_now,
                })
                .collect(),
            version: p.version,
            updated_at: p.updated_at.and_utc(),
        }
    }
}

/// All programmes with their funding objects.
#[utoipa::path(
    operation_id = "list_programmes",
    tag = "programmes",
    responses(
        (status = 200, body = Vec<ProgrammeDto>),
    )
)]
#[get("/programmes")]
pub async fn list(caller: Caller) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let rows = caller.db(|conn, _| Ok(repo::list(conn)?)).await?;
    let dtos: Vec<ProgrammeDto> = rows
        .into_iter()
        .map(|(p, o)| ProgrammeDto::new(p, o))
        .collect();
    Ok(HttpResponse::Ok().json(dtos))
}

/// One programme; its `ETag` is needed to change it.
#[utoipa::path(
    operation_id = "get_programme",
    tag = "programmes",
    params(("code" = String, Path, example = "THUEREGOVRL-2024")),
    responses(
        (status = 200, body = ProgrammeDto, headers(("ETag" = String))),
    )
)]
#[get("/programmes/{code}")]
pub async fn get(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let code = path.into_inner();
    let found = {
        let code = code.clone();
        caller
            .db(move |conn, _| Ok(repo::find(conn, &code)?))
            .await?
    };
    let (p, o) = found.ok_or_else(|| ApiError::NotFound(format!("no programme {code}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag::etag(p.version)))
        .json(ProgrammeDto::new(p, o)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FundingObjectPatch {
    pub code: String,
    /// Required for a new funding object.
    pub description: Option<String>,
    pub fundable_now: bool,
}

/// Fields to change; absent fields stay as they are, `null` clears an optional one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammePatch {
    pub name: Option<String>,
    pub legal_basis: Option<String>,
    /// Above 0, at most 1, at most four decimals; required (not `null`) for an `anteil`
    /// programme.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, example = "0.80", pattern = "^[0-9]+(\\.[0-9]{1,4})?$")]
    pub max_rate: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub min_grant: Option<Option<Money>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<crate::schemas::Amount>)]
    pub max_grant: Option<Option<Money>>,
    #[serde(default, deserialize_with = "super::whole_i32_double_option")]
    #[schema(value_type = Option<i32>, minimum = 1)]
    pub min_partners: Option<Option<i32>>,
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default, deserialize_with = "crate::http::strict::date_double_option")]
    pub valid_to: Option<Option<NaiveDate>>,
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default, deserialize_with = "crate::http::strict::date_double_option")]
    pub call_opens: Option<Option<NaiveDate>>,
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default, deserialize_with = "crate::http::strict::date_double_option")]
    pub call_closes: Option<Option<NaiveDate>>,
    #[serde(default)]
    pub funding_objects: Vec<FundingObjectPatch>,
    /// Why, for the audit log.
    pub reason: Option<String>,
}

/// Change a programme (admin). Needs `If-Match`; every change is in the audit log with its
/// before and after.
///
/// The programme as the change would leave it is checked as a whole (a minimum grant not
/// above the maximum, `valid_to` not before `valid_from`, `call_closes` not before
/// `call_opens`, a maximum rate for an `anteil` programme, funding objects with a code and a
/// description): one 422 names every field that breaks a rule, and nothing changes.
#[utoipa::path(
    operation_id = "update_programme",
    tag = "programmes",
    params(("code" = String, Path, example = "THUEREGOVRL-2024"), ("If-Match" = String, Header)),
    request_body = ProgrammePatch,
    responses(
        (status = 200, body = ProgrammeDto, headers(("ETag" = String))),
    )
)]
#[patch("/programmes/{code}")]
pub async fn update(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: Json<ProgrammePatch>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::MANAGE_PROGRAMMES)?;
    let expected = etag::if_match(&req)?;
    let code = path.into_inner();
    let b = body.into_inner();
    // What cannot even be read is refused here; every rule of the programme as the change
    // would leave it is checked against the stored programme in the transaction
    // (`domain::programme`), and the answer names all of them at once.
    let mut rejected = Vec::new();
    let max_rate_bp = b.max_rate.map(|r| {
        r.and_then(|r| {
            parse_rate(&r)
                .map_err(|message| {
                    rejected.push(Violation {
                        field: "max_rate".into(),
                        message,
                    })
                })
                .ok()
        })
    });
    // A rate that cannot be read changes nothing: the rules see the stored one.
    let max_rate_bp = max_rate_bp.filter(|_| rejected.is_empty());
    let fields = ProgrammeChanges {
        name: b.name,
        legal_basis: b.legal_basis,
        max_rate_bp,
        min_grant_cents: b.min_grant.map(|m| m.map(Money::cents)),
        max_grant_cents: b.max_grant.map(|m| m.map(Money::cents)),
        min_partners: b.min_partners,
        valid_to: b.valid_to,
        call_opens: b.call_opens,
        call_closes: b.call_closes,
    };
    let objects: Vec<FundingObjectChange> = b
        .funding_objects
        .into_iter()
        .map(|o| FundingObjectChange {
            code: o.code,
            description: o.description,
            fundable_now: o.fundable_now,
        })
        .collect();
    let edit = ProgrammeEdit {
        fields,
        objects,
        rejected,
    };
    let reason = b.reason;
    let outcome = {
        let code = code.clone();
        caller
            .db(move |conn, caller| {
                let actor = caller.actor();
                Ok(repo::update(
                    conn,
                    &code,
                    expected.expected(),
                    &edit,
                    &actor,
                    reason.as_deref(),
                )?)
            })
            .await?
    };
    match outcome {
        UpdateOutcome::Updated(p, o) => Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, etag::etag(p.version)))
            .json(ProgrammeDto::new(p, o))),
        UpdateOutcome::NotFound => Err(ApiError::NotFound(format!("no programme {code}"))),
        UpdateOutcome::Stale => Err(ApiError::PreconditionFailed(
            "the programme has changed since you read it; GET it again".into(),
        )),
        UpdateOutcome::Invalid(violations) => Err(ApiError::Validation(field_errors(violations))),
    }
}

/// The programme as `GET /programmes/{code}` shows it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    code: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let found = repo::find(conn, code)?;
    super::dto::represented(found.map(|(p, o)| ProgrammeDto::new(p, o)), None)
}
