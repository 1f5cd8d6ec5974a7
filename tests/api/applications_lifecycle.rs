//! The lifecycle through `POST /applications/{id}/transitions`: the full path with its
//! history, every (status, action, role) triple, concurrent writers, early start, and the
//! audit chain.

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::applications::{
    ALL_ACTIONS, LEAD, Refused, act, action_body, assert_refused, case_in, create, day, draft_body,
    drive, error_fields, etag, id_of, race, state,
};
use crate::helpers::{TestApp, spawn_app};

#[test]
fn a_case_goes_from_draft_to_info_requested_and_back_and_the_history_shows_every_step() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let id = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let due = day(14);
    // (token, body, status after, ETag after, clock running after)
    let steps: Vec<(&str, Value, &str, &str, bool)> = vec![
        (
            &lead,
            json!({"action": "submit"}),
            "submitted",
            "\"2\"",
            true,
        ),
        (
            &cw,
            json!({"action": "start_review", "reason": "Vollständig"}),
            "in_review",
            "\"3\"",
            true,
        ),
        (
            &cw,
            json!({"action": "request_info", "reason": "Angebot des Dienstleisters fehlt", "response_due": due}),
            "info_requested",
            "\"4\"",
            false,
        ),
        (
            &lead,
            json!({"action": "provide_info", "reason": "Angebot nachgereicht"}),
            "in_review",
            "\"5\"",
            true,
        ),
    ];
    for (version, (token, body, status, new_etag, clock)) in (1..).zip(&steps) {
        let r = app.transition_application(&id, token, Some(&etag(version)), body);
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        assert_eq!(r.header("etag"), Some(*new_etag), "{body}");
        let c = r.json();
        assert_eq!(c["status"], *status);
        assert_eq!(c["processing_clock_running"], *clock, "{body}");
        assert!(c["submitted_at"].is_string());
        assert_eq!(app.get_application(&id, &lead).json(), c);
        if *status == "info_requested" {
            assert_eq!(c["info_due"], due.as_str());
        } else {
            assert_eq!(c["info_due"], Value::Null);
        }
    }

    let history = app.application_history(&id, &lead).json();
    assert_eq!(app.application_history(&id, &cw).json(), history);
    let events = history.as_array().unwrap();
    // (action, actor, role, from, to, reason)
    let expected: [(&str, &str, &str, Value, &str, Value); 5] = [
        (
            "create",
            "ingo.it-lead",
            "applicant",
            Value::Null,
            "draft",
            Value::Null,
        ),
        (
            "submit",
            "ingo.it-lead",
            "applicant",
            json!("draft"),
            "submitted",
            Value::Null,
        ),
        (
            "start_review",
            "carla.caseworker",
            "caseworker",
            json!("submitted"),
            "in_review",
            json!("Vollständig"),
        ),
        (
            "request_info",
            "carla.caseworker",
            "caseworker",
            json!("in_review"),
            "info_requested",
            json!("Angebot des Dienstleisters fehlt"),
        ),
        (
            "provide_info",
            "ingo.it-lead",
            "applicant",
            json!("info_requested"),
            "in_review",
            json!("Angebot nachgereicht"),
        ),
    ];
    assert_eq!(events.len(), expected.len());
    for (i, (e, (action, actor, role, from, to, reason))) in
        events.iter().zip(&expected).enumerate()
    {
        assert_eq!(e["seq"], i + 1);
        assert_eq!(e["record_type"], "application");
        assert_eq!(e["record_key"], id.as_str());
        assert_eq!(e["action"], *action, "event {i}");
        assert_eq!(e["actor"], *actor, "event {i}");
        assert_eq!(e["role"], *role, "event {i}");
        assert_eq!(e["from_status"], *from, "event {i}");
        assert_eq!(e["to_status"], *to, "event {i}");
        assert_eq!(e["reason"], *reason, "event {i}");
        if i > 0 {
            // Later in the one global chain (which verify checks link by link).
            assert!(e["id"].as_i64() > events[i - 1]["id"].as_i64(), "event {i}");
            assert_eq!(
                e["changes"]["status"],
                json!({"before": from, "after": to}),
                "event {i}"
            );
        }
    }
    assert_eq!(
        events[3]["changes"]["info_due"],
        json!({"before": null, "after": due})
    );
    assert_eq!(
        events[4]["changes"]["info_due"],
        json!({"before": due, "after": null})
    );
    let verify = app.verify_audit(&app.admin());
    assert_eq!(verify.status, 200, "{}", verify.body);
    assert_eq!(verify.json()["ok"], true);
}

