//! Base rates of § 247 BGB: shipped as data, read by every role, extended by admin only.

use serde_json::json;

use crate::helpers::spawn_app;

#[test]
fn the_shipped_base_rates_are_known_until_june_2026_and_an_admin_extends_them() {
    let app = spawn_app();
    let reader = app.applicant(&["16063105"]);
    let r = app.get("/api/v1/base-rates", Some(&reader));
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    let rates = b["rates"].as_array().unwrap();
    assert_eq!(rates.len(), 8);
    assert_eq!(rates[0]["valid_from"], "2016-07-01");
    assert_eq!(rates[0]["rate_percent"], "-0.88");
    assert_eq!(rates[7]["rate_percent"], "1.27");
    assert_eq!(b["known_until"], "2026-06-30");

    let admin = app.admin();
    let add = |token: &str, body: serde_json::Value| {
        app.post_json("/api/v1/base-rates", Some(token), &body)
    };
    let r = add(
        &admin,
        json!({"valid_from": "2026-07-01", "rate_percent": "1.27"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["known_until"], "2026-12-31");
    assert_eq!(r.json()["rates"][8]["added_by"], "otto.operator");

    // stored rates are never changed; only admins add; only change days; two decimals
    let p = add(
        &admin,
        json!({"valid_from": "2026-07-01", "rate_percent": "1.30"}),
    )
    .assert_problem(409);
    assert!(p["detail"].as_str().unwrap().contains("corrections"), "{p}");
    add(
        &app.caseworker(),
        json!({"valid_from": "2027-01-01", "rate_percent": "1.00"}),
    )
    .assert_problem(403);
    for (body, field) in [
        (
            json!({"valid_from": "2027-02-01", "rate_percent": "1.00"}),
            "valid_from",
        ),
        (
            json!({"valid_from": "2027-01-01", "rate_percent": "1.005"}),
            "rate_percent",
        ),
        (
            json!({"valid_from": "2027-01-01", "rate_percent": "35"}),
            "rate_percent",
        ),
    ] {
        let p = add(&admin, body.clone()).assert_problem(422);
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    add(
        &admin,
        json!({"valid_from": "2027-01-01", "rate_percent": 1.0}),
    )
    .assert_problem(400);
    let b = app.get("/api/v1/base-rates", Some(&reader)).json();
    assert_eq!(b["rates"].as_array().unwrap().len(), 9);

    // the addition is in the audit log, and the log verifies
    let log = app.audit_log(&admin).json();
    let added: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_type"] == "base_rate" && e["action"] == "add")
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["record_key"], "2026-07-01");
    assert_eq!(added[0]["changes"]["rate_percent"]["after"], "1.27");
    assert_eq!(
        app.get("/api/v1/audit/verify", Some(&admin)).json()["ok"],
        true
    );
}

/// Base rates are facts (issue 15): no rate is slipped in for a half-year before the newest
/// stored one (interest may rest on the rate that held then); a wrong rate is corrected by an
/// administrator's explicit, audited act with a reason.
#[test]
fn a_past_half_year_is_refused_and_a_correction_is_an_audited_act_with_a_reason() {
    let app = spawn_app();
    let admin = app.admin();
    let rates = |app: &crate::helpers::TestApp| app.get("/api/v1/base-rates", Some(&admin)).json();
    let before = rates(&app);
    // 1 January 2020 lies before the newest stored rate (1 January 2026).
    let p = app
        .post_json(
            "/api/v1/base-rates",
            Some(&admin),
            &json!({"valid_from": "2020-01-01", "rate_percent": "3.00"}),
        )
        .assert_problem(409);
    assert!(p["detail"].as_str().unwrap().contains("2026-01-01"), "{p}");
    assert_eq!(rates(&app), before, "nothing stored");

    let correct = |token: &str, day: &str, body: serde_json::Value| {
        app.post_json(
            &format!("/api/v1/base-rates/{day}/corrections"),
            Some(token),
            &body,
        )
    };
    let body = json!({"rate_percent": "1.30", "reason": "Tippfehler bei der Erfassung"});
    correct(&app.caseworker(), "2026-01-01", body.clone()).assert_problem(403);
    correct(&admin, "2025-02-01", body.clone()).assert_problem(404);
    let p = correct(
        &admin,
        "2026-01-01",
        json!({"rate_percent": "1.30", "reason": " "}),
    )
    .assert_problem(422);
    assert_eq!(p["errors"][0]["field"], "reason", "{p}");
    correct(
        &admin,
        "2026-01-01",
        json!({"rate_percent": "1.27", "reason": "x"}),
    )
    .assert_problem(409);
    assert_eq!(rates(&app), before, "nothing changed by the refusals");

    let r = correct(&admin, "2026-01-01", body);
    assert_eq!(r.status, 200, "{}", r.body);
    let newest = r.json()["rates"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(newest["valid_from"], "2026-01-01");
    assert_eq!(newest["rate_percent"], "1.30");
    let log = app.audit_log(&admin).json();
    let corrections: Vec<_> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_type"] == "base_rate" && e["action"] == "correct")
        .collect();
    assert_eq!(corrections.len(), 1, "{log}");
    let c = corrections[0];
    assert_eq!(c["reason"], "Tippfehler bei der Erfassung");
    assert_eq!(c["changes"]["rate_percent"]["before"], "1.27");
    assert_eq!(c["changes"]["rate_percent"]["after"], "1.30");
    assert_eq!(
        app.get("/api/v1/audit/verify", Some(&admin)).json()["ok"],
        true
    );
}
