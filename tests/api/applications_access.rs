//! Editing drafts, and who sees and changes which case: the lead applicant edits, partners
//! read, other municipalities get 404, staff read, ministry and admin get 403.

use serde_json::{Value, json};

use crate::applications::{
    ALL_ACTIONS, BARCHFELD, LANGENSALZA, LEAD, Refused, SALZUNGEN, action_body, assert_refused,
    case_in, create, day, draft_body, drive, etag, id_of, list_ids, state, three_partners, with,
};
use crate::helpers::spawn_app;

// Editing drafts.

#[test]
fn the_lead_applicant_edits_a_draft_with_if_match_and_the_history_records_before_and_after() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let case = create(&app, &lead, &draft_body(LEAD));
    let id = id_of(&case);

    let r = app.patch_application(
        &id,
        &lead,
        Some("\"1\""),
        &json!({"title": "Schnittstelle DMS – Bauamt und Ordnungsamt", "reason": "Umfang erweitert"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let c = r.json();
    assert_eq!(c["version"], 2);
    assert_eq!(c["title"], "Schnittstelle DMS – Bauamt und Ordnungsamt");
    assert_eq!(c["description"], case["description"]);

    let r = app.patch_application(
        &id,
        &lead,
        Some("\"2\""),
        &json!({"cost_lines": [{"category": "hardware", "description": "Scanner", "amount": "1000.00", "eligible": true}], "project_start": null}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    assert_eq!(c["cost_lines"].as_array().unwrap().len(), 1);
    assert_eq!(c["cost_lines"][0]["line"], 1);
    assert_eq!(c["total_cost"], "1000.00");
    assert_eq!(c["eligible_total"], "1000.00");
    assert_eq!(c["project_start"], Value::Null);
    assert_eq!(c["project_end"], case["project_end"]);
    assert_eq!(c["own_contribution"], "10800.50");

    let r = app.patch_application(
        &id,
        &lead,
        Some("\"3\""),
        &json!({"partners": three_partners()}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let c = r.json();
    assert_eq!(c["joint"], true);
    assert_eq!(
        c["partners"],
        json!([
            {"ags": LEAD, "share": "0.3334", "lead": true},
            {"ags": SALZUNGEN, "share": "0.3333", "lead": false},
            {"ags": BARCHFELD, "share": "0.3333", "lead": false}
        ])
    );
    let r = app.patch_application(&id, &lead, Some("\"4\""), &json!({"partners": []}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["joint"], false);
    assert_eq!(r.json()["partners"], json!([]));
    assert_eq!(r.header("etag"), Some("\"5\""));

    let history = app.application_history(&id, &lead).json();
    let events = history.as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "edit", "edit", "edit", "edit"]);
    let e = &events[1];
    assert_eq!(e["reason"], "Umfang erweitert");
    assert_eq!(e["from_status"], Value::Null);
    assert_eq!(e["to_status"], Value::Null);
    assert_eq!(
        e["changes"]["title"],
        json!({"before": "Schnittstelle DMS – Fachverfahren Bauamt", "after": "Schnittstelle DMS – Bauamt und Ordnungsamt"})
    );
    assert!(e["changes"].get("description").is_none(), "{e}");
    assert_eq!(
        events[2]["changes"]["project_start"],
        json!({"before": day(60), "after": null})
    );
    assert!(events[2]["changes"]["cost_lines"]["before"].is_array());
    assert_eq!(
        events[3]["changes"]["joint"],
        json!({"before": false, "after": true})
    );
    assert_eq!(state(&app, &id).version, 5);
}

/// RFC 9110 § 13.1.1: `If-Match` compares strongly, so a weak tag never matches (412, nothing
/// written); a list matches by any of its tags; `*` matches whatever version the case is at.
#[test]
fn if_match_compares_strongly_and_takes_a_list_or_a_star() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let id = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let edit = |if_match: &str, title: &str| {
        app.patch_application(&id, &lead, Some(if_match), &json!({ "title": title }))
    };
    let before = state(&app, &id);
    for weak in ["W/\"1\"", "W/\"1\", W/\"2\""] {
        edit(weak, "Schwach").assert_problem(412);
    }
    assert_eq!(state(&app, &id), before);
    let r = edit("\"7\", \"1\"", "Aus der Liste");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let r = edit("*", "Was auch immer gilt");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag"), Some("\"3\""));
    // A transition takes them alike.
    let body = action_body("submit");
    let r = app.transition_application(&id, &lead, Some("W/\"3\""), &body);
    r.assert_problem(412);
    let c = app.get_application(&id, &lead).json();
    assert_eq!(c["title"], "Was auch immer gilt");
    assert_eq!(c["status"], "draft");
}

#[test]
fn refused_edits_change_nothing() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let id = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let title = json!({"title": "Neu"});
    let v1 = Some("\"1\"");
    // (what, token, If-Match, body, status, field)
    let cases: Vec<Refused<'_, String>> = vec![
        ("no If-Match", lead.clone(), None, title.clone(), 428, None),
        (
            "stale If-Match",
            lead.clone(),
            Some("\"7\""),
            title.clone(),
            412,
            None,
        ),
        (
            "If-Match that names no version",
            lead.clone(),
            Some("abc"),
            title.clone(),
            412,
            None,
        ),
        (
            "a caseworker",
            app.caseworker(),
            v1,
            title.clone(),
            403,
            None,
        ),
        ("an approver", app.approver(), v1, title.clone(), 403, None),
        ("the ministry", app.ministry(), v1, title.clone(), 403, None),
        ("an admin", app.admin(), v1, title.clone(), 403, None),
        (
            "another municipality",
            app.applicant(&[LANGENSALZA]),
            v1,
            title.clone(),
            404,
            None,
        ),
        (
            "lead_ags cannot be changed",
            lead.clone(),
            v1,
            json!({"lead_ags": SALZUNGEN}),
            400,
            None,
        ),
        (
            "unknown field",
            lead.clone(),
            v1,
            json!({"colour": "blue"}),
            400,
            None,
        ),
        (
            "money with three decimals",
            lead.clone(),
            v1,
            json!({"requested_grant": "1.000"}),
            400,
            None,
        ),
        (
            "money as a number",
            lead.clone(),
            v1,
            json!({"own_contribution": 5}),
            400,
            None,
        ),
        (
            "category not in the enum",
            lead.clone(),
            v1,
            json!({"cost_lines": [{"category": "food", "description": "x", "amount": "1.00", "eligible": true}]}),
            400,
            None,
        ),
        (
            "negative requested grant",
            lead.clone(),
            v1,
            json!({"requested_grant": "-1.00"}),
            422,
            Some("requested_grant"),
        ),
        (
            "unknown programme",
            lead.clone(),
            v1,
            json!({"programme": "NOPE"}),
            422,
            Some("programme"),
        ),
        (
            "funding object of another programme",
            lead.clone(),
            v1,
            json!({"funding_object": "studie"}),
            422,
            Some("funding_object"),
        ),
        (
            "partners without the lead",
            lead.clone(),
            v1,
            json!({"partners": [{"ags": SALZUNGEN, "share": "1"}]}),
            422,
            Some("partners"),
        ),
        (
            "partner not in the register",
            lead.clone(),
            v1,
            json!({"partners": [{"ags": LEAD, "share": "0.5"}, {"ags": "16063999", "share": "0.5"}]}),
            422,
            Some("partners[1].ags"),
        ),
    ];
    assert_refused(&app, &id, &cases, |token, if_match, body| {
        app.patch_application(&id, token, if_match, body)
    });
    // Once submitted, a case changes only through its lifecycle.
    drive(&app, &id, &lead, &["submit"]);
    let submitted = state(&app, &id);
    app.patch_application(&id, &lead, Some(&etag(submitted.version)), &title)
        .assert_problem(409);
    assert_eq!(state(&app, &id), submitted);
}

