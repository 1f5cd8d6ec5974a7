//! The case list: filters, the applicant's scope, cursor pagination, bad parameters.

use chrono::Utc;
use serde_json::{Value, json};

use crate::applications::{
    BARCHFELD, LANGENSALZA, LEAD, SALZUNGEN, case_in, create, draft_body, drive, error_fields,
    id_of, list_ids, with, year,
};
use crate::helpers::spawn_app;

// Lists.

#[test]
fn the_list_filters_by_status_programme_ags_kreis_year_and_updated_since() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let langensalza = app.applicant(&[LANGENSALZA]);
    let salzungen = app.applicant(&[SALZUNGEN]);
    let cw = app.caseworker();
    let approver = app.approver();
    let barchfeld = app.applicant(&[BARCHFELD]);
    let two = app.applicant(&[SALZUNGEN, LANGENSALZA]);
    let lead_and_partner = app.applicant(&[LANGENSALZA, BARCHFELD]);
    // A: draft of Eisenach; B: submitted, Eisenach; C: in review, Bad Langensalza (16064);
    // D: joint draft led by Bad Langensalza with Barchfeld (16063); E: a study of Bad Salzungen.
    let a = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let b = case_in(&app, "submitted");
    let c = id_of(&create(&app, &langensalza, &draft_body(LANGENSALZA)));
    drive(&app, &c, &langensalza, &["submit", "start_review"]);
    let d = id_of(&create(
        &app,
        &langensalza,
        &with(
            draft_body(LANGENSALZA),
            json!({"partners": [{"ags": LANGENSALZA, "share": "0.5"}, {"ags": BARCHFELD, "share": "0.5"}]}),
        ),
    ));
    let e = id_of(&create(
        &app,
        &salzungen,
        &json!({"programme": "THUERFAG-24-STUDIE", "funding_object": "studie", "lead_ags": SALZUNGEN, "title": "Studie"}),
    ));
    let touched = app.patch_application(&a, &lead, Some("\"1\""), &json!({"title": "A2"}));
    assert_eq!(touched.status, 200, "{}", touched.body);
    let touched_at = touched.json()["updated_at"].as_str().unwrap().to_owned();

    let y = year();
    let cases: Vec<(&str, String, &String, Vec<&String>)> = vec![
        (
            "everything, newest first",
            String::new(),
            &cw,
            vec![&e, &d, &c, &b, &a],
        ),
        ("one status", "?status=draft".into(), &cw, vec![&e, &d, &a]),
        (
            "several statuses",
            "?status=submitted,in_review".into(),
            &cw,
            vec![&c, &b],
        ),
        (
            "a status no case has",
            "?status=approved".into(),
            &cw,
            vec![],
        ),
        (
            "programme",
            "?programme=THUERFAG-24-STUDIE".into(),
            &cw,
            vec![&e],
        ),
        (
            "ags as lead",
            format!("?ags={LANGENSALZA}"),
            &cw,
            vec![&d, &c],
        ),
        (
            "ags as partner only",
            format!("?ags={BARCHFELD}"),
            &cw,
            vec![&d],
        ),
        (
            "kreis, partners included",
            "?kreis=16063".into(),
            &cw,
            vec![&e, &d, &b, &a],
        ),
        ("the other kreis", "?kreis=16064".into(), &cw, vec![&d, &c]),
        (
            "this year",
            format!("?year={y}"),
            &cw,
            vec![&e, &d, &c, &b, &a],
        ),
        ("last year", format!("?year={}", y - 1), &cw, vec![]),
        (
            "updated since the last edit",
            format!("?updated_since={touched_at}"),
            &cw,
            vec![&a],
        ),
        (
            "updated since long ago",
            "?updated_since=2001-01-01T00:00:00Z".into(),
            &cw,
            vec![&e, &d, &c, &b, &a],
        ),
        (
            "combined",
            format!("?status=draft&kreis=16063&programme=THUEREGOVRL-2024&year={y}"),
            &cw,
            vec![&d, &a],
        ),
        (
            "an approver sees all",
            String::new(),
            &approver,
            vec![&e, &d, &c, &b, &a],
        ),
        (
            "an applicant sees its own",
            String::new(),
            &lead,
            vec![&b, &a],
        ),
        (
            "an applicant's filter stays within its own",
            format!("?ags={LANGENSALZA}"),
            &lead,
            vec![],
        ),
        (
            "another municipality sees its own, as lead",
            String::new(),
            &langensalza,
            vec![&d, &c],
        ),
        (
            "a partner sees the joint case",
            String::new(),
            &barchfeld,
            vec![&d],
        ),
        (
            "several municipalities in a token",
            "?status=draft".into(),
            &two,
            vec![&e, &d],
        ),
        (
            "a case once, though two of the token's municipalities take part",
            String::new(),
            &lead_and_partner,
            vec![&d, &c],
        ),
    ];
    for (what, query, token, expected) in &cases {
        let got = list_ids(&app, query, token);
        let expected: Vec<String> = expected.iter().map(|s| (*s).clone()).collect();
        assert_eq!(got, expected, "{what} ({query})");
    }
    let page = app
        .list_applications("?programme=THUERFAG-24-STUDIE", &cw)
        .json();
    assert_eq!(page["next_cursor"], Value::Null);
    let s = &page["items"][0];
    assert_eq!(s["case_number"], format!("FAG-{y}-0001"));
    assert_eq!(s["lead_ags"], SALZUNGEN);
    assert_eq!(s["status"], "draft");
    assert_eq!(s["requested_grant"], "0.00");
    app.list_applications("", &app.ministry())
        .assert_problem(403);
}

