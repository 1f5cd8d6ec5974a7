//! Applications: create and read drafts, and create idempotently. The fixtures at the top are
//! shared with the other `applications_*` modules.

use std::sync::Barrier;

use chrono::{Datelike, Duration, Timelike, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};

/// Eisenach, Stadt: in the Wartburgkreis (16063) since 1 July 2021.
pub(crate) const LEAD: &str = "16063105";
/// Bad Salzungen, Stadt (Wartburgkreis).
pub(crate) const SALZUNGEN: &str = "16063003";
/// Barchfeld-Immelborn (Wartburgkreis).
pub(crate) const BARCHFELD: &str = "16063004";
/// Bad Langensalza, Stadt: another Kreis (Unstrut-Hainich-Kreis, 16064).
pub(crate) const LANGENSALZA: &str = "16064003";
/// Eisenach as a kreisfreie Stadt: in the register, but valid only until 2021-06-30.
pub(crate) const EISENACH_OLD: &str = "16056000";

/// Today (the server's German date, `helpers::today`) plus `offset` days, as `YYYY-MM-DD`.
pub(crate) fn day(offset: i64) -> String {
    (crate::helpers::today() + Duration::days(offset)).to_string()
}

pub(crate) fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// The example draft of the API page, moved into the future: eligible 52,500.50, so 80 % is
/// at most 42,000.40; total 52,800.50 = 10,800.50 own + 42,000.00 requested.
pub(crate) fn draft_body(lead: &str) -> Value {
    json!({
        "programme": "THUEREGOVRL-2024",
        "funding_object": "c",
        "lead_ags": lead,
        "title": "Schnittstelle DMS – Fachverfahren Bauamt",
        "description": "Anbindung des Bauamts an DMS und Online-Dienste",
        "project_start": day(60),
        "project_end": day(360),
        "cost_lines": [
            {"category": "software", "description": "Schnittstellenmodul", "amount": "40000.00", "eligible": true},
            {"category": "services", "description": "Einführung und Schulung", "amount": "12500.50", "eligible": true},
            {"category": "other", "description": "Bewirtung", "amount": "300.00", "eligible": false}
        ],
        "own_contribution": "10800.50",
        "third_party_funds": "0.00",
        "requested_grant": "42000.00",
        "partners": [],
        "contact": "Ingo Beispiel, Leiter IT",
        "postal_address": "Stadtverwaltung Eisenach\nMarkt 1\n99817 Eisenach"
    })
}

/// Three Wartburgkreis municipalities, Eisenach leading.
pub(crate) fn three_partners() -> Value {
    json!([
        {"ags": LEAD, "share": "0.3334"},
        {"ags": SALZUNGEN, "share": "0.3333"},
        {"ags": BARCHFELD, "share": "0.3333"}
    ])
}

/// `body` with these top-level fields set.
pub(crate) fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("an object of changes") {
        body[k] = v.clone();
    }
    body
}

/// `body` without this top-level field.
pub(crate) fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().expect("an object").remove(field);
    body
}

/// The fields named in a validation problem's `errors`.
pub(crate) fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|es| {
            es.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Creates a draft and returns the case JSON.
pub(crate) fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let r = app.create_application(token, body);
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

pub(crate) fn id_of(case: &Value) -> String {
    case["id"].as_str().expect("an id").to_owned()
}

/// What a refused request must leave as it was: version, status, history length (read by a
/// caseworker, who sees every case).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct State {
    pub version: i64,
    pub status: String,
    pub events: usize,
}

/// A write that must be refused: (what, token, If-Match, body, status, field named).
pub(crate) type Refused<'a, T> = (&'a str, T, Option<&'a str>, Value, u16, Option<&'a str>);

