//! The rules of deemed delivery (§ 41 (2) VwVfG) as dated data: the fourth day for notices
//! posted since 1 January 2025, written at start-up through the audited path with its legal
//! source, once.

use diesel::prelude::*;
use foerderakte::persistence::notices::delivery_rule_rows;
use foerderakte::persistence::schema::audit_events as a;

use crate::helpers::{spawn_app, verify_db};

fn rule_entries(
    conn: &mut foerderakte::persistence::AnyConnection,
) -> Vec<(String, String, String)> {
    a::table
        .filter(a::record_type.eq("delivery_rule"))
        .order(a::id.asc())
        .select((a::record_key, a::action, a::actor))
        .load(conn)
        .unwrap()
}

#[test]
fn the_fourth_day_rule_enters_the_log_once_with_its_legal_source() {
    let app = spawn_app();
    let mut conn = app.db();
    let rows = delivery_rule_rows(&mut conn).unwrap();
    let rules: Vec<(String, i32)> = rows
        .iter()
        .map(|r| (r.valid_from.to_string(), r.days))
        .collect();
    assert_eq!(
        rules,
        [("1900-01-01".to_owned(), 3), ("2025-01-01".to_owned(), 4)]
    );
    for r in &rows {
        let source = r.source.as_deref().unwrap_or_default();
        assert!(source.contains("§ 41 Abs. 2 Satz 1 VwVfG"), "{r:?}");
    }
    assert!(
        rows[1]
            .source
            .as_deref()
            .unwrap()
            .contains("BGBl. 2024 I Nr. 236")
    );
    let entries = rule_entries(&mut conn);
    let expected: Vec<(String, String, String)> = [
        ("1900-01-01", "init"),
        ("1900-01-01", "update"),
        ("2025-01-01", "create"),
    ]
    .iter()
    .map(|(k, action)| ((*k).to_owned(), (*action).to_owned(), "system".to_owned()))
    .collect();
    assert_eq!(entries, expected);
    let report = verify_db(&mut conn);
    assert!(report.ok, "{:?}", report.findings);

    // A restart writes nothing more: the rules are as shipped.
    let app = app.restart_with(|_| {});
    let mut conn = app.db();
    assert_eq!(rule_entries(&mut conn), expected);
    let report = verify_db(&mut conn);
    assert!(report.ok, "{:?}", report.findings);
}

/// An administrator adds a rule from a later day, with its source (audited); anything but the
/// newest day is refused, and a notice posted from that day on states the new days.
#[test]
fn an_admin_adds_a_rule_after_the_newest_and_notices_posted_from_its_day_follow_it() {
    use serde_json::json;
    let app = spawn_app();
    let admin = app.admin();
    let list = app.get("/api/v1/delivery-rules", Some(&app.ministry()));
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    let from = crate::applications::day(10);
    let add = |token: &str, body: serde_json::Value| {
        app.post_json("/api/v1/delivery-rules", Some(token), &body)
    };
    let rule = json!({"valid_from": from, "days": 5, "source": "Testgesetz, Art. 1"});
    add(&app.caseworker(), rule.clone()).assert_problem(403);
    for (body, field) in [
        (
            json!({"valid_from": from, "days": 0, "source": "x"}),
            "days",
        ),
        (
            json!({"valid_from": from, "days": 5, "source": " "}),
            "source",
        ),
        (
            json!({"valid_from": "2101-01-01", "days": 5, "source": "x"}),
            "valid_from",
        ),
    ] {
        let p = add(&admin, body.clone()).assert_problem(422);
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    let p = add(
        &admin,
        json!({"valid_from": "2024-06-01", "days": 5, "source": "x"}),
    )
    .assert_problem(409);
    assert!(p["detail"].as_str().unwrap().contains("2025-01-01"), "{p}");
    let r = add(&admin, rule);
    assert_eq!(r.status, 201, "{}", r.body);
    let rules = r.json();
    assert_eq!(rules[2]["days"], 5, "{rules}");
    assert_eq!(rules[2]["source"], "Testgesetz, Art. 1");
    let mut conn = app.db();
    let entries = rule_entries(&mut conn);
    assert_eq!(
        entries.last().unwrap(),
        &(
            from.clone(),
            "create".to_owned(),
            "otto.operator".to_owned()
        )
    );
    // A grant posted on the rule's first day is deemed delivered on its fifth day.
    crate::notices::set_budget(&app, crate::applications::year(), "1000000.00");
    crate::notices::set_budget(&app, crate::applications::year() + 1, "1000000.00");
    let id = crate::applications::case_in(&app, "in_review");
    let body = crate::applications::with(
        crate::notices::partial_grant_body(),
        json!({"posted_on": from, "grant_period_start": from}),
    );
    let n = crate::notices::prepare(&app, &id, &body);
    assert_eq!(n["delivery_days"], 5, "{n}");
    let report = verify_db(&mut conn);
    assert!(report.ok, "{report:?}");
}
