//! The submit rules: each one refuses a draft that breaks it, with 422 naming the field, and
//! leaves the draft as it was; a draft at the limit of every rule is submitted.

use chrono::{Duration, Months, NaiveDate};
use serde_json::{Value, json};

use crate::applications::{
    BARCHFELD, EISENACH_OLD, LEAD, SALZUNGEN, act, action_body, create, day, draft_body,
    error_fields, id_of, state, three_partners, with, without,
};
use crate::helpers::{TestApp, spawn_app};

/// `YYYY-MM-DD` of today (German date) + `start` days + `years` years + `days` days.
fn years_after(start: i64, years: u32, days: i64) -> String {
    let s: NaiveDate = crate::helpers::today() + Duration::days(start);
    (s.checked_add_months(Months::new(12 * years)).unwrap() + Duration::days(days)).to_string()
}

fn lines(lines: &[(&str, &str, bool)]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|(category, amount, eligible)| {
                json!({"category": category, "description": "Posten", "amount": amount, "eligible": eligible})
            })
            .collect(),
    )
}

/// A feasibility study under § 24 ThürFAG: 75 % of the fees, at most 30,000.00.
fn studie(fees: &str, own: &str, requested: &str) -> Value {
    with(
        draft_body(LEAD),
        json!({
            "programme": "THUERFAG-24-STUDIE", "funding_object": "studie",
            "cost_lines": lines(&[("fees", fees, true)]),
            "own_contribution": own, "requested_grant": requested,
        }),
    )
}

/// A new cooperation under § 24 ThürFAG: a fixed sum of at most 500,000.00, three partners.
fn koop(partners: Value, cost: &str, own: &str, requested: &str) -> Value {
    with(
        draft_body(LEAD),
        json!({
            "programme": "THUERFAG-24-KOOP", "funding_object": "koop",
            "cost_lines": lines(&[("personnel", cost, true)]),
            "own_contribution": own, "requested_grant": requested, "partners": partners,
        }),
    )
}

fn two_partners(second_share: &str) -> Value {
    json!([{"ags": LEAD, "share": "0.5"}, {"ags": SALZUNGEN, "share": second_share}])
}

/// Sets fields of a programme as admin.
fn change_programme(app: &TestApp, code: &str, body: &Value) {
    let admin = app.admin();
    let current = app.get_programme(code, &admin);
    let tag = current.header("etag").unwrap().to_owned();
    let r = app.patch_programme(code, &admin, Some(&tag), body);
    assert_eq!(r.status, 200, "{}", r.body);
}

struct Rule {
    what: &'static str,
    /// The municipality the applicant acts for (the lead of `body`).
    acting_for: &'static str,
    body: Value,
    /// A programme change an admin makes first (on an app of its own).
    programme: Option<(&'static str, Value)>,
    /// Exactly the fields the refusal names.
    fields: &'static [&'static str],
}

