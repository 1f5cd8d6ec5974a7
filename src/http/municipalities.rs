//! The municipality register.

use actix_web::{HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::pagination::{self, Page};
use crate::auth::policy;
use crate::domain::calendar::{business_date_problem, parse_date};
use crate::domain::{Ags, KreisKey, MunicipalityKind};
use crate::error::{ApiError, Problem};
use crate::persistence::municipalities::{self as repo, Municipality, MunicipalityFilter};

/// An entry of the register (Destatis GV100AD).
#[derive(Debug, Serialize, ToSchema)]
pub struct MunicipalityDto {
    /// Amtlicher Gemeindeschlüssel, 8 digits; a Landkreis is its Kreis key + `000`.
    #[schema(example = "16063105")]
    pub ags: String,
    #[schema(example = "Eisenach, Stadt")]
    pub name: String,
    /// `kreisfreie_stadt`, `landkreis`, `stadt` or `gemeinde`.
    pub kind: String,
    /// The 5-digit Kreis key.
    #[schema(example = "16063")]
    pub kreis: String,
    /// The 4-digit Gemeindeverband (Verwaltungsgemeinschaft or erfüllende Gemeinde) key part.
    pub verband: Option<String>,
    pub population: Option<i64>,
    pub area_ha: Option<i64>,
    pub postcode: Option<String>,
    pub valid_from: Option<NaiveDate>,
    /// Set once the key has left the register (merger); the key is never deleted.
    pub valid_to: Option<NaiveDate>,
    /// The register edition (Gebietsstand) the entry comes from.
    pub edition: NaiveDate,
}

impl From<Municipality> for MunicipalityDto {
    fn from(m: Municipality) -> Self {
        MunicipalityDto {
            ags: m.ags,
            name: m.name,
            kind: m.kind.as_str().to_owned(),
            kreis: m.kreis,
            verband: m.verband,
            population: m.population,
            area_ha: m.area_ha,
            postcode: m.postcode,
            valid_from: m.valid_from,
            valid_to: m.valid_to,
            edition: m.edition,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 5-digit Kreis key, e.g. `16063` (Wartburgkreis).
    #[param(pattern = "^160[0-9]{2}$")]
    pub kreis: Option<String>,
    /// Part of the name, any case.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `gemeinde` (every Gemeinde, kreisfreie Städte included) or `kreis` (Landkreise and
    /// kreisfreie Städte).
    #[param(pattern = "^(gemeinde|kreis)$")]
    pub level: Option<String>,
    /// The day the entries must be valid on; default today. With `all`, historical keys too.
    #[param(pattern = "^([0-9]{4}-[0-9]{2}-[0-9]{2}|all)$")]
    pub valid_on: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// List the register: current Gemeinden and Kreise, filtered.
#[utoipa::path(
    operation_id = "list_municipalities",
    tag = "register",
    params(ListQuery),
    responses(
        (status = 200, body = Page<MunicipalityDto>),
    )
)]
#[get("/municipalities")]
pub async fn list(caller: Caller, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let q = query.into_inner();
    let kreis = q
        .kreis
        .as_deref()
        .map(|k| {
            KreisKey::parse(k)
                .map(|k| k.as_str().to_owned())
                .map_err(|e| ApiError::validation("kreis", e.to_string()))
        })
        .transpose()?;
    let kinds: Vec<MunicipalityKind> = match q.level.as_deref() {
        None => vec![],
        Some("gemeinde") => MunicipalityKind::ALL
            .into_iter()
            .filter(|k| k.is_gemeinde())
            .collect(),
        Some("kreis") => MunicipalityKind::ALL
            .into_iter()
            .filter(|k| k.is_kreis())
            .collect(),
        Some(_) => return Err(ApiError::validation("level", "must be gemeinde or kreis")),
    };
    let valid_on = match q.valid_on.as_deref() {
        None => Some(caller.today()),
        Some("all") => None,
        Some(d) => {
            let day = parse_date(d)
                .map_err(|_| ApiError::validation("valid_on", "must be YYYY-MM-DD or all"))?;
            if let Some(problem) = business_date_problem(day) {
                return Err(ApiError::validation("valid_on", problem));
            }
            Some(day)
        }
    };
    let name_contains = q.q.filter(|s| !s.trim().is_empty());
    if name_contains
        .as_ref()
        .is_some_and(|s| s.chars().count() > 100)
    {
        return Err(ApiError::validation("q", "at most 100 characters"));
    }
    let limit = pagination::limit(q.limit)?;
    let after = q.cursor.as_deref().map(pagination::decode).transpose()?;
    let filter = MunicipalityFilter {
        kreis,
        name_contains,
        kinds,
        valid_on,
        after,
        limit: limit + 1,
    };
    let rows = caller
        .db(move |conn, _| Ok(repo::list(conn, &filter)?))
        .await?;
    let page = pagination::page(rows, limit, |m| m.ags.clone(), MunicipalityDto::from);
    Ok(HttpResponse::Ok().json(page))
}

/// One register entry, current or historical.
#[utoipa::path(
    operation_id = "get_municipality",
    tag = "register",
    params((
        "ags" = String,
        Path,
        description = "8-digit AGS of Thuringia (`160…`)",
        example = "16063105",
        pattern = "^160[0-9]{5}$"
    )),
    responses(
        (status = 200, body = MunicipalityDto),
        (status = 400, description = "malformed AGS", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/municipalities/{ags}")]
pub async fn get(caller: Caller, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let ags =
        Ags::parse(&path.into_inner()).map_err(|e| ApiError::BadRequest(format!("the AGS {e}")))?;
    let key = ags.as_str().to_owned();
    let found = caller
        .db(move |conn, _| Ok(repo::find(conn, &key)?))
        .await?;
    match found {
        Some(m) => Ok(HttpResponse::Ok().json(MunicipalityDto::from(m))),
        None => Err(ApiError::NotFound(format!(
            "no municipality with AGS {ags}"
        ))),
    }
}

/// The register entry as `GET /municipalities/{ags}` shows it, for its event.
pub(crate) fn represent(
    conn: &mut crate::persistence::AnyConnection,
    ags: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let found = repo::find(conn, ags)?;
    super::dto::represented(found.map(MunicipalityDto::from), None)
}
