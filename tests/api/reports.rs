//! The reports through the API: who may read them, what they say about cases made through the
//! API (a single and a joint case, partly approved and paid), the pipeline from the history,
//! budget utilisation, processing times, the CSV and German CSV read back and compared with
//! the JSON, and refused requests.

use foerderakte::domain::Role;
use serde_json::{Value, json};

use crate::applications::{
    BARCHFELD, LEAD, SALZUNGEN, create, day, draft_body, drive, id_of, three_partners, with, year,
};
use crate::helpers::{TestApp, spawn_app};
use crate::notices::{approved_case, nid_of, partial_grant_body, pay, prepare, set_budget, sign};

const PATHS: [&str; 4] = [
    "/api/v1/reports/volumes",
    "/api/v1/reports/pipeline",
    "/api/v1/reports/budget",
    "/api/v1/reports/processing-times",
];

fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get(path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{path}: {:?}",
        r.header("content-type")
    );
    r.json()
}

/// The CSV of `path` (with `format=…` appended), parsed: header and records. Checks the
/// content type, the BOM and the delimiter of the German variant.
fn get_csv(
    app: &TestApp,
    path: &str,
    format: &str,
    token: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("{path}{sep}format={format}");
    let (status, bytes) = app.get_bytes(&url, token);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&bytes));
    let german = format == "csv-de";
    let body = if german {
        assert_eq!(
            &bytes[..3],
            b"\xef\xbb\xbf",
            "{url}: the German CSV starts with a BOM"
        );
        &bytes[3..]
    } else {
        assert_ne!(
            &bytes[..3],
            b"\xef\xbb\xbf",
            "{url}: RFC 4180 CSV has no BOM"
        );
        &bytes[..]
    };
    let text = std::str::from_utf8(body).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "{url}: records end with CRLF");
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(if german { b';' } else { b',' })
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, records)
}

/// A JSON value as the CSV writes it.
fn as_cell(v: &Value, german: bool) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => match (german, b) {
            (true, true) => "ja".into(),
            (true, false) => "nein".into(),
            (false, b) => b.to_string(),
        },
        Value::String(s) if german && looks_like_amount(s) => s.replace('.', ","),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn looks_like_amount(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    t.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && b.len() == 2 && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
    })
}

/// The CSV in both dialects has the JSON rows' values, column by column; the English header
/// names the JSON fields.
fn assert_csv_matches_json(
    app: &TestApp,
    path: &str,
    token: &str,
    rows_of: impl Fn(&Value) -> Vec<Value>,
) {
    let json = get_json(app, path, token);
    let rows = rows_of(&json);
    let (header, records) = get_csv(app, path, "csv", token);
    let (header_de, records_de) = get_csv(app, path, "csv-de", token);
    assert_eq!(records.len(), rows.len(), "{path}");
    assert_eq!(records_de.len(), rows.len(), "{path}");
    assert_eq!(header.len(), header_de.len(), "{path}");
    assert_ne!(
        header, header_de,
        "{path}: the German CSV has German headers"
    );
    for ((row, en), de) in rows.iter().zip(&records).zip(&records_de) {
        for (i, field) in header.iter().enumerate() {
            let v = row.get(field.as_str()).cloned().unwrap_or(Value::Null);
            assert_eq!(en[i], as_cell(&v, false), "{path}: {field} of {row}");
            if field != "status" && field != "programme" {
                assert_eq!(de[i], as_cell(&v, true), "{path}: {field} of {row} (de)");
            }
        }
    }
}

/// One case of Eisenach alone, approved with 40,000.00 and paid 15,000.00; one joint case of
/// Eisenach (33.34 %), Bad Salzungen and Barchfeld (33.33 % each), approved with 40,000.00
/// and paid 10,000.01; one submitted case. Returns the ids.
fn three_cases(app: &TestApp) -> (String, String, String) {
    let (single, _) = approved_case(app);
    pay(app, &single, "15000.00");
    let lead = app.applicant(&[LEAD]);
    let joint = id_of(&create(
        app,
        &lead,
        &with(draft_body(LEAD), json!({"partners": three_partners()})),
    ));
    drive(app, &joint, &lead, &["submit", "start_review"]);
    sign(app, &nid_of(&prepare(app, &joint, &partial_grant_body())));
    // The grant's money flows from its deemed delivery on (§ 41 (2), § 43 (1) VwVfG).
    app.advance_days(4);
    pay(app, &joint, "10000.01");
    let open = id_of(&create(app, &lead, &draft_body(LEAD)));
    drive(app, &open, &lead, &["submit"]);
    (single, joint, open)
}

#[test]
fn an_applicant_gets_403_on_every_report_in_every_format_and_staff_and_the_ministry_read_them() {
    let app = spawn_app();
    let applicant = app.applicant(&[LEAD]);
    for path in PATHS {
        for format in ["", "?format=csv", "?format=csv-de"] {
            let url = format!("{path}{format}");
            app.get(&url, Some(&applicant)).assert_problem(403);
            app.get(&url, None).assert_problem(401);
            for role in [
                Role::Ministry,
                Role::Caseworker,
                Role::Approver,
                Role::Admin,
            ] {
                let token = app.token(role, "reader", &[]);
                let r = app.get(&url, Some(&token));
                assert_eq!(r.status, 200, "{url} as {role:?}: {}", r.body);
            }
        }
    }
}

