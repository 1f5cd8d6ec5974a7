//! What a dashboard page shows, and its HTML (compile-time templates in `templates/`, escaped
//! by askama; the stylesheet is inlined, so a page needs no second request).

use askama::Template;

use crate::document::{euro_cents_de, group_thousands};

pub(super) const CSS: &str = include_str!("dashboard.css");

/// The five views, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Regions,
    Pipeline,
    Budget,
    Processing,
}

impl View {
    pub const ALL: [View; 5] = [
        View::Overview,
        View::Regions,
        View::Pipeline,
        View::Budget,
        View::Processing,
    ];

    /// The path segment after `/dashboard/` (empty for the overview).
    pub fn slug(self) -> &'static str {
        match self {
            View::Overview => "",
            View::Regions => "regionen",
            View::Pipeline => "antragsbestand",
            View::Budget => "haushalt",
            View::Processing => "bearbeitungsdauer",
        }
    }

    pub fn from_slug(slug: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Überblick",
            View::Regions => "Regionen",
            View::Pipeline => "Antragsbestand",
            View::Budget => "Haushalt",
            View::Processing => "Bearbeitungsdauer",
        }
    }

    pub fn path(self) -> String {
        format!("/dashboard/{}", self.slug())
    }

    /// The file name of the view's CSV (`/dashboard/export/<name>`).
    pub fn export_name(self) -> &'static str {
        match self {
            View::Overview => "ueberblick",
            other => other.slug(),
        }
    }
}

pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

pub fn nav(current: Option<View>) -> Vec<NavItem> {
    View::ALL
        .into_iter()
        .map(|v| NavItem {
            href: v.path(),
            label: v.title(),
            current: Some(v) == current,
        })
        .collect()
}

/// A field of the filter form.
pub struct Filter {
    pub name: &'static str,
    pub label: &'static str,
    /// `number`, `text` or `date` (ignored with options).
    pub kind: &'static str,
    pub value: String,
    pub pattern: &'static str,
    pub hint: &'static str,
    /// A `select`'s options (value, label, selected); empty for an `input`.
    pub options: Vec<Choice>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Filter {
    pub fn input(name: &'static str, label: &'static str, kind: &'static str, value: &str) -> Self {
        Filter {
            name,
            label,
            kind,
            value: value.to_owned(),
            pattern: "",
            hint: "",
            options: Vec::new(),
        }
    }

    pub fn select(
        name: &'static str,
        label: &'static str,
        value: &str,
        choices: &[(String, String)],
    ) -> Self {
        Filter {
            options: choices
                .iter()
                .map(|(v, l)| Choice {
                    value: v.clone(),
                    label: l.clone(),
                    selected: v == value,
                })
                .collect(),
            ..Filter::input(name, label, "text", value)
        }
    }

    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = hint;
        self
    }

    pub fn pattern(mut self, pattern: &'static str) -> Self {
        self.pattern = pattern;
        self
    }
}

/// A table cell: its field, the API's value (`data-value`) and the German text shown.
pub struct CellView {
    pub field: &'static str,
    pub value: String,
    pub text: String,
}

impl CellView {
    /// Money as the API writes it (`310620.00`) and as German text (`310.620,00 €`).
    pub fn money(field: &'static str, cents: Option<i64>) -> CellView {
        match cents {
            Some(c) => CellView {
                field,
                value: crate::domain::money::cents_text(c, '.'),
                text: euro_cents_de(c),
            },
            None => CellView {
                field,
                value: String::new(),
                text: "–".into(),
            },
        }
    }

    pub fn count(field: &'static str, n: i64) -> CellView {
        CellView {
            field,
            value: n.to_string(),
            text: if n < 0 {
                format!("-{}", group_thousands(n.unsigned_abs()))
            } else {
                group_thousands(n.unsigned_abs())
            },
        }
    }

    /// A decimal as the API writes it (`23.50`) shown with a decimal comma.
    pub fn decimal(field: &'static str, api: &str) -> CellView {
        CellView {
            field,
            value: api.to_owned(),
            text: api.replace('.', ","),
        }
    }
}

pub struct RowView {
    pub key: String,
    pub label: String,
    pub link: Option<String>,
    pub cells: Vec<CellView>,
}

pub struct TableView {
    pub report: &'static str,
    pub caption: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<RowView>,
    pub total: Option<RowView>,
}

pub struct ChartView {
    pub id: &'static str,
    pub svg: String,
    pub caption: String,
    /// (series name, CSS colour)
    pub legend: Vec<(&'static str, String)>,
}

/// A view's page.
pub struct Page {
    pub intro: String,
    pub error: Option<String>,
    pub filters: Vec<Filter>,
    pub hidden: Vec<(&'static str, String)>,
    pub stand: String,
    /// Links above the chart (href, text), e.g. back to all Kreise.
    pub links: Vec<(String, String)>,
    pub chart: Option<ChartView>,
    pub tables: Vec<TableView>,
    /// The CSV download's href; empty for none.
    pub download: String,
}

impl Page {
    pub fn new(intro: impl Into<String>) -> Page {
        Page {
            intro: intro.into(),
            error: None,
            filters: Vec::new(),
            hidden: Vec::new(),
            stand: String::new(),
            links: Vec::new(),
            chart: None,
            tables: Vec::new(),
            download: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "page.html")]
struct PageHtml<'a> {
    title: &'a str,
    css: &'a str,
    user: Option<String>,
    nav: Vec<NavItem>,
    intro: &'a str,
    error: &'a Option<String>,
    filters: &'a [Filter],
    hidden: &'a [(&'static str, String)],
    stand: &'a str,
    links: &'a [(String, String)],
    chart: &'a Option<ChartView>,
    tables: &'a [TableView],
    download: &'a str,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInHtml<'a> {
    title: &'a str,
    css: &'a str,
    user: Option<String>,
    nav: Vec<NavItem>,
    error: Option<String>,
}

/// The page as HTML; `user` names who is signed in (for the sign-out form).
pub fn render(page: &Page, title: &str, user: Option<String>, nav: Vec<NavItem>) -> String {
    let html = PageHtml {
        title,
        css: CSS,
        user,
        nav,
        intro: &page.intro,
        error: &page.error,
        filters: &page.filters,
        hidden: &page.hidden,
        stand: &page.stand,
        links: &page.links,
        chart: &page.chart,
        tables: &page.tables,
        download: &page.download,
    };
    html.render()
        .unwrap_or_else(|e| format!("<!DOCTYPE html><title>Fehler</title><p>{e}</p>"))
}

/// The sign-in page, with a message why (an expired session, a refused token).
pub fn render_sign_in(error: Option<String>) -> String {
    SignInHtml {
        title: "Anmeldung",
        css: CSS,
        user: None,
        nav: Vec::new(),
        error,
    }
    .render()
    .unwrap_or_else(|e| format!("<!DOCTYPE html><title>Fehler</title><p>{e}</p>"))
}
