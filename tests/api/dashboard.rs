//! The ministry's dashboard (issue 17) over HTTP, without a browser (the browser test is
//! `scripts/browser-test.sh`): sign-in and its cookie, who sees what, the figures equal to the
//! report API's, the CSV equal to the API's `csv-de`, every view working without a script.

use std::time::Duration;

use serde_json::{Value, json};

use crate::applications::{case_in, with};
use crate::helpers::{Resp, TestApp, spawn_app};
use crate::notices::{nid_of, partial_grant_body, prepare, set_budget, sign};

const VIEWS: [&str; 6] = [
    "/dashboard/",
    "/dashboard/regionen",
    "/dashboard/regionen?kreis=16063",
    "/dashboard/antragsbestand",
    "/dashboard/haushalt",
    "/dashboard/bearbeitungsdauer",
];

const EXPORTS: [&str; 5] = [
    "/dashboard/export/ueberblick",
    "/dashboard/export/regionen",
    "/dashboard/export/antragsbestand",
    "/dashboard/export/haushalt",
    "/dashboard/export/bearbeitungsdauer",
];

/// A request without following redirects, with optional cookie, body and headers.
fn send(app: &TestApp, method: &str, path: &str, cookie: Option<&str>, form: Option<&str>) -> Resp {
    send_with(app, method, path, cookie, form, &[])
}