/// Sends each refused write with `send(token, if_match, body)`; asserts its problem status,
/// the field it names, and that the case (version, status, history) did not change.
pub(crate) fn assert_refused<T: AsRef<str>>(
    app: &TestApp,
    id: &str,
    cases: &[Refused<'_, T>],
    send: impl Fn(&str, Option<&str>, &Value) -> Resp,
) {
    let before = state(app, id);
    for (what, token, if_match, body, status, field) in cases {
        let r = send(token.as_ref(), *if_match, body);
        let p = r.assert_problem(*status);
        if let Some(field) = field {
            assert!(
                error_fields(&p).iter().any(|f| f == field),
                "{what}: {field} not in {}",
                r.body
            );
        }
        assert_eq!(state(app, id), before, "{what} changed the case");
    }
}

pub(crate) fn state(app: &TestApp, id: &str) -> State {
    let cw = app.caseworker();
    let r = app.get_application(id, &cw);
    assert_eq!(r.status, 200, "{}", r.body);
    let case = r.json();
    let version = case["version"].as_i64().expect("a version");
    assert_eq!(r.header("etag"), Some(etag(version).as_str()));
    let h = app.application_history(id, &cw);
    assert_eq!(h.status, 200, "{}", h.body);
    State {
        version,
        status: case["status"].as_str().expect("a status").to_owned(),
        events: h.json().as_array().expect("an array").len(),
    }
}

/// The transition body an action needs to get past input validation.
pub(crate) fn action_body(action: &str) -> Value {
    match action {
        "request_info" => json!({
            "action": action,
            "reason": "Angebot des Dienstleisters fehlt",
            "response_due": day(14),
        }),
        "return_proof" => json!({"action": action, "reason": "Belege fehlen"}),
        // The actual costs of the three lines of `draft_body`, as applied for.
        "submit_proof" => json!({
            "action": action,
            "actual_costs": [
                {"line": 1, "amount": "40000.00"},
                {"line": 2, "amount": "12500.50"},
                {"line": 3, "amount": "300.00"},
            ],
        }),
        _ => json!({"action": action}),
    }
}

/// Posts an action with the case's current ETag.
pub(crate) fn act(app: &TestApp, id: &str, token: &str, body: &Value) -> Resp {
    let version = state(app, id).version;
    app.transition_application(id, token, Some(&etag(version)), body)
}

/// Drives a case through `actions`, each by the role that performs it (`applicant` acts for
/// the applicant side).
pub(crate) fn drive(app: &TestApp, id: &str, applicant: &str, actions: &[&str]) {
    let cw = app.caseworker();
    for action in actions {
        let token = match *action {
            "submit" | "provide_info" | "withdraw" | "submit_proof" => applicant,
            _ => cw.as_str(),
        };
        let r = act(app, id, token, &action_body(action));
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
}

/// The actions that lead a fresh draft into `status`.
pub(crate) fn path_to(status: &str) -> &'static [&'static str] {
    match status {
        "draft" => &[],
        "submitted" => &["submit"],
        "in_review" => &["submit", "start_review"],
        "info_requested" => &["submit", "start_review", "request_info"],
        "withdrawn" => &["withdraw"],
        other => panic!("{other} is not reachable through the API"),
    }
}

/// A fresh, submittable case of `LEAD`, driven into `status`.
pub(crate) fn case_in(app: &TestApp, status: &str) -> String {
    let lead = app.applicant(&[LEAD]);
    let id = id_of(&create(app, &lead, &draft_body(LEAD)));
    drive(app, id.as_str(), &lead, path_to(status));
    assert_eq!(state(app, &id).status, status);
    id
}

/// Asserts that exactly one of `answers` has the status `winner` and every other one `loser`.
pub(crate) fn assert_one_winner(answers: &[Resp], winner: u16, loser: u16) {
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status).collect();
    codes.sort_unstable();
    let mut want = vec![loser; answers.len().saturating_sub(1)];
    want.push(winner);
    want.sort_unstable();
    assert_eq!(
        codes,
        want,
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
}

/// Runs `n` copies of `send` at once (released together by a barrier).
pub(crate) fn race<F>(n: usize, send: F) -> Vec<Resp>
where
    F: Fn(usize) -> Resp + Sync,
{
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, send) = (&barrier, &send);
                s.spawn(move || {
                    barrier.wait();
                    send(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("the request thread"))
            .collect()
    })
}