#[test]
fn the_volumes_report_splits_a_joint_case_by_share_and_totals_the_same_however_grouped() {
    let app = spawn_app();
    three_cases(&app);
    let ministry = app.ministry();
    let y = year();
    let by_municipality = get_json(
        &app,
        &format!("/api/v1/reports/volumes?group_by=year,municipality&from={y}&to={y}"),
        &ministry,
    );
    let rows = by_municipality["rows"].as_array().unwrap();
    let row = |ags: &str| {
        rows.iter()
            .find(|r| r["ags"] == ags)
            .unwrap_or_else(|| panic!("no row for {ags}: {by_municipality}"))
            .clone()
    };
    // Eisenach: the single case (40,000.00, paid 15,000.00) and 33.34 % of the joint one:
    // 13,336.00 granted, 3,334.01 paid (10,000.01 × 0.3334 = 3,334.0033, 10,000.01 × 0.3333 =
    // 3,333.0033: rounded down they leave one cent, which goes to the largest remainder,
    // Eisenach's 0.0033 4 against 0.0033 3).
    let eisenach = row(LEAD);
    assert_eq!(eisenach["year"], y);
    assert_eq!(eisenach["municipality_name"], "Eisenach, Stadt");
    assert_eq!(
        eisenach["count"], 2,
        "both cases are counted with their lead"
    );
    assert_eq!(eisenach["granted"], "53336.00");
    assert_eq!(eisenach["requested"], "56002.80");
    assert_eq!(eisenach["paid"], "18334.01");
    let salzungen = row(SALZUNGEN);
    assert_eq!(salzungen["count"], 0);
    assert_eq!(salzungen["granted"], "13332.00");
    assert_eq!(salzungen["paid"], "3333.00");
    let barchfeld = row(BARCHFELD);
    assert_eq!(barchfeld["granted"], "13332.00");
    assert_eq!(barchfeld["paid"], "3333.00");
    let totals = &by_municipality["totals"];
    assert_eq!(totals["count"], 2);
    assert_eq!(totals["granted"], "80000.00");
    assert_eq!(totals["paid"], "25000.01");
    assert_eq!(totals["requested"], "84000.00");
    assert_eq!(totals["reclaimed"], "0.00");
    for group_by in [
        "",
        "year",
        "kreis",
        "programme,funding_object",
        "joint",
        "municipality,joint,kreis,year",
    ] {
        let r = get_json(
            &app,
            &format!("/api/v1/reports/volumes?group_by={group_by}"),
            &ministry,
        );
        assert_eq!(&r["totals"], totals, "group_by={group_by}");
    }
    // Submission basis: the open case counts too; payment basis: the two payouts.
    let submission = get_json(
        &app,
        "/api/v1/reports/volumes?basis=submission&group_by=",
        &ministry,
    );
    assert_eq!(submission["totals"]["count"], 3);
    assert_eq!(submission["totals"]["requested"], "126000.00");
    let payment = get_json(
        &app,
        "/api/v1/reports/volumes?basis=payment&group_by=year",
        &ministry,
    );
    assert_eq!(payment["rows"][0]["year"], y);
    assert_eq!(payment["totals"]["count"], 2);
    assert_eq!(payment["totals"]["paid"], "25000.01");
    assert_eq!(
        payment["totals"]["granted"],
        Value::Null,
        "no grant date on basis payment"
    );
    // A Kreis filter keeps the shares of its municipalities; another Kreis has none.
    let wartburg = get_json(
        &app,
        "/api/v1/reports/volumes?kreis=16063&group_by=kreis",
        &ministry,
    );
    assert_eq!(wartburg["rows"][0]["kreis_name"], "Wartburgkreis");
    assert_eq!(wartburg["totals"]["granted"], "80000.00");
    let other = get_json(&app, "/api/v1/reports/volumes?kreis=16064", &ministry);
    assert_eq!(other["rows"], json!([]));
    assert_eq!(other["totals"]["granted"], "0.00");
    let earlier = get_json(
        &app,
        &format!("/api/v1/reports/volumes?to={}", y - 1),
        &ministry,
    );
    assert_eq!(earlier["totals"]["count"], 0);
}

