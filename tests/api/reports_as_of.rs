//! Reports that stand still (issue 17): `as_of=YYYY-MM-DD` on volumes and budget gives the
//! figures as known at the end of that day (German time). A past day's report answers the same
//! bytes whatever is recorded later; without `as_of` a report is today's knowledge; and an
//! `as_of` after the last write is today's report, on every basis and grouping (which checks
//! that `reporting::sql::case_money_as_of` and `committed_as_of` rebuild what the write path
//! keeps in the case and budget rows).

use chrono::NaiveDate;
use foerderakte::seed::{self, DEFAULT_SEED, Options};
use serde_json::{Value, json};

use crate::applications::{LEAD, case_in, with};
use crate::helpers::{TestApp, spawn_app};
use crate::notices::{nid_of, partial_grant_body, prepare, set_budget, sign};

const BASES: [&str; 3] = ["notice", "submission", "payment"];
const GROUPINGS: [&str; 6] = [
    "",
    "year",
    "year,municipality",
    "kreis",
    "programme,funding_object",
    "joint",
];

fn bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let (status, body) = app.get_bytes(path, &app.ministry());
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    body
}

fn json_without_as_of(app: &TestApp, path: &str) -> Value {
    let mut v: Value = serde_json::from_slice(&bytes(app, path)).unwrap();
    v.as_object_mut().unwrap().remove("as_of");
    v
}

/// Every report path of the comparison: volumes by basis and grouping, and the budget, in
/// JSON and German CSV; `{as_of}` is replaced by the query's `as_of` part.
fn report_paths() -> Vec<String> {
    let mut paths = Vec::new();
    for basis in BASES {
        for g in GROUPINGS {
            for format in ["json", "csv-de"] {
                paths.push(format!(
                    "/api/v1/reports/volumes?basis={basis}&group_by={g}&format={format}{{as_of}}"
                ));
            }
        }
    }
    for year in ["", "&year=2020"] {
        for format in ["json", "csv-de"] {
            paths.push(format!(
                "/api/v1/reports/budget?format={format}{year}{{as_of}}"
            ));
        }
    }
    paths
}

#[test]
fn on_the_demo_data_an_as_of_after_the_last_write_is_todays_report_on_every_basis() {
    let app = spawn_app();
    let mut conn = app.db();
    let options = Options {
        cases: None,
        seed: DEFAULT_SEED,
        bulk: false,
    };
    seed::run(&mut conn, &options, &mut |_| {}).unwrap();
    for path in report_paths() {
        let now = path.replace("{as_of}", "");
        let later = path.replace("{as_of}", "&as_of=2200-12-31");
        if path.contains("format=json") {
            assert_eq!(
                json_without_as_of(&app, &later),
                json_without_as_of(&app, &now),
                "{later}"
            );
        } else {
            assert_eq!(bytes(&app, &later), bytes(&app, &now), "{later}");
        }
    }
    // The public figures of 2019 were known by the end of 2019: 16 notices, 310,620.00 €.
    let v = json_without_as_of(
        &app,
        "/api/v1/reports/volumes?group_by=year&from=2019&to=2019&as_of=2019-12-31",
    );
    assert_eq!(v["rows"][0]["count"], 16, "{v}");
    assert_eq!(v["rows"][0]["granted"], "310620.00", "{v}");
    // Nothing signed by the end of 2018.
    let v = json_without_as_of(&app, "/api/v1/reports/volumes?group_by=&as_of=2018-12-31");
    assert_eq!(v["rows"], json!([]), "{v}");
    assert_eq!(v["totals"]["granted"], "0.00", "{v}");
}

/// Requests `amount` for the case as its lead, has the caseworker prepare it and another
/// approver than the grant's signer release it.
fn pay(app: &TestApp, id: &str, amount: &str) {
    let r = app.request_payment(id, &app.applicant(&[LEAD]), &json!({ "amount": amount }));
    assert_eq!(r.status, 201, "request {amount}: {}", r.body);
    let pid = r.json()["id"].as_str().unwrap().to_owned();
    let r = app.payout(&pid, &app.caseworker());
    assert_eq!(r.status, 200, "prepare {amount}: {}", r.body);
    let r = app.payout(&pid, &app.releaser());
    assert_eq!(r.status, 200, "release {amount}: {}", r.body);
}