#[test]
fn cursor_pagination_yields_every_case_exactly_once_newest_first() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let created: Vec<Value> = (0..7)
        .map(|i| {
            create(
                &app,
                &lead,
                &with(draft_body(LEAD), json!({"title": format!("Antrag {i}")})),
            )
        })
        .collect();
    let mut expected: Vec<String> = created.iter().map(id_of).collect();
    expected.reverse();
    let cw = app.caseworker();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let r = app.list_applications(&query, &cw);
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.json();
        let items = page["items"].as_array().unwrap();
        sizes.push(items.len());
        for c in items {
            seen.push((
                c["id"].as_str().unwrap().to_owned(),
                c["created_at"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=3&cursor={cursor}"),
            None => break,
        }
        assert!(sizes.len() < 10, "the cursor never ends");
    }
    assert_eq!(sizes, [3, 3, 1]);
    let ids: Vec<String> = seen.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids, expected);
    let times: Vec<chrono::DateTime<Utc>> = seen.iter().map(|(_, t)| t.parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(pages(&app, "limit=3", &lead), expected);
    // A page exactly as long as the rest ends the list.
    let all = app.list_applications("?limit=7", &cw).json();
    assert_eq!(all["items"].as_array().unwrap().len(), 7);
    assert_eq!(all["next_cursor"], Value::Null);
    // Filters hold across pages.
    drive(&app, &expected[1], &lead, &["submit"]);
    let drafts: Vec<String> = expected
        .iter()
        .filter(|id| **id != expected[1])
        .cloned()
        .collect();
    assert_eq!(pages(&app, "status=draft&limit=2", &cw), drafts);
    assert_eq!(
        pages(&app, "status=submitted&limit=2", &cw),
        [expected[1].clone()]
    );
}

/// Follows `next_cursor` to the end; every id in list order.
fn pages(app: &crate::helpers::TestApp, query: &str, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut q = format!("?{query}");
    for _ in 0..20 {
        let page = app.list_applications(&q, token).json();
        for c in page["items"].as_array().unwrap() {
            ids.push(c["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => q = format!("?{query}&cursor={cursor}"),
            None => return ids,
        }
    }
    panic!("the cursor never ends: {query}");
}

#[test]
fn bad_list_parameters_are_refused_with_the_field_named() {
    let app = spawn_app();
    let cw = app.caseworker();
    let foreign_cursor: String = "v1:not-a-position"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        (
            "unknown status",
            "?status=draft,bogus".into(),
            422,
            Some("status"),
        ),
        ("ags too short", "?ags=123".into(), 422, Some("ags")),
        (
            "ags outside Thuringia",
            "?ags=09162000".into(),
            422,
            Some("ags"),
        ),
        (
            "kreis of four digits",
            "?kreis=1606".into(),
            422,
            Some("kreis"),
        ),
        ("year out of range", "?year=1999".into(), 422, Some("year")),
        ("limit 0", "?limit=0".into(), 422, Some("limit")),
        ("limit above 500", "?limit=501".into(), 422, Some("limit")),
        ("cursor not hex", "?cursor=zz".into(), 422, Some("cursor")),
        (
            "cursor not ours",
            format!("?cursor={foreign_cursor}"),
            422,
            Some("cursor"),
        ),
        (
            "updated_since not a time",
            "?updated_since=yesterday".into(),
            400,
            None,
        ),
        ("year not a number", "?year=twenty".into(), 400, None),
        ("unknown parameter", "?colour=red".into(), 400, None),
    ];
    for (what, query, status, field) in &cases {
        let r = app.list_applications(query, &cw);
        let p = r.assert_problem(*status);
        if let Some(field) = field {
            assert_eq!(error_fields(&p), [*field], "{what}: {}", r.body);
        }
    }
}
