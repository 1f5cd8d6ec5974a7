//! `Idempotency-Key` on every POST that creates (issue 16): a retry after a timeout replays
//! the first answer instead of creating the record twice. Twenty requests with one key sent
//! at once, spread over two servers on one database, create one notice, one payment request
//! or one repayment and all get the same answer; the key with another request is 422 and
//! writes nothing; a key belongs to its token's subject. The administrators' creates (base
//! rates, delivery rules, register editions, audit checkpoints) replay the same way.
//! (Creating a case: `applications::fifty_creates_with_one_key_create_one_case`.)

use serde_json::{Value, json};

use crate::applications::{LEAD, case_in, count_rows, day, id_of, race};
use crate::helpers::{Resp, TestApp, spawn_app};
use crate::notices::{approved_case, nid_of, partial_grant_body, pay, prepare, sign};

/// `POST path` with `body` and `Idempotency-Key: key` as `token`.
fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: &Value) -> Resp {
    app.request(
        "POST",
        path,
        Some(token),
        &[("Idempotency-Key", key)],
        Some(("application/json", serde_json::to_vec(body).unwrap())),
    )
}

/// Sends the create twenty times at once, request `i` to `apps[i % 2]`: every answer is the
/// first one (status, body, `Location`), nineteen of them replays. Returns the first.
fn twenty_at_once(apps: [&TestApp; 2], path: &str, token: &str, body: &Value) -> Resp {
    let answers = race(20, |i| {
        post_with_key(apps[i % 2], path, token, "retry-after-timeout", body)
    });
    let originals = answers
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(originals, 1, "one answer is the original: {answers:?}");
    let replayed = answers
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 19);
    let first = answers
        .into_iter()
        .reduce(|first, r| {
            assert_eq!(r.status, first.status, "{}", r.body);
            assert_eq!(r.body, first.body);
            assert_eq!(r.header("location"), first.header("location"));
            assert_eq!(r.header("content-type"), Some("application/json"));
            if r.header("idempotent-replayed").is_none() {
                r
            } else {
                first
            }
        })
        .expect("twenty answers");
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(first.header("location").is_some(), "{first:?}");
    first
}

/// The key again with another body: 422, nothing written; with the first body (later, on
/// either server): the first answer again.
fn reused_key_is_refused(
    apps: [&TestApp; 2],
    (path, token): (&str, &str),
    first: &Resp,
    (body, other): (&Value, &Value),
) {
    let mut db = apps[0].watch_db();
    let before = db.state();
    let p = post_with_key(apps[1], path, token, "retry-after-timeout", other).assert_problem(422);
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Idempotency-Key"),
        "{p}"
    );
    db.assert_unchanged(&before, "the key with another body");
    for app in apps {
        let again = post_with_key(app, path, token, "retry-after-timeout", body);
        assert_eq!(again.status, first.status);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    db.assert_unchanged(&before, "a later retry");
}

#[test]
fn twenty_racing_notices_with_one_key_prepare_one_notice_and_answer_alike() {
    let app = spawn_app();
    let second = app.second_instance();
    let apps = [&app, &second];
    let id = case_in(&app, "in_review");
    let cw = app.caseworker();
    let path = format!("/api/v1/applications/{id}/notices");
    let body = partial_grant_body();
    let first = twenty_at_once(apps, &path, &cw, &body);
    let nid = nid_of(&first.json());
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/notices/{nid}").as_str())
    );
    assert_eq!(count_rows(&app, "notices"), 1);
    assert_eq!(
        count_rows(&app, "audit_events WHERE record_type = 'notice'"),
        1
    );
    let other = json!({"kind": "rejection", "posted_on": day(0), "reason": "Kein Bedarf"});
    reused_key_is_refused(apps, (&path, &cw), &first, (&body, &other));
    // The same body in another order and with its optional fields spelt out is the same
    // request: a replay.
    let mut reordered: serde_json::Map<String, Value> = body
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .rev()
        .collect();
    reordered.insert("purpose".into(), Value::Null);
    let r = post_with_key(
        &app,
        &path,
        &cw,
        "retry-after-timeout",
        &Value::Object(reordered),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    // A key is its subject's: another caseworker's same key prepares a notice of its own.
    let colleague = app.token(foerderakte::domain::Role::Caseworker, "kai.caseworker", &[]);
    let theirs = post_with_key(&app, &path, &colleague, "retry-after-timeout", &body);
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert!(theirs.header("idempotent-replayed").is_none());
    assert_ne!(nid_of(&theirs.json()), nid);
    assert_eq!(count_rows(&app, "notices"), 2);
}

#[test]
fn twenty_racing_payment_requests_with_one_key_request_once_and_answer_alike() {
    let app = spawn_app();
    let second = app.second_instance();
    let apps = [&app, &second];
    let (id, _) = approved_case(&app);
    let lead = app.applicant(&[LEAD]);
    let path = format!("/api/v1/applications/{id}/payment-requests");
    let body = json!({"amount": "10000.00", "reason": "Erste Rate"});
    let first = twenty_at_once(apps, &path, &lead, &body);
    let pid = id_of(&first.json());
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/payment-requests/{pid}").as_str())
    );
    let list = app.list_payment_requests(&id, &lead).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(count_rows(&app, "payment_requests"), 1);
    let other = json!({"amount": "10000.01", "reason": "Erste Rate"});
    reused_key_is_refused(apps, (&path, &lead), &first, (&body, &other));
    // The same key on another path (another case) is another request: 422.
    let (other_case, _) = approved_case(&app);
    let other_path = format!("/api/v1/applications/{other_case}/payment-requests");
    post_with_key(&app, &other_path, &lead, "retry-after-timeout", &body).assert_problem(422);
    assert_eq!(count_rows(&app, "payment_requests"), 1);
}

