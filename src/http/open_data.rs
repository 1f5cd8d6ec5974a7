//! Open data (in the spirit of the Thüringer Transparenzgesetz, ThürTG): the signed grants of a
//! year without personal data, as JSON, CSV or German CSV, under the Datenlizenz Deutschland –
//! Namensnennung – Version 2.0. Published without a token when `OPEN_DATA=true`; otherwise a
//! token of a role that reads reports is needed.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::reports::{check_year, format_of, respond};
use crate::auth::policy;
use crate::domain::calendar::german_date;
use crate::domain::money::cents_text;
use crate::error::ApiError;
use crate::reporting::table::{Cell, Column, Table};
use crate::reporting::{self, OpenGrant};

/// Whether the grants are published without a token (`Settings::open_data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenData(pub bool);

pub const LICENSE_ID: &str = "dl-de/by-2-0";
pub const LICENSE_NAME: &str = "Datenlizenz Deutschland – Namensnennung – Version 2.0";
pub const LICENSE_URL: &str = "https://www.govdata.de/dl-de/by-2-0";
/// The attribution the licence asks for.
pub const ATTRIBUTION: &str = "Freistaat Thüringen, Kompetenzzentrum Verwaltung 4.0";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GrantsParams {
    /// The German calendar year in which the grant notices were signed.
    #[param(minimum = 2000, maximum = 2200, example = 2019)]
    pub year: i32,
    /// `json` (default), `csv` or `csv-de`.
    #[param(pattern = "^(json|csv|csv-de)$")]
    pub format: Option<String>,
}

/// A signed grant, without personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpenGrantDto {
    /// The notice's number (Aktenzeichen of the Bescheid).
    pub notice_number: Option<String>,
    /// The day it was signed (German time).
    pub signed_on: NaiveDate,
    /// The municipality granted (the lead of a joint project).
    pub ags: String,
    pub municipality: Option<String>,
    pub kreis: String,
    pub kreis_name: Option<String>,
    pub programme: String,
    pub funding_object: Option<String>,
    /// Interkommunal: several municipalities together (`partners`: the others' keys).
    pub joint: bool,
    pub partners: Vec<String>,
    pub purpose: Option<String>,
    #[schema(value_type = String, example = "40000.00")]
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct License {
    pub id: &'static str,
    pub name: &'static str,
    pub url: &'static str,
    pub attribution: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenGrantsReport {
    pub year: i32,
    pub license: License,
    pub count: usize,
    #[schema(value_type = String)]
    pub total: String,
    pub grants: Vec<OpenGrantDto>,
}

fn dto(g: &OpenGrant) -> OpenGrantDto {
    OpenGrantDto {
        notice_number: g.notice_number.clone(),
        signed_on: german_date(g.signed_at),
        ags: g.ags.clone(),
        municipality: g.municipality_name.clone(),
        kreis: g.kreis.clone(),
        kreis_name: g.kreis_name.clone(),
        programme: g.programme.clone(),
        funding_object: g.funding_object.clone(),
        joint: g.joint,
        partners: g
            .partners
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| p.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        purpose: g.purpose.clone(),
        amount: cents_text(g.amount, '.'),
    }
}

fn table(dtos: &[OpenGrantDto]) -> Table {
    let opt = |s: &Option<String>| s.clone().map_or(Cell::Empty, Cell::Text);
    Table {
        columns: vec![
            Column::new("notice_number", "Bescheidnummer"),
            Column::new("signed_on", "Bescheiddatum"),
            Column::new("ags", "Gemeindeschlüssel"),
            Column::new("municipality", "Gemeinde"),
            Column::new("kreis", "Kreisschlüssel"),
            Column::new("kreis_name", "Kreis"),
            Column::new("programme", "Förderprogramm"),
            Column::new("funding_object", "Fördergegenstand"),
            Column::new("joint", "Interkommunal"),
            Column::new("partners", "Partnerkommunen"),
            Column::new("purpose", "Zuwendungszweck"),
            Column::new("amount", "Zuwendung (EUR)"),
        ],
        rows: dtos
            .iter()
            .map(|g| {
                vec![
                    opt(&g.notice_number),
                    Cell::Text(g.signed_on.to_string()),
                    Cell::Text(g.ags.clone()),
                    opt(&g.municipality),
                    Cell::Text(g.kreis.clone()),
                    opt(&g.kreis_name),
                    Cell::Text(g.programme.clone()),
                    opt(&g.funding_object),
                    Cell::Bool(g.joint),
                    Cell::Text(g.partners.join(" ")),
                    opt(&g.purpose),
                    Cell::Money(crate::domain::money::parse_cents_text(&g.amount).unwrap_or(0)),
                ]
            })
            .collect(),
    }
}

/// Refuses unless the grants are open or the caller's token may read reports.
async fn admit(req: &HttpRequest) -> Result<(), ApiError> {
    let open = req.app_data::<web::Data<OpenData>>().is_some_and(|o| o.0);
    if open {
        return Ok(());
    }
    let caller = Caller::extract(req).await?;
    caller.require(policy::READ_REPORTS)
}

/// The grant notices signed in a year, without personal data (open data, Datenlizenz
/// Deutschland – Namensnennung 2.0): municipality, Kreis, programme, funding object, purpose,
/// amount, date and notice number. Without a token when the service runs with
/// `OPEN_DATA=true`; otherwise for the roles that read reports. The licence is named in the
/// JSON and, for every format, in a `Link: <…>; rel="license"` header.
#[utoipa::path(
    operation_id = "open_data_grants",
    tag = "reports",
    params(GrantsParams),
    responses(
        (status = 200, description = "The grants; `text/csv` with `format=csv` or `csv-de`",
            content((OpenGrantsReport = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/open-data/grants")]
pub async fn grants(
    req: HttpRequest,
    params: web::Query<GrantsParams>,
) -> Result<HttpResponse, ApiError> {
    admit(&req).await?;
    let p = params.into_inner();
    let mut errors = Vec::new();
    let format = format_of(p.format.as_deref(), &mut errors);
    check_year("year", Some(p.year), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let year = p.year;
    let (pool, limits) = super::caller::app_parts(&req)?;
    let _turn = limits.heavy().await?;
    let grants = super::db(&pool, move |conn| Ok(reporting::open_grants(conn, year)?)).await?;
    let dtos: Vec<OpenGrantDto> = grants.iter().map(dto).collect();
    let total: i64 = grants.iter().map(|g| g.amount).sum();
    let report = OpenGrantsReport {
        year,
        license: License {
            id: LICENSE_ID,
            name: LICENSE_NAME,
            url: LICENSE_URL,
            attribution: ATTRIBUTION,
        },
        count: dtos.len(),
        total: cents_text(total, '.'),
        grants: dtos,
    };
    let csv_table = table(&report.grants);
    let mut resp = respond(format, &report, "zuwendungen", move |_| csv_table)?;
    resp.headers_mut().insert(
        header::LINK,
        header::HeaderValue::from_static("<https://www.govdata.de/dl-de/by-2-0>; rel=\"license\""),
    );
    Ok(resp)
}
