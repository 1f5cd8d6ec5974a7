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

/// RFC 9110 § 13.1: a PUT of a budget changes the version its sender read (`If-Match`, a
/// strong comparison) or creates one that does not exist (`If-None-Match: *`); without either
/// it is 428, and nothing is written on any refusal.
#[test]
fn a_budget_put_needs_the_etag_of_its_last_get_or_if_none_match_star_to_create_it() {
    let app = spawn_app();
    let admin = app.admin();
    let y = year();
    let put = |headers: &[(&str, &str)], amount: &str| {
        app.put_budget_with(PROGRAMME, y, &admin, headers, &json!({ "amount": amount }))
    };
    let etag = |r: &crate::helpers::Resp| r.header("etag").expect("an ETag").to_owned();
    let mut db = app.watch_db();
    let mut refuse = |what: &str, headers: &[(&str, &str)], status: u16| {
        let before = db.state();
        refused(what, &put(headers, "100.00"), status, None);
        db.assert_unchanged(&before, what);
    };
    refused(
        "GET of a budget not set",
        &app.get_budget(PROGRAMME, y, &admin),
        404,
        None,
    );
    refuse("a new budget without a precondition", &[], 428);
    refuse(
        "If-Match on a budget not set",
        &[("If-Match", "\"1\"")],
        412,
    );
    refuse("If-Match: * on a budget not set", &[("If-Match", "*")], 412);
    // Another If-None-Match is not the precondition a create needs.
    refuse(
        "If-None-Match other than *",
        &[("If-None-Match", "\"1\"")],
        428,
    );
    refuse("If-None-Match: 0", &[("If-None-Match", "0")], 428);
    refuse(
        "If-Match and If-None-Match: * at once",
        &[("If-Match", "\"1\""), ("If-None-Match", "*")],
        412,
    );
    let created = put(&[("If-None-Match", "*")], "1000000.00");
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(etag(&created), "\"1\"");
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/programmes/{PROGRAMME}/budgets/{y}").as_str())
    );
    let read = app.get_budget(PROGRAMME, y, &app.caseworker());
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(etag(&read), "\"1\"");
    assert_eq!(budget_dto(&read.json()), budget_dto(&created.json()));

    // It exists now: creating it again, no precondition, a weak or a stale ETag are refused.
    refuse(
        "If-None-Match: * on an existing budget",
        &[("If-None-Match", "*")],
        412,
    );
    refuse("an existing budget without If-Match", &[], 428);
    refuse(
        "a weak ETag (RFC 9110 § 13.1.1)",
        &[("If-Match", "W/\"1\"")],
        412,
    );
    refuse("a stale ETag", &[("If-Match", "\"7\"")], 412);
    refuse("an ETag that is no version", &[("If-Match", "1")], 412);
    // A list matches by any of its strong tags.
    let r = put(&[("If-Match", "W/\"1\", \"7\", \"1\"")], "900000.00");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(etag(&r), "\"2\"");

    // Two PUTs with the same ETag at once: one changes the budget, the other gets 412.
    let answers = race(2, |i| {
        put(&[("If-Match", "\"2\"")], &format!("{}.00", 800_000 + i))
    });
    let mut codes: Vec<u16> = answers.iter().map(|r| r.status).collect();
    codes.sort_unstable();
    assert_eq!(codes, [200, 412], "{answers:?}");
    let won = answers.iter().find(|r| r.status == 200).expect("a winner");
    assert_eq!(etag(won), "\"3\"");
    assert_eq!(budget(&app, y)["amount"], won.json()["amount"]);

    // `*` matches whatever version the budget is at.
    let r = put(&[("If-Match", "*")], "700000.00");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(etag(&r), "\"4\"");

    // A signing commits of the budget: its ETag changes, the administrator's old one is stale.
    let id = case_in(&app, "in_review");
    sign(&app, &nid_of(&prepare(&app, &id, &partial_grant_body())));
    let read = app.get_budget(PROGRAMME, y, &admin);
    assert_eq!(etag(&read), "\"5\"");
    assert_eq!(read.json()["committed"], "40000.00");
    refused(
        "the ETag from before the signing",
        &put(&[("If-Match", "\"4\"")], "600000.00"),
        412,
        None,
    );
    let r = put(&[("If-Match", "\"5\"")], "600000.00");
    assert_eq!(r.status, 200, "{}", r.body);
    // Every change is audited: created, then three changes.
    let log = app.audit_log(&admin).json();
    let actions: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record_type"] == "budget")
        .map(|e| &e["action"])
        .collect();
    assert_eq!(
        actions,
        ["create", "change", "change", "change", "change"],
        "{log}"
    );
}

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
    assert_eq!(next.status, 201, "{}", next.body);
    let r = app.put_budget(PROGRAMME, y, &admin, &body);
    assert_eq!(r.status, 201, "{}", r.body);
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
