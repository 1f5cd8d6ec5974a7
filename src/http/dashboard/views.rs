//! The five views: each reads its report through the same functions the report API answers
//! with (`http::reports::*_output`), so the page shows the API's figures and its CSV is the
//! API's `csv-de`.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::chart::{self, Series, Unit};
use super::page::{CellView, ChartView, Filter, Page, RowView, TableView, View};
use crate::domain::calendar::{german_year, parse_date};
use crate::error::{ApiError, FieldError};
use crate::http::caller::Caller;
use crate::http::reports::{
    self, BudgetReport, MeasuresDto, Output, PipelineReport, ProcessingReport, VolumesParams,
    VolumesReport,
};

/// The filters of every view, as the form sends them (an empty field is no filter).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Query {
    pub from: Option<String>,
    pub to: Option<String>,
    pub programme: Option<String>,
    pub kreis: Option<String>,
    pub basis: Option<String>,
    pub as_of: Option<String>,
    pub year: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Query {
    /// The query string of the given filters except `without` (for links and the download).
    pub fn encode(&self, without: &[&str]) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("programme", &self.programme),
            ("kreis", &self.kreis),
            ("basis", &self.basis),
            ("as_of", &self.as_of),
            ("year", &self.year),
        ];
        pairs
            .iter()
            .filter(|(k, _)| !without.contains(k))
            .filter_map(|(k, v)| given(v).map(|v| format!("{k}={}", encode_component(v))))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn year(
        &self,
        field: &'static str,
        v: &Option<String>,
        errors: &mut Vec<FieldError>,
    ) -> Option<i32> {
        let s = given(v)?;
        s.parse::<i32>()
            .map_err(|_| errors.push(FieldError::new(field, "ist keine Jahreszahl")))
            .ok()
    }

    fn as_of(&self, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
        let s = given(&self.as_of)?;
        parse_date(s)
            .map_err(|e| errors.push(FieldError::new("as_of", e)))
            .ok()
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn invalid(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A view's page and its CSV.
pub struct Built {
    pub page: Page,
    pub csv: Box<dyn FnOnce(crate::reporting::table::Dialect) -> crate::reporting::table::Table>,
}

fn built<T>(page: Page, out: Output<T>) -> Built {
    Built {
        page,
        csv: out.table,
    }
}

fn stand(as_of: Option<NaiveDate>, today: NaiveDate) -> String {
    match as_of {
        Some(d) => format!(
            "Stand: Ende des {} (deutsche Zeit). Was danach erfasst wurde, zählt nicht; diese Zahlen ändern sich nicht mehr.",
            crate::document::date_de(d)
        ),
        None => format!(
            "Stand: heute, {}: der aktuelle Wissensstand, der sich mit jeder Buchung ändert. Für feste Zahlen ein Stichtag.",
            crate::document::date_de(today)
        ),
    }
}

fn basis_choices() -> Vec<(String, String)> {
    [
        ("notice", "Bewilligungsjahr (Datum des Zuwendungsbescheids)"),
        ("submission", "Antragsjahr (Datum der Einreichung)"),
        ("payment", "Kassenjahr (Auszahlungen und Rückforderungen)"),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
    .collect()
}

fn programme_choices(codes: &[String]) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "alle Programme".to_owned())];
    out.extend(codes.iter().map(|c| (c.clone(), c.clone())));
    out
}

/// The filters of the volume views.
fn volume_filters(q: &Query, programmes: &[String]) -> Vec<Filter> {
    let v = |o: &Option<String>| given(o).unwrap_or_default().to_owned();
    vec![
        Filter::input("from", "Von (Jahr)", "number", &v(&q.from)),
        Filter::input("to", "Bis (Jahr)", "number", &v(&q.to)),
        Filter::select(
            "programme",
            "Programm",
            &v(&q.programme),
            &programme_choices(programmes),
        ),
        Filter::select(
            "basis",
            "Jahr nach",
            given(&q.basis).unwrap_or("notice"),
            &basis_choices(),
        ),
        Filter::input("as_of", "Stichtag", "date", &v(&q.as_of))
            .hint("Zahlen wie am Ende dieses Tages bekannt; leer: heute"),
    ]
}