/// The transitions of `docs/state-machine.md` that are posted to `/transitions`, written out
/// by hand: (from, action, role, to).
const ALLOWED: &[(&str, &str, &str, &str)] = &[
    ("draft", "submit", "applicant", "submitted"),
    ("draft", "withdraw", "applicant", "withdrawn"),
    ("submitted", "start_review", "caseworker", "in_review"),
    ("submitted", "withdraw", "applicant", "withdrawn"),
    ("submitted", "permit_early_start", "caseworker", "submitted"),
    ("in_review", "request_info", "caseworker", "info_requested"),
    ("in_review", "withdraw", "applicant", "withdrawn"),
    ("in_review", "permit_early_start", "caseworker", "in_review"),
    ("info_requested", "provide_info", "applicant", "in_review"),
    ("info_requested", "withdraw", "applicant", "withdrawn"),
    (
        "info_requested",
        "permit_early_start",
        "caseworker",
        "info_requested",
    ),
    ("approved", "submit_proof", "applicant", "proof_submitted"),
    ("proof_submitted", "return_proof", "caseworker", "approved"),
];

/// Actions that happen only by signing a notice, and the notice.
const BY_NOTICE: &[(&str, &str)] = &[
    ("approve", "grant notice"),
    ("reject", "rejection notice"),
    ("close", "final notice"),
    ("revoke", "revocation notice"),
];

/// The role that performs each posted action.
fn performer(action: &str) -> &'static str {
    match action {
        "submit" | "provide_info" | "withdraw" | "submit_proof" => "applicant",
        "start_review" | "request_info" | "return_proof" | "permit_early_start" => "caseworker",
        other => panic!("{other} is not posted"),
    }
}

const ROLES: [&str; 5] = ["applicant", "caseworker", "approver", "ministry", "admin"];

