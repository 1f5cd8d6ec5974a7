//! Money over time (issue 15): when a grant's money may flow (deemed delivery, fiscal years),
//! dates that make sense, and the German civil day behind every calendar decision.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::applications::{
    LEAD, act, action_body, case_in, create, day, draft_body, id_of, with, year,
};
use crate::helpers::{TestApp, spawn_app, today};
use crate::notices::{
    grant_body, nid_of, partial_grant_body, prepare, refused, set_budget, sign, snapshot,
};

/// Requests `amount` as the lead and has the caseworker prepare it; returns the request's id.
fn prepared_payout(app: &TestApp, id: &str, amount: &str) -> String {
    let r = app.request_payment(id, &app.applicant(&[LEAD]), &json!({ "amount": amount }));
    assert_eq!(r.status, 201, "request {amount}: {}", r.body);
    let pid = id_of(&r.json());
    let r = app.payout(&pid, &app.caseworker());
    assert_eq!(r.status, 200, "prepare {amount}: {}", r.body);
    pid
}

/// Days from the test's today to 2 January of `year`.
fn days_until_january(year: i32) -> i64 {
    let target = NaiveDate::from_ymd_opt(year, 1, 2).unwrap();
    (target - today()).num_days()
}

fn detail(r: &crate::helpers::Resp) -> String {
    r.json()["detail"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_grant_pays_from_its_deemed_delivery_on_and_each_fiscal_year_up_to_its_allocations() {
    let app = spawn_app();
    let approver = app.releaser();
    let (y1, y2) = (year() + 1, year() + 2);
    set_budget(&app, y1, "1000000.00");
    set_budget(&app, y2, "1000000.00");
    let id = case_in(&app, "in_review");
    // 40,000.00 granted: 30,000.00 allocated to next year, 10,000.00 to the year after.
    let body = with(
        partial_grant_body(),
        json!({
            "grant_period_end": day(800),
            "allocations": [
                {"fiscal_year": y1, "amount": "30000.00"},
                {"fiscal_year": y2, "amount": "10000.00"},
            ],
        }),
    );
    let grant = sign(&app, &nid_of(&prepare(&app, &id, &body)));
    assert_eq!(grant["granted_amount"], "40000.00", "{grant}");
    // Posted today: deemed delivered on the fourth day (§ 41 (2) VwVfG since 2025).
    let delivered = day(4);
    let pid = prepared_payout(&app, &id, "30000.00");
    let r = app.payout(&pid, &approver);
    refused("before the deemed delivery", &r, 409, None);
    assert!(detail(&r).contains(&delivered), "{}", r.body);
    // On the day of delivery the date allows it; the money of next year still waits.
    app.advance_days(4);
    assert_eq!(day(0), delivered);
    if year() < y1 {
        let r = app.payout(&pid, &approver);
        refused("this year's share is nothing", &r, 409, None);
        assert!(
            detail(&r).contains(&format!("fiscal year {y1}")),
            "{}",
            r.body
        );
    }
    // In next year's January the 30,000.00 go through, the next cent does not.
    app.advance_days(days_until_january(y1));
    let r = app.payout(&pid, &approver);
    assert_eq!(r.status, 200, "{}", r.body);
    let paid_at = r.json()["paid_at"].as_str().unwrap_or_default().to_owned();
    assert!(paid_at.starts_with(&format!("{y1}-01-0")), "{}", r.body);
    let rest = prepared_payout(&app, &id, "10000.00");
    let before = snapshot(&app, &id);
    let r = app.payout(&rest, &approver);
    refused("the year after's share", &r, 409, None);
    assert!(
        detail(&r).contains(&format!("fiscal year {y2}")),
        "{}",
        r.body
    );
    assert_eq!(
        snapshot(&app, &id),
        before,
        "a refused payout writes nothing"
    );
    // The year after, the rest.
    app.advance_days(days_until_january(y2));
    let r = app.payout(&rest, &approver);
    assert_eq!(r.status, 200, "{}", r.body);
    let case = app.get_application(&id, &app.caseworker()).json();
    assert_eq!(case["paid_amount"], "40000.00", "{case}");
}

/// Prepares `body` for the case and asserts 422 naming `field`, with nothing written.
fn refused_notice(app: &TestApp, id: &str, what: &str, body: &Value, field: &str) {
    let before = snapshot(app, id);
    let r = app.prepare_notice(id, &app.caseworker(), body);
    refused(what, &r, 422, Some(field));
    assert_eq!(snapshot(app, id), before, "{what}: nothing written");
}

#[test]
fn closed_years_periods_beside_the_project_and_dates_out_of_bounds_are_422_naming_the_field() {
    let app = spawn_app();
    set_budget(&app, year(), "1000000.00");
    let id = case_in(&app, "in_review");
    let last_year = year() - 1;
    let cases: [(&str, Value, &str); 5] = [
        (
            "an allocation to last year",
            json!({
                "grant_period_start": format!("{last_year}-06-01"),
                "allocations": [{"fiscal_year": last_year, "amount": "40000.00"}],
            }),
            "allocations",
        ),
        (
            "a grant period after the project",
            json!({"grant_period_start": day(400), "grant_period_end": day(500)}),
            "grant_period_start",
        ),
        (
            "a grant period of more than ten years",
            json!({"grant_period_end": day(3660 + 5)}),
            "grant_period_end",
        ),
        (
            "a posting day in the year 2101",
            json!({"posted_on": "2101-01-01"}),
            "posted_on",
        ),
        (
            "a posting day a year ahead",
            json!({"posted_on": day(366)}),
            "posted_on",
        ),
    ];
    for (what, change, field) in cases {
        let body = with(partial_grant_body(), change);
        refused_notice(&app, &id, what, &body, field);
    }
    // A year of more than four digits is no date of the API at all (YYYY-MM-DD): malformed.
    let before = snapshot(&app, &id);
    let body = with(partial_grant_body(), json!({"posted_on": "+262142-12-31"}));
    refused(
        "a posting day in the year 262142",
        &app.prepare_notice(&id, &app.caseworker(), &body),
        400,
        None,
    );
    assert_eq!(snapshot(&app, &id), before);
    // A project period out of bounds is refused as a draft already.
    let r = app.create_application(
        &app.applicant(&[LEAD]),
        &with(draft_body(LEAD), json!({"project_end": "2101-01-01"})),
    );
    refused("a project ending in 2101", &r, 422, Some("project_end"));
}

#[test]
fn a_proof_of_use_waits_for_the_grant_period_to_begin() {
    let app = spawn_app();
    set_budget(&app, year(), "1000000.00");
    set_budget(&app, year() + 1, "1000000.00");
    let id = case_in(&app, "in_review");
    // The project starts in 60 days; the grant period in 30.
    let body = grant_body(json!({"grant_period_start": day(30), "grant_period_end": day(365)}));
    sign(&app, &nid_of(&prepare(&app, &id, &body)));
    let lead = app.applicant(&[LEAD]);
    let before = snapshot(&app, &id);
    let r = act(&app, &id, &lead, &action_body("submit_proof"));
    refused("a proof before the grant period", &r, 422, Some("action"));
    assert!(
        detail(&r).contains(&day(30)) || r.body.contains(&day(30)),
        "{}",
        r.body
    );
    assert_eq!(snapshot(&app, &id), before);
    app.advance_days(30);
    let r = act(&app, &id, &lead, &action_body("submit_proof"));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Under a clock at 2026-12-31 23:30 UTC it is already 1 January 2027 in Erfurt: the case is
/// numbered and counted for 2027, and its notice is dated 01.01.2027.
#[test]
fn at_half_past_eleven_utc_on_new_years_eve_the_case_and_its_notice_belong_to_the_new_year() {
    let app = spawn_app();
    let at = NaiveDate::from_ymd_opt(2026, 12, 31)
        .unwrap()
        .and_hms_opt(23, 30, 0)
        .unwrap();
    set_budget(&app, 2027, "1000000.00");
    app.clock().fix(at);
    let lead = app.applicant(&[LEAD]);
    // The project starts after the clock's today (1 January 2027).
    let body = with(
        draft_body(LEAD),
        json!({"project_start": "2027-03-01", "project_end": "2027-12-31"}),
    );
    let case = create(&app, &lead, &body);
    let number = case["case_number"].as_str().unwrap().to_owned();
    assert!(number.contains("-2027-"), "{number}");
    let id = id_of(&case);
    for action in ["submit", "start_review"] {
        let token = if action == "submit" {
            lead.clone()
        } else {
            app.caseworker()
        };
        let r = act(&app, &id, &token, &action_body(action));
        assert_eq!(r.status, 200, "{action}: {}", r.body);
    }
    let volumes = app
        .get(
            "/api/v1/reports/volumes?basis=submission&group_by=year",
            Some(&app.ministry()),
        )
        .json();
    let rows = volumes["rows"].as_array().unwrap();
    let in_year = |y: i32| rows.iter().find(|r| r["year"] == y).cloned();
    assert_eq!(
        in_year(2027).map(|r| r["count"].clone()),
        Some(json!(1)),
        "{volumes}"
    );
    assert_eq!(in_year(2026), None, "{volumes}");
    // "Yesterday" in Erfurt is 31 December 2026: no notice is posted on it.
    let notice = |posted: &str| {
        json!({"kind": "grant", "posted_on": posted, "grant_period_start": "2027-01-01",
               "grant_period_end": "2027-12-31"})
    };
    let r = app.prepare_notice(&id, &app.caseworker(), &notice("2026-12-31"));
    refused("posted yesterday", &r, 422, Some("posted_on"));
    let n = prepare(&app, &id, &notice("2027-01-01"));
    let signed = sign(&app, &nid_of(&n));
    assert!(
        signed["number"].as_str().unwrap().contains("-2027-"),
        "{signed}"
    );
    let (status, pdf) = app.get_bytes(
        &format!("/api/v1/notices/{}/document", nid_of(&signed)),
        &app.caseworker(),
    );
    assert_eq!(status, 200);
    if let Some(text) = crate::notices::pdf_text(&pdf) {
        assert!(text.contains("01.01.2027"), "{text}");
        assert!(!text.contains("31.12.2026"), "{text}");
    }
}

/// Issue 15's acceptance 3 through the API: the worked example of `domain::reclaim`'s tests
/// (computed by hand there, step by step), played as a case of 2025.
///
/// Granted 40,000.00 on 20 January 2025; paid A = 10,000.00 on 3 March and B = 5,000.00 on
/// 15 May; a revocation signed on 2 June takes 37,000.00 of the grant back, so 12,000.00 of the
/// 15,000.00 paid is reclaimed, with interest from 1 February (before both payouts). The latest
/// money first: 7,000.00 of A from 3 March, all of B from 15 May. 4,000.00 are received on
/// 1 September. On 1 December 2025: interest 294.10 (A) + 178.21 (B) = 472.31, of which 341.91
/// was paid by the repayment (§ 367 (1) BGB: interest first); principal outstanding
/// 12,000.00 − 3,658.09 = 8,341.91; interest outstanding 130.40.
#[test]
fn two_tranches_one_repayment_and_a_base_rate_change_give_the_hand_computed_interest() {
    let app = spawn_app();
    let day_of = |s: &str| s.parse::<NaiveDate>().unwrap();
    app.travel_to(day_of("2025-01-20"));
    set_budget(&app, 2025, "1000000.00");
    let id = case_in(&app, "in_review");
    sign(&app, &nid_of(&prepare(&app, &id, &partial_grant_body())));
    let pay_on = |on: &str, amount: &str| {
        app.travel_to(day_of(on));
        let pid = prepared_payout(&app, &id, amount);
        let r = app.payout(&pid, &app.releaser());
        assert_eq!(r.status, 200, "{}", r.body);
    };
    pay_on("2025-03-03", "10000.00");
    pay_on("2025-05-15", "5000.00");
    app.travel_to(day_of("2025-06-02"));
    let revocation = json!({"kind": "revocation", "posted_on": day(0),
        "reason": "Zuwendungszweck nur teilweise erreicht", "revoked_amount": "37000.00",
        "interest_from": "2025-02-01"});
    let n = sign(&app, &nid_of(&prepare(&app, &id, &revocation)));
    assert_eq!(n["reclaim_amount"], "12000.00", "{n}");

    app.travel_to(day_of("2025-09-03"));
    let cw = app.caseworker();
    let repay = |body: &Value, key: &str| {
        app.request(
            "POST",
            &format!("/api/v1/applications/{id}/repayments"),
            Some(&cw),
            &[("Idempotency-Key", key)],
            Some(("application/json", serde_json::to_vec(body).unwrap())),
        )
    };
    // Refused: more than is outstanding, a day in the future, a day before the reclaim.
    let before = snapshot(&app, &id);
    for (what, body, field) in [
        (
            "above the outstanding",
            json!({"amount": "12400.00", "received_on": "2025-09-01"}),
            "amount",
        ),
        (
            "tomorrow",
            json!({"amount": "1.00", "received_on": "2025-09-04"}),
            "received_on",
        ),
        (
            "before the reclaim",
            json!({"amount": "1.00", "received_on": "2025-05-30"}),
            "received_on",
        ),
        (
            "nothing",
            json!({"amount": "0.00", "received_on": "2025-09-01"}),
            "amount",
        ),
    ] {
        refused(
            what,
            &repay(&body, &what.replace(' ', "-")),
            422,
            Some(field),
        );
    }
    assert_eq!(snapshot(&app, &id), before);
    let body = json!({"amount": "4000.00", "received_on": "2025-09-01"});
    let r = repay(&body, "k-1");
    assert_eq!(r.status, 201, "{}", r.body);
    // A retry with the same key is the same repayment; another body with it is refused.
    let again = repay(&body, "k-1");
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["id"], r.json()["id"]);
    refused(
        "the key with another body",
        &repay(
            &json!({"amount": "4000.01", "received_on": "2025-09-01"}),
            "k-1",
        ),
        422,
        None,
    );
    // An applicant cannot record one.
    let lead = app.applicant(&[LEAD]);
    let r = app.post_json(
        &format!("/api/v1/applications/{id}/repayments"),
        Some(&lead),
        &body,
    );
    refused("an applicant", &r, 403, None);
    let list = app
        .get(
            &format!("/api/v1/applications/{id}/repayments"),
            Some(&lead),
        )
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        (&list["reclaimed"], &list["repaid"], &list["outstanding"]),
        (&json!("12000.00"), &json!("4000.00"), &json!("8000.00")),
        "{list}"
    );

    app.travel_to(day_of("2025-12-01"));
    let i = app.interest(&id, "2025-12-01", &lead).json();
    for (field, value) in [
        ("principal", "12000.00"),
        ("repaid", "4000.00"),
        ("interest", "472.31"),
        ("interest_outstanding", "130.40"),
        ("principal_outstanding", "8341.91"),
    ] {
        assert_eq!(i[field], value, "{field} in {i}");
    }
    let tranches = i["tranches"].as_array().unwrap();
    let cut: Vec<Value> = tranches
        .iter()
        .map(|t| {
            json!([
                t["paid_on"],
                t["principal"],
                t["interest_from"],
                t["interest"],
                t["principal_repaid"]
            ])
        })
        .collect();
    assert_eq!(
        cut,
        vec![
            json!(["2025-03-03", "7000.00", "2025-03-03", "294.10", "3658.09"]),
            json!(["2025-05-15", "5000.00", "2025-05-15", "178.21", "0.00"]),
        ]
    );
    let periods: Vec<Value> = tranches[0]["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!([
                p["from"],
                p["to"],
                p["days"],
                p["principal"],
                p["rate_percent"]
            ])
        })
        .collect();
    assert_eq!(
        periods,
        vec![
            json!(["2025-03-03", "2025-06-30", 120, "7000.00", "7.27"]),
            json!(["2025-07-01", "2025-08-31", 62, "7000.00", "6.27"]),
            json!(["2025-09-01", "2025-11-30", 91, "3341.91", "6.27"]),
        ]
    );
    // The reports carry it: in 2025 on the payment basis, to date on the notice basis.
    let ministry = app.ministry();
    let cash = app
        .get(
            "/api/v1/reports/volumes?basis=payment&group_by=year&from=2025&to=2025",
            Some(&ministry),
        )
        .json();
    assert_eq!(cash["rows"][0]["repaid"], "4000.00", "{cash}");
    assert_eq!(cash["rows"][0]["reclaimed"], "12000.00", "{cash}");
    let by_notice = app.get("/api/v1/reports/volumes", Some(&ministry)).json();
    assert_eq!(by_notice["totals"]["repaid"], "4000.00", "{by_notice}");
    // The log verifies with the repayment in it.
    assert_eq!(app.verify_audit(&app.admin()).json()["ok"], true);
}
