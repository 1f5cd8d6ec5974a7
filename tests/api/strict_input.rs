//! Input is read as strictly as the API documents it (issue 16): a key twice in a body,
//! decimals spelt any other way than `-?[0-9]+(\.[0-9]+)?`, negative zero, dates that are not
//! `YYYY-MM-DD` or lie out of range, programme edits that leave the programme inconsistent,
//! and token subjects that only look like another. Each is refused with 400 or 422
//! problem+json, and nothing is written.

use serde_json::{Value, json};

use crate::applications::{LEAD, SALZUNGEN, case_in, draft_body, with, year};
use crate::helpers::{DbWatch, Resp, TestApp, spawn_app};
use crate::notices::{PROGRAMME, grant_body, nid_of, prepare, refused, set_budget, snapshot};

const PROGRAMME_PATH: &str = "/api/v1/programmes/THUEREGOVRL-2024";

/// Sends `body` as it is (serde_json cannot write a key twice).
fn send_raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: &str,
) -> Resp {
    let headers: Vec<(&str, &str)> = if_match.map(|v| vec![("If-Match", v)]).unwrap_or_default();
    app.request(
        method,
        path,
        Some(token),
        &headers,
        Some(("application/json", body.as_bytes().to_vec())),
    )
}

/// Asserts the refusal (status, problem+json, the field if given) and that the database holds
/// what it held before.
fn refused_unwritten(
    db: &mut DbWatch,
    what: &str,
    send: impl FnOnce() -> Resp,
    status: u16,
    field: Option<&str>,
) -> Value {
    let before = db.state();
    let p = refused(what, &send(), status, field);
    db.assert_unchanged(&before, what);
    p
}