/// The volumes query of a view: the filters, validated as the API validates them.
fn volume_query(q: &Query, group_by: &str) -> Result<crate::reporting::VolumeQuery, ApiError> {
    let mut errors = Vec::new();
    let params = VolumesParams {
        basis: given(&q.basis).map(str::to_owned),
        group_by: Some(group_by.to_owned()),
        from: q.year("from", &q.from, &mut errors),
        to: q.year("to", &q.to, &mut errors),
        programme: given(&q.programme).map(str::to_owned),
        kreis: given(&q.kreis).map(str::to_owned),
        as_of: q.as_of(&mut errors),
        format: None,
    };
    invalid(errors)?;
    Ok(params.validate()?.0)
}

const MONEY_HEADERS: [&str; 5] = [
    "Beantragt",
    "Bewilligt",
    "Ausgezahlt",
    "Zurückgefordert",
    "Zurückgezahlt",
];

/// The measure cells of a volumes row (requested and granted only where the API has them).
fn measure_cells(m: &MeasuresDto) -> Vec<CellView> {
    let cents = |s: &str| crate::domain::money::parse_cents_text(s);
    let mut cells = vec![CellView::count("count", m.count)];
    if let (Some(r), Some(g)) = (&m.requested, &m.granted) {
        cells.push(CellView::money("requested", cents(r)));
        cells.push(CellView::money("granted", cents(g)));
    }
    cells.push(CellView::money("paid", cents(&m.paid)));
    cells.push(CellView::money("reclaimed", cents(&m.reclaimed)));
    cells.push(CellView::money("repaid", cents(&m.repaid)));
    cells
}

fn measure_headers(report: &VolumesReport, first: &'static str) -> Vec<&'static str> {
    let basis =
        crate::reporting::Basis::parse(&report.basis).unwrap_or(crate::reporting::Basis::Notice);
    let mut h = vec![first, reports::count_header(basis)];
    let cash = report.totals.requested.is_none();
    h.extend(MONEY_HEADERS.iter().skip(if cash { 2 } else { 0 }));
    h
}

/// The bars of a volumes report: granted and paid (basis payment: paid, reclaimed, repaid).
fn volume_series(report: &VolumesReport) -> Vec<Series> {
    let cents = |s: &str| crate::domain::money::parse_cents_text(s).unwrap_or(0);
    let col =
        |f: &dyn Fn(&MeasuresDto) -> i64| report.rows.iter().map(|r| f(&r.measures)).collect();
    if report.totals.granted.is_some() {
        vec![
            Series {
                name: "Bewilligt",
                values: col(&|m| m.granted.as_deref().map_or(0, cents)),
            },
            Series {
                name: "Ausgezahlt",
                values: col(&|m| cents(&m.paid)),
            },
        ]
    } else {
        vec![
            Series {
                name: "Ausgezahlt",
                values: col(&|m| cents(&m.paid)),
            },
            Series {
                name: "Zurückgefordert",
                values: col(&|m| cents(&m.reclaimed)),
            },
            Series {
                name: "Zurückgezahlt",
                values: col(&|m| cents(&m.repaid)),
            },
        ]
    }
}

fn chart_view(
    categories: &[String],
    series: Vec<Series>,
    unit: Unit,
    caption: String,
) -> Result<ChartView, ApiError> {
    let svg = chart::bars(categories, &series, unit, "diagramm").map_err(ApiError::Internal)?;
    Ok(ChartView {
        id: "diagramm",
        svg,
        caption,
        legend: series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name, chart::colour_css(i)))
            .collect(),
    })
}

fn download(view: View, q: &Query) -> String {
    let query = q.encode(&[]);
    let sep = if query.is_empty() { "" } else { "?" };
    format!("/dashboard/export/{}{sep}{query}", view.export_name())
}