#[derive(diesel::QueryableByName)]
struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows in a table, counted behind the server's back.
pub(crate) fn count_rows(app: &TestApp, table: &str) -> i64 {
    let mut conn = app.db();
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .load::<CountRow>(&mut conn)
        .expect("count")[0]
        .n
}

pub(crate) fn list_ids(app: &TestApp, query: &str, token: &str) -> Vec<String> {
    let r = app.list_applications(query, token);
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect()
}

pub(crate) fn year() -> i32 {
    crate::helpers::today().year()
}

/// Every action name the API knows, the notice-driven ones included.
pub(crate) const ALL_ACTIONS: [&str; 12] = [
    "submit",
    "start_review",
    "request_info",
    "provide_info",
    "withdraw",
    "submit_proof",
    "return_proof",
    "permit_early_start",
    "approve",
    "reject",
    "close",
    "revoke",
];

// Create and read.

#[test]
fn a_draft_is_created_with_etag_location_and_every_field_of_the_contract() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let r = app.create_application(&lead, &draft_body(LEAD));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"1\""));
    let case = r.json();
    let id = id_of(&case);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/applications/{id}").as_str())
    );
    assert_eq!(case["case_number"], format!("EGOV-{}-0001", year()));
    for (field, expected) in [
        ("status", json!("draft")),
        ("version", json!(1)),
        ("programme", json!("THUEREGOVRL-2024")),
        ("funding_object", json!("c")),
        ("lead_ags", json!(LEAD)),
        ("joint", json!(false)),
        ("partners", json!([])),
        ("title", json!("Schnittstelle DMS – Fachverfahren Bauamt")),
        ("project_start", json!(day(60))),
        ("project_end", json!(day(360))),
        ("total_cost", json!("52800.50")),
        ("eligible_total", json!("52500.50")),
        ("own_contribution", json!("10800.50")),
        ("third_party_funds", json!("0.00")),
        ("requested_grant", json!("42000.00")),
        ("granted_amount", Value::Null),
        ("paid_amount", json!("0.00")),
        ("info_due", Value::Null),
        ("early_start", Value::Null),
        ("processing_days", json!(0)),
        ("processing_clock_running", json!(false)),
        ("submitted_at", Value::Null),
        ("created_by", json!("ingo.it-lead")),
    ] {
        assert_eq!(case[field], expected, "{field}");
    }
    assert_eq!(
        case["cost_lines"][1],
        json!({"line": 2, "category": "services", "description": "Einführung und Schulung", "amount": "12500.50", "eligible": true, "actual_amount": null})
    );
    assert_eq!(case["cost_lines"][2]["line"], 3);
    assert!(case["created_at"].is_string() && case["updated_at"] == case["created_at"]);

    let got = app.get_application(&id, &lead);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.json(), case);

    let history = app.application_history(&id, &lead).json();
    let events = history.as_array().unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["record_type"], "application");
    assert_eq!(e["record_key"], id.as_str());
    assert_eq!(e["seq"], 1);
    assert_eq!(e["action"], "create");
    assert_eq!(e["actor"], "ingo.it-lead");
    assert_eq!(e["role"], "applicant");
    assert_eq!(e["from_status"], Value::Null);
    assert_eq!(e["to_status"], "draft");
    assert_eq!(
        e["changes"]["case_number"],
        json!({"before": null, "after": case["case_number"]})
    );
    assert_eq!(e["changes"]["requested_grant"]["after"], "42000.00");
}

#[test]
fn a_draft_needs_only_programme_funding_object_lead_and_title_and_fag_cases_are_numbered_apart() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let minimal = json!({"programme": "THUEREGOVRL-2024", "funding_object": "f", "lead_ags": LEAD, "title": "Schulung ISB"});
    let a = create(&app, &lead, &minimal);
    assert_eq!(a["description"], "");
    assert_eq!(a["project_start"], Value::Null);
    assert_eq!(a["cost_lines"], json!([]));
    assert_eq!(a["requested_grant"], "0.00");
    assert_eq!(a["total_cost"], "0.00");
    let fag = create(
        &app,
        &lead,
        &json!({"programme": "THUERFAG-24-STUDIE", "funding_object": "studie", "lead_ags": LEAD, "title": "Machbarkeitsstudie"}),
    );
    assert_eq!(fag["case_number"], format!("FAG-{}-0001", year()));
    let b = create(&app, &lead, &minimal);
    assert_eq!(b["case_number"], format!("EGOV-{}-0002", year()));
    for required in ["programme", "funding_object", "lead_ags", "title"] {
        app.create_application(&lead, &without(minimal.clone(), required))
            .assert_problem(400);
    }
}

