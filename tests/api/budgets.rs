//! Budgets per programme and fiscal year: set by admin, read by staff and ministry, and never
//! exceeded by signed grants, even when 200 notices are signed at the same moment.

use serde_json::{Value, json};

use crate::applications::{
    LEAD, case_in, create, draft_body, etag, id_of, list_ids, race, state, with, year,
};
use crate::helpers::{TestApp, spawn_app};
use crate::notices::{
    PROGRAMME, budget, budget_dto, budget_dtos, grant_body, nid_of, partial_grant_body, prepare,
    refused, set_budget, sign, snapshot,
};

#[test]
fn an_admin_sets_a_budget_and_staff_and_ministry_read_amount_committed_paid_and_available() {
    let app = spawn_app();
    let admin = app.admin();
    let y = year();
    let body = json!({"amount": "1000000.00", "reason": "Haushaltsplan"});
    for (what, token) in [
        ("caseworker", app.caseworker()),
        ("approver", app.approver()),
        ("ministry", app.ministry()),
        ("applicant", app.applicant(&[LEAD])),
    ] {
        refused(
            what,
            &app.put_budget(PROGRAMME, y, &token, &body),
            403,
            None,
        );
    }
    refused(
        "unknown programme",
        &app.put_budget("THUEREGOVRL-2099", y, &admin, &body),
        404,
        None,
    );
    for bad_year in [1999, 2201] {
        refused(
            "year out of range",
            &app.put_budget(PROGRAMME, bad_year, &admin, &body),
            422,
            None,
        );
    }
    refused(
        "amount as a JSON number",
        &app.put_budget(PROGRAMME, y, &admin, &json!({"amount": 1000000})),
        400,
        None,
    );
    refused(
        "unknown field",
        &app.put_budget(
            PROGRAMME,
            y,
            &admin,
            &json!({"amount": "1.00", "colour": "red"}),
        ),
        400,
        None,
    );
    let r = app.get_budgets(PROGRAMME, &admin);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(budget_dtos(&r.json()), json!([]));

    let next = app.put_budget(PROGRAMME, y + 1, &admin, &json!({"amount": "500000.00"}));
    assert_eq!(next.status, 200, "{}", next.body);
    let r = app.put_budget(PROGRAMME, y, &admin, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let this = json!({"programme": PROGRAMME, "fiscal_year": y, "amount": "1000000.00",
                      "committed": "0.00", "paid": "0.00", "available": "1000000.00"});
    assert_eq!(budget_dto(&r.json()), this);
    let later = json!({"programme": PROGRAMME, "fiscal_year": y + 1, "amount": "500000.00",
                       "committed": "0.00", "paid": "0.00", "available": "500000.00"});
    assert_eq!(budget_dto(&next.json()), later);
    // By year, for every reader but the applicant.
    for token in [
        admin.clone(),
        app.ministry(),
        app.caseworker(),
        app.approver(),
    ] {
        let r = app.get_budgets(PROGRAMME, &token);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(budget_dtos(&r.json()), json!([this, later]));
    }
    refused(
        "applicant reads budgets",
        &app.get_budgets(PROGRAMME, &app.applicant(&[LEAD])),
        403,
        None,
    );
    let other = app.get_budgets("THUERFAG-24-KOOP", &admin);
    assert_eq!(other.status, 200, "{}", other.body);
    assert_eq!(budget_dtos(&other.json()), json!([]));

    // A signed grant of 40,000.00 is committed; the amount may not fall below that.
    let id = case_in(&app, "in_review");
    let n = prepare(&app, &id, &partial_grant_body());
    sign(&app, &nid_of(&n));
    let committed = json!({"programme": PROGRAMME, "fiscal_year": y, "amount": "1000000.00",
                           "committed": "40000.00", "paid": "0.00", "available": "960000.00"});
    assert_eq!(budget(&app, y), committed);
    refused(
        "one cent below what is committed",
        &app.put_budget(PROGRAMME, y, &admin, &json!({"amount": "39999.99"})),
        409,
        None,
    );
    assert_eq!(budget(&app, y), committed);
    let r = app.put_budget(PROGRAMME, y, &admin, &json!({"amount": "40000.00"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        budget_dto(&r.json()),
        json!({"programme": PROGRAMME, "fiscal_year": y, "amount": "40000.00",
               "committed": "40000.00", "paid": "0.00", "available": "0.00"})
    );

    // Every change is audited.
    let log = app.audit_log(&admin).json();
    let changes = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_type"] == "budget" && e["actor"] == "otto.operator")
        .count();
    assert_eq!(changes, 3, "two budgets set, one lowered: {log}");
    assert_eq!(app.verify_audit(&admin).json()["ok"], true);
}

#[test]
fn a_grant_whose_allocation_has_no_budget_or_exceeds_it_is_not_signed_and_changes_nothing() {
    let app = spawn_app();
    let y = year();
    let id = case_in(&app, "in_review");
    let n = prepare(&app, &id, &partial_grant_body());
    let nid = nid_of(&n);

    // No budget at all.
    let before = snapshot(&app, &id);
    refused(
        "no budget",
        &app.sign_notice(&nid, &app.approver()),
        409,
        None,
    );
    assert_eq!(snapshot(&app, &id), before);
    assert_eq!(before.case.status, "in_review");

    // A budget one cent short.
    set_budget(&app, y, "39999.99");
    let before = snapshot(&app, &id);
    refused(
        "one cent short",
        &app.sign_notice(&nid, &app.approver()),
        409,
        None,
    );
    assert_eq!(snapshot(&app, &id), before);
    assert_eq!(budget(&app, y)["committed"], "0.00");

    // Split over two years, the second without a budget.
    let split = prepare(
        &app,
        &id,
        &with(
            partial_grant_body(),
            json!({"allocations": [
                {"fiscal_year": y, "amount": "30000.00"},
                {"fiscal_year": y + 1, "amount": "10000.00"}
            ]}),
        ),
    );
    let before = snapshot(&app, &id);
    refused(
        "the second year has no budget",
        &app.sign_notice(&nid_of(&split), &app.approver()),
        409,
        None,
    );
    assert_eq!(snapshot(&app, &id), before);

    // With both budgets it is signed, and each year commits its part.
    set_budget(&app, y + 1, "10000.00");
    sign(&app, &nid_of(&split));
    assert_eq!(
        budget(&app, y),
        json!({"programme": PROGRAMME, "fiscal_year": y, "amount": "39999.99",
               "committed": "30000.00", "paid": "0.00", "available": "9999.99"})
    );
    assert_eq!(
        budget(&app, y + 1),
        json!({"programme": PROGRAMME, "fiscal_year": y + 1, "amount": "10000.00",
               "committed": "10000.00", "paid": "0.00", "available": "0.00"})
    );
    let c = app.get_application(&id, &app.caseworker()).json();
    assert_eq!(c["status"], "approved");
    assert_eq!(c["granted_amount"], "40000.00");
}

/// One eligible line of 12,500.00, own contribution 2,500.00, requested 10,000.00 (80 %).
fn ten_thousand(lead: &str) -> Value {
    with(
        draft_body(lead),
        json!({
            "cost_lines": [{"category": "software", "description": "Schnittstellenmodul", "amount": "12500.00", "eligible": true}],
            "own_contribution": "2500.00",
            "third_party_funds": "0.00",
            "requested_grant": "10000.00",
        }),
    )
}

#[test]
fn two_hundred_grants_of_10000_signed_at_once_against_a_budget_of_1000000_commit_exactly_100() {
    let app = spawn_app();
    two_hundred_grants_signed_at_once_commit_what_the_budget_covers(&[&app]);
}

/// 200 prepared grants of 10,000.00, signed at once against a budget of 1,000,000.00, signing
/// `i` sent to `apps[i % apps.len()]` (all servers on one database): exactly 100 are signed
/// (200), the others refused with 409 and unchanged; committed = 100 × 10,000.00 = the
/// budget; the audit log verifies.
pub(crate) fn two_hundred_grants_signed_at_once_commit_what_the_budget_covers(apps: &[&TestApp]) {
    const N: usize = 200;
    let app = apps[0];
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let y = year();
    set_budget(app, y, "1000000.00");
    // Each case in review with a prepared grant notice of 10,000.00 allocated to this year.
    let mut cases = Vec::with_capacity(N);
    for _ in 0..N {
        let id = id_of(&create(app, &lead, &ten_thousand(LEAD)));
        for (version, token, action) in [(1, &lead, "submit"), (2, &cw, "start_review")] {
            let r = app.transition_application(
                &id,
                token,
                Some(&etag(version)),
                &json!({ "action": action }),
            );
            assert_eq!(r.status, 200, "{action}: {}", r.body);
        }
        let n = prepare(app, &id, &grant_body(json!({})));
        assert_eq!(n["granted_amount"], "10000.00", "{n}");
        assert_eq!(
            n["allocations"],
            json!([{"fiscal_year": y, "amount": "10000.00"}])
        );
        cases.push((id, nid_of(&n)));
    }

    let approver = app.approver();
    let answers = race(N, |i| {
        apps[i % apps.len()].sign_notice(&cases[i].1, &approver)
    });

    let mut signed = 0;
    let mut refused_ = 0;
    for ((id, nid), r) in cases.iter().zip(&answers) {
        let c = app.get_application(id, &cw).json();
        match r.status {
            200 => {
                signed += 1;
                let n = r.json();
                assert_eq!(n["status"], "signed");
                assert_eq!(
                    n["number"],
                    format!("{}-B1", c["case_number"].as_str().unwrap())
                );
                assert_eq!(c["status"], "approved", "{id}");
                assert_eq!(c["granted_amount"], "10000.00", "{id}");
                assert_eq!(c["version"], 4, "{id}");
            }
            409 => {
                refused_ += 1;
                r.assert_problem(409);
                assert_eq!(c["status"], "in_review", "{id}");
                assert_eq!(c["granted_amount"], Value::Null, "{id}");
                assert_eq!(c["version"], 3, "{id}");
                assert_eq!(state(app, id).events, 3, "{id}");
                assert_eq!(app.get_notice(nid, &cw).json()["status"], "prepared");
            }
            other => panic!("sign {nid}: {other} {}", r.body),
        }
    }
    assert_eq!((signed, refused_), (100, 100));
    assert_eq!(
        budget(app, y),
        json!({"programme": PROGRAMME, "fiscal_year": y, "amount": "1000000.00",
               "committed": "1000000.00", "paid": "0.00", "available": "0.00"})
    );
    assert_eq!(list_ids(app, "?status=approved&limit=500", &cw).len(), 100);
    assert_eq!(list_ids(app, "?status=in_review&limit=500", &cw).len(), 100);
    // Raising the budget by 10,000.00 lets exactly one more through.
    set_budget(app, y, "1010000.00");
    let (id, nid) = cases
        .iter()
        .zip(&answers)
        .find(|(_, r)| r.status == 409)
        .map(|(c, _)| c)
        .unwrap();
    sign(app, nid);
    assert_eq!(app.get_application(id, &cw).json()["status"], "approved");
    assert_eq!(budget(app, y)["available"], "0.00");
    let verify = app.verify_audit(&app.admin());
    assert_eq!(verify.status, 200, "{}", verify.body);
    assert_eq!(verify.json()["ok"], true);
}