/// Überblick: money per year.
pub async fn overview(
    caller: &Caller,
    q: &Query,
    programmes: &[String],
) -> Result<Built, ApiError> {
    let mut page = Page::new(
        "Beantragte, bewilligte, ausgezahlte, zurückgeforderte und zurückgezahlte Mittel je Jahr, \
         mit der Zahl der Zuwendungsbescheide. Gemeinsame Vorhaben mehrerer Kommunen sind nach \
         Anteilen aufgeteilt.",
    );
    page.filters = volume_filters(q, programmes);
    page.filters.insert(
        3,
        Filter::input(
            "kreis",
            "Kreis (Schlüssel)",
            "text",
            given(&q.kreis).unwrap_or_default(),
        )
        .pattern("160[0-9]{2}")
        .hint("fünfstellig, z. B. 16063 für den Wartburgkreis"),
    );
    let vq = volume_query(q, "year")?;
    page.stand = stand(vq.as_of, caller.today());
    let out = reports::volumes_output(caller, vq).await?;
    let r = &out.report;
    let years: Vec<String> = r
        .rows
        .iter()
        .map(|row| row.year.map(|y| y.to_string()).unwrap_or_default())
        .collect();
    page.chart = Some(chart_view(
        &years,
        volume_series(r),
        Unit::Euro,
        "Diagramm: Mittel je Jahr (die Zahlen stehen in der Tabelle darunter).".into(),
    )?);
    page.tables.push(TableView {
        report: "volumes",
        caption: "Mittel je Jahr".into(),
        headers: measure_headers(r, "Jahr"),
        rows: r
            .rows
            .iter()
            .zip(&years)
            .map(|(row, y)| RowView {
                key: y.clone(),
                label: y.clone(),
                link: None,
                cells: measure_cells(&row.measures),
            })
            .collect(),
        total: Some(RowView {
            key: "total".into(),
            label: "Summe".into(),
            link: None,
            cells: measure_cells(&r.totals),
        }),
    });
    page.download = download(View::Overview, q);
    Ok(built(page, out))
}

/// Regionen: per Kreis, or the municipalities of one Kreis.
pub async fn regions(caller: &Caller, q: &Query, programmes: &[String]) -> Result<Built, ApiError> {
    let mut page = Page::new(
        "Mittel je Landkreis und kreisfreier Stadt; ein Kreis öffnet seine Gemeinden. Gemeinsame \
         Vorhaben zählen mit dem Anteil jeder beteiligten Kommune.",
    );
    page.filters = volume_filters(q, programmes);
    let kreis = given(&q.kreis).map(str::to_owned);
    if let Some(k) = &kreis {
        page.hidden.push(("kreis", k.clone()));
        let back = q.encode(&["kreis"]);
        let sep = if back.is_empty() { "" } else { "?" };
        page.links.push((
            format!("/dashboard/regionen{sep}{back}"),
            "Zurück zu allen Kreisen".into(),
        ));
    }
    let group = if kreis.is_some() {
        "municipality"
    } else {
        "kreis"
    };
    let vq = volume_query(q, group)?;
    page.stand = stand(vq.as_of, caller.today());
    let out = reports::volumes_output(caller, vq).await?;
    let r = &out.report;
    let rows: Vec<RowView> = r
        .rows
        .iter()
        .map(|row| {
            let (key, name) = match &kreis {
                Some(_) => (row.ags.clone(), row.municipality_name.clone()),
                None => (row.kreis.clone(), row.kreis_name.clone()),
            };
            let key = key.unwrap_or_default();
            let link = kreis.is_none().then(|| {
                let rest = q.encode(&["kreis"]);
                let amp = if rest.is_empty() { "" } else { "&" };
                format!("/dashboard/regionen?kreis={key}{amp}{rest}")
            });
            RowView {
                label: name.unwrap_or_else(|| key.clone()),
                key,
                link,
                cells: measure_cells(&row.measures),
            }
        })
        .collect();
    let names: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    let what = match &kreis {
        Some(k) => format!(
            "Gemeinden im Kreis {}",
            r.rows
                .first()
                .and_then(|x| x.kreis_name.clone())
                .unwrap_or_else(|| k.clone())
        ),
        None => "Kreise".to_owned(),
    };
    page.chart = Some(chart_view(
        &names,
        volume_series(r),
        Unit::Euro,
        format!("Diagramm: Mittel je {what} (die Zahlen stehen in der Tabelle darunter)."),
    )?);
    page.tables.push(TableView {
        report: "volumes",
        caption: format!("Mittel: {what}"),
        headers: measure_headers(r, if kreis.is_some() { "Gemeinde" } else { "Kreis" }),
        rows,
        total: Some(RowView {
            key: "total".into(),
            label: "Summe".into(),
            link: None,
            cells: measure_cells(&r.totals),
        }),
    });
    page.download = download(View::Regions, q);
    Ok(built(page, out))
}