/// A grant of 40,000.00 € posted on `day`, for the rest of 2025.
fn grant_on(app: &TestApp, id: &str, day: &str) {
    let body = with(
        partial_grant_body(),
        json!({"posted_on": day, "grant_period_start": day, "grant_period_end": "2025-12-31"}),
    );
    let n = sign(app, &nid_of(&prepare(app, id, &body)));
    assert_eq!(n["granted_amount"], "40000.00", "{n}");
}

#[test]
fn a_report_as_of_yesterday_answers_the_same_bytes_after_a_grant_is_signed_and_paid_today() {
    let app = spawn_app();
    let day = |s: &str| s.parse::<NaiveDate>().unwrap();
    app.travel_to(day("2025-03-03"));
    set_budget(&app, 2025, "1000000.00");
    let first = case_in(&app, "in_review");
    grant_on(&app, &first, "2025-03-03");
    app.travel_to(day("2025-03-10"));
    pay(&app, &first, "10000.00");
    // The next day: the reports as of yesterday (the payout's day) and as of today.
    app.travel_to(day("2025-03-11"));
    let paths = report_paths();
    let as_of = |p: &str| p.replace("{as_of}", "&as_of=2025-03-10");
    let today = |p: &str| p.replace("{as_of}", "");
    let before: Vec<Vec<u8>> = paths.iter().map(|p| bytes(&app, &as_of(p))).collect();
    let now_before: Vec<Vec<u8>> = paths.iter().map(|p| bytes(&app, &today(p))).collect();
    let v = json_without_as_of(&app, "/api/v1/reports/volumes?group_by=&as_of=2025-03-10");
    assert_eq!(v["totals"]["count"], 1, "{v}");
    assert_eq!(v["totals"]["granted"], "40000.00", "{v}");
    assert_eq!(v["totals"]["paid"], "10000.00", "{v}");
    // Today: a second grant signed, the first case paid again, the budget raised.
    let second = case_in(&app, "in_review");
    grant_on(&app, &second, "2025-03-11");
    pay(&app, &first, "5000.00");
    set_budget(&app, 2025, "1500000.00");
    for (i, p) in paths.iter().enumerate() {
        assert_eq!(
            bytes(&app, &as_of(p)),
            before[i],
            "{} changed after later writes",
            as_of(p)
        );
    }
    // Without as_of the reports show today's knowledge: the second grant, the payout, the
    // budget (every path whose figures the writes touch).
    let changed = paths
        .iter()
        .enumerate()
        .filter(|(i, p)| bytes(&app, &today(p)) != now_before[*i])
        .count();
    let untouched: Vec<&String> = paths
        .iter()
        .enumerate()
        .filter(|(i, p)| bytes(&app, &today(p)) == now_before[*i])
        .map(|(_, p)| p)
        .collect();
    // The budget of 2020 (no money of 2020 in this test) is the only report unchanged.
    assert!(
        untouched.iter().all(|p| p.contains("year=2020")),
        "{untouched:?}"
    );
    assert_eq!(changed, paths.len() - untouched.len());
    let v = json_without_as_of(&app, "/api/v1/reports/volumes?group_by=");
    assert_eq!(v["totals"]["count"], 2, "{v}");
    assert_eq!(v["totals"]["granted"], "80000.00", "{v}");
    assert_eq!(v["totals"]["paid"], "15000.00", "{v}");
    let b = json_without_as_of(&app, "/api/v1/reports/budget?year=2025&as_of=2025-03-10");
    assert_eq!(b["rows"][0]["amount"], "1000000.00", "{b}");
    assert_eq!(b["rows"][0]["committed"], "40000.00", "{b}");
    assert_eq!(b["rows"][0]["paid"], "10000.00", "{b}");
    let b = json_without_as_of(&app, "/api/v1/reports/budget?year=2025");
    assert_eq!(b["rows"][0]["amount"], "1500000.00", "{b}");
    assert_eq!(b["rows"][0]["committed"], "80000.00", "{b}");
    assert_eq!(b["rows"][0]["paid"], "15000.00", "{b}");
}
