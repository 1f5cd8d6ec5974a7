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
    assert!(p["detail"].as_str().unwrap().contains("never changed"));
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
