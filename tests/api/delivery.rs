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