fn rule(what: &'static str, body: Value, fields: &'static [&'static str]) -> Rule {
    Rule {
        what,
        acting_for: LEAD,
        body,
        programme: None,
        fields,
    }
}

#[test]
fn each_submit_rule_refuses_with_its_field_and_leaves_the_draft_unchanged() {
    let b = || draft_body(LEAD);
    let rules = vec![
        Rule {
            what: "the lead municipality no longer exists (Eisenach before 2021)",
            acting_for: EISENACH_OLD,
            body: draft_body(EISENACH_OLD),
            programme: None,
            fields: &["lead_ags"],
        },
        rule(
            "a partner no longer exists",
            with(
                b(),
                json!({"partners": [{"ags": LEAD, "share": "0.5"}, {"ags": EISENACH_OLD, "share": "0.5"}]}),
            ),
            &["partners[1].ags"],
        ),
        Rule {
            what: "the programme has expired (THUEREGOVRL-2018, valid to 2024-06-30)",
            acting_for: LEAD,
            body: with(b(), json!({"programme": "THUEREGOVRL-2018"})),
            programme: Some((
                "THUEREGOVRL-2018",
                json!({"funding_objects": [{"code": "c", "fundable_now": true}]}),
            )),
            fields: &["programme"],
        },
        rule(
            "an expired programme whose objects are not fundable either",
            with(b(), json!({"programme": "THUEREGOVRL-2018"})),
            &["programme", "funding_object"],
        ),
        Rule {
            what: "the call closed yesterday",
            acting_for: LEAD,
            body: b(),
            programme: Some(("THUEREGOVRL-2024", json!({"call_closes": day(-1)}))),
            fields: &["programme"],
        },
        Rule {
            what: "the call opens only in ten days",
            acting_for: LEAD,
            body: b(),
            programme: Some(("THUEREGOVRL-2024", json!({"call_opens": day(10)}))),
            fields: &["programme"],
        },
        rule(
            "the funding object is not fundable at present",
            with(b(), json!({"funding_object": "a"})),
            &["funding_object"],
        ),
        rule(
            "the project ends before it starts",
            with(b(), json!({"project_end": day(59)})),
            &["project_end"],
        ),
        rule(
            "no project end",
            without(b(), "project_end"),
            &["project_end"],
        ),
        rule(
            "no project start",
            without(b(), "project_start"),
            &["project_start"],
        ),
        rule(
            "the project lasts longer than ten years",
            with(b(), json!({"project_end": years_after(60, 10, 1)})),
            &["project_end"],
        ),
        rule(
            "the project has already begun",
            with(b(), json!({"project_start": day(-1)})),
            &["project_start"],
        ),
        rule(
            "the plan is not balanced by one cent",
            with(b(), json!({"own_contribution": "10800.49"})),
            &["requested_grant"],
        ),
        rule(
            "one cent above 80 % of 52,500.50 (42,000.40)",
            with(
                b(),
                json!({"requested_grant": "42000.41", "own_contribution": "10800.09"}),
            ),
            &["requested_grant"],
        ),
        rule(
            "no grant requested",
            with(
                b(),
                json!({"requested_grant": "0.00", "own_contribution": "52800.50"}),
            ),
            &["requested_grant"],
        ),
        rule(
            "a study one cent above the cap of 30,000.00",
            studie("50000.00", "19999.99", "30000.01"),
            &["requested_grant"],
        ),
        rule(
            "a study one cent above 75 % of the fees",
            studie("20000.00", "4999.99", "15000.01"),
            &["requested_grant"],
        ),
        rule(
            "a cooperation of two",
            koop(two_partners("0.5"), "600000.00", "100000.00", "500000.00"),
            &["partners"],
        ),
        rule(
            "a cooperation of one",
            koop(json!([]), "600000.00", "100000.00", "500000.00"),
            &["partners"],
        ),
        rule(
            "a cooperation one cent above the fixed sum of 500,000.00",
            koop(three_partners(), "700000.00", "199999.99", "500000.01"),
            &["requested_grant"],
        ),
        rule(
            "shares adding up to 0.9",
            with(b(), json!({"partners": two_partners("0.4")})),
            &["partners"],
        ),
        rule(
            "shares adding up to 1.0001",
            with(b(), json!({"partners": two_partners("0.5001")})),
            &["partners"],
        ),
        rule(
            "no cost lines",
            with(
                b(),
                json!({"cost_lines": [], "own_contribution": "0.00", "requested_grant": "0.00"}),
            ),
            &["cost_lines", "requested_grant"],
        ),
        rule(
            "no eligible cost line",
            with(
                b(),
                json!({"cost_lines": lines(&[("software", "52500.50", false), ("other", "300.00", false)])}),
            ),
            &["cost_lines", "requested_grant"],
        ),
        rule(
            "a blank title",
            with(b(), json!({"title": "   "})),
            &["title"],
        ),
        rule(
            "no description",
            without(b(), "description"),
            &["description"],
        ),
    ];
    let shared = spawn_app();
    for r in &rules {
        let own_app;
        let app = match &r.programme {
            None => &shared,
            Some((code, change)) => {
                own_app = spawn_app();
                change_programme(&own_app, code, change);
                &own_app
            }
        };
        let applicant = app.applicant(&[r.acting_for]);
        let id = id_of(&create(app, &applicant, &r.body));
        let before = state(app, &id);
        let resp = act(app, &id, &applicant, &action_body("submit"));
        let p = resp.assert_problem(422);
        let mut got = error_fields(&p);
        got.sort();
        let mut want: Vec<String> = r.fields.iter().map(|f| (*f).to_owned()).collect();
        want.sort();
        assert_eq!(got, want, "{}: {}", r.what, resp.body);
        assert_eq!(state(app, &id), before, "{} changed the draft", r.what);
        assert_eq!(before.status, "draft");
    }
}

#[test]
fn a_draft_at_the_limit_of_every_rule_is_submitted() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let b = || draft_body(LEAD);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "exactly 80 % of 52,500.50, rounded down",
            with(
                b(),
                json!({"requested_grant": "42000.40", "own_contribution": "10800.10"}),
            ),
            "EGOV",
        ),
        (
            "third-party funds in the plan",
            with(
                b(),
                json!({"own_contribution": "5000.00", "third_party_funds": "5800.50"}),
            ),
            "EGOV",
        ),
        (
            "the other fundable object",
            with(b(), json!({"funding_object": "f"})),
            "EGOV",
        ),
        (
            "a project starting tomorrow",
            with(b(), json!({"project_start": day(1)})),
            "EGOV",
        ),
        (
            "a project of one day",
            with(
                b(),
                json!({"project_start": day(30), "project_end": day(30)}),
            ),
            "EGOV",
        ),
        (
            "a project of exactly ten years",
            with(b(), json!({"project_end": years_after(60, 10, 0)})),
            "EGOV",
        ),
        (
            "a joint application with the Landkreis",
            with(
                b(),
                json!({"partners": [{"ags": LEAD, "share": "0.7"}, {"ags": "16063000", "share": "0.3"}]}),
            ),
            "EGOV",
        ),
        (
            "a study at the cap",
            studie("50000.00", "20000.00", "30000.00"),
            "FAG",
        ),
        (
            "a study at 75 %",
            studie("20000.00", "5000.00", "15000.00"),
            "FAG",
        ),
        (
            "a cooperation of three at the fixed sum",
            koop(three_partners(), "600000.00", "100000.00", "500000.00"),
            "FAG",
        ),
        (
            "a cooperation of four",
            koop(
                json!([{"ags": LEAD, "share": "0.25"}, {"ags": SALZUNGEN, "share": "0.25"}, {"ags": BARCHFELD, "share": "0.25"}, {"ags": "16063000", "share": "0.25"}]),
                "400000.00",
                "0.00",
                "400000.00",
            ),
            "FAG",
        ),
    ];
    for (what, body, prefix) in &cases {
        let case = create(&app, &lead, body);
        assert!(
            case["case_number"].as_str().unwrap().starts_with(prefix),
            "{what}: {}",
            case["case_number"]
        );
        let id = id_of(&case);
        let r = act(&app, &id, &lead, &action_body("submit"));
        assert_eq!(r.status, 200, "{what}: {}", r.body);
        let c = r.json();
        assert_eq!(c["status"], "submitted", "{what}");
        assert_eq!(c["processing_clock_running"], true, "{what}");
        assert!(c["submitted_at"].is_string(), "{what}");
    }
    // A call window that opened today and closes tomorrow is open.
    change_programme(
        &app,
        "THUEREGOVRL-2024",
        &json!({"call_opens": day(0), "call_closes": day(1)}),
    );
    let id = id_of(&create(&app, &lead, &b()));
    let r = act(&app, &id, &lead, &action_body("submit"));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Who the notices go to (issue 15): a contact by name and function and a postal address are
/// required to submit; the notice is addressed with them.
#[test]
fn a_submission_names_its_contact_and_postal_address_and_the_notice_is_sent_there() {
    use crate::applications::{LEAD, act, action_body, create, draft_body, id_of, with};
    let app = crate::helpers::spawn_app();
    let lead = app.applicant(&[LEAD]);
    let body = with(
        draft_body(LEAD),
        serde_json::json!({"contact": null, "postal_address": "  "}),
    );
    let id = id_of(&create(&app, &lead, &body));
    let r = act(&app, &id, &lead, &action_body("submit"));
    assert_eq!(r.status, 422, "{}", r.body);
    let fields: Vec<String> = r.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(fields.contains(&"contact".to_owned()), "{fields:?}");
    assert!(fields.contains(&"postal_address".to_owned()), "{fields:?}");
    let bad = app.create_application(
        &lead,
        &with(
            draft_body(LEAD),
            serde_json::json!({"contact": "Ingo\u{7}"}),
        ),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let case = create(&app, &lead, &draft_body(LEAD));
    assert_eq!(case["contact"], "Ingo Beispiel, Leiter IT");
    assert_eq!(
        case["postal_address"],
        "Stadtverwaltung Eisenach\nMarkt 1\n99817 Eisenach"
    );
}