/// Antragsbestand: the open applications on a day, by status.
pub async fn pipeline(
    caller: &Caller,
    q: &Query,
    programmes: &[String],
) -> Result<Built, ApiError> {
    let mut page = Page::new(
        "Offene Anträge (eingereicht, noch nicht entschieden oder zurückgezogen) am Ende des \
         Stichtags, nach ihrem Status an diesem Tag, mit der beantragten Summe.",
    );
    let mut errors = Vec::new();
    let as_of = q.as_of(&mut errors).unwrap_or_else(|| caller.today());
    reports::check_year("as_of", Some(as_of.year()), &mut errors);
    invalid(errors)?;
    let v = |o: &Option<String>| given(o).unwrap_or_default().to_owned();
    page.filters = vec![
        Filter::input("as_of", "Stichtag", "date", &as_of.to_string()),
        Filter::select(
            "programme",
            "Programm",
            &v(&q.programme),
            &programme_choices(programmes),
        ),
    ];
    page.stand = stand(Some(as_of), caller.today());
    let out =
        reports::pipeline_output(caller, as_of, given(&q.programme).map(str::to_owned)).await?;
    let r: &PipelineReport = &out.report;
    let cents = |s: &str| crate::domain::money::parse_cents_text(s);
    let labels: Vec<String> = r
        .rows
        .iter()
        .map(|x| reports::status_de(&x.status).to_owned())
        .collect();
    page.chart = Some(chart_view(
        &labels,
        vec![Series {
            name: "Offene Anträge",
            values: r.rows.iter().map(|x| x.count).collect(),
        }],
        Unit::Count,
        "Diagramm: offene Anträge nach Status (die Zahlen stehen in der Tabelle darunter).".into(),
    )?);
    page.tables.push(TableView {
        report: "pipeline",
        caption: format!("Offene Anträge am {}", crate::document::date_de(as_of)),
        headers: vec!["Status", "Offene Anträge", "Beantragt"],
        rows: r
            .rows
            .iter()
            .zip(&labels)
            .map(|(x, l)| RowView {
                key: x.status.clone(),
                label: l.clone(),
                link: None,
                cells: vec![
                    CellView::count("count", x.count),
                    CellView::money("requested", cents(&x.requested)),
                ],
            })
            .collect(),
        total: Some(RowView {
            key: "total".into(),
            label: "Summe".into(),
            link: None,
            cells: vec![
                CellView::count("count", r.open),
                CellView::money("requested", cents(&r.requested)),
            ],
        }),
    });
    let mut dq = q.clone();
    dq.as_of = Some(as_of.to_string());
    page.download = download(View::Pipeline, &dq);
    Ok(built(page, out))
}

/// Haushalt: budget, committed, paid and available per programme and fiscal year.
pub async fn budget(caller: &Caller, q: &Query) -> Result<Built, ApiError> {
    let mut page = Page::new(
        "Haushaltsansatz, durch unterschriebene Bescheide gebundene, ausgezahlte und verfügbare \
         Mittel je Programm und Haushaltsjahr.",
    );
    let mut errors = Vec::new();
    let year = q.year("year", &q.year, &mut errors);
    let as_of = q.as_of(&mut errors);
    reports::check_year("year", year, &mut errors);
    reports::check_year("as_of", as_of.map(|d| d.year()), &mut errors);
    invalid(errors)?;
    let v = |o: &Option<String>| given(o).unwrap_or_default().to_owned();
    page.filters = vec![
        Filter::input("year", "Haushaltsjahr", "number", &v(&q.year)).hint("leer: alle Jahre"),
        Filter::input("as_of", "Stichtag", "date", &v(&q.as_of))
            .hint("Zahlen wie am Ende dieses Tages bekannt; leer: heute"),
    ];
    page.stand = stand(as_of, caller.today());
    let out = reports::budget_output(caller, year, as_of).await?;
    let r: &BudgetReport = &out.report;
    let cents = |s: &Option<String>| {
        s.as_deref()
            .and_then(crate::domain::money::parse_cents_text)
    };
    let labels: Vec<String> = r
        .rows
        .iter()
        .map(|x| format!("{} {}", x.programme, x.fiscal_year))
        .collect();
    let col = |f: &dyn Fn(&reports::BudgetUseDto) -> Option<i64>| {
        r.rows.iter().map(|x| f(x).unwrap_or(0)).collect()
    };
    page.chart = Some(chart_view(
        &labels,
        vec![
            Series {
                name: "Haushaltsansatz",
                values: col(&|x| cents(&x.amount)),
            },
            Series {
                name: "Gebunden",
                values: col(&|x| cents(&x.committed)),
            },
            Series {
                name: "Ausgezahlt",
                values: col(&|x| cents(&Some(x.paid.clone()))),
            },
        ],
        Unit::Euro,
        "Diagramm: Haushalt je Programm und Jahr (die Zahlen stehen in der Tabelle darunter)."
            .into(),
    )?);
    page.tables.push(TableView {
        report: "budget",
        caption: "Haushalt je Programm und Haushaltsjahr".into(),
        headers: vec![
            "Programm und Haushaltsjahr",
            "Haushaltsansatz",
            "Gebunden",
            "Ausgezahlt",
            "Verfügbar",
        ],
        rows: r
            .rows
            .iter()
            .zip(&labels)
            .map(|(x, l)| RowView {
                key: format!("{}/{}", x.programme, x.fiscal_year),
                label: l.clone(),
                link: None,
                cells: vec![
                    CellView::money("amount", cents(&x.amount)),
                    CellView::money("committed", cents(&x.committed)),
                    CellView::money("paid", cents(&Some(x.paid.clone()))),
                    CellView::money("available", cents(&x.available)),
                ],
            })
            .collect(),
        total: None,
    });
    page.download = download(View::Budget, q);
    Ok(built(page, out))
}

