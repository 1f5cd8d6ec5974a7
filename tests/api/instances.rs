//! Two servers on one database, as two instances behind a load balancer: the guarantees of
//! concurrent writers (If-Match, Idempotency-Key, budget commitments) hold when the writers
//! are spread over both. Each test alternates its requests between the two addresses and runs
//! the same checks as its one-server counterpart.

use serde_json::{Value, json};

use crate::applications::{
    LEAD, assert_one_winner, create, draft_body, etag, fifty_creates_with_one_key_create_one_case,
    id_of, race, state, twenty_creates_get_twenty_consecutive_case_numbers, year,
};
use crate::applications_lifecycle::one_if_match_lets_one_of_twenty_writes_through;
use crate::budgets::two_hundred_grants_signed_at_once_commit_what_the_budget_covers;
use crate::helpers::spawn_app;
use crate::notices::{
    PROGRAMME, approved_case, budget,
    one_notice_signed_by_ten_and_two_notices_of_one_case_decide_once,
};

#[test]
fn a_second_instance_serves_the_same_database_and_sees_the_first_ones_writes_at_once() {
    let first = spawn_app();
    let second = first.second_instance();
    assert_ne!(first.address, second.address);
    let lead = first.applicant(&[LEAD]);
    let id = id_of(&create(&first, &lead, &draft_body(LEAD)));
    let r = second.patch_application(&id, &lead, Some(&etag(1)), &json!({"title": "Neu"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some(etag(2).as_str()));
    let seen = first.get_application(&id, &lead);
    assert_eq!(seen.json()["title"], "Neu");
    assert_eq!(seen.header("etag"), Some(etag(2).as_str()));
    assert_eq!(state(&second, &id), state(&first, &id));
    // The first instance stopping leaves the database to the second.
    drop(first);
    assert_eq!(second.get_application(&id, &lead).status, 200);
}

#[test]
fn twenty_writes_with_one_if_match_spread_over_two_instances_let_exactly_one_through() {
    let first = spawn_app();
    let second = first.second_instance();
    one_if_match_lets_one_of_twenty_writes_through(&[&first, &second]);
}

#[test]
fn fifty_creates_with_one_idempotency_key_spread_over_two_instances_create_one_case() {
    let first = spawn_app();
    let second = first.second_instance();
    fifty_creates_with_one_key_create_one_case(&[&first, &second]);
}

#[test]
fn two_hundred_signings_spread_over_two_instances_commit_no_more_than_the_budget() {
    let first = spawn_app();
    let second = first.second_instance();
    two_hundred_grants_signed_at_once_commit_what_the_budget_covers(&[&first, &second]);
}

#[test]
fn twenty_creates_spread_over_two_instances_get_twenty_consecutive_case_numbers() {
    let first = spawn_app();
    let second = first.second_instance();
    twenty_creates_get_twenty_consecutive_case_numbers(&[&first, &second]);
}

#[test]
fn one_notice_signed_at_once_through_two_instances_is_signed_once() {
    let first = spawn_app();
    let second = first.second_instance();
    one_notice_signed_by_ten_and_two_notices_of_one_case_decide_once(&[&first, &second]);
}

/// Found by this test on PostgreSQL: concurrent PUTs of a new budget failed with 500 (both
/// inserted the row), and concurrent changes logged a stale `before` amount (read before the
/// row lock). Since budgets carry an `ETag` (issue 16): of ten PUTs creating the budget at
/// once (`If-None-Match: *`) one wins, of ten with the same `If-Match` one wins, the others
/// get 412; ten administrators who read again and retry after a 412 all get through, and the
/// log chains every amount.
#[test]
fn concurrent_budget_puts_spread_over_two_instances_win_once_per_etag_and_the_log_chains_the_amounts()
 {
    let first = spawn_app();
    let second = first.second_instance();
    let apps = [&first, &second];
    let admin = first.admin();
    let y = year() + 1;
    let amount =
        |round: usize, i: usize| json!({ "amount": format!("{}.00", 100_000 + 10 * round + i) });
    let wins = |answers: &[crate::helpers::Resp], ok: u16| {
        for r in answers {
            assert!([ok, 412].contains(&r.status), "{} {}", r.status, r.body);
        }
        assert_eq!(answers.iter().filter(|r| r.status == ok).count(), 1);
    };
    let create = race(10, |i| {
        let headers = [("If-None-Match", "*")];
        apps[i % 2].put_budget_with(PROGRAMME, y, &admin, &headers, &amount(0, i))
    });
    wins(&create, 201);
    let etag = first.get_budget(PROGRAMME, y, &admin);
    let etag = etag.header("etag").expect("an ETag").to_owned();
    let change = race(10, |i| {
        let headers = [("If-Match", etag.as_str())];
        apps[i % 2].put_budget_with(PROGRAMME, y, &admin, &headers, &amount(1, i))
    });
    wins(&change, 200);
    // Each reads the budget and sends its ETag, again after every 412, until it gets through.
    let retried = race(10, |i| {
        for _ in 0..100 {
            let r = apps[i % 2].put_budget(PROGRAMME, y, &admin, &amount(2, i));
            if r.status != 412 {
                return r;
            }
        }
        panic!("ten administrators retrying: one did not get through in 100 attempts");
    });
    for r in &retried {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let log = first.audit_log(&admin);
    assert_eq!(log.status, 200, "{}", log.body);
    let events: Vec<Value> = log.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["record_type"] == "budget")
        .cloned()
        .collect();
    assert_eq!(events.len(), 12, "{events:?}");
    assert_eq!(events[0]["action"], "create");
    let mut before = Value::Null;
    for e in &events {
        assert_eq!(e["changes"]["amount"]["before"], before, "{e}");
        before = e["changes"]["amount"]["after"].clone();
    }
    assert!(events[1..].iter().all(|e| e["action"] == "change"));
    assert_eq!(budget(&first, y)["amount"], before);
    let last = first.get_budget(PROGRAMME, y, &admin);
    assert_eq!(
        last.header("etag"),
        Some("\"12\""),
        "one version per change"
    );
    let verify = first.verify_audit(&admin);
    assert_eq!(verify.status, 200, "{}", verify.body);
}

/// Found by this test on PostgreSQL: the room (grant − paid − open requests) was read without
/// a lock, so seven of ten concurrent requests of 10,000.00 passed against 40,000.00.
#[test]
fn payment_requests_spread_over_two_instances_never_ask_for_more_than_the_grant_leaves() {
    let first = spawn_app();
    let second = first.second_instance();
    let apps = [&first, &second];
    let (id, _) = approved_case(&first);
    let lead = first.applicant(&[LEAD]);
    // Ten requests of 10,000.00 at once against a grant of 40,000.00: four fit.
    let answers = race(10, |i| {
        apps[i % 2].request_payment(&id, &lead, &json!({"amount": "10000.00", "reason": "Rate"}))
    });
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [201, 201, 201, 201, 422, 422, 422, 422, 422, 422],
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let listed = first.list_payment_requests(&id, &first.caseworker());
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.json().as_array().expect("a list").len(),
        4,
        "{}",
        listed.body
    );
}

/// Found by this test on PostgreSQL: the concurrent adds that lost the race on the primary key
/// answered 500 instead of 409.
#[test]
fn one_base_rate_added_at_once_through_two_instances_is_added_once_and_the_others_refused() {
    let first = spawn_app();
    let second = first.second_instance();
    let apps = [&first, &second];
    let admin = first.admin();
    let answers = race(10, |i| {
        apps[i % 2].post_json(
            "/api/v1/base-rates",
            Some(&admin),
            &json!({"valid_from": "2026-07-01", "rate_percent": format!("1.{}", 20 + i)}),
        )
    });
    assert_one_winner(&answers, 201, 409);
    for r in answers.iter().filter(|r| r.status == 409) {
        r.assert_problem(409);
    }
}