#[test]
fn invalid_create_requests_are_refused_and_create_nothing() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let line = |amount: Value| json!([{"category": "software", "description": "Modul", "amount": amount, "eligible": true}]);
    // (what, token, body, status, field named in errors)
    type Case = (&'static str, String, Value, u16, Option<&'static str>);
    let b = || draft_body(LEAD);
    let cases: Vec<Case> = vec![
        (
            "amount with three decimals",
            lead.clone(),
            with(b(), json!({"cost_lines": line(json!("40000.000"))})),
            400,
            None,
        ),
        (
            "amount as a JSON number",
            lead.clone(),
            with(b(), json!({"cost_lines": line(json!(40000.00))})),
            400,
            None,
        ),
        (
            "amount with one decimal",
            lead.clone(),
            with(b(), json!({"cost_lines": line(json!("40000.0"))})),
            400,
            None,
        ),
        (
            "requested grant as a JSON number",
            lead.clone(),
            with(b(), json!({"requested_grant": 42000})),
            400,
            None,
        ),
        (
            "own contribution with a comma",
            lead.clone(),
            with(b(), json!({"own_contribution": "10800,50"})),
            400,
            None,
        ),
        (
            "negative own contribution",
            lead.clone(),
            with(b(), json!({"own_contribution": "-1.00"})),
            422,
            Some("own_contribution"),
        ),
        (
            "negative third-party funds",
            lead.clone(),
            with(b(), json!({"third_party_funds": "-0.01"})),
            422,
            Some("third_party_funds"),
        ),
        (
            "negative cost line",
            lead.clone(),
            with(b(), json!({"cost_lines": line(json!("-5.00"))})),
            422,
            Some("cost_lines[0].amount"),
        ),
        (
            "unknown field",
            lead.clone(),
            with(b(), json!({"colour": "blue"})),
            400,
            None,
        ),
        (
            "unknown field in a cost line",
            lead.clone(),
            with(
                b(),
                json!({"cost_lines": [{"category": "software", "description": "x", "amount": "1.00", "eligible": true, "vat": "0.19"}]}),
            ),
            400,
            None,
        ),
        (
            "category not in the enum",
            lead.clone(),
            with(
                b(),
                json!({"cost_lines": [{"category": "catering", "description": "x", "amount": "1.00", "eligible": true}]}),
            ),
            400,
            None,
        ),
        (
            "date that does not exist",
            lead.clone(),
            with(b(), json!({"project_start": "2027-02-30"})),
            400,
            None,
        ),
        (
            "lead not in the token",
            app.applicant(&[SALZUNGEN]),
            b(),
            403,
            None,
        ),
        ("a caseworker creates", app.caseworker(), b(), 403, None),
        ("an approver creates", app.approver(), b(), 403, None),
        (
            "unknown programme",
            lead.clone(),
            with(b(), json!({"programme": "THUEREGOVRL-2099"})),
            422,
            Some("programme"),
        ),
        (
            "funding object not in the programme",
            lead.clone(),
            with(b(), json!({"funding_object": "koop"})),
            422,
            Some("funding_object"),
        ),
        (
            "lead not in the register",
            app.applicant(&["16063999"]),
            draft_body("16063999"),
            422,
            Some("lead_ags"),
        ),
        (
            "partner not in the register",
            lead.clone(),
            with(
                b(),
                json!({"partners": [{"ags": LEAD, "share": "0.5"}, {"ags": "16063999", "share": "0.5"}]}),
            ),
            422,
            Some("partners[1].ags"),
        ),
        (
            "partner key malformed",
            lead.clone(),
            with(
                b(),
                json!({"partners": [{"ags": LEAD, "share": "0.5"}, {"ags": "1606300", "share": "0.5"}]}),
            ),
            422,
            Some("partners[1].ags"),
        ),
        (
            "lead not among the partners",
            lead.clone(),
            with(
                b(),
                json!({"partners": [{"ags": SALZUNGEN, "share": "0.5"}, {"ags": BARCHFELD, "share": "0.5"}]}),
            ),
            422,
            Some("partners"),
        ),
        (
            "a partner listed twice",
            lead.clone(),
            with(
                b(),
                json!({"partners": [{"ags": LEAD, "share": "0.4"}, {"ags": SALZUNGEN, "share": "0.3"}, {"ags": SALZUNGEN, "share": "0.3"}]}),
            ),
            422,
            Some("partners[2].ags"),
        ),
        (
            "share with five decimals",
            lead.clone(),
            with(
                b(),
                json!({"partners": [{"ags": LEAD, "share": "0.33334"}, {"ags": SALZUNGEN, "share": "0.66666"}]}),
            ),
            422,
            Some("partners[0].share"),
        ),
    ];
    for (what, token, body, status, field) in &cases {
        let r = app.create_application(token, body);
        let p = r.assert_problem(*status);
        if let Some(field) = field {
            assert!(
                error_fields(&p).iter().any(|f| f == field),
                "{what}: {field} not in {}",
                r.body
            );
        }
    }
    let none = app.request(
        "POST",
        "/api/v1/applications",
        None,
        &[],
        Some((
            "application/json",
            serde_json::to_vec(&draft_body(LEAD)).unwrap(),
        )),
    );
    none.assert_problem(401);
    assert_eq!(list_ids(&app, "", &app.caseworker()), Vec::<String>::new());
    assert_eq!(count_rows(&app, "applications"), 0);
    assert_eq!(
        count_rows(&app, "audit_events WHERE record_type = 'application'"),
        0
    );
}

