//! Two servers on one database, as two instances behind a load balancer: the guarantees of
//! concurrent writers (If-Match, Idempotency-Key, budget commitments) hold when the writers
//! are spread over both. Each test alternates its requests between the two addresses and runs
//! the same checks as its one-server counterpart.

use serde_json::json;

use crate::applications::{
    LEAD, create, draft_body, etag, fifty_creates_with_one_key_create_one_case, id_of, state,
    twenty_creates_get_twenty_consecutive_case_numbers,
};
use crate::applications_lifecycle::one_if_match_lets_one_of_twenty_writes_through;
use crate::budgets::two_hundred_grants_signed_at_once_commit_what_the_budget_covers;
use crate::helpers::spawn_app;
use crate::notices::one_notice_signed_by_ten_and_two_notices_of_one_case_decide_once;

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