#[test]
fn a_key_twice_in_one_object_is_400_at_any_depth_and_writes_nothing() {
    let app = spawn_app();
    let admin = app.admin();
    let lead = app.applicant(&[LEAD]);
    let mut db = app.watch_db();
    let budget = format!("/api/v1/programmes/{PROGRAMME}/budgets/{}", year() + 1);
    let draft = draft_body(LEAD).to_string();
    let nested = draft.replacen(
        r#""amount":"40000.00""#,
        r#""amount":"40000.00","amount":"1.00""#,
        1,
    );
    assert_ne!(nested, draft, "the draft has a first cost line of 40000.00");
    // (what, method, path, token, If-Match, raw body)
    type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, String);
    let cases: [Case<'_>; 4] = [
        (
            "a budget's amount twice (the issue's example)",
            "PUT",
            &budget,
            &admin,
            None,
            r#"{"amount":"1.00","amount":"39999.99"}"#.into(),
        ),
        (
            "a cost line's amount twice",
            "POST",
            "/api/v1/applications",
            &lead,
            None,
            nested,
        ),
        (
            "a key twice, spelt once with an escape",
            "PUT",
            &budget,
            &admin,
            None,
            r#"{"amount":"1.00","\u0061mount":"2.00"}"#.into(),
        ),
        (
            "a programme's maximum grant set and cleared",
            "PATCH",
            PROGRAMME_PATH,
            &admin,
            Some("\"1\""),
            r#"{"max_grant":"250000.00","max_grant":null}"#.into(),
        ),
    ];
    for (what, method, path, token, if_match, body) in cases {
        let p = refused_unwritten(
            &mut db,
            what,
            || send_raw(&app, method, path, token, if_match, &body),
            400,
            None,
        );
        let detail = p["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("appears twice"), "{what}: {detail}");
    }
    // The same bodies with each key once are accepted.
    let r = app.put_budget(
        PROGRAMME,
        year() + 1,
        &admin,
        &serde_json::json!({"amount": "39999.99"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = send_raw(&app, "POST", "/api/v1/applications", &lead, None, &draft);
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn decimals_are_digits_with_an_optional_point_and_never_negative_zero() {
    let app = spawn_app();
    let admin = app.admin();
    let lead = app.applicant(&[LEAD, SALZUNGEN]);
    let mut db = app.watch_db();
    // Rates and shares are strings the handler reads: a malformed one is 422 naming it.
    for rate in [
        "5e-1", ".8", "0.5_0", "0_5", "+0.5", "-0", "0.80000", " 0.8",
    ] {
        refused_unwritten(
            &mut db,
            &format!("max_rate {rate:?}"),
            || {
                app.patch_programme(
                    "THUEREGOVRL-2024",
                    &admin,
                    Some("\"1\""),
                    &json!({"max_rate": rate}),
                )
            },
            422,
            Some("max_rate"),
        );
        let partners = json!([{"ags": LEAD, "share": rate}, {"ags": SALZUNGEN, "share": "0.5"}]);
        refused_unwritten(
            &mut db,
            &format!("share {rate:?}"),
            || {
                app.create_application(
                    &lead,
                    &with(draft_body(LEAD), json!({"partners": partners})),
                )
            },
            422,
            Some("partners[0].share"),
        );
    }
    for percent in ["1e0", ".5", "1_0", "-0.00", "-0"] {
        refused_unwritten(
            &mut db,
            &format!("rate_percent {percent:?}"),
            || {
                app.post_json(
                    "/api/v1/base-rates",
                    Some(&admin),
                    &json!({"valid_from": format!("{}-01-01", year() + 1), "rate_percent": percent}),
                )
            },
            422,
            Some("rate_percent"),
        );
    }
    // Amounts are typed in the schema: a malformed one is 400, as every malformed amount.
    for amount in ["-0.00", "-000.00", "1e3", "1_000.00", ".50", "+1.00"] {
        refused_unwritten(
            &mut db,
            &format!("budget {amount:?}"),
            || app.put_budget(PROGRAMME, year() + 1, &admin, &json!({"amount": amount})),
            400,
            None,
        );
        refused_unwritten(
            &mut db,
            &format!("requested_grant {amount:?}"),
            || {
                app.create_application(
                    &lead,
                    &with(draft_body(LEAD), json!({"requested_grant": amount})),
                )
            },
            400,
            None,
        );
    }
    // Digits without a point are a rate: `1` is 100 %.
    let r = app.patch_programme(
        "THUEREGOVRL-2024",
        &admin,
        Some("\"1\""),
        &json!({"max_rate": "1"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["max_rate"], "1.00");
}

#[test]
fn dates_in_a_body_are_yyyy_mm_dd_within_range() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let admin = app.admin();
    let mut db = app.watch_db();
    // In a body: a malformed date is 400, a well-formed one out of range 422 naming the field.
    for (date, status) in [
        ("2027-1-1", 400),
        ("27-01-01", 400),
        ("+12027-01-01", 400),
        ("-5000-01-01", 400),
        ("2027-02-30", 400),
        ("1999-12-31", 422),
    ] {
        refused_unwritten(
            &mut db,
            &format!("project_start {date}"),
            || {
                app.create_application(
                    &lead,
                    &with(draft_body(LEAD), json!({"project_start": date})),
                )
            },
            status,
            (status == 422).then_some("project_start"),
        );
        refused_unwritten(
            &mut db,
            &format!("valid_to {date}"),
            || {
                app.patch_programme(
                    "THUEREGOVRL-2024",
                    &admin,
                    Some("\"1\""),
                    &json!({"valid_to": date}),
                )
            },
            status,
            (status == 422).then_some("valid_to"),
        );
    }
}

#[test]
fn dates_and_instants_in_a_query_are_strict_and_within_range() {
    // PostgreSQL answered 500 to a day before 4714 BC here.
    let app = spawn_app();
    let admin = app.admin();
    let cw = app.caseworker();
    let ministry = app.ministry();
    let mut db = app.watch_db();
    let queries: [(&str, &str, u16, Option<&str>); 12] = [
        (
            "/api/v1/municipalities?valid_on=2027-1-1",
            "valid_on",
            422,
            Some("valid_on"),
        ),
        (
            "/api/v1/municipalities?valid_on=-5000-01-01",
            "valid_on",
            422,
            Some("valid_on"),
        ),
        (
            "/api/v1/municipalities?valid_on=1900-01-01",
            "valid_on",
            422,
            Some("valid_on"),
        ),
        (
            "/api/v1/reports/pipeline?as_of=2019-1-31",
            "as_of",
            400,
            None,
        ),
        (
            "/api/v1/reports/pipeline?as_of=-5000-01-01",
            "as_of",
            400,
            None,
        ),
        (
            "/api/v1/applications?updated_since=-5000-01-01T00:00:00Z",
            "updated_since",
            400,
            None,
        ),
        (
            "/api/v1/applications?updated_since=2026-1-01T00:00:00Z",
            "updated_since",
            400,
            None,
        ),
        (
            "/api/v1/applications?updated_since=1969-12-31T23:59:59Z",
            "updated_since",
            422,
            Some("updated_since"),
        ),
        (
            "/api/v1/applications?updated_since=2101-01-01T00:00:00Z",
            "updated_since",
            422,
            Some("updated_since"),
        ),
        (
            "/api/v1/audit?since=-5000-01-01T00:00:00Z",
            "since",
            400,
            None,
        ),
        (
            "/api/v1/audit?since=2026-01-01%2000:00:00Z",
            "since",
            400,
            None,
        ),
        (
            "/api/v1/audit?since=0001-01-01T00:00:00Z",
            "since",
            422,
            Some("since"),
        ),
    ];
    for (path, what, status, field) in queries {
        let token = match what {
            "since" => &admin,
            "as_of" => &ministry,
            _ => &cw,
        };
        refused_unwritten(&mut db, path, || app.get(path, Some(token)), status, field);
    }
    // Well-formed and in range: answered.
    for (path, token) in [
        ("/api/v1/municipalities?valid_on=2020-01-01", &cw),
        (
            "/api/v1/applications?updated_since=1970-01-01T00:00:00Z",
            &cw,
        ),
        ("/api/v1/audit?since=2026-01-01T00:00:00%2B01:00", &admin),
        ("/api/v1/reports/pipeline?as_of=2019-12-31", &ministry),
    ] {
        let r = app.get(path, Some(token));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
}

#[test]
fn a_programme_edit_with_several_bad_fields_is_one_422_naming_each_and_changes_nothing() {
    let app = spawn_app();
    let admin = app.admin();
    let mut db = app.watch_db();
    let p = refused_unwritten(
        &mut db,
        "an edit that breaks every rule",
        || {
            app.patch_programme(
                "THUEREGOVRL-2024",
                &admin,
                Some("\"1\""),
                &json!({
                    "name": "  ",
                    "max_rate": null,
                    "min_grant": "60000.00",
                    "max_grant": "50000.00",
                    "valid_to": "2024-06-30",
                    "call_opens": "2027-03-01",
                    "call_closes": "2027-02-01",
                    "funding_objects": [
                        {"code": "", "description": "ohne Code", "fundable_now": true},
                        {"code": "c", "description": " ", "fundable_now": true},
                        {"code": "z", "fundable_now": true}
                    ]
                }),
            )
        },
        422,
        None,
    );
    let mut fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "call_closes",
            "call_opens",
            "funding_objects[0].code",
            "funding_objects[1].description",
            "funding_objects[2].description",
            "max_grant",
            "max_rate",
            "min_grant",
            "name",
            "valid_to",
        ],
        "{p}"
    );
    // The programme as it would be after the edit, not the edit alone: a maximum grant below
    // the minimum set before, a rate that cannot be read beside a bad date.
    let ok = app.patch_programme(
        "THUEREGOVRL-2024",
        &admin,
        Some("\"1\""),
        &json!({"min_grant": "10000.00"}),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let p = refused_unwritten(
        &mut db,
        "a maximum below the stored minimum and an unreadable rate",
        || {
            app.patch_programme(
                "THUEREGOVRL-2024",
                &admin,
                Some("\"2\""),
                &json!({"max_grant": "5000.00", "max_rate": "5e-1", "call_closes": "2101-01-01"}),
            )
        },
        422,
        None,
    );
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["max_rate", "min_grant", "max_grant", "call_closes"],
        "{p}"
    );
    // A festbetrag programme has no rate: clearing it there is sound.
    let koop = app.patch_programme(
        "THUERFAG-24-KOOP",
        &admin,
        Some("\"1\""),
        &json!({"max_rate": null, "min_partners": 4}),
    );
    assert_eq!(koop.status, 200, "{}", koop.body);
}

#[test]
fn a_look_alike_of_the_preparer_cannot_sign_the_notice() {
    // Four eyes compare subjects: "carla.caseworker" and the same name with a zero-width
    // space look the same on screen and in the audit log.
    let app = spawn_app();
    set_budget(&app, year(), "1000000.00");
    let id = case_in(&app, "in_review");
    let nid = nid_of(&prepare(&app, &id, &grant_body(json!({}))));
    let before = snapshot(&app, &id);
    for sub in [
        "carla.caseworker\u{200B}",
        "carla.caseworker\u{2060}",
        "\u{202E}carla.caseworker",
        "carla.caseworker ",
        "carla.caseworke\u{0072}\u{0301}",
    ] {
        let token = app.token(foerderakte::domain::Role::Approver, sub, &[]);
        let r = app.sign_notice(&nid, &token);
        refused(&format!("{sub:?}"), &r, 401, None);
    }
    assert_eq!(snapshot(&app, &id), before);
}