/// Bearbeitungsdauer: median and 90th percentile per programme.
pub async fn processing(caller: &Caller, q: &Query) -> Result<Built, ApiError> {
    let mut page = Page::new(
        "Bearbeitungsdauer von der Einreichung bis zum Bescheid, ohne die Zeit, in der auf \
         Unterlagen der Kommune gewartet wurde: Median und 90-%-Perzentil je Programm, für die \
         im Jahr entschiedenen Anträge.",
    );
    let mut errors = Vec::new();
    let year = q
        .year("year", &q.year, &mut errors)
        .unwrap_or_else(|| german_year(caller.now));
    reports::check_year("year", Some(year), &mut errors);
    invalid(errors)?;
    page.filters = vec![Filter::input(
        "year",
        "Jahr der Entscheidung",
        "number",
        &year.to_string(),
    )];
    let out = reports::processing_output(caller, year).await?;
    let r: &ProcessingReport = &out.report;
    let label = |p: &Option<String>| p.clone().unwrap_or_else(|| "alle Programme".into());
    let hundredths = |s: i64| s * 100 / 86_400;
    let labels: Vec<String> = r.rows.iter().map(|x| label(&x.programme)).collect();
    page.chart = Some(chart_view(
        &labels,
        vec![
            Series {
                name: "Median",
                values: r
                    .rows
                    .iter()
                    .map(|x| hundredths(x.median_seconds))
                    .collect(),
            },
            Series {
                name: "90-%-Perzentil",
                values: r.rows.iter().map(|x| hundredths(x.p90_seconds)).collect(),
            },
        ],
        Unit::Days,
        format!(
            "Diagramm: Bearbeitungsdauer in Tagen, entschieden {year} (die Zahlen stehen in der Tabelle darunter)."
        ),
    )?);
    let row = |x: &reports::ProcessingRowDto| RowView {
        key: x.programme.clone().unwrap_or_else(|| "total".into()),
        label: label(&x.programme),
        link: None,
        cells: vec![
            CellView::count("decided", x.decided),
            CellView::count("granted", x.granted),
            CellView::count("rejected", x.rejected),
            CellView::decimal("median_days", &x.median_days),
            CellView::decimal("p90_days", &x.p90_days),
        ],
    };
    page.tables.push(TableView {
        report: "processing",
        caption: format!("Bearbeitungsdauer in Tagen, entschieden {year}"),
        headers: vec![
            "Programm",
            "Entschieden",
            "Bewilligt",
            "Abgelehnt",
            "Median (Tage)",
            "90-%-Perzentil (Tage)",
        ],
        rows: r
            .rows
            .iter()
            .filter(|x| x.programme.is_some())
            .map(row)
            .collect(),
        total: r.rows.iter().find(|x| x.programme.is_none()).map(row),
    });
    let mut dq = q.clone();
    dq.year = Some(year.to_string());
    page.download = download(View::Processing, &dq);
    Ok(built(page, out))
}