// Who sees what.

#[test]
fn another_municipality_gets_404_for_everything_while_staff_read_the_case() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let draft = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let submitted = case_in(&app, "submitted");
    let foreign = app.applicant(&[LANGENSALZA, BARCHFELD]);
    for id in [&draft, &submitted] {
        let before = state(&app, id);
        let v = etag(before.version);
        app.get_application(id, &foreign).assert_problem(404);
        app.application_history(id, &foreign).assert_problem(404);
        app.patch_application(id, &foreign, Some(&v), &json!({"title": "x"}))
            .assert_problem(404);
        for action in ALL_ACTIONS {
            let r = app.transition_application(id, &foreign, Some(&v), &action_body(action));
            assert_eq!(r.status, 404, "{action}: {}", r.body);
        }
        for staff in [app.caseworker(), app.approver()] {
            let r = app.get_application(id, &staff);
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(app.application_history(id, &staff).status, 200);
        }
        for outsider in [app.ministry(), app.admin()] {
            app.get_application(id, &outsider).assert_problem(403);
            app.application_history(id, &outsider).assert_problem(403);
        }
        assert_eq!(state(&app, id), before);
    }
    assert_eq!(list_ids(&app, "", &foreign), Vec::<String>::new());
    assert_eq!(
        list_ids(&app, &format!("?ags={LEAD}"), &foreign),
        Vec::<String>::new()
    );
    assert_eq!(list_ids(&app, "", &app.caseworker()).len(), 2);
    assert_eq!(list_ids(&app, "", &app.approver()).len(), 2);
    app.list_applications("", &app.ministry())
        .assert_problem(403);
    app.list_applications("", &app.admin()).assert_problem(403);
    app.get_application("no-such-case", &app.caseworker())
        .assert_problem(404);
}