// Idempotency.

#[test]
fn fifty_concurrent_creates_with_one_idempotency_key_create_exactly_one_case() {
    let app = spawn_app();
    fifty_creates_with_one_key_create_one_case(&[&app]);
}

/// 50 creates with one `Idempotency-Key` and body at once, request `i` sent to
/// `apps[i % apps.len()]` (all servers on one database): every answer is the first one (one
/// case, one history event), and the key with another body is refused by each server.
pub(crate) fn fifty_creates_with_one_key_create_one_case(apps: &[&TestApp]) {
    let app = apps[0];
    let lead = app.applicant(&[LEAD]);
    let body = draft_body(LEAD);
    let answers = race(50, |i| {
        apps[i % apps.len()].create_application_with_key(&lead, "create-7f3a", &body)
    });
    let first = answers
        .iter()
        .find(|r| r.header("idempotent-replayed").is_none())
        .expect("one answer is the original");
    let id = id_of(&first.json());
    for r in &answers {
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(id_of(&r.json()), id);
        assert_eq!(r.body, first.body);
        assert_eq!(r.header("etag"), Some("\"1\""));
        assert_eq!(
            r.header("location"),
            Some(format!("/api/v1/applications/{id}").as_str())
        );
    }
    let replayed = answers
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 49);
    assert_eq!(list_ids(app, "", &lead), std::slice::from_ref(&id));
    assert_eq!(count_rows(app, "applications"), 1);
    assert_eq!(state(app, &id).events, 1);
    // A later retry gets the same answer too, from every server; the key with another body
    // is refused.
    let other = with(body.clone(), json!({"title": "Ein anderer Antrag"}));
    for to in apps {
        let again = to.create_application_with_key(&lead, "create-7f3a", &body);
        assert_eq!(again.status, 201);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.body, first.body);
        to.create_application_with_key(&lead, "create-7f3a", &other)
            .assert_problem(422);
    }
    assert_eq!(count_rows(app, "applications"), 1);
    assert_eq!(state(app, &id).events, 1);
}

