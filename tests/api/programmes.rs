//! Programmes: shipped as data, read by every role, changed by admin with If-Match and audit.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[test]
fn the_four_programmes_are_shipped_with_their_funding_objects() {
    let app = spawn_app();
    let t = app.applicant(&["16063105"]);
    let list = app.get("/api/v1/programmes", Some(&t)).json();
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "THUEREGOVRL-2018",
            "THUEREGOVRL-2024",
            "THUERFAG-24-KOOP",
            "THUERFAG-24-STUDIE"
        ]
    );
    let p = app.get("/api/v1/programmes/THUEREGOVRL-2024", Some(&t));
    assert_eq!(p.status, 200);
    assert_eq!(p.header("etag"), Some("\"1\""));
    let p = p.json();
    assert_eq!(p["max_rate"], "0.80");
    let fundable: Vec<&str> = p["funding_objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["fundable_now"] == true)
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(fundable, ["c", "f"]);
    let koop = app
        .get("/api/v1/programmes/THUERFAG-24-KOOP", Some(&t))
        .json();
    assert_eq!(koop["max_grant"], "500000.00");
    assert_eq!(koop["min_partners"], 3);
    assert_eq!(
        app.get("/api/v1/programmes/THUERFAG-24-STUDIE", Some(&t))
            .json()["max_rate"],
        "0.75"
    );
    app.get("/api/v1/programmes/NOPE", Some(&t))
        .assert_problem(404);
}

#[test]
fn an_admin_changes_a_programme_with_if_match_and_the_audit_log_records_it() {
    let app = spawn_app();
    let admin = app.admin();
    let path = "/api/v1/programmes/THUEREGOVRL-2024";
    let body = json!({"max_grant": "250000.00", "funding_objects": [{"code": "a", "fundable_now": true}], "reason": "Aufruf 2027"});
    let send = |token: &str, if_match: Option<&str>, body: &serde_json::Value| {
        let headers: Vec<(&str, &str)> =
            if_match.map(|v| vec![("If-Match", v)]).unwrap_or_default();
        app.request(
            "PATCH",
            path,
            Some(token),
            &headers,
            Some(("application/json", serde_json::to_vec(body).unwrap())),
        )
    };
    send(&app.caseworker(), Some("\"1\""), &body).assert_problem(403);
    send(&admin, None, &body).assert_problem(428);
    send(&admin, Some("\"7\""), &body).assert_problem(412);
    send(&admin, Some("\"1\""), &json!({"max_rate": "1.20"})).assert_problem(422);
    send(&admin, Some("\"1\""), &json!({"max_grant": 250000})).assert_problem(400);
    send(
        &admin,
        Some("\"1\""),
        &json!({"funding_objects": [{"code": "z", "fundable_now": true}]}),
    )
    .assert_problem(422);
    // Nothing above changed anything.
    assert_eq!(app.get(path, Some(&admin)).header("etag"), Some("\"1\""));

    let ok = send(&admin, Some("\"1\""), &body);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    assert_eq!(ok.json()["max_grant"], "250000.00");
    send(&admin, Some("\"1\""), &body).assert_problem(412);

    let log = app.audit_log(&admin).json();
    let items: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "init" && e["record_type"] == "programme")
        .collect();
    assert_eq!(items.len(), 1);
    let e = items[0];
    assert_eq!(e["record_type"], "programme");
    assert_eq!(e["record_key"], "THUEREGOVRL-2024");
    assert_eq!(e["actor"], "otto.operator");
    assert_eq!(e["reason"], "Aufruf 2027");
    assert_eq!(
        e["changes"]["max_grant_cents"],
        json!({"before": null, "after": 25_000_000})
    );
    assert!(e["changes"]["funding_objects"]["before"].is_array());
    app.get("/api/v1/audit", Some(&app.caseworker()))
        .assert_problem(403);
}

#[test]
fn audit_verify_names_an_entry_changed_behind_the_servers_back() {
    use diesel::prelude::*;
    let app = spawn_app();
    let admin = app.admin();
    let mut conn = app.db();
    let before = crate::helpers::audit_entries(&mut conn);
    for (i, v) in ["\"1\"", "\"2\"", "\"3\""].iter().enumerate() {
        let body = json!({"name": format!("Programm {i}")});
        let r = app.request(
            "PATCH",
            "/api/v1/programmes/THUERFAG-24-KOOP",
            Some(&admin),
            &[("If-Match", v)],
            Some(("application/json", serde_json::to_vec(&body).unwrap())),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let ok = app.get("/api/v1/audit/verify", Some(&admin));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["entries_checked"], before + 3);

    // The programme's second change (its first entry is the shipped row's `init`).
    let second: i64 = diesel::sql_query(
        "SELECT id FROM audit_events WHERE record_key = 'THUERFAG-24-KOOP' AND seq = 3",
    )
    .load::<IdRow>(&mut conn)
    .unwrap()[0]
        .id;
    crate::helpers::drop_guards(&mut conn);
    diesel::sql_query(format!(
        "UPDATE audit_events SET actor = 'mallory' WHERE id = {second}"
    ))
    .execute(&mut conn)
    .unwrap();
    let broken = app
        .get("/api/v1/audit/verify", Some(&admin))
        .assert_problem(409);
    let detail = broken["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("audit_events {second} mac")),
        "{detail}"
    );
    assert!(detail.contains("#3"), "{detail}");
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}
