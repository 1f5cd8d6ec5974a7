//! The end of a case: proof of use (actual costs), the final notice with its reclaim, and the
//! revocation with interest under § 49a VwVfG at five points above the base rate.

use chrono::{Months, NaiveDate};
use serde_json::{Value, json};

use crate::applications::{LANGENSALZA, LEAD, act, day, drive, etag, state, year};
use crate::helpers::{TestApp, spawn_app};
use crate::notices::{
    approved_case, assert_fields, budget, date, last_event, nid_of, pay, prepare, refused, sign,
    snapshot,
};

fn proof(actual: [&str; 3]) -> Value {
    json!({
        "action": "submit_proof",
        "actual_costs": [
            {"line": 1, "amount": actual[0]},
            {"line": 2, "amount": actual[1]},
            {"line": 3, "amount": actual[2]},
        ],
    })
}

fn actual_amounts(app: &TestApp, id: &str) -> Vec<Value> {
    let c = app.get_application(id, &app.caseworker()).json();
    c["cost_lines"]
        .as_array()
        .expect("cost lines")
        .iter()
        .map(|l| l["actual_amount"].clone())
        .collect()
}

/// The default reclaim due date is one month after the notice's deemed delivery; a day that
/// falls on a weekend or holiday may move to the next working day (§ 31 (3) VwVfG), as the
/// appeal deadline of the same month does, but no further.
fn assert_default_reclaim_due(n: &Value) {
    let month = date(n["deemed_delivery"].as_str().expect("deemed_delivery"))
        .checked_add_months(Months::new(1))
        .unwrap();
    let due = date(n["reclaim_due"].as_str().expect("reclaim_due"));
    let appeal = date(n["appeal_deadline"].as_str().expect("appeal_deadline"));
    assert!(month <= due && due <= appeal.max(month), "{n}");
}