#[test]
fn a_reused_key_with_another_body_is_refused_and_distinct_keys_get_consecutive_case_numbers() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let body = draft_body(LEAD);
    let first = app.create_application_with_key(&lead, "k-1", &body);
    assert_eq!(first.status, 201, "{}", first.body);
    let other = with(body.clone(), json!({"title": "Ein anderer Antrag"}));
    app.create_application_with_key(&lead, "k-1", &other)
        .assert_problem(422);
    let second = app.create_application_with_key(&lead, "k-2", &body);
    let third = app.create_application(&lead, &body);
    let fourth = app.create_application(&lead, &body);
    let numbers: Vec<String> = [&first, &second, &third, &fourth]
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            assert!(r.header("idempotent-replayed").is_none());
            r.json()["case_number"].as_str().unwrap().to_owned()
        })
        .collect();
    let y = year();
    assert_eq!(
        numbers,
        [1, 2, 3, 4].map(|n| format!("EGOV-{y}-{n:04}")).to_vec()
    );
    let mut ids: Vec<String> = [&first, &second, &third, &fourth]
        .iter()
        .map(|r| id_of(&r.json()))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    assert_eq!(count_rows(&app, "applications"), 4);
    // A key belongs to the token's subject: another person's "k-1" is a key of its own.
    let colleague = app.token(
        foerderakte::domain::Role::Applicant,
        "petra.it-lead",
        &[LEAD],
    );
    let theirs = app.create_application_with_key(&colleague, "k-1", &body);
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert!(theirs.header("idempotent-replayed").is_none());
    assert_eq!(theirs.json()["case_number"], format!("EGOV-{y}-0005"));
    assert_eq!(theirs.json()["created_by"], "petra.it-lead");
    for bad in ["", "with space", &"k".repeat(256)] {
        app.create_application_with_key(&lead, bad, &body)
            .assert_problem(400);
    }
    assert_eq!(count_rows(&app, "applications"), 5);
}

#[test]
fn twenty_concurrent_creates_with_distinct_keys_get_twenty_consecutive_case_numbers() {
    let app = spawn_app();
    twenty_creates_get_twenty_consecutive_case_numbers(&[&app]);
}

/// 20 creates at once, half with distinct keys and half without, create `i` sent to
/// `apps[i % apps.len()]` (all servers on one database): 20 cases numbered 1 to 20.
pub(crate) fn twenty_creates_get_twenty_consecutive_case_numbers(apps: &[&TestApp]) {
    let app = apps[0];
    let lead = app.applicant(&[LEAD]);
    let body = draft_body(LEAD);
    // Requests 0, 1, 4, 5, … carry a key: with two servers, each gets keyed and unkeyed ones.
    let answers = race(20, |i| {
        let to = apps[i % apps.len()];
        if i % 4 < 2 {
            to.create_application_with_key(&lead, &format!("key-{i}"), &body)
        } else {
            to.create_application(&lead, &body)
        }
    });
    let mut numbers: Vec<String> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["case_number"].as_str().unwrap().to_owned()
        })
        .collect();
    numbers.sort();
    let y = year();
    let expected: Vec<String> = (1..=20).map(|n| format!("EGOV-{y}-{n:04}")).collect();
    assert_eq!(numbers, expected);
    assert_eq!(count_rows(app, "applications"), 20);
    assert_eq!(list_ids(app, "?limit=100", &lead).len(), 20);
}

#[test]
fn a_new_case_takes_its_instant_from_the_request_clock() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let at = (Utc::now() - Duration::hours(3))
        .with_nanosecond(123_456_789)
        .expect("a valid instant");
    app.clock().fix(at.naive_utc());
    let case = create(&app, &lead, &draft_body(LEAD));
    let micros = at.timestamp_micros();
    let instant = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp_micros())
    };
    assert_eq!(instant(&case["created_at"]), Some(micros), "{case}");
    assert_eq!(instant(&case["updated_at"]), Some(micros), "{case}");
    app.clock().reset();
    let later = create(&app, &lead, &draft_body(LEAD));
    assert!(instant(&later["created_at"]) > Some(micros + 3 * 3_600_000_000 - 60_000_000));
}