fn send_with(
    app: &TestApp,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    headers: &[(&str, &str)],
) -> Resp {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", app.address));
    if let Some(c) = cookie {
        req = req.header("Cookie", format!("fa_sitzung={c}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = match form {
        Some(f) => agent.run(
            req.header("Content-Type", "application/x-www-form-urlencoded")
                .body(f.as_bytes().to_vec())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    }
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// Signs in through the form; returns the cookie's value (the token).
fn sign_in(app: &TestApp, token: &str) -> String {
    let r = send(
        app,
        "POST",
        "/dashboard/session",
        None,
        Some(&format!("token={token}")),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/dashboard/"));
    let cookie = r.header("set-cookie").expect("a cookie").to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "not over plain HTTP: {cookie}");
    let max_age: u64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .and_then(|s| s.parse().ok())
        .expect("Max-Age");
    assert!(
        (1..=8 * 3600).contains(&max_age),
        "the token's lifetime: {cookie}"
    );
    let value = cookie
        .strip_prefix("fa_sitzung=")
        .and_then(|s| s.split(';').next())
        .expect("the session cookie");
    assert_eq!(value, token);
    value.to_owned()
}

#[test]
fn without_a_session_every_view_is_the_sign_in_page_and_an_applicant_gets_403() {
    let app = spawn_app();
    let r = send(&app, "GET", "/dashboard/anmelden", None, None);
    assert_eq!(r.status, 200);
    assert!(
        r.body
            .contains(r#"<form method="post" action="/dashboard/session""#)
    );
    assert!(r.body.contains(r#"<html lang="de">"#));
    for path in VIEWS.iter().chain(&EXPORTS) {
        let r = send(&app, "GET", path, None, None);
        assert_eq!(r.status, 401, "{path}");
        assert!(
            r.body.contains(r#"name="token""#),
            "{path}: the sign-in form"
        );
        // A bad cookie is no session either.
        let r = send(&app, "GET", path, Some("not.a.token"), None);
        assert_eq!(r.status, 401, "{path}");
        assert!(r.body.contains("Bitte melden Sie sich neu an"), "{path}");
    }
    // A bad token is refused at sign-in; so is a form posted from another site.
    let r = send(&app, "POST", "/dashboard/session", None, Some("token=abc"));
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    let form = format!("token={}", app.ministry());
    let post = |headers: &[(&str, &str)]| {
        send_with(
            &app,
            "POST",
            "/dashboard/session",
            None,
            Some(&form),
            headers,
        )
    };
    for foreign in [
        &[("Origin", "https://evil.example")][..],
        &[("Origin", "null")],
        &[
            ("Sec-Fetch-Site", "cross-site"),
            ("Origin", "https://evil.example"),
        ],
        &[("Sec-Fetch-Site", "same-site")],
    ] {
        let r = post(foreign);
        assert_eq!(r.status, 403, "{foreign:?}");
        assert!(r.header("set-cookie").is_none(), "{foreign:?}");
    }
    // What a browser sends from the sign-in page itself.
    let host = app.address.trim_start_matches("http://").to_owned();
    let origin = format!("http://{host}");
    for own in [
        &[
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", origin.as_str()),
        ][..],
        &[("Origin", origin.as_str())],
    ] {
        assert_eq!(post(own).status, 303, "{own:?}");
    }
    // An applicant may sign in, and sees nothing: 403 on every view and download.
    let applicant = sign_in(&app, &app.applicant(&["16063097"]));
    for path in VIEWS.iter().chain(&EXPORTS) {
        let r = send(&app, "GET", path, Some(&applicant), None);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("Kein Zugriff"), "{path}");
        assert!(!r.body.contains("<table"), "{path}: no figures");
    }
    // Every staff role that reads reports sees every view.
    for token in [
        app.ministry(),
        app.caseworker(),
        app.approver(),
        app.admin(),
    ] {
        let cookie = sign_in(&app, &token);
        for path in VIEWS {
            let r = send(&app, "GET", path, Some(&cookie), None);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            for part in [
                r##"<a href="#inhalt" class="skip">"##,
                r#"<nav aria-label="Ansichten">"#,
                r#"<main id="inhalt""#,
                "<h1>",
                "<table data-report=",
                "<caption>",
                r#"role="img""#,
                "data-download",
            ] {
                assert!(r.body.contains(part), "{path}: {part}");
            }
            assert!(!r.body.contains("<script"), "{path}: no script");
            let csp = r.header("content-security-policy").unwrap_or_default();
            assert!(csp.contains("default-src 'none'"), "{csp}");
        }
    }
    // Signing out clears the cookie.
    let r = send(&app, "POST", "/dashboard/session/ende", None, None);
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
}

/// The `data-value` of each cell of the row `key` of the table `report`, by field.
fn row(html: &str, report: &str, key: &str) -> Vec<(String, String)> {
    let table = html
        .split(&format!(r#"<table data-report="{report}">"#))
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap_or_else(|| panic!("no table {report}"));
    let tr = table
        .split(&format!(r#"<tr data-key="{key}">"#))
        .nth(1)
        .and_then(|t| t.split("</tr>").next())
        .unwrap_or_else(|| panic!("no row {key} in {report}"));
    tr.split(r#"<td data-field=""#)
        .skip(1)
        .map(|cell| {
            let (field, rest) = cell.split_once('"').unwrap();
            let value = rest
                .split(r#"data-value=""#)
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap();
            (field.to_owned(), value.to_owned())
        })
        .collect()
}

fn api(app: &TestApp, path: &str) -> Value {
    let r = app.get(path, Some(&app.ministry()));
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

fn api_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[test]
fn the_views_show_the_report_apis_figures_and_download_its_german_csv() {
    let app = spawn_app();
    let year = crate::applications::year();
    set_budget(&app, year, "1000000.00");
    let id = case_in(&app, "in_review");
    let n = sign(
        &app,
        &nid_of(&prepare(&app, &id, &with(partial_grant_body(), json!({})))),
    );
    assert_eq!(n["granted_amount"], "40000.00");
    let cookie = sign_in(&app, &app.ministry());
    let page = |path: &str| {
        let r = send(&app, "GET", path, Some(&cookie), None);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body
    };
    // Überblick: this year's row and the totals equal the volumes report.
    let html = page("/dashboard/");
    let v = api(&app, "/api/v1/reports/volumes?group_by=year");
    let fields = [
        "count",
        "requested",
        "granted",
        "paid",
        "reclaimed",
        "repaid",
    ];
    for (key, dto) in [
        (year.to_string(), &v["rows"][0]),
        ("total".into(), &v["totals"]),
    ] {
        let want: Vec<(String, String)> = fields
            .iter()
            .map(|f| ((*f).to_owned(), api_value(&dto[*f])))
            .collect();
        assert_eq!(row(&html, "volumes", &key), want, "{key}");
    }
    assert!(html.contains("40.000,00 €"), "German amounts");
    // Haushalt: the budget report's row.
    let html = page(&format!("/dashboard/haushalt?year={year}"));
    let b = api(&app, &format!("/api/v1/reports/budget?year={year}"));
    let dto = &b["rows"][0];
    let want: Vec<(String, String)> = ["amount", "committed", "paid", "available"]
        .iter()
        .map(|f| ((*f).to_owned(), api_value(&dto[*f])))
        .collect();
    let key = format!("{}/{year}", dto["programme"].as_str().unwrap());
    assert_eq!(row(&html, "budget", &key), want);
    // Regionen: the Kreis of the case, and its municipalities.
    let html = page("/dashboard/regionen");
    let k = api(&app, "/api/v1/reports/volumes?group_by=kreis");
    let kreis = k["rows"][0]["kreis"].as_str().unwrap().to_owned();
    assert_eq!(
        row(&html, "volumes", &kreis)[2].1,
        api_value(&k["rows"][0]["granted"])
    );
    assert!(
        html.contains(&format!("/dashboard/regionen?kreis={kreis}")),
        "drill-down"
    );
    let html = page(&format!("/dashboard/regionen?kreis={kreis}"));
    let m = api(
        &app,
        &format!("/api/v1/reports/volumes?group_by=municipality&kreis={kreis}"),
    );
    let ags = m["rows"][0]["ags"].as_str().unwrap();
    assert_eq!(
        row(&html, "volumes", ags)[2].1,
        api_value(&m["rows"][0]["granted"])
    );
    // Antragsbestand today: the open cases by status.
    let html = page("/dashboard/antragsbestand");
    let p = api(&app, "/api/v1/reports/pipeline");
    assert_eq!(
        row(&html, "pipeline", "total"),
        vec![
            ("count".to_owned(), api_value(&p["open"])),
            ("requested".to_owned(), api_value(&p["requested"])),
        ]
    );
    // Bearbeitungsdauer: the row over all programmes.
    let html = page(&format!("/dashboard/bearbeitungsdauer?year={year}"));
    let t = api(
        &app,
        &format!("/api/v1/reports/processing-times?year={year}"),
    );
    let all = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["programme"].is_null())
        .unwrap();
    assert_eq!(
        row(&html, "processing", "total")[0].1,
        api_value(&all["decided"])
    );
    assert_eq!(
        row(&html, "processing", "total")[3].1,
        api_value(&all["median_days"])
    );
    // Each download is the API's csv-de of the same report, byte for byte.
    for (export, report) in [
        (
            "/dashboard/export/ueberblick",
            "/api/v1/reports/volumes?group_by=year&format=csv-de".to_owned(),
        ),
        (
            "/dashboard/export/haushalt",
            "/api/v1/reports/budget?format=csv-de".to_owned(),
        ),
        (
            "/dashboard/export/regionen",
            "/api/v1/reports/volumes?group_by=kreis&format=csv-de".to_owned(),
        ),
        (
            &format!("/dashboard/export/bearbeitungsdauer?year={year}"),
            format!("/api/v1/reports/processing-times?year={year}&format=csv-de"),
        ),
    ] {
        let mine = send(&app, "GET", export, Some(&cookie), None);
        assert_eq!(mine.status, 200, "{export}");
        assert_eq!(mine.header("content-type"), Some("text/csv; charset=utf-8"));
        let (_, theirs) = app.get_bytes(&report, &app.ministry());
        assert_eq!(mine.body.as_bytes(), theirs.as_slice(), "{export}");
    }
    // A filter that is not valid is a page saying which (422), not an empty report.
    let r = send(
        &app,
        "GET",
        "/dashboard/?from=abc&as_of=2019-02-30",
        Some(&cookie),
        None,
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Von: ist keine Jahreszahl"), "{}", r.body);
    assert!(r.body.contains("Stichtag"), "{}", r.body);
}