#[test]
fn the_proof_of_use_carries_one_actual_amount_per_cost_line_and_a_returned_proof_keeps_them() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let (id, _) = approved_case(&app);
    assert_eq!(
        actual_amounts(&app, &id),
        [Value::Null, Value::Null, Value::Null]
    );
    let before = snapshot(&app, &id);
    let v = etag(before.case.version);
    // (what, body, status, field)
    let refusals: Vec<(&str, Value, u16, &str)> = vec![
        (
            "no actual costs",
            json!({"action": "submit_proof"}),
            422,
            "actual_costs",
        ),
        (
            "a line missing",
            json!({"action": "submit_proof", "actual_costs": [
                {"line": 1, "amount": "35000.00"}, {"line": 2, "amount": "11000.00"}
            ]}),
            422,
            "actual_costs",
        ),
        (
            "a line the application does not have",
            json!({"action": "submit_proof", "actual_costs": [
                {"line": 1, "amount": "35000.00"}, {"line": 2, "amount": "11000.00"},
                {"line": 3, "amount": "300.00"}, {"line": 4, "amount": "1.00"}
            ]}),
            422,
            "actual_costs*",
        ),
        (
            "a line twice",
            json!({"action": "submit_proof", "actual_costs": [
                {"line": 1, "amount": "35000.00"}, {"line": 1, "amount": "11000.00"},
                {"line": 3, "amount": "300.00"}
            ]}),
            422,
            "actual_costs*",
        ),
        (
            "a negative actual amount",
            json!({"action": "submit_proof", "actual_costs": [
                {"line": 1, "amount": "-1.00"}, {"line": 2, "amount": "11000.00"},
                {"line": 3, "amount": "300.00"}
            ]}),
            422,
            "actual_costs[0].amount",
        ),
    ];
    for (what, body, status, field) in &refusals {
        let r = app.transition_application(&id, &lead, Some(&v), body);
        refused(what, &r, *status, Some(field));
    }
    let r = app.transition_application(
        &id,
        &lead,
        Some(&v),
        &json!({"action": "submit_proof", "actual_costs": [
            {"line": 1, "amount": 35000}, {"line": 2, "amount": "11000.00"}, {"line": 3, "amount": "300.00"}
        ]}),
    );
    refused("an amount as a JSON number", &r, 400, None);
    assert_eq!(snapshot(&app, &id), before);

    let r = act(&app, &id, &lead, &proof(["35000.00", "11000.00", "300.00"]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "proof_submitted");
    // The answer carries the actual costs just stored: it is what a read returns.
    assert_eq!(r.json(), app.get_application(&id, &lead).json());
    assert_eq!(
        actual_amounts(&app, &id),
        [json!("35000.00"), json!("11000.00"), json!("300.00")]
    );
    // Returned: the amounts stay until the next proof replaces them.
    drive(&app, &id, &lead, &["return_proof"]);
    assert_eq!(state(&app, &id).status, "approved");
    assert_eq!(
        actual_amounts(&app, &id),
        [json!("35000.00"), json!("11000.00"), json!("300.00")]
    );
    let r = act(&app, &id, &lead, &proof(["39000.00", "9000.00", "0.00"]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        actual_amounts(&app, &id),
        [json!("39000.00"), json!("9000.00"), json!("0.00")]
    );
}

#[test]
fn a_final_notice_fixes_the_final_grant_from_the_actual_costs_and_reclaims_what_was_paid_above_it()
{
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let y = year();
    let (id, grant) = approved_case(&app);
    pay(&app, &id, "25000.00");
    pay(&app, &id, "15000.00");
    assert_eq!(
        app.get_application(&id, &lead).json()["paid_amount"],
        "40000.00"
    );
    refused(
        "a final notice before the proof of use",
        &app.prepare_notice(&id, &cw, &json!({"kind": "final", "posted_on": day(0)})),
        409,
        None,
    );
    // Actual: line 1 35,000.00 (approved 40,000.00), line 2 11,000.00 (approved only
    // 10,000.00, so 10,000.00 counts), line 3 ineligible.
    let r = act(&app, &id, &lead, &proof(["35000.00", "11000.00", "300.00"]));
    assert_eq!(r.status, 200, "{}", r.body);

    // A further cut: line 1 recognised with 30,000.00 only: 40,000.00 eligible, 32,000.00.
    let cut = prepare(
        &app,
        &id,
        &json!({"kind": "final", "posted_on": day(0), "approved_lines": [
            {"line": 1, "approved_amount": "30000.00", "reason": "Rechnung nicht anerkannt"}
        ], "interest_waiver": "Die Rechnung wurde vom Auftragnehmer fehlerhaft gestellt."}),
    );
    assert_fields(
        "further cut",
        &cut,
        &json!({"eligible_amount": "40000.00", "granted_amount": "32000.00", "reclaim_amount": "8000.00",
                "interest_from": null}),
    );
    assert_eq!(cut["lines"][0]["reason"], "Rechnung nicht anerkannt");
    // The waiver (§ 49a (3) sentence 2 VwVfG) is stated in the Begründung.
    let reason = cut["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("Von der Geltendmachung von Zinsen"),
        "{cut}"
    );
    assert!(reason.contains("fehlerhaft gestellt"), "{cut}");

    // A final notice that reclaims says from when interest runs, or waives it; not both.
    let final_with = |extra: Value| {
        crate::applications::with(json!({"kind": "final", "posted_on": day(0)}), extra)
    };
    for (what, body, field) in [
        (
            "neither interest nor a waiver",
            final_with(json!({})),
            "interest_from",
        ),
        (
            "both",
            final_with(json!({"interest_from": day(0), "interest_waiver": "x"})),
            "interest_waiver",
        ),
        (
            "a waiver on a revocation",
            json!({"kind": "revocation", "posted_on": day(0), "reason": "x",
                   "revoked_amount": "1.00", "interest_from": day(0), "interest_waiver": "x"}),
            "interest_waiver",
        ),
    ] {
        refused(what, &app.prepare_notice(&id, &cw, &body), 422, Some(field));
    }

    // 35,000.00 + 10,000.00 = 45,000.00 eligible; 80 % = 36,000.00; 4,000.00 paid above it,
    // with interest from today (each tranche from its payout at the earliest).
    let n = prepare(
        &app,
        &id,
        &json!({"kind": "final", "posted_on": day(0), "interest_from": day(0)}),
    );
    assert_fields(
        "final",
        &n,
        &json!({"kind": "final", "status": "prepared", "financing_type": "anteil", "rate": "0.80",
                "eligible_amount": "45000.00", "computed_amount": "36000.00",
                "granted_amount": "36000.00", "previous_grant": "40000.00",
                "paid_amount": "40000.00", "reclaim_amount": "4000.00",
                "interest_from": day(0),
                "refers_to": grant["id"], "refers_to_number": grant["number"],
                "allocations": [{"fiscal_year": y, "amount": "36000.00"}]}),
    );
    assert_default_reclaim_due(&n);
    let expected_lines = [
        (1, "40000.00", "35000.00", "35000.00", true),
        (2, "12500.50", "11000.00", "10000.00", true),
        (3, "300.00", "300.00", "300.00", false),
    ];
    let lines = n["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 3);
    for (l, (line, applied, actual, recognised, eligible)) in lines.iter().zip(expected_lines) {
        assert_fields(
            "final line",
            l,
            &json!({"line": line, "applied_amount": applied, "actual_amount": actual, "eligible": eligible}),
        );
        if eligible {
            assert_eq!(l["approved_amount"], recognised, "line {line}: {l}");
        }
    }

    let before = snapshot(&app, &id);
    refused(
        "the preparer signs",
        &app.sign_notice(&nid_of(&n), &cw),
        403,
        None,
    );
    assert_eq!(snapshot(&app, &id), before);
    let signed = sign(&app, &nid_of(&n));
    let number = format!("{}-B2", signed["case_number"].as_str().unwrap());
    assert_eq!(signed["number"], number.as_str());
    let c = app.get_application(&id, &lead).json();
    assert_fields(
        "closed case",
        &c,
        &json!({"status": "closed", "granted_amount": "36000.00", "paid_amount": "40000.00",
                "reclaim_amount": "4000.00"}),
    );
    let after = state(&app, &id);
    assert_eq!(after.version, before.case.version + 1);
    assert_eq!(after.events, before.case.events + 1);
    assert_fields(
        "history",
        &last_event(&app, &id),
        &json!({"action": "close", "from_status": "proof_submitted", "to_status": "closed",
                "actor": "anna.approver", "reason": number}),
    );
    assert_fields(
        "budget",
        &budget(&app, y),
        &json!({"committed": "36000.00", "paid": "40000.00", "available": "9964000.00"}),
    );
    // The other final notice was prepared against the older version; no second final notice.
    refused(
        "the stale further cut",
        &app.sign_notice(&nid_of(&cut), &app.approver()),
        409,
        None,
    );
    refused(
        "a second final notice",
        &app.prepare_notice(&id, &cw, &json!({"kind": "final", "posted_on": day(0)})),
        409,
        None,
    );
    // The applicant sees both signed notices, oldest first.
    let mine = app.list_notices(&id, &lead).json();
    let numbers: Vec<&Value> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["number"])
        .collect();
    assert_eq!(numbers, [&grant["number"], &json!(number)]);
}

fn revocation(revoked: &str, interest_from: &str) -> Value {
    json!({
        "kind": "revocation",
        "posted_on": day(0),
        "reason": "Zuwendungszweck nicht erreicht",
        "revoked_amount": revoked,
        "interest_from": interest_from,
    })
}

#[test]
fn a_revocation_reclaims_what_was_paid_above_the_remaining_grant_with_interest_to_the_cent() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    // The case lives in 2024: granted on 1 August (posted that day, deemed delivered on
    // 5 August), 30,000.00 paid on 5 August, revoked on 2 September with interest from
    // 15 August.
    app.travel_to(NaiveDate::from_ymd_opt(2024, 8, 1).unwrap());
    let y = year();
    let (id, grant) = approved_case(&app);
    pay(&app, &id, "30000.00");
    app.travel_to(NaiveDate::from_ymd_opt(2024, 9, 2).unwrap());
    let before = snapshot(&app, &id);
    let without = |field: &str| {
        let mut b = revocation("22345.67", "2024-08-15");
        b.as_object_mut().unwrap().remove(field);
        b
    };
    // (what, body, field)
    let refusals: Vec<(&str, Value, &str)> = vec![
        ("no reason", without("reason"), "reason"),
        (
            "a blank reason",
            with_field(revocation("22345.67", "2024-08-15"), "reason", json!("  ")),
            "reason",
        ),
        (
            "no revoked amount",
            without("revoked_amount"),
            "revoked_amount",
        ),
        (
            "a cent more than the grant",
            revocation("40000.01", "2024-08-15"),
            "revoked_amount",
        ),
        (
            "nothing revoked",
            revocation("0.00", "2024-08-15"),
            "revoked_amount",
        ),
        (
            "no interest date",
            without("interest_from"),
            "interest_from",
        ),
        (
            "interest from before the grant was signed",
            revocation("22345.67", "2024-07-31"),
            "interest_from",
        ),
    ];
    for (what, body, field) in &refusals {
        refused(what, &app.prepare_notice(&id, &cw, body), 422, Some(field));
    }
    assert_eq!(snapshot(&app, &id), before);

    // 40,000.00 − 22,345.67 = 17,654.33 remains; 30,000.00 paid, so 12,345.67 is reclaimed.
    let n = prepare(&app, &id, &revocation("22345.67", "2024-08-15"));
    assert_fields(
        "revocation",
        &n,
        &json!({"kind": "revocation", "revoked_amount": "22345.67", "granted_amount": "17654.33",
                "previous_grant": "40000.00", "paid_amount": "30000.00",
                "reclaim_amount": "12345.67", "interest_from": "2024-08-15",
                "reason": "Zuwendungszweck nicht erreicht",
                "refers_to": grant["id"], "refers_to_number": grant["number"]}),
    );
    assert_default_reclaim_due(&n);
    let signed = sign(&app, &nid_of(&n));
    let number = format!("{}-B2", signed["case_number"].as_str().unwrap());
    assert_eq!(signed["number"], number.as_str());
    let c = app.get_application(&id, &lead).json();
    assert_fields(
        "revoked case",
        &c,
        &json!({"status": "revoked", "granted_amount": "17654.33", "paid_amount": "30000.00",
                "reclaim_amount": "12345.67"}),
    );
    let after = state(&app, &id);
    assert_eq!(after.version, before.case.version + 1);
    assert_eq!(after.events, before.case.events + 1);
    assert_fields(
        "history",
        &last_event(&app, &id),
        &json!({"action": "revoke", "from_status": "approved", "to_status": "revoked",
                "reason": number}),
    );
    assert_eq!(budget(&app, y)["committed"], "17654.33");
    // Nothing more is paid out on a revoked case.
    refused(
        "a payment request on a revoked case",
        &app.request_payment(&id, &lead, &json!({"amount": "1.00"})),
        409,
        None,
    );

    // Interest on 12,345.67 (1,234,567 cents), the part of the payout of 5 August that the
    // revocation takes back, from 15 August 2024 (counted; after the payout) to 15 March 2025
    // (not counted), base rate + 5 points, actual/365, per period:
    //   2024-08-15..2024-12-31: 17 + 30 + 31 + 30 + 31 = 139 days at 3.37 + 5 = 8.37 %
    //   2025-01-01..2025-03-14: 31 + 28 + 14 = 73 days at 2.27 + 5 = 7.27 %
    // Σ rate_hundredths × days = 837 × 139 + 727 × 73 = 116,343 + 53,071 = 169,414
    // cents × Σ = 1,234,567 × 169,414 = 209,152,933,738
    // ÷ (100 × 100 × 365 = 3,650,000) = 57,302.17…, rounded down: 57,302 cents = 573.02
    let r = app.interest(&id, "2025-03-15", &cw);
    assert_eq!(r.status, 200, "{}", r.body);
    let i = r.json();
    assert_fields(
        "interest",
        &i,
        &json!({"as_of": "2025-03-15", "principal": "12345.67", "repaid": "0.00",
                "principal_outstanding": "12345.67", "interest": "573.02",
                "interest_outstanding": "573.02"}),
    );
    let tranches = i["tranches"].as_array().expect("tranches");
    assert_eq!(tranches.len(), 1, "{i}");
    assert_fields(
        "tranche",
        &tranches[0],
        &json!({"notice": number, "principal": "12345.67", "paid_on": "2024-08-05",
                "interest_from": "2024-08-15", "interest": "573.02"}),
    );
    let periods: Vec<Value> = tranches[0]["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| json!([p["from"], p["to"], p["days"], p["rate_percent"]]))
        .collect();
    assert_eq!(
        periods,
        [
            json!(["2024-08-15", "2024-12-31", 139, "8.37"]),
            json!(["2025-01-01", "2025-03-14", 73, "7.27"]),
        ]
    );
    // The applicant reads the same; others do not.
    assert_eq!(app.interest(&id, "2025-03-15", &lead).json(), i);
    assert_eq!(app.interest(&id, "2025-03-15", &app.approver()).json(), i);
    refused(
        "another municipality",
        &app.interest(&id, "2025-03-15", &app.applicant(&[LANGENSALZA])),
        404,
        None,
    );
    refused(
        "ministry",
        &app.interest(&id, "2025-03-15", &app.ministry()),
        403,
        None,
    );

    // Up to the last known base rate (2026-06-30): 2025-01-01..2025-06-30 181 days at 7.27 %,
    // 2025-07-01..2026-06-30 365 days at 6.27 %: Σ = 837 × 139 + 727 × 181 + 627 × 365 =
    // 476,785; 1,234,567 × 476,785 = 588,623,027,095; ÷ 3,650,000 = 161,266.58… → 1,612.66
    let r = app.interest(&id, "2026-07-01", &cw);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["interest"], "1612.66", "{}", r.body);
    // On the first day nothing has accrued yet, nor before it.
    for as_of in ["2024-08-15", "2024-08-01"] {
        let r = app.interest(&id, as_of, &cw);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["interest"], "0.00", "{}", r.body);
    }
    // Beyond the known base rates: refused, never guessed.
    for (what, as_of) in [
        ("one day beyond the known base rates", "2026-07-02"),
        ("a year beyond", "2027-07-01"),
    ] {
        refused(what, &app.interest(&id, as_of, &cw), 422, Some("as_of"));
    }
}