#[derive(Debug, PartialEq)]
enum Expect {
    To(&'static str),
    Refused(u16),
}

fn expected(from: &str, action: &str, role: &str) -> Expect {
    if role == "ministry" || role == "admin" {
        return Expect::Refused(403);
    }
    if BY_NOTICE.iter().any(|(a, _)| *a == action) {
        return Expect::Refused(422);
    }
    if performer(action) != role {
        return Expect::Refused(403);
    }
    ALLOWED
        .iter()
        .find(|(f, a, r, _)| *f == from && *a == action && *r == role)
        .map_or(Expect::Refused(409), |(_, _, _, to)| Expect::To(to))
}

fn token_for(app: &TestApp, role: &str) -> String {
    match role {
        "applicant" => app.applicant(&[LEAD]),
        "caseworker" => app.caseworker(),
        "approver" => app.approver(),
        "ministry" => app.ministry(),
        "admin" => app.admin(),
        other => panic!("no role {other}"),
    }
}

/// Posts every action by every role to a case in `status`: allowed triples succeed and lead
/// where the state machine says; every other one is refused and changes nothing. A case that
/// moved is replaced by a fresh one in `status`.
fn every_action_by_every_role_from(status: &str) {
    let app = spawn_app();
    let mut id = case_in(&app, status);
    let mut allowed = 0;
    for action in ALL_ACTIONS {
        for role in ROLES {
            let before = state(&app, &id);
            let token = token_for(&app, role);
            let r = app.transition_application(
                &id,
                &token,
                Some(&etag(before.version)),
                &action_body(action),
            );
            let what = format!("{status} × {action} × {role}");
            match expected(status, action, role) {
                Expect::To(to) => {
                    assert_eq!(r.status, 200, "{what}: {}", r.body);
                    assert_eq!(r.json()["status"], to, "{what}");
                    // The answer is the stored case (the write path builds it without a
                    // second read), ETag included.
                    let stored = app.get_application(&id, &app.caseworker());
                    assert_eq!(r.json(), stored.json(), "{what}");
                    assert_eq!(r.header("etag"), stored.header("etag"), "{what}");
                    let after = state(&app, &id);
                    assert_eq!(after.version, before.version + 1, "{what}");
                    assert_eq!(after.events, before.events + 1, "{what}");
                    let history = app.application_history(&id, &app.caseworker()).json();
                    let last = history.as_array().unwrap().last().unwrap().clone();
                    assert_eq!(last["action"], action, "{what}");
                    assert_eq!(last["role"], role, "{what}");
                    assert_eq!(last["from_status"], status, "{what}");
                    assert_eq!(last["to_status"], to, "{what}");
                    allowed += 1;
                    id = case_in(&app, status);
                }
                Expect::Refused(code) => {
                    let p = r.assert_problem(code);
                    if code == 422 {
                        assert_eq!(error_fields(&p), ["action"], "{what}: {}", r.body);
                        let notice = BY_NOTICE.iter().find(|(a, _)| *a == action).unwrap().1;
                        let message = p["errors"][0]["message"].as_str().unwrap();
                        assert!(message.contains(notice), "{what}: {message}");
                    }
                    assert_eq!(state(&app, &id), before, "{what} changed the case");
                }
            }
        }
    }
    let in_table = ALLOWED.iter().filter(|(f, ..)| *f == status).count();
    assert_eq!(allowed, in_table, "allowed transitions from {status}");
}

#[test]
fn every_action_by_every_role_on_a_draft_is_allowed_or_refused_as_the_state_machine_says() {
    every_action_by_every_role_from("draft");
}

#[test]
fn every_action_by_every_role_on_a_submitted_case_is_allowed_or_refused_as_the_state_machine_says()
{
    every_action_by_every_role_from("submitted");
}

#[test]
fn every_action_by_every_role_on_a_case_in_review_is_allowed_or_refused_as_the_state_machine_says()
{
    every_action_by_every_role_from("in_review");
}

#[test]
fn every_action_by_every_role_on_a_case_awaiting_information_is_allowed_or_refused_as_the_state_machine_says()
 {
    every_action_by_every_role_from("info_requested");
}

#[test]
fn every_action_by_every_role_on_a_withdrawn_case_is_refused_and_changes_nothing() {
    every_action_by_every_role_from("withdrawn");
}

#[test]
fn refused_transition_requests_change_nothing() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let id = case_in(&app, "in_review");
    let v = etag(state(&app, &id).version);
    let v = Some(v.as_str());
    let info = |reason: Value, due: Value| json!({"action": "request_info", "reason": reason, "response_due": due});
    // (what, token, If-Match, body, status, field)
    let cases: Vec<Refused<'_, &str>> = vec![
        (
            "no If-Match",
            &cw,
            None,
            action_body("request_info"),
            428,
            None,
        ),
        (
            "stale If-Match",
            &cw,
            Some("\"2\""),
            action_body("request_info"),
            412,
            None,
        ),
        (
            "stale If-Match, allowed action of the applicant",
            &lead,
            Some("\"1\""),
            action_body("withdraw"),
            412,
            None,
        ),
        (
            "request_info without reason",
            &cw,
            v,
            info(Value::Null, json!(day(14))),
            422,
            Some("reason"),
        ),
        (
            "request_info with a blank reason",
            &cw,
            v,
            info(json!("  "), json!(day(14))),
            422,
            Some("reason"),
        ),
        (
            "request_info without deadline",
            &cw,
            v,
            info(json!("Angebot"), Value::Null),
            422,
            Some("response_due"),
        ),
        (
            "request_info due today",
            &cw,
            v,
            info(json!("Angebot"), json!(day(0))),
            422,
            Some("response_due"),
        ),
        (
            "request_info due yesterday",
            &cw,
            v,
            info(json!("Angebot"), json!(day(-1))),
            422,
            Some("response_due"),
        ),
        (
            "a deadline on another action",
            &lead,
            v,
            json!({"action": "withdraw", "response_due": day(14)}),
            422,
            Some("response_due"),
        ),
        (
            "return_proof without reason",
            &cw,
            v,
            json!({"action": "return_proof"}),
            422,
            Some("reason"),
        ),
        (
            "unknown action",
            &cw,
            v,
            json!({"action": "escalate"}),
            422,
            Some("action"),
        ),
        (
            "unknown field",
            &cw,
            v,
            json!({"action": "start_review", "urgent": true}),
            400,
            None,
        ),
        ("no action", &cw, v, json!({"reason": "x"}), 400, None),
        (
            "deadline not a date",
            &cw,
            v,
            json!({"action": "request_info", "reason": "x", "response_due": "soon"}),
            400,
            None,
        ),
    ];
    assert_refused(&app, &id, &cases, |token, if_match, body| {
        app.transition_application(&id, token, if_match, body)
    });
    let r = app.transition_application(&id, &lead, None, &action_body("withdraw"));
    r.assert_problem(428);
    app.transition_application("no-such-case", &cw, v, &action_body("start_review"))
        .assert_problem(404);
}

