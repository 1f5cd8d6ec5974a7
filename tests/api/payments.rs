//! Payments (Mittelabruf → Auszahlung): the lead applicant requests, a caseworker prepares,
//! another person releases; paid never exceeds granted, also when payouts race.

use foerderakte::domain::Role;
use serde_json::json;

use crate::applications::{LANGENSALZA, LEAD, case_in, day, id_of, race, state, year};
use crate::helpers::spawn_app;
use crate::notices::{approved_case, budget, nid_of, prepare, refused, sign, snapshot};

#[test]
fn the_lead_requests_a_caseworker_prepares_and_another_person_releases_a_payment() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let approver = app.approver();
    let y = year();
    let body = json!({"amount": "15000.00", "reason": "Erste Rate"});

    let in_review = case_in(&app, "in_review");
    refused(
        "a case not yet approved",
        &app.request_payment(&in_review, &lead, &body),
        409,
        None,
    );
    let (id, _) = approved_case(&app);
    for (what, token, status) in [
        ("caseworker", cw.clone(), 403),
        ("approver", approver.clone(), 403),
        ("ministry", app.ministry(), 403),
        ("another municipality", app.applicant(&[LANGENSALZA]), 404),
    ] {
        refused(what, &app.request_payment(&id, &token, &body), status, None);
    }
    let r = app.request_payment(&id, &lead, &body);
    assert_eq!(r.status, 201, "{}", r.body);
    let p = r.json();
    let pid = id_of(&p);
    for (field, value) in [
        ("application_id", json!(id)),
        ("amount", json!("15000.00")),
        ("reason", json!("Erste Rate")),
        ("status", json!("requested")),
        ("requested_by", json!("ingo.it-lead")),
        ("prepared_by", json!(null)),
        ("paid_by", json!(null)),
        ("rejected_by", json!(null)),
    ] {
        assert_eq!(p[field], value, "{field} in {p}");
    }
    assert!(p["requested_at"].is_string(), "{p}");

    // At most granted − paid − open requests: 40,000.00 − 0.00 − 15,000.00 = 25,000.00.
    for (what, amount, status) in [
        ("one cent above what is left", json!("25000.01"), 422),
        ("nothing", json!("0.00"), 422),
        ("a JSON number", json!(100), 400),
    ] {
        let r = app.request_payment(&id, &lead, &json!({ "amount": amount }));
        refused(
            what,
            &r,
            status,
            if status == 422 { Some("amount") } else { None },
        );
    }

    // The approver cannot release what no caseworker prepared; a caseworker prepares, which
    // does not change the case.
    let before = snapshot(&app, &id);
    refused(
        "release before preparation",
        &app.payout(&pid, &approver),
        409,
        None,
    );
    assert_eq!(snapshot(&app, &id), before);
    let r = app.payout(&pid, &cw);
    assert_eq!(r.status, 200, "{}", r.body);
    let prepared = r.json();
    assert_eq!(prepared["status"], "prepared");
    assert_eq!(prepared["prepared_by"], "carla.caseworker");
    assert!(prepared["prepared_at"].is_string(), "{prepared}");
    assert_eq!(prepared["paid_by"], json!(null));
    for (what, token, status) in [
        ("the caseworker again", cw.clone(), 409),
        (
            "an approver token of the preparer",
            app.token(Role::Approver, "carla.caseworker", &[]),
            403,
        ),
        ("the applicant", lead.clone(), 403),
        ("ministry", app.ministry(), 403),
        ("admin", app.admin(), 403),
    ] {
        refused(what, &app.payout(&pid, &token), status, None);
    }
    // Four eyes across the money: the approver who signed the grant does not release its
    // payouts (403 naming the rule and the notice).
    let p = refused(
        "the approver who signed the grant",
        &app.payout(&pid, &approver),
        403,
        None,
    );
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("four-eyes principle"), "{p}");
    assert!(detail.contains("you signed the notice EGOV-"), "{p}");
    assert_eq!(snapshot(&app, &id), before);

    // Another approver releases it: the case's paid amount grows, its version by one.
    let releaser = app.releaser();
    let before = state(&app, &id);
    let r = app.payout(&pid, &releaser);
    assert_eq!(r.status, 200, "{}", r.body);
    let paid = r.json();
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["paid_by"], "rolf.releaser");
    assert_eq!(paid["prepared_by"], "carla.caseworker");
    assert!(paid["paid_at"].is_string(), "{paid}");
    let c = app.get_application(&id, &lead).json();
    assert_eq!(c["paid_amount"], "15000.00");
    assert_eq!(c["granted_amount"], "40000.00");
    let after = state(&app, &id);
    assert_eq!(after.version, before.version + 1);
    assert_eq!(after.events, before.events + 1);
    assert_eq!(after.status, "approved");
    for (what, token) in [
        ("approver again", releaser.clone()),
        ("caseworker", cw.clone()),
    ] {
        refused(what, &app.payout(&pid, &token), 409, None);
    }
    assert_eq!(state(&app, &id), after);
    assert_eq!(
        budget(&app, y),
        json!({"programme": "THUEREGOVRL-2024", "fiscal_year": y, "amount": "10000000.00",
               "committed": "40000.00", "paid": "15000.00", "available": "9960000.00"})
    );

    // What is left may be requested, not a cent more.
    let rest = app.request_payment(&id, &lead, &json!({"amount": "25000.00"}));
    assert_eq!(rest.status, 201, "{}", rest.body);
    refused(
        "a cent beyond the grant",
        &app.request_payment(&id, &lead, &json!({"amount": "0.01"})),
        422,
        Some("amount"),
    );

    // Owner and staff read the requests; others do not.
    for token in [&lead, &cw, &approver] {
        let r = app.list_payment_requests(&id, token);
        assert_eq!(r.status, 200, "{}", r.body);
        let list = r.json();
        let list = list.as_array().expect("a list");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], pid.as_str());
        assert_eq!(list[0]["status"], "paid");
        assert_eq!(list[1]["status"], "requested");
    }
    refused(
        "another municipality lists",
        &app.list_payment_requests(&id, &app.applicant(&[LANGENSALZA])),
        404,
        None,
    );
    refused(
        "ministry lists",
        &app.list_payment_requests(&id, &app.ministry()),
        403,
        None,
    );
    let log = app.audit_log(&app.admin()).json();
    let events = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_type"] == "payment_request")
        .count();
    assert!(events >= 4, "request, prepare, release, request: {log}");
    assert_eq!(app.verify_audit(&app.admin()).json()["ok"], true);
}