fn with_field(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

#[test]
fn a_revocation_after_the_final_notice_reclaims_in_total_what_was_paid_above_the_remaining_grant() {
    let app = spawn_app();
    // Granted on 2 December 2024 and paid on the 6th; interest from 1 January 2025.
    app.travel_to(NaiveDate::from_ymd_opt(2024, 12, 2).unwrap());
    let lead = app.applicant(&[LEAD]);
    let y = year();
    let (id, _) = approved_case(&app);
    pay(&app, &id, "40000.00");
    let r = act(&app, &id, &lead, &proof(["35000.00", "11000.00", "300.00"]));
    assert_eq!(r.status, 200, "{}", r.body);
    let fin = prepare(
        &app,
        &id,
        &json!({"kind": "final", "posted_on": day(0),
                "interest_waiver": "Die Abweichung hat die Gemeinde nicht zu vertreten."}),
    );
    sign(&app, &nid_of(&fin));
    // Closed with 36,000.00: 4,000.00 reclaimed. Revoking 6,000.00 more leaves 30,000.00, so
    // 10,000.00 of the 40,000.00 paid is to be repaid in all; the revocation adds 6,000.00 to
    // the 4,000.00 the final notice reclaims (the case's reclaim is the sum of its notices').
    let n = prepare(&app, &id, &revocation("6000.00", "2025-01-01"));
    assert_fields(
        "revocation of a closed case",
        &n,
        &json!({"granted_amount": "30000.00", "previous_grant": "36000.00",
                "paid_amount": "40000.00", "refers_to": fin["id"]}),
    );
    let before = state(&app, &id);
    let signed = sign(&app, &nid_of(&n));
    assert_eq!(
        signed["number"],
        format!("{}-B3", signed["case_number"].as_str().unwrap())
    );
    let c = app.get_application(&id, &lead).json();
    assert_fields(
        "revoked after closing",
        &c,
        &json!({"status": "revoked", "granted_amount": "30000.00", "paid_amount": "40000.00",
                "reclaim_amount": "10000.00"}),
    );
    let notices = app.list_notices(&id, &lead).json();
    let reclaims: Vec<&Value> = notices
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["reclaim_amount"])
        .collect();
    assert_eq!(reclaims[1], &json!("4000.00"), "{notices}");
    assert_eq!(reclaims[2], &json!("6000.00"), "{notices}");
    assert_eq!(state(&app, &id).version, before.version + 1);
    assert_fields(
        "history",
        &last_event(&app, &id),
        &json!({"action": "revoke", "from_status": "closed", "to_status": "revoked",
                "reason": signed["number"]}),
    );
    assert_eq!(budget(&app, y)["committed"], "30000.00");
    // The account holds both reclaims of the one payout of 40,000.00, the latest money first:
    // the final notice's 4,000.00 (no interest claimed) and the revocation's 6,000.00 below it.
    // Interest runs on the revocation's 6,000.00 (600,000 cents) from 2025-01-01:
    //   2025-01-01..2025-06-30: 181 days at 2.27 + 5 = 7.27 %
    //   2025-07-01..2025-12-31: 184 days at 1.27 + 5 = 6.27 %
    // 600,000 × (727 × 181 + 627 × 184) = 600,000 × (131,587 + 115,368) = 600,000 × 246,955
    //   = 148,173,000,000; ÷ 3,650,000 = 40,595.34… → 40,595 cents = 405.95
    let r = app.interest(&id, "2026-01-01", &lead);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_fields(
        "interest",
        &r.json(),
        &json!({"principal": "10000.00", "principal_outstanding": "10000.00",
                "interest": "405.95"}),
    );
}
