//! Reports for the finance ministry (ministry, caseworker, approver, admin): volumes, the
//! pipeline on a day, budget utilisation, processing times. JSON by default; `format=csv`
//! (RFC 4180) and `format=csv-de` (German Excel).

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use crate::auth::policy;
use crate::domain::KreisKey;
use crate::domain::calendar::german_year;
use crate::domain::money::cents_text;
use crate::error::{ApiError, FieldError};
use crate::persistence::programmes;
use crate::reporting::table::{Cell, Column, Dialect, Table};
use crate::reporting::{self, Basis, GroupKey, VolumeQuery, VolumeRow};

/// `json`, `csv` or `csv-de`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv(Dialect),
}

pub(crate) fn format_of(f: Option<&str>, errors: &mut Vec<FieldError>) -> Format {
    match f.unwrap_or("json") {
        "json" => Format::Json,
        "csv" => Format::Csv(Dialect::Rfc4180),
        "csv-de" => Format::Csv(Dialect::German),
        other => {
            errors.push(FieldError::new(
                "format",
                format!("unknown format {other:?}; expected json, csv or csv-de"),
            ));
            Format::Json
        }
    }
}

pub(crate) fn check_year(field: &str, y: Option<i32>, errors: &mut Vec<FieldError>) {
    if let Some(y) = y
        && !(2000..=2200).contains(&y)
    {
        errors.push(FieldError::new(
            field,
            "must be a year between 2000 and 2200",
        ));
    }
}

/// The format asked for, after checking it and the years of the query (422 naming each field
/// that is wrong).
fn checked(format: Option<&str>, years: &[(&str, Option<i32>)]) -> Result<Format, ApiError> {
    let mut errors = Vec::new();
    let format = format_of(format, &mut errors);
    for (field, year) in years {
        check_year(field, *year, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(format)
}

fn money(cents: i64) -> String {
    cents_text(cents, '.')
}

/// The answer in the format asked for: the JSON report, or its table (which may read the
/// dialect, e.g. for German labels) as the CSV file `name`.
pub(crate) fn respond<T: Serialize>(
    format: Format,
    json: &T,
    name: &str,
    table: impl FnOnce(Dialect) -> Table,
) -> Result<HttpResponse, ApiError> {
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(json)),
        Format::Csv(dialect) => {
            let bytes = table(dialect)
                .to_csv(dialect)
                .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))?;
            let suffix = if dialect == Dialect::German {
                "-de"
            } else {
                ""
            };
            Ok(HttpResponse::Ok()
                .content_type("text/csv; charset=utf-8")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}{suffix}.csv\""),
                ))
                .body(bytes))
        }
    }
}

/// A computed report: its JSON document and its table (for CSV, and for the dashboard, which
/// shows the same figures: `crate::dashboard`).
pub(crate) struct Output<T> {
    pub report: T,
    pub table: Box<dyn FnOnce(Dialect) -> Table>,
}

impl<T: Serialize> Output<T> {
    fn respond(self, format: Format, name: &str) -> Result<HttpResponse, ApiError> {
        respond(format, &self.report, name, self.table)
    }
}