#[test]
fn a_caseworker_rejects_a_requested_or_prepared_payment_with_a_reason_and_nothing_is_paid() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let (id, _) = approved_case(&app);
    let ask = |amount: &str| {
        let r = app.request_payment(&id, &lead, &json!({ "amount": amount }));
        assert_eq!(r.status, 201, "{}", r.body);
        id_of(&r.json())
    };
    let p1 = ask("10000.00");
    let p2 = ask("30000.00");
    let before = snapshot(&app, &id);
    // Without a reason the body is malformed or invalid.
    let r = app.reject_payment(&p1, &cw, &json!({}));
    assert!(r.status == 422 || r.status == 400, "no reason: {}", r.body);
    r.assert_problem(r.status);
    for (what, token, body, status, field) in [
        (
            "a blank reason",
            cw.clone(),
            json!({"reason": " "}),
            422,
            Some("reason"),
        ),
        (
            "by the approver",
            app.approver(),
            json!({"reason": "x"}),
            403,
            None,
        ),
        (
            "by the applicant",
            lead.clone(),
            json!({"reason": "x"}),
            403,
            None,
        ),
        (
            "by the ministry",
            app.ministry(),
            json!({"reason": "x"}),
            403,
            None,
        ),
    ] {
        refused(what, &app.reject_payment(&p1, &token, &body), status, field);
    }
    assert_eq!(snapshot(&app, &id), before);

    let r = app.reject_payment(&p1, &cw, &json!({"reason": "Belege fehlen"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let rejected = r.json();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejected_by"], "carla.caseworker");
    assert_eq!(rejected["rejection_reason"], "Belege fehlen");
    assert!(rejected["rejected_at"].is_string(), "{rejected}");
    refused(
        "prepare a rejected request",
        &app.payout(&p1, &cw),
        409,
        None,
    );
    refused(
        "reject twice",
        &app.reject_payment(&p1, &cw, &json!({"reason": "x"})),
        409,
        None,
    );

    // A prepared request may be rejected too; then it cannot be released.
    assert_eq!(app.payout(&p2, &cw).status, 200);
    let r = app.reject_payment(&p2, &cw, &json!({"reason": "Mittel nicht fällig"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "rejected");
    refused(
        "release a rejected request",
        &app.payout(&p2, &app.approver()),
        409,
        None,
    );
    let c = app.get_application(&id, &cw).json();
    assert_eq!(c["paid_amount"], "0.00");
    assert_eq!(state(&app, &id), before.case);

    // Rejected requests do not hold back the grant: all 40,000.00 may be requested again.
    let again = app.request_payment(&id, &lead, &json!({"amount": "40000.00"}));
    assert_eq!(again.status, 201, "{}", again.body);
}

#[test]
fn prepared_payouts_released_at_once_pay_exactly_what_fits_into_the_grant() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let approver = app.releaser();
    let y = year();
    let (id, _) = approved_case(&app);
    // Four requests of 10,000.00 use up the grant of 40,000.00; all are prepared.
    let pids: Vec<String> = (0..4)
        .map(|_| {
            let r = app.request_payment(&id, &lead, &json!({"amount": "10000.00"}));
            assert_eq!(r.status, 201, "{}", r.body);
            let pid = id_of(&r.json());
            assert_eq!(app.payout(&pid, &cw).status, 200);
            pid
        })
        .collect();
    // An amendment lowers the grant to 32,000.00 (line 1 cut to 30,000.00: 80 % of 40,000.00).
    let amendment = prepare(
        &app,
        &id,
        &json!({"kind": "amendment", "posted_on": day(0),
                "approved_lines": [{"line": 1, "approved_amount": "30000.00", "reason": "Teilleistung entfallen"}]}),
    );
    assert_eq!(amendment["granted_amount"], "32000.00");
    sign(&app, &nid_of(&amendment));
    // Payouts wait for the amendment in force to take effect (its deemed delivery).
    app.advance_days(4);
    let before = state(&app, &id);

    let answers = race(pids.len(), |i| app.payout(&pids[i], &approver));
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [200, 200, 200, 409],
        "{:?}",
        answers.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let late = pids
        .iter()
        .zip(&answers)
        .find(|(_, r)| r.status == 409)
        .map(|(pid, r)| {
            r.assert_problem(409);
            pid.clone()
        })
        .unwrap();
    let c = app.get_application(&id, &cw).json();
    assert_eq!(c["granted_amount"], "32000.00");
    assert_eq!(c["paid_amount"], "30000.00");
    let after = state(&app, &id);
    assert_eq!(after.version, before.version + 3);
    let list = app.list_payment_requests(&id, &cw).json();
    let statuses: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["status"].as_str().unwrap()))
        .collect();
    for (pid, status) in statuses {
        let want = if pid == late { "prepared" } else { "paid" };
        assert_eq!(status, want, "{pid}");
    }
    assert_eq!(budget(&app, y)["paid"], "30000.00");
    assert_eq!(budget(&app, y)["committed"], "32000.00");

    // The one left over is rejected; one more of 2,000.00 fills the grant, and ten approvers
    // releasing it at once pay it once.
    let r = app.reject_payment(&late, &cw, &json!({"reason": "Zuwendung gekürzt"}));
    assert_eq!(r.status, 200, "{}", r.body);
    refused(
        "a cent more than is left",
        &app.request_payment(&id, &lead, &json!({"amount": "2000.01"})),
        422,
        Some("amount"),
    );
    let r = app.request_payment(&id, &lead, &json!({"amount": "2000.00"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let last = id_of(&r.json());
    assert_eq!(app.payout(&last, &cw).status, 200);
    let approvers: Vec<String> = (0..10)
        .map(|i| app.token(Role::Approver, &format!("approver.{i}"), &[]))
        .collect();
    let before = state(&app, &id);
    let answers = race(approvers.len(), |i| app.payout(&last, &approvers[i]));
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status).collect();
    codes.sort_unstable();
    let mut want = vec![200];
    want.extend([409; 9]);
    assert_eq!(codes, want);
    let c = app.get_application(&id, &cw).json();
    assert_eq!(c["paid_amount"], "32000.00");
    assert_eq!(c["granted_amount"], "32000.00");
    assert_eq!(state(&app, &id).version, before.version + 1);
    assert_eq!(budget(&app, y)["paid"], "32000.00");
}
