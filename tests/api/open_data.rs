//! Open data (issue 17): the signed grants of a year without personal data, under the
//! Datenlizenz Deutschland – Namensnennung 2.0; without a token only with `OPEN_DATA=true`.

use serde_json::json;

use crate::applications::{LEAD, case_in, with, year};
use crate::helpers::{TestApp, jwt_settings, spawn_app, spawn_app_configured};
use crate::notices::{nid_of, partial_grant_body, prepare, set_budget, sign};

fn granted_case(app: &TestApp) -> String {
    set_budget(app, year(), "1000000.00");
    let id = case_in(app, "in_review");
    let n = sign(
        app,
        &nid_of(&prepare(app, &id, &with(partial_grant_body(), json!({})))),
    );
    assert_eq!(n["granted_amount"], "40000.00");
    n["number"].as_str().expect("a notice number").to_owned()
}

#[test]
fn the_grants_of_a_year_are_open_data_without_personal_data() {
    let app = spawn_app();
    let number = granted_case(&app);
    let path = format!("/api/v1/open-data/grants?year={}", year());
    // By default a token of a role that reads reports is needed.
    app.get(&path, None).assert_problem(401);
    app.get(&path, Some(&app.applicant(&[LEAD])))
        .assert_problem(403);
    let r = app.get(&path, Some(&app.ministry()));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("link"),
        Some("<https://www.govdata.de/dl-de/by-2-0>; rel=\"license\"")
    );
    let v = r.json();
    assert_eq!(v["license"]["id"], "dl-de/by-2-0", "{v}");
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["total"], "40000.00", "{v}");
    let g = &v["grants"][0];
    assert_eq!(g["notice_number"], number.as_str(), "{g}");
    assert_eq!(g["ags"], LEAD, "{g}");
    assert_eq!(g["amount"], "40000.00", "{g}");
    assert_eq!(g["signed_on"], crate::applications::day(0), "{g}");
    // No person: neither the applicant, the caseworker nor the approver appears, nor the
    // case's id.
    let keys: Vec<&String> = g.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "ags",
            "amount",
            "funding_object",
            "joint",
            "kreis",
            "kreis_name",
            "municipality",
            "notice_number",
            "partners",
            "programme",
            "purpose",
            "signed_on"
        ],
        "{g}"
    );
    for who in [
        "ingo.it-lead",
        "carla.caseworker",
        "otto.operator",
        "approver",
    ] {
        assert!(!r.body.contains(who), "{who} in {}", r.body);
    }
    // German CSV: German headers, decimal comma; another year is empty; a year out of range 422.
    let (status, csv) = app.get_bytes(&format!("{path}&format=csv-de"), &app.ministry());
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.contains("Bescheidnummer;Bescheiddatum;Gemeindeschlüssel"),
        "{csv}"
    );
    assert!(csv.contains(";40000,00"), "{csv}");
    let r = app.get("/api/v1/open-data/grants?year=2001", Some(&app.ministry()));
    assert_eq!(r.json()["count"], 0);
    app.get("/api/v1/open-data/grants?year=1999", Some(&app.ministry()))
        .assert_problem(422);
}

#[test]
fn with_open_data_on_the_grants_need_no_token() {
    let app = spawn_app_configured(jwt_settings(), |s| s.open_data = true);
    granted_case(&app);
    let path = format!("/api/v1/open-data/grants?year={}", year());
    let r = app.get(&path, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["count"], 1);
    // Only this: the reports themselves still need a token.
    app.get("/api/v1/reports/volumes", None).assert_problem(401);
}
