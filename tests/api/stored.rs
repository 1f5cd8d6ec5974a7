//! Typed rows (`persistence::stored`): money columns load into `Money`, status and kind
//! columns into their enums. Stored data that does not convert is a 500 problem that names
//! nothing of it to the client (the cause goes to the log), never a silent 0.00 or a guess.

use diesel::RunQueryDsl;
use serde_json::json;

use crate::applications::{LEAD, create, draft_body, id_of};
use crate::helpers::spawn_app;

fn corrupt(app: &crate::helpers::TestApp, sql: &str) {
    let mut db = app.db();
    let n = diesel::sql_query(sql).execute(&mut db).unwrap();
    assert_eq!(n, 1, "{sql}");
}

#[test]
fn corrupt_stored_values_are_a_500_never_a_default() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let case = create(&app, &lead, &draft_body(LEAD));
    let id = id_of(&case);
    assert_eq!(case["requested_grant"], "42000.00");
    // A status or category no version of the service writes: the schema's CHECK refuses it
    // already (the typed rows are the second line of defence).
    let mut db = app.db();
    for sql in [
        format!("UPDATE applications SET status = 'approvedd' WHERE id = '{id}'"),
        format!("UPDATE cost_lines SET category = 'catering' WHERE application_id = '{id}'"),
    ] {
        let refused = diesel::sql_query(&sql).execute(&mut db);
        assert!(refused.is_err(), "{sql}");
    }
    // Amounts beyond the largest one (100 billion euros), which the schema admits: not 0.00,
    // not clamped.
    let cases = [
        (
            format!("UPDATE applications SET requested_cents = 10000000000001 WHERE id = '{id}'"),
            format!("UPDATE applications SET requested_cents = 4200000 WHERE id = '{id}'"),
        ),
        (
            format!(
                "UPDATE applications SET granted_cents = 9223372036854775807 WHERE id = '{id}'"
            ),
            format!("UPDATE applications SET granted_cents = NULL WHERE id = '{id}'"),
        ),
        (
            format!(
                "UPDATE cost_lines SET amount_cents = 10000000000001 WHERE application_id = '{id}' \
                 AND line_no = 3"
            ),
            format!(
                "UPDATE cost_lines SET amount_cents = 30000 WHERE application_id = '{id}' \
                 AND line_no = 3"
            ),
        ),
    ];
    for (break_it, repair) in &cases {
        corrupt(&app, break_it);
        let resp = app.get_application(&id, &lead);
        let p = resp.assert_problem(500);
        assert_eq!(p["title"], "Internal server error", "{break_it}: {p}");
        for leaked in ["10000000000001", "9223372036854775807", "corrupt"] {
            assert!(!resp.body.contains(leaked), "{break_it}: {}", resp.body);
        }
        // A list that shows the corrupt column fails the same way, rather than showing 0.00.
        if break_it.starts_with("UPDATE applications") {
            let list = app.get("/api/v1/applications", Some(&app.caseworker()));
            assert_eq!(list.status, 500, "{break_it}: {}", list.body);
        }
        corrupt(&app, repair);
        let again = app.get_application(&id, &lead);
        assert_eq!(again.status, 200, "{repair}: {}", again.body);
        assert_eq!(again.json()["requested_grant"], "42000.00");
    }
}

#[test]
fn a_cost_plan_whose_sum_exceeds_the_largest_amount_is_refused() {
    // Each line may reach the largest amount; their sum is stored as one amount, so it may not.
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let mut body = draft_body(LEAD);
    body["cost_lines"] = json!([
        {"category": "software", "description": "A", "amount": "100000000000.00", "eligible": true},
        {"category": "hardware", "description": "B", "amount": "100000000000.00", "eligible": true}
    ]);
    let p = app.create_application(&lead, &body).assert_problem(422);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"cost_lines"), "{p}");
}