#[test]
fn twenty_racing_repayments_with_one_key_record_once_and_answer_alike() {
    let app = spawn_app();
    let second = app.second_instance();
    let apps = [&app, &second];
    let (id, _) = approved_case(&app);
    pay(&app, &id, "30000.00");
    let revocation = json!({"kind": "revocation", "posted_on": day(0), "reason": "Zweck verfehlt",
                            "revoked_amount": "22345.67", "interest_from": day(0)});
    sign(&app, &nid_of(&prepare(&app, &id, &revocation)));
    // The second server's clock goes where `approved_case` moved the first one's.
    second.clock().advance(chrono::Duration::days(4));
    let cw = app.caseworker();
    let path = format!("/api/v1/applications/{id}/repayments");
    let body = json!({"amount": "1000.00", "received_on": day(0)});
    let first = twenty_at_once(apps, &path, &cw, &body);
    let rid = id_of(&first.json());
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/repayments/{rid}").as_str())
    );
    assert_eq!(count_rows(&app, "repayments"), 1);
    let other = json!({"amount": "999.99", "received_on": day(0)});
    reused_key_is_refused(apps, (&path, &cw), &first, (&body, &other));
}

/// An administrator's create sent twice with one key: one record, the first answer twice;
/// the key with another body: 422.
fn replays(app: &TestApp, path: &str, body: &Value, other: &Value, table: &str) -> Resp {
    let admin = app.admin();
    let rows = count_rows(app, table);
    let first = post_with_key(app, path, &admin, "admin-retry", body);
    assert!([200, 201].contains(&first.status), "{path}: {}", first.body);
    assert!(first.header("idempotent-replayed").is_none());
    assert_eq!(count_rows(app, table), rows + 1, "{path}");
    let again = post_with_key(app, path, &admin, "admin-retry", body);
    assert_eq!(again.status, first.status, "{path}: {}", again.body);
    assert_eq!(again.body, first.body, "{path}");
    assert_eq!(again.header("idempotent-replayed"), Some("true"), "{path}");
    post_with_key(app, path, &admin, "admin-retry", other).assert_problem(422);
    assert_eq!(count_rows(app, table), rows + 1, "{path}");
    first
}

#[test]
fn the_administrators_creates_replay_their_first_answer_to_a_retry_with_the_key() {
    // Each operation gets its own server: the key is scoped to the admin's subject, and a
    // key used on one operation is refused on another (422).
    let app = spawn_app();
    let first = replays(
        &app,
        "/api/v1/base-rates",
        &json!({"valid_from": "2026-07-01", "rate_percent": "1.27"}),
        &json!({"valid_from": "2026-07-01", "rate_percent": "1.28"}),
        "base_rates",
    );
    assert_eq!(first.status, 201);
    let correction = post_with_key(
        &app,
        "/api/v1/base-rates/2026-07-01/corrections",
        &app.admin(),
        "admin-retry",
        &json!({"rate_percent": "1.28", "reason": "Tippfehler"}),
    );
    correction.assert_problem(422);

    let app = spawn_app();
    let corrections = "audit_events WHERE record_type = 'base_rate'";
    let logged = count_rows(&app, corrections);
    let correct = || {
        post_with_key(
            &app,
            "/api/v1/base-rates/2026-01-01/corrections",
            &app.admin(),
            "fix-1",
            &json!({"rate_percent": "1.11", "reason": "Tippfehler"}),
        )
    };
    let corrected = correct();
    assert_eq!(corrected.status, 200, "{}", corrected.body);
    let again = correct();
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body, corrected.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count_rows(&app, corrections), logged + 1, "one correction");

    let app = spawn_app();
    let from = day(10);
    let first = replays(
        &app,
        "/api/v1/delivery-rules",
        &json!({"valid_from": from, "days": 5, "source": "Testgesetz, Art. 1"}),
        &json!({"valid_from": from, "days": 6, "source": "Testgesetz, Art. 1"}),
        "delivery_rules",
    );
    assert_eq!(first.status, 201);

    let app = spawn_app();
    let edition = |date: &str| -> String {
        foerderakte::persistence::register::BUNDLED
            .lines()
            .map(|line| {
                if line.starts_with("# edition") {
                    format!("# edition\t{date}")
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = replays(
        &app,
        "/api/v1/register/editions",
        &json!({"content": edition("2025-01-01")}),
        &json!({"content": edition("2025-02-01")}),
        "register_editions",
    );
    assert_eq!(first.status, 201);

    // A checkpoint has no body: the key's retry gets the checkpoint of the head then, even
    // after the log has grown; without the key, a new checkpoint.
    let app = spawn_app();
    let admin = app.admin();
    let checkpoint = |key: Option<&str>| {
        let headers: Vec<(&str, &str)> = key
            .map(|k| vec![("Idempotency-Key", k)])
            .unwrap_or_default();
        app.request(
            "POST",
            "/api/v1/audit/checkpoints",
            Some(&admin),
            &headers,
            None,
        )
    };
    let first = checkpoint(Some("cp-1"));
    assert_eq!(first.status, 201, "{}", first.body);
    approved_case(&app);
    let again = checkpoint(Some("cp-1"));
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(count_rows(&app, "audit_checkpoints"), 1);
    let fresh = checkpoint(None);
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert!(
        fresh.json()["seq"].as_i64() > first.json()["seq"].as_i64(),
        "{}",
        fresh.body
    );
}