#[test]
fn twenty_concurrent_writes_with_one_if_match_let_exactly_one_through() {
    let app = spawn_app();
    one_if_match_lets_one_of_twenty_writes_through(&[&app]);
}

/// For an edit and four transitions: 20 writes with the same `If-Match` at once, request `i`
/// sent to `apps[i % apps.len()]` (all servers on one database). Exactly one 200, 19 × 412,
/// the version advanced by one, one new history event; the audit log verifies.
pub(crate) fn one_if_match_lets_one_of_twenty_writes_through(apps: &[&TestApp]) {
    let app = apps[0];
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    // (what, status of the case, token, method, body)
    let cases: Vec<(&str, &str, &str, &str, Value)> = vec![
        (
            "edit the title",
            "draft",
            &lead,
            "PATCH",
            json!({"title": "Neu"}),
        ),
        ("submit", "draft", &lead, "POST", action_body("submit")),
        (
            "start review",
            "submitted",
            &cw,
            "POST",
            action_body("start_review"),
        ),
        (
            "permit early start",
            "in_review",
            &cw,
            "POST",
            action_body("permit_early_start"),
        ),
        (
            "withdraw",
            "info_requested",
            &lead,
            "POST",
            action_body("withdraw"),
        ),
    ];
    for (what, status, token, method, body) in &cases {
        let id = case_in(app, status);
        let before = state(app, &id);
        let v = etag(before.version);
        let answers = race(20, |i| {
            let to = apps[i % apps.len()];
            match *method {
                "PATCH" => to.patch_application(&id, token, Some(&v), body),
                _ => to.transition_application(&id, token, Some(&v), body),
            }
        });
        let mut codes: Vec<u16> = answers.iter().map(|r| r.status).collect();
        codes.sort_unstable();
        let mut want = vec![200];
        want.extend([412; 19]);
        assert_eq!(
            codes,
            want,
            "{what}: {:?}",
            answers
                .iter()
                .filter(|r| r.status != 200 && r.status != 412)
                .map(|r| &r.body)
                .collect::<Vec<_>>()
        );
        for r in answers.iter().filter(|r| r.status == 412) {
            r.assert_problem(412);
        }
        let after = state(app, &id);
        assert_eq!(after.version, before.version + 1, "{what}");
        assert_eq!(after.events, before.events + 1, "{what}");
    }
    let verify = app.verify_audit(&app.admin());
    assert_eq!(verify.status, 200, "{}", verify.body);
}

