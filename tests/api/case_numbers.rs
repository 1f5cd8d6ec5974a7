//! Case numbers are allocated before the create's transaction and recorded
//! (`persistence::case_numbers`, docs/audit.md "Case numbers"): racing creates take
//! consecutive numbers, each allocation is recorded with who and when, and a number no case
//! carries says why (a concurrent repeat of a request, a write that never finished).

use foerderakte::domain::application::case_number;
use foerderakte::persistence::case_numbers::{self, Unused};

use crate::applications::{LEAD, draft_body, race};
use crate::helpers::{TestApp, spawn_app};

/// The counted part of a case number (`EGOV-2026-0042` → 42).
fn serial(number: &str) -> i32 {
    number.rsplit('-').next().unwrap().parse().unwrap()
}

fn unused(app: &TestApp) -> Vec<Unused> {
    case_numbers::unused_numbers(&mut app.db()).unwrap()
}

#[test]
fn racing_creates_take_consecutive_numbers_and_each_allocation_is_recorded() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let body = draft_body(LEAD);
    let answers = race(20, |_| app.create_application(&lead, &body));
    let mut serials: Vec<i32> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            serial(r.json()["case_number"].as_str().unwrap())
        })
        .collect();
    serials.sort_unstable();
    assert_eq!(
        serials,
        (1..=20).collect::<Vec<_>>(),
        "no number twice, none left out"
    );
    assert!(
        unused(&app).is_empty(),
        "every allocated number carries its case"
    );
    // Each allocation names the case's creator and instant.
    use diesel::prelude::*;
    use foerderakte::persistence::schema::{applications as ap, case_number_allocations as na};
    let rows: Vec<(
        String,
        String,
        chrono::NaiveDateTime,
        String,
        chrono::NaiveDateTime,
    )> = na::table
        .inner_join(ap::table.on(ap::case_number.eq(na::case_number)))
        .select((
            na::case_number,
            na::allocated_by,
            na::allocated_at,
            ap::created_by,
            ap::created_at,
        ))
        .load(&mut app.db())
        .unwrap();
    assert_eq!(rows.len(), 20);
    for (number, by, at, created_by, created_at) in rows {
        assert_eq!((&by, at), (&created_by, created_at), "{number}");
    }
}

#[test]
fn a_number_no_case_carries_says_why_and_the_next_create_goes_on_after_it() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let body = draft_body(LEAD);
    // A retry after the first answer: replayed, no number taken.
    let first = app.create_application_with_key(&lead, "k-1", &body);
    assert_eq!(first.status, 201, "{}", first.body);
    let again = app.create_application_with_key(&lead, "k-1", &body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert!(unused(&app).is_empty(), "a later retry takes no number");
    // Ten at once with one key: one case; a request that took a number before the first
    // answered was stored replays, and its number says so.
    let answers = race(10, |_| app.create_application_with_key(&lead, "k-2", &body));
    let created = answers
        .iter()
        .find(|r| r.header("idempotent-replayed").is_none())
        .expect("one original");
    let id = crate::applications::id_of(&created.json());
    for u in unused(&app) {
        let why = u.outcome.expect("a repeat records its reason");
        assert!(
            why.contains("Idempotency-Key") && why.contains(&id),
            "{why}"
        );
    }
    // A process that ends between the allocation and the commit leaves the allocation
    // without a case and without a reason: a write that never finished, recorded as such.
    let lost = case_numbers::allocate(
        &mut app.db(),
        "EGOV",
        crate::helpers::today()
            .format("%Y")
            .to_string()
            .parse()
            .unwrap(),
        "lost-writer",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    let last = unused(&app).pop().unwrap();
    assert_eq!(
        (last.case_number.as_str(), last.outcome),
        (lost.as_str(), None)
    );
    assert_eq!(last.allocated_by, "lost-writer");
    // The next case goes on after every allocated number.
    let next = app.create_application(&lead, &body);
    assert_eq!(next.status, 201, "{}", next.body);
    assert_eq!(
        serial(next.json()["case_number"].as_str().unwrap()),
        serial(&lost) + 1
    );
}

#[test]
fn past_the_four_digits_a_number_grows_as_the_domain_writes_it() {
    use diesel::prelude::*;
    use foerderakte::persistence::schema::case_counters as cc;
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let body = draft_body(LEAD);
    let year: i32 = crate::helpers::today()
        .format("%Y")
        .to_string()
        .parse()
        .unwrap();
    for (prefix, n) in [("EGOV", 9998), ("OTHER", 99_998)] {
        case_numbers::allocate(
            &mut app.db(),
            prefix,
            year,
            "setup",
            chrono::Utc::now().naive_utc(),
        )
        .unwrap();
        diesel::update(cc::table.filter(cc::prefix.eq(prefix)))
            .set(cc::last_number.eq(n))
            .execute(&mut app.db())
            .unwrap();
    }
    let numbers: Vec<String> = (0..2)
        .map(|_| {
            let r = app.create_application(&lead, &body);
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["case_number"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        numbers,
        [format!("EGOV-{year}-9999"), format!("EGOV-{year}-10000")]
    );
    let other = case_numbers::allocate(
        &mut app.db(),
        "OTHER",
        year,
        "x",
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    assert_eq!(other, case_number("OTHER", year, 99_999));
    assert_eq!(other, format!("OTHER-{year}-99999"));
}