/// A programme that does not exist is a mistake in the request, not an empty report.
fn check_programme(
    conn: &mut crate::persistence::AnyConnection,
    code: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(code) = code
        && programmes::find(conn, code)?.is_none()
    {
        return Err(ApiError::validation(
            "programme",
            format!("no programme {code}"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Volumes

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VolumesParams {
    /// Which date puts a case into a year: `notice` (the day its grant notice was signed; the
    /// default), `submission` (the day it was submitted) or `payment` (money by the year it
    /// moved: payouts by their fiscal year, reclaims by the day of the revocation notice).
    #[param(example = "notice", pattern = "^(notice|submission|payment)$")]
    pub basis: Option<String>,
    /// Comma-separated, in the order wanted: `year`, `municipality`, `kreis`, `programme`,
    /// `funding_object`, `joint`. Default `year`; empty (`group_by=`) for one total row.
    #[param(example = "year,municipality")]
    pub group_by: Option<String>,
    /// First year (German calendar year), inclusive.
    #[param(minimum = 2000, maximum = 2200)]
    pub from: Option<i32>,
    /// Last year, inclusive.
    #[param(minimum = 2000, maximum = 2200)]
    pub to: Option<i32>,
    #[param(example = "THUEREGOVRL-2018")]
    pub programme: Option<String>,
    /// Only the municipalities of this Kreis (5-digit key); a joint case counts with the share
    /// of its partners there.
    #[param(example = "16063", pattern = "^160[0-9]{2}$")]
    pub kreis: Option<String>,
    /// The figures as known at the end of this day (German time): what was recorded later
    /// does not count, and the answer for a past day stays the same byte for byte. Default:
    /// today's knowledge, including what is recorded later today.
    #[param(example = "2024-12-31")]
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub as_of: Option<NaiveDate>,
    /// `json` (default), `csv` or `csv-de`.
    #[param(pattern = "^(json|csv|csv-de)$")]
    pub format: Option<String>,
}

/// One row: the keys it is grouped by (the others absent) and its measures.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolumeRowDto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// Official municipality key, with `municipality_name`, when grouped by municipality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub municipality_name: Option<String>,
    /// Kreis key, with `kreis_name`, when grouped by Kreis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kreis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kreis_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_object: Option<String>,
    /// Interkommunal (a joint case of several municipalities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint: Option<bool>,
    #[serde(flatten)]
    pub measures: MeasuresDto,
}

/// Counts and sums. A joint case's money is split over its partners by share, exactly; the
/// case is counted once, with its lead municipality, so counts and sums add up over rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeasuresDto {
    /// Grant notices (basis notice), submitted applications (submission) or released payouts
    /// (payment).
    pub count: i64,
    /// Requested by the cases (null on basis payment).
    #[schema(value_type = Option<String>, example = "9200000.00")]
    pub requested: Option<String>,
    /// Granted to the cases now, after amendments, final notices and revocations (null on
    /// basis payment).
    #[schema(value_type = Option<String>, example = "310620.00")]
    pub granted: Option<String>,
    /// Paid out (basis notice/submission: to date; payment: in the year).
    #[schema(value_type = String, example = "150000.00")]
    pub paid: String,
    /// Reclaimed by signed revocation notices.
    #[schema(value_type = String, example = "0.00")]
    pub reclaimed: String,
    /// Received back on reclaims (basis notice/submission: to date; payment: in the year of
    /// receipt).
    #[schema(value_type = String, example = "0.00")]
    pub repaid: String,
}

impl MeasuresDto {
    fn new(basis: Basis, m: reporting::Measures) -> MeasuresDto {
        let cash = basis == Basis::Payment;
        MeasuresDto {
            count: m.count,
            requested: (!cash).then(|| money(m.requested)),
            granted: (!cash).then(|| money(m.granted)),
            paid: money(m.paid),
            reclaimed: money(m.reclaimed),
            repaid: money(m.repaid),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VolumesReport {
    pub basis: String,
    pub group_by: Vec<String>,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub programme: Option<String>,
    pub kreis: Option<String>,
    /// The day whose end the figures are as known at; null: today's knowledge.
    pub as_of: Option<NaiveDate>,
    pub rows: Vec<VolumeRowDto>,
    /// The sum of the rows: the same whichever way the report is grouped.
    pub totals: MeasuresDto,
}

impl VolumesParams {
    pub(crate) fn validate(self) -> Result<(VolumeQuery, Format), ApiError> {
        let mut errors = Vec::new();
        let basis = Basis::parse(self.basis.as_deref().unwrap_or("notice")).unwrap_or_else(|e| {
            errors.push(FieldError::new("basis", e));
            Basis::Notice
        });
        let mut group_by = Vec::new();
        let keys = self.group_by.as_deref().unwrap_or("year");
        for part in keys.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match GroupKey::parse(part) {
                Ok(k) if group_by.contains(&k) => errors.push(FieldError::new(
                    "group_by",
                    format!("{part} is given twice"),
                )),
                Ok(k) => group_by.push(k),
                Err(e) => errors.push(FieldError::new("group_by", e)),
            }
        }
        check_year("from", self.from, &mut errors);
        check_year("to", self.to, &mut errors);
        check_year("as_of", self.as_of.map(|d| d.year()), &mut errors);
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            errors.push(FieldError::new("to", "must not be before from"));
        }
        let kreis = self.kreis.and_then(|k| match KreisKey::parse(&k) {
            Ok(k) => Some(k.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("kreis", e.to_string()));
                None
            }
        });
        let format = format_of(self.format.as_deref(), &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok((
            VolumeQuery {
                basis,
                group_by,
                from: self.from,
                to: self.to,
                programme: self.programme,
                kreis,
                as_of: self.as_of,
            },
            format,
        ))
    }
}

pub(crate) fn count_header(basis: Basis) -> &'static str {
    match basis {
        Basis::Notice => "Zuwendungsbescheide",
        Basis::Submission => "Anträge",
        Basis::Payment => "Auszahlungen",
    }
}

/// The columns of a grouping key (municipality and Kreis: the key and the name).
fn key_columns(k: GroupKey) -> &'static [Column] {
    const YEAR: &[Column] = &[Column::new("year", "Jahr")];
    const MUNICIPALITY: &[Column] = &[
        Column::new("ags", "Gemeindeschlüssel"),
        Column::new("municipality_name", "Gemeinde"),
    ];
    const KREIS: &[Column] = &[
        Column::new("kreis", "Kreisschlüssel"),
        Column::new("kreis_name", "Kreis"),
    ];
    const PROGRAMME: &[Column] = &[Column::new("programme", "Förderprogramm")];
    const FUNDING_OBJECT: &[Column] = &[Column::new("funding_object", "Fördergegenstand")];
    const JOINT: &[Column] = &[Column::new("joint", "Interkommunal")];
    match k {
        GroupKey::Year => YEAR,
        GroupKey::Municipality => MUNICIPALITY,
        GroupKey::Kreis => KREIS,
        GroupKey::Programme => PROGRAMME,
        GroupKey::FundingObject => FUNDING_OBJECT,
        GroupKey::Joint => JOINT,
    }
}

/// The report as a table: the key columns asked for, then the measures of the basis.
fn volumes_table(q: &VolumeQuery, rows: &[VolumeRow]) -> Table {
    let mut columns = Vec::new();
    for k in &q.group_by {
        columns.extend_from_slice(key_columns(*k));
    }
    let cash = q.basis == Basis::Payment;
    columns.push(Column::new("count", count_header(q.basis)));
    if !cash {
        columns.push(Column::new("requested", "Beantragt (EUR)"));
        columns.push(Column::new("granted", "Bewilligt (EUR)"));
    }
    columns.push(Column::new("paid", "Ausgezahlt (EUR)"));
    columns.push(Column::new("reclaimed", "Zurückgefordert (EUR)"));
    columns.push(Column::new("repaid", "Zurückgezahlt (EUR)"));
    let rows = rows
        .iter()
        .map(|r| {
            let mut cells: Vec<Cell> = Vec::new();
            for k in &q.group_by {
                match k {
                    GroupKey::Year => {
                        cells.push(r.year.map_or(Cell::Empty, |y| Cell::Int(y.into())))
                    }
                    GroupKey::Municipality => {
                        cells.push(r.ags.clone().into());
                        cells.push(r.municipality_name.clone().into());
                    }
                    GroupKey::Kreis => {
                        cells.push(r.kreis.clone().into());
                        cells.push(r.kreis_name.clone().into());
                    }
                    GroupKey::Programme => cells.push(r.programme.clone().into()),
                    GroupKey::FundingObject => cells.push(r.funding_object.clone().into()),
                    GroupKey::Joint => cells.push(r.joint.map_or(Cell::Empty, Cell::Bool)),
                }
            }
            let m = r.measures();
            cells.push(Cell::Int(m.count));
            if !cash {
                cells.push(Cell::Money(m.requested));
                cells.push(Cell::Money(m.granted));
            }
            cells.push(Cell::Money(m.paid));
            cells.push(Cell::Money(m.reclaimed));
            cells.push(Cell::Money(m.repaid));
            cells
        })
        .collect();
    Table { columns, rows }
}

/// Money and counts per year, municipality, Kreis, programme, funding object or single/joint
/// (ministry, caseworker, approver, admin). Exact to the cent: a joint case is split over its
/// partners by share (largest remainder), so the grand total is the same however grouped.
#[utoipa::path(
    operation_id = "report_volumes",
    tag = "reports",
    params(VolumesParams),
    responses(
        (status = 200, description = "The report; `text/csv` with `format=csv` or `csv-de`",
            content((VolumesReport = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/reports/volumes")]
pub async fn volumes(
    caller: Caller,
    params: web::Query<VolumesParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_REPORTS)?;
    let (q, format) = params.into_inner().validate()?;
    volumes_output(&caller, q).await?.respond(format, "volumes")
}

/// The volumes report of a validated query (the caller's role checked).
pub(crate) async fn volumes_output(
    caller: &Caller,
    q: VolumeQuery,
) -> Result<Output<VolumesReport>, ApiError> {
    let _turn = caller.heavy().await?;
    let rows = {
        let q = q.clone();
        caller
            .db(move |conn, _| {
                check_programme(conn, q.programme.as_deref())?;
                Ok(reporting::volumes(conn, &q)?)
            })
            .await?
    };
    let totals = reporting::total(&rows)
        .ok_or_else(|| ApiError::Internal("report totals out of range".into()))?;
    let report = VolumesReport {
        basis: q.basis.as_str().into(),
        group_by: q.group_by.iter().map(|k| k.as_str().to_owned()).collect(),
        from: q.from,
        to: q.to,
        programme: q.programme.clone(),
        kreis: q.kreis.clone(),
        as_of: q.as_of,
        totals: MeasuresDto::new(q.basis, totals),
        rows: rows
            .iter()
            .map(|r| VolumeRowDto {
                year: r.year,
                ags: r.ags.clone(),
                municipality_name: r.municipality_name.clone(),
                kreis: r.kreis.clone(),
                kreis_name: r.kreis_name.clone(),
                programme: r.programme.clone(),
                funding_object: r.funding_object.clone(),
                joint: r.joint,
                measures: MeasuresDto::new(q.basis, r.measures()),
            })
            .collect(),
    };
    Ok(Output {
        report,
        table: Box::new(move |_| volumes_table(&q, &rows)),
    })
}

// ---------------------------------------------------------------------------------------------
// Pipeline

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PipelineParams {
    /// The day (German time, end of day); default today.
    #[param(example = "2019-12-31")]
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub as_of: Option<NaiveDate>,
    pub programme: Option<String>,
    /// `json` (default), `csv` or `csv-de`.
    #[param(pattern = "^(json|csv|csv-de)$")]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineRowDto {
    /// The status the case had at the end of the day: submitted, in_review or info_requested.
    pub status: String,
    pub count: i64,
    #[schema(value_type = String, example = "9200000.00")]
    pub requested: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineReport {
    pub as_of: NaiveDate,
    pub programme: Option<String>,
    /// Open applications (submitted, not yet decided or withdrawn) by their status that day.
    pub rows: Vec<PipelineRowDto>,
    pub open: i64,
    #[schema(value_type = String)]
    pub requested: String,
}

pub(crate) fn status_de(s: &str) -> &str {
    match s {
        "submitted" => "eingereicht",
        "in_review" => "in Prüfung",
        "info_requested" => "Unterlagen nachgefordert",
        other => other,
    }
}

/// Open applications at the end of a day and their requested sum, by the status they had then
/// (from the case histories, not today's state).
#[utoipa::path(
    operation_id = "report_pipeline",
    tag = "reports",
    params(PipelineParams),
    responses(
        (status = 200, description = "The report; `text/csv` with `format=csv` or `csv-de`",
            content((PipelineReport = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/reports/pipeline")]
pub async fn pipeline(
    caller: Caller,
    params: web::Query<PipelineParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_REPORTS)?;
    let p = params.into_inner();
    let as_of = p.as_of.unwrap_or_else(|| caller.today());
    let format = checked(p.format.as_deref(), &[("as_of", Some(as_of.year()))])?;
    pipeline_output(&caller, as_of, p.programme)
        .await?
        .respond(format, "pipeline")
}

/// The pipeline report at the end of `as_of` (its year checked, the caller's role checked).
pub(crate) async fn pipeline_output(
    caller: &Caller,
    as_of: NaiveDate,
    programme: Option<String>,
) -> Result<Output<PipelineReport>, ApiError> {
    let p_programme = programme.clone();
    let _turn = caller.heavy().await?;
    let rows = caller
        .db(move |conn, _| {
            check_programme(conn, programme.as_deref())?;
            Ok(reporting::pipeline(conn, as_of, programme.as_deref())?)
        })
        .await?;
    let mut open = 0i64;
    let mut requested = 0i64;
    for r in &rows {
        open += r.count;
        requested = requested
            .checked_add(r.requested.unwrap_or(0))
            .ok_or_else(|| ApiError::Internal("report totals out of range".into()))?;
    }
    let report = PipelineReport {
        as_of,
        programme: p_programme,
        rows: rows
            .iter()
            .map(|r| PipelineRowDto {
                status: r.status.clone(),
                count: r.count,
                requested: money(r.requested.unwrap_or(0)),
            })
            .collect(),
        open,
        requested: money(requested),
    };
    let table = move |dialect| Table {
        columns: vec![
            Column::new("status", "Status"),
            Column::new("count", "Offene Anträge"),
            Column::new("requested", "Beantragt (EUR)"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(if dialect == Dialect::German {
                        status_de(&r.status).to_owned()
                    } else {
                        r.status.clone()
                    }),
                    Cell::Int(r.count),
                    Cell::Money(r.requested.unwrap_or(0)),
                ]
            })
            .collect(),
    };
    Ok(Output {
        report,
        table: Box::new(table),
    })
}

// ---------------------------------------------------------------------------------------------
// Budget

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BudgetParams {
    /// One fiscal year; default all.
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
    /// The figures as known at the end of this day (German time): what was recorded later
    /// does not count, and the answer for a past day stays the same byte for byte. Default:
    /// today's knowledge, including what is recorded later today.
    #[param(example = "2024-12-31")]
    #[serde(default, deserialize_with = "crate::http::strict::date_option")]
    pub as_of: Option<NaiveDate>,
    /// `json` (default), `csv` or `csv-de`.
    #[param(pattern = "^(json|csv|csv-de)$")]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetUseDto {
    pub programme: String,
    pub fiscal_year: i32,
    /// The budget set for the programme-year (null: none set, but money was paid in it).
    #[schema(value_type = Option<String>, example = "10000000.00")]
    pub amount: Option<String>,
    /// Allocated to the year by signed notices.
    #[schema(value_type = Option<String>)]
    pub committed: Option<String>,
    /// Released payouts of the programme in the fiscal year.
    #[schema(value_type = String)]
    pub paid: String,
    /// `amount − committed`.
    #[schema(value_type = Option<String>)]
    pub available: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetReport {
    pub year: Option<i32>,
    /// The day whose end the figures are as known at; null: today's knowledge.
    pub as_of: Option<NaiveDate>,
    pub rows: Vec<BudgetUseDto>,
}

/// Budget, committed, paid and available per programme and fiscal year.
#[utoipa::path(
    operation_id = "report_budget",
    tag = "reports",
    params(BudgetParams),
    responses(
        (status = 200, description = "The report; `text/csv` with `format=csv` or `csv-de`",
            content((BudgetReport = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/reports/budget")]
pub async fn budget(
    caller: Caller,
    params: web::Query<BudgetParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_REPORTS)?;
    let p = params.into_inner();
    let as_of_year = p.as_of.map(|d| d.year());
    let format = checked(
        p.format.as_deref(),
        &[("year", p.year), ("as_of", as_of_year)],
    )?;
    budget_output(&caller, p.year, p.as_of)
        .await?
        .respond(format, "budget")
}

/// The budget report (years checked, the caller's role checked).
pub(crate) async fn budget_output(
    caller: &Caller,
    year: Option<i32>,
    as_of: Option<NaiveDate>,
) -> Result<Output<BudgetReport>, ApiError> {
    let _turn = caller.heavy().await?;
    let rows = caller
        .db(move |conn, _| Ok(reporting::budget(conn, year, as_of)?))
        .await?;
    let report = BudgetReport {
        year,
        as_of,
        rows: rows
            .iter()
            .map(|r| BudgetUseDto {
                programme: r.programme.clone(),
                fiscal_year: r.fiscal_year,
                amount: r.amount.map(money),
                committed: r.committed.map(money),
                paid: money(r.paid.unwrap_or(0)),
                available: r.amount.zip(r.committed).map(|(a, c)| money(a - c)),
            })
            .collect(),
    };
    let opt = |c: Option<i64>| c.map_or(Cell::Empty, Cell::Money);
    let table = move |_| Table {
        columns: vec![
            Column::new("programme", "Förderprogramm"),
            Column::new("fiscal_year", "Haushaltsjahr"),
            Column::new("amount", "Haushaltsansatz (EUR)"),
            Column::new("committed", "Gebunden (EUR)"),
            Column::new("paid", "Ausgezahlt (EUR)"),
            Column::new("available", "Verfügbar (EUR)"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.programme.clone()),
                    Cell::Int(r.fiscal_year.into()),
                    opt(r.amount),
                    opt(r.committed),
                    Cell::Money(r.paid.unwrap_or(0)),
                    opt(r.amount.zip(r.committed).map(|(a, c)| a - c)),
                ]
            })
            .collect(),
    };
    Ok(Output {
        report,
        table: Box::new(table),
    })
}

// ---------------------------------------------------------------------------------------------
// Processing times

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProcessingParams {
    /// The year the decisions were signed (German calendar year); default this year.
    #[param(minimum = 2000, maximum = 2200)]
    pub year: Option<i32>,
    /// `json` (default), `csv` or `csv-de`.
    #[param(pattern = "^(json|csv|csv-de)$")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessingRowDto {
    /// The programme; absent in the row over all programmes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
    /// Cases decided (grant or rejection notice signed) in the year.
    pub decided: i64,
    pub granted: i64,
    pub rejected: i64,
    /// Median processing time in days, two decimals (rounded half up from the seconds).
    #[schema(value_type = String, example = "23.50")]
    pub median_days: String,
    /// 90th percentile in days.
    #[schema(value_type = String, example = "61.25")]
    pub p90_days: String,
    /// The longest, in days.
    #[schema(value_type = String)]
    pub max_days: String,
    /// The same, exact, in seconds.
    pub median_seconds: i64,
    pub p90_seconds: i64,
    pub max_seconds: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessingReport {
    pub year: i32,
    /// Per programme, then one row over all programmes (no `programme`).
    pub rows: Vec<ProcessingRowDto>,
}

/// Seconds as days with two decimals, rounded half up.
fn days(seconds: i64) -> Decimal {
    let mut d = (Decimal::from(seconds) / Decimal::from(86_400))
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    d.rescale(2);
    d
}

/// Processing times from submission to the decision notice, without the time waiting for the
/// applicant's information: median and 90th percentile (nearest rank) per programme.
#[utoipa::path(
    operation_id = "report_processing_times",
    tag = "reports",
    params(ProcessingParams),
    responses(
        (status = 200, description = "The report; `text/csv` with `format=csv` or `csv-de`",
            content((ProcessingReport = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/reports/processing-times")]
pub async fn processing_times(
    caller: Caller,
    params: web::Query<ProcessingParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_REPORTS)?;
    let p = params.into_inner();
    let format = checked(p.format.as_deref(), &[("year", p.year)])?;
    let year = p.year.unwrap_or_else(|| german_year(caller.now));
    processing_output(&caller, year)
        .await?
        .respond(format, "processing-times")
}

/// The processing-times report of the decisions signed in `year` (checked, the caller's role
/// checked).
pub(crate) async fn processing_output(
    caller: &Caller,
    year: i32,
) -> Result<Output<ProcessingReport>, ApiError> {
    let _turn = caller.heavy().await?;
    let rows = caller
        .db(move |conn, _| Ok(reporting::processing_times(conn, year)?))
        .await?;
    let dtos: Vec<ProcessingRowDto> = rows
        .iter()
        .map(|r| {
            let (m, p90, max) = (
                r.median_seconds.unwrap_or(0),
                r.p90_seconds.unwrap_or(0),
                r.max_seconds.unwrap_or(0),
            );
            ProcessingRowDto {
                programme: r.programme.clone(),
                decided: r.decided,
                granted: r.granted,
                rejected: r.rejected,
                median_days: days(m).to_string(),
                p90_days: days(p90).to_string(),
                max_days: days(max).to_string(),
                median_seconds: m,
                p90_seconds: p90,
                max_seconds: max,
            }
        })
        .collect();
    let report = ProcessingReport { year, rows: dtos };
    let rows = report.rows.clone();
    let table = move |dialect| Table {
        columns: vec![
            Column::new("programme", "Förderprogramm"),
            Column::new("decided", "Entschieden"),
            Column::new("granted", "Bewilligt"),
            Column::new("rejected", "Abgelehnt"),
            Column::new("median_days", "Median (Tage)"),
            Column::new("p90_days", "90-%-Perzentil (Tage)"),
            Column::new("max_days", "Maximum (Tage)"),
        ],
        rows: rows
            .iter()
            .map(|r| {
                let d = |s: i64| Cell::Decimal(days(s));
                vec![
                    Cell::Text(r.programme.clone().unwrap_or_else(|| {
                        if dialect == Dialect::German {
                            "alle"
                        } else {
                            "all"
                        }
                        .to_owned()
                    })),
                    Cell::Int(r.decided),
                    Cell::Int(r.granted),
                    Cell::Int(r.rejected),
                    d(r.median_seconds),
                    d(r.p90_seconds),
                    d(r.max_seconds),
                ]
            })
            .collect(),
    };
    Ok(Output {
        report,
        table: Box::new(table),
    })
}