#[test]
fn early_start_is_permitted_once_by_a_caseworker_and_does_not_change_the_status() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let id = case_in(&app, "submitted");
    let before = state(&app, &id);
    // The applicant may not permit itself; an approver neither.
    for token in [lead.clone(), app.approver()] {
        act(&app, &id, &token, &action_body("permit_early_start")).assert_problem(403);
    }
    assert_eq!(state(&app, &id), before);

    let cw = app.token(foerderakte::domain::Role::Caseworker, "kai.caseworker", &[]);
    let r = act(
        &app,
        &id,
        &cw,
        &json!({"action": "permit_early_start", "reason": "Lieferfrist"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some(etag(before.version + 1).as_str()));
    let c = r.json();
    assert_eq!(c["status"], "submitted");
    assert_eq!(c["early_start"]["permitted_by"], "kai.caseworker");
    let time =
        |v: &Value| -> chrono::DateTime<chrono::Utc> { v.as_str().unwrap().parse().unwrap() };
    assert!(
        time(&c["early_start"]["permitted_at"]) >= time(&c["submitted_at"]),
        "{c}"
    );
    assert_eq!(
        app.get_application(&id, &lead).json()["early_start"],
        c["early_start"]
    );
    let history = app.application_history(&id, &lead).json();
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "permit_early_start");
    assert_eq!(last["from_status"], "submitted");
    assert_eq!(last["to_status"], "submitted");
    assert_eq!(last["actor"], "kai.caseworker");
    assert_eq!(last["reason"], "Lieferfrist");
    assert_eq!(
        last["changes"]["early_start_by"],
        json!({"before": null, "after": "kai.caseworker"})
    );
    assert!(last["changes"].get("status").is_none(), "{last}");

    // Once is enough: a second permission, also later in the review, is a conflict.
    let permitted = state(&app, &id);
    act(
        &app,
        &id,
        &app.caseworker(),
        &action_body("permit_early_start"),
    )
    .assert_problem(409);
    assert_eq!(state(&app, &id), permitted);
    drive(&app, &id, &lead, &["start_review"]);
    let reviewing = state(&app, &id);
    act(
        &app,
        &id,
        &app.caseworker(),
        &action_body("permit_early_start"),
    )
    .assert_problem(409);
    assert_eq!(state(&app, &id), reviewing);
    assert_eq!(
        app.get_application(&id, &lead).json()["early_start"]["permitted_by"],
        "kai.caseworker"
    );
}

#[derive(diesel::QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

#[test]
fn audit_verify_names_an_application_event_changed_behind_the_servers_back() {
    let app = spawn_app();
    let admin = app.admin();
    let mut conn = app.db();
    let before = crate::helpers::audit_entries(&mut conn);
    let other = case_in(&app, "submitted");
    let id = case_in(&app, "in_review");
    let ok = app.verify_audit(&admin);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["ok"], true);
    assert_eq!(ok.json()["entries_checked"], before + 5);

    let entry = diesel::sql_query(format!(
        "SELECT id FROM audit_events WHERE record_type = 'application' AND record_key = '{id}' AND seq = 2"
    ))
    .load::<IdRow>(&mut conn)
    .unwrap()[0]
        .id;
    crate::helpers::drop_guards(&mut conn);
    let n = diesel::sql_query(format!(
        "UPDATE audit_events SET reason = 'x' WHERE record_type = 'application' AND record_key = '{id}' AND seq = 2"
    ))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(n, 1);
    let broken = app.verify_audit(&admin).assert_problem(409);
    let findings = broken["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{broken}");
    let f = &findings[0];
    assert_eq!(f["table"], "audit_events");
    assert_eq!(f["record"], entry.to_string());
    assert_eq!(f["field"], "mac");
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("application {id} #2")), "{detail}");
    assert!(!broken.to_string().contains(&other), "{broken}");
    app.verify_audit(&app.caseworker()).assert_problem(403);
}