#[test]
fn a_partner_municipality_reads_a_joint_case_but_may_not_change_it() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let id = id_of(&create(
        &app,
        &lead,
        &with(draft_body(LEAD), json!({"partners": three_partners()})),
    ));
    let partner = app.applicant(&[SALZUNGEN]);
    let check = |status: &str| {
        let before = state(&app, &id);
        assert_eq!(before.status, status);
        assert_eq!(list_ids(&app, "", &partner), std::slice::from_ref(&id));
        let r = app.get_application(&id, &partner);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("etag"), Some(etag(before.version).as_str()));
        assert_eq!(r.json()["partners"][1]["ags"], SALZUNGEN);
        assert_eq!(app.application_history(&id, &partner).status, 200);
        let v = etag(before.version);
        app.patch_application(&id, &partner, Some(&v), &json!({"title": "x"}))
            .assert_problem(403);
        for action in ["submit", "withdraw", "provide_info"] {
            let r = app.transition_application(&id, &partner, Some(&v), &action_body(action));
            r.assert_problem(403);
        }
        assert_eq!(state(&app, &id), before);
    };
    check("draft");
    drive(
        &app,
        &id,
        &lead,
        &["submit", "start_review", "request_info"],
    );
    check("info_requested");
    // The lead still acts.
    drive(&app, &id, &lead, &["provide_info"]);
    assert_eq!(state(&app, &id).status, "in_review");
}

#[test]
fn a_patch_that_changes_nothing_keeps_the_version_and_null_cannot_clear_a_required_field() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let case = create(&app, &lead, &draft_body(LEAD));
    let id = id_of(&case);
    let events = |app: &crate::helpers::TestApp| {
        app.application_history(&id, &lead)
            .json()
            .as_array()
            .unwrap()
            .len()
    };
    for body in [json!({}), json!({"title": case["title"].clone()})] {
        let r = app.patch_application(&id, &lead, Some("\"1\""), &body);
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        assert_eq!(r.header("etag"), Some("\"1\""), "{body}");
        assert_eq!(events(&app), 1, "{body}: no history entry for a no-op");
    }
    let cases = [
        ("title", json!({"title": null})),
        ("cost_lines", json!({"cost_lines": null})),
        ("requested_grant", json!({"requested_grant": null})),
        ("programme", json!({"programme": null})),
        (
            "partners",
            json!({"partners": [{"ags": LEAD, "share": "1"}]}),
        ),
    ];
    for (field, body) in cases {
        let p = app
            .patch_application(&id, &lead, Some("\"1\""), &body)
            .assert_problem(422);
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
    assert_eq!(app.get_application(&id, &lead).json()["version"], 1);
    assert_eq!(events(&app), 1);
}