#[test]
fn every_report_reads_back_the_same_from_csv_and_german_csv() {
    let app = spawn_app();
    three_cases(&app);
    let cw = app.caseworker();
    let rows = |j: &Value| j["rows"].as_array().unwrap().clone();
    for query in [
        "group_by=year,municipality,kreis,programme,funding_object,joint",
        "basis=submission&group_by=municipality",
        "basis=payment&group_by=year,kreis",
        "group_by=",
    ] {
        assert_csv_matches_json(&app, &format!("/api/v1/reports/volumes?{query}"), &cw, rows);
    }
    assert_csv_matches_json(
        &app,
        &format!("/api/v1/reports/pipeline?as_of={}", day(0)),
        &cw,
        rows,
    );
    assert_csv_matches_json(&app, "/api/v1/reports/budget", &cw, rows);
    assert_csv_matches_json(
        &app,
        &format!("/api/v1/reports/processing-times?year={}", year()),
        &cw,
        |j| {
            rows(j)
                .into_iter()
                .map(|mut r| {
                    if r.get("programme").is_none() {
                        r["programme"] = json!("all");
                    }
                    r
                })
                .collect()
        },
    );
    let (header, _) = get_csv(
        &app,
        "/api/v1/reports/volumes?group_by=year,municipality",
        "csv-de",
        &cw,
    );
    assert_eq!(
        header,
        [
            "Jahr",
            "Gemeindeschlüssel",
            "Gemeinde",
            "Zuwendungsbescheide",
            "Beantragt (EUR)",
            "Bewilligt (EUR)",
            "Ausgezahlt (EUR)",
            "Zurückgefordert (EUR)",
            "Zurückgezahlt (EUR)"
        ]
    );
}

#[test]
fn the_pipeline_budget_and_processing_times_follow_the_cases() {
    let app = spawn_app();
    // The writes happen at 11:00 UTC of today's German date (12:00 or 13:00 German time, the
    // same date): `day(0)` and the reports' days both name that date, at any hour the test
    // runs (between 22:00 and 24:00 UTC the UTC date is the day before).
    let noon = crate::helpers::today().and_hms_opt(11, 0, 0).unwrap();
    app.clock().fix(noon);
    let before_the_cases = day(-1);
    let (single, _joint, open) = three_cases(&app);
    let approver = app.approver();
    // Today: one case open (submitted); the two approved ones are no longer open.
    let today = get_json(
        &app,
        &format!("/api/v1/reports/pipeline?as_of={}", day(0)),
        &approver,
    );
    assert_eq!(today["open"], 1, "{today}");
    assert_eq!(
        today["rows"],
        json!([{"status": "submitted", "count": 1, "requested": "42000.00"}])
    );
    // The day before the cases nothing had been submitted yet: the history, not today's
    // state, decides.
    let yesterday = get_json(
        &app,
        &format!("/api/v1/reports/pipeline?as_of={before_the_cases}"),
        &approver,
    );
    assert_eq!(yesterday["open"], 0, "{yesterday}");
    assert_eq!(yesterday["requested"], "0.00");
    let _ = (single, open);
    // Budget: 10,000,000.00 set, 80,000.00 committed, 25,000.01 paid this year.
    let budget = get_json(
        &app,
        &format!("/api/v1/reports/budget?year={}", year()),
        &approver,
    );
    assert_eq!(
        budget["rows"],
        json!([{
            "programme": "THUEREGOVRL-2024", "fiscal_year": year(), "amount": "10000000.00",
            "committed": "80000.00", "paid": "25000.01", "available": "9920000.00"
        }])
    );
    set_budget(&app, year() + 1, "5.00");
    let all = get_json(&app, "/api/v1/reports/budget", &approver);
    assert_eq!(all["rows"].as_array().unwrap().len(), 2);
    // Processing times: two decisions this year, per programme and over all.
    let times = get_json(
        &app,
        &format!("/api/v1/reports/processing-times?year={}", year()),
        &approver,
    );
    let rows = times["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{times}");
    assert_eq!(rows[0]["programme"], "THUEREGOVRL-2024");
    assert!(rows[1].get("programme").is_none());
    for r in rows {
        assert_eq!(r["decided"], 2);
        assert_eq!(r["granted"], 2);
        assert_eq!(r["rejected"], 0);
        let median = r["median_seconds"].as_i64().unwrap();
        let p90 = r["p90_seconds"].as_i64().unwrap();
        assert!(
            median <= p90 && p90 <= r["max_seconds"].as_i64().unwrap(),
            "{r}"
        );
    }
    let none = get_json(
        &app,
        "/api/v1/reports/processing-times?year=2019",
        &approver,
    );
    assert_eq!(none["rows"], json!([]));
}

#[test]
fn bad_report_requests_are_refused_with_the_field_named() {
    let app = spawn_app();
    let ministry = app.ministry();
    for (query, field) in [
        ("volumes?basis=decision", "basis"),
        ("volumes?group_by=year,year", "group_by"),
        ("volumes?group_by=year,month", "group_by"),
        ("volumes?from=2021&to=2020", "to"),
        ("volumes?from=1850", "from"),
        ("volumes?kreis=16O63", "kreis"),
        ("volumes?programme=NOPE", "programme"),
        ("volumes?format=xlsx", "format"),
        ("pipeline?programme=NOPE", "programme"),
        ("budget?year=99999", "year"),
        ("processing-times?format=pdf", "format"),
    ] {
        let p = app
            .get(&format!("/api/v1/reports/{query}"), Some(&ministry))
            .assert_problem(422);
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(fields.contains(&field), "{query}: {p}");
    }
    for query in [
        "volumes?colour=red",
        "volumes?from=twenty",
        "pipeline?as_of=2019-13-01",
        "budget?year=x",
    ] {
        app.get(&format!("/api/v1/reports/{query}"), Some(&ministry))
            .assert_problem(400);
    }
}
