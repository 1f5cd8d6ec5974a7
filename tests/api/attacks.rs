//! Attacks on the writes: every bad token (`helpers::bad_tokens`) and every bad body against
//! the endpoints that create or change cases, notices, payments and budgets. Each is refused
//! with 4xx application/problem+json (never 5xx, never HTML) and the database is unchanged
//! afterwards (`helpers::DbWatch`); the same request with a good token and a good body then
//! succeeds, so that each refusal has its own reason. `auth` tries the tokens on a read,
//! `errors` the bodies on the register import.

use serde_json::{Value, json};

use crate::applications::{LEAD, case_in, create, draft_body, id_of, year};
use crate::helpers::{DbWatch, Resp, SECRET, TestApp, bad_tokens, claims, hs256, spawn_app};
use crate::notices::{PROGRAMME, approved_case, nid_of, partial_grant_body, prepare};

/// A write to attack: method, path, its precondition header (`If-Match` or `If-None-Match`),
/// a body the server accepts from `token`, and the status it answers then.
struct Write {
    what: &'static str,
    method: &'static str,
    path: String,
    precondition: Option<(&'static str, String)>,
    body: Option<Value>,
    token: String,
    ok: u16,
}

impl Write {
    fn send(&self, app: &TestApp, token: Option<&str>, body: Option<(&str, Vec<u8>)>) -> Resp {
        let headers: Vec<(&str, &str)> = self
            .precondition
            .as_ref()
            .map(|(h, v)| vec![(*h, v.as_str())])
            .unwrap_or_default();
        app.request(self.method, &self.path, token, &headers, body)
    }

    fn good_body(&self) -> Option<(&'static str, Vec<u8>)> {
        self.body
            .as_ref()
            .map(|b| ("application/json", serde_json::to_vec(b).unwrap()))
    }

    /// Sends the good request; asserts its success status.
    fn succeeds(&self, app: &TestApp) {
        let r = self.send(app, Some(&self.token), self.good_body());
        assert_eq!(
            r.status, self.ok,
            "{} with a good token and body: {}",
            self.what, r.body
        );
    }
}

fn etag(app: &TestApp, case: &str) -> String {
    let r = app.get_application(case, &app.caseworker());
    assert_eq!(r.status, 200, "{}", r.body);
    r.header("etag").expect("an ETag").to_owned()
}

/// Asserts a refusal with `status` as problem+json, no HTML, and an unchanged database.
fn assert_refused(
    r: &Resp,
    status: u16,
    db: &mut DbWatch,
    before: &crate::helpers::DbState,
    what: &str,
) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    r.assert_problem(status);
    assert!(!r.body.contains("<html"), "{what}: {}", r.body);
    db.assert_unchanged(before, what);
}

#[test]
fn bad_tokens_on_every_kind_of_write_get_401_problem_json_and_write_nothing() {
    let app = spawn_app();
    // This year's budget, which signing the notice commits.
    approved_case(&app);
    let lead = app.applicant(&[LEAD]);
    let draft = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let submitted = case_in(&app, "submitted");
    let notice = nid_of(&prepare(
        &app,
        &case_in(&app, "in_review"),
        &partial_grant_body(),
    ));

    let mut applicant = claims("applicant");
    applicant["ags"] = json!([LEAD]);
    // (good claims, the write): the bad tokens spoil one thing of the claims; the claims
    // themselves, signed with the secret, are the token that then writes.
    let writes = [
        (
            applicant.clone(),
            "create a draft",
            "POST",
            "/api/v1/applications".to_owned(),
            None,
            Some(draft_body(LEAD)),
            201,
        ),
        (
            applicant,
            "edit a draft",
            "PATCH",
            format!("/api/v1/applications/{draft}"),
            Some(("If-Match", etag(&app, &draft))),
            Some(json!({"title": "Neu"})),
            200,
        ),
        (
            claims("caseworker"),
            "start a review",
            "POST",
            format!("/api/v1/applications/{submitted}/transitions"),
            Some(("If-Match", etag(&app, &submitted))),
            Some(json!({"action": "start_review"})),
            200,
        ),
        (
            claims("approver"),
            "sign a notice",
            "POST",
            format!("/api/v1/notices/{notice}/sign"),
            None,
            None,
            200,
        ),
        (
            claims("admin"),
            "set a budget",
            "PUT",
            format!("/api/v1/programmes/{PROGRAMME}/budgets/{}", year() + 1),
            Some(("If-None-Match", "*".to_owned())),
            Some(json!({"amount": "5000000.00"})),
            201,
        ),
    ];
    let mut db = app.watch_db();
    let mut refused = 0;
    for (good, what, method, path, precondition, body, ok) in writes {
        let write = Write {
            what,
            method,
            path,
            precondition,
            body,
            token: hs256(&good, SECRET.as_bytes()),
            ok,
        };
        for (why, bad) in bad_tokens(&good) {
            let what = format!("{what} with {why}");
            let before = db.state();
            let r = write.send(&app, bad.as_deref(), write.good_body());
            assert_refused(&r, 401, &mut db, &before, &what);
            assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
            refused += 1;
        }
        write.succeeds(&app);
    }
    eprintln!("bad tokens on writes: {refused} refusals");
}

/// A body to send and the status its refusal has.
type BadBody = (String, (&'static str, Vec<u8>), u16);

fn json_bytes(v: &Value) -> (&'static str, Vec<u8>) {
    ("application/json", serde_json::to_vec(v).unwrap())
}

/// `body` with the value at the JSON pointer replaced.
fn set(body: &Value, pointer: &str, value: Value) -> Value {
    let mut b = body.clone();
    *b.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} not in {body}")) = value;
    b
}

/// The bad bodies every write gets, built from its good body: broken JSON, the wrong shape,
/// a field of the wrong type, an unknown field, a NUL character in the string at `text`
/// (PostgreSQL cannot store it), 2 MB, 10,000 levels of nesting; and for each
/// money field in `amounts` (JSON pointers): a number, three decimals, a negative amount and
/// 10^15 €. `statuses` are the answers to a negative amount per field (a negative amount is
/// well-formed money; the endpoint's rules refuse it).
fn bad_bodies(
    good: &Value,
    wrong_type: (&str, Value),
    text: &str,
    amounts: &[(&str, u16)],
) -> Vec<BadBody> {
    let serialised = good.to_string();
    let mut big = good.clone();
    big["reason"] = json!("x".repeat(2 * 1024 * 1024));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let mut unknown = good.clone();
    unknown["colour"] = json!("blue");
    let mut out: Vec<BadBody> = vec![
        (
            "malformed JSON".into(),
            (
                "application/json",
                serialised.as_bytes()[..serialised.len() / 2].to_vec(),
            ),
            400,
        ),
        (
            "an array instead of an object".into(),
            json_bytes(&json!([good])),
            400,
        ),
        (
            format!("{} of the wrong type", wrong_type.0),
            json_bytes(&set(good, wrong_type.0, wrong_type.1)),
            400,
        ),
        ("an unknown field".into(), json_bytes(&unknown), 400),
        (
            format!("{text} with a NUL character"),
            json_bytes(&set(good, text, json!("Schnitt\u{0}stelle"))),
            422,
        ),
        ("a 2 MB body".into(), json_bytes(&big), 413),
        (
            "10,000 levels of nesting".into(),
            ("application/json", deep.into_bytes()),
            400,
        ),
    ];
    for (pointer, negative) in amounts {
        let current = good.pointer(pointer).unwrap_or_else(|| panic!("{pointer}"));
        let whole = current
            .as_str()
            .expect("money is a string")
            .replace(".00", "");
        for (what, value, status) in [
            ("a JSON number", json!(whole.parse::<i64>().unwrap()), 400),
            ("three decimals", json!("1.005"), 400),
            ("negative", json!("-1.00"), *negative),
            ("10^15 €", json!("1000000000000000.00"), 400),
        ] {
            out.push((
                format!("{pointer}: {what}"),
                json_bytes(&set(good, pointer, value)),
                status,
            ));
        }
    }
    out
}

/// The lead and a partner with this key, half each.
fn partners_with(ags: &str) -> Value {
    json!([{"ags": LEAD, "share": "0.5"}, {"ags": ags, "share": "0.5"}])
}

/// Invalid municipality keys.
const BAD_AGS: [(&str, &str); 3] = [
    ("a malformed AGS", "1606310X"),
    ("an AGS of another Land", "09162000"),
    ("an unknown AGS", "16063999"),
];

/// Sends every bad body of `write` and asserts its refusal and an unchanged database; then the
/// good body succeeds. Returns how many it refused.
fn refuse_bodies(app: &TestApp, write: &Write, bodies: Vec<BadBody>) -> usize {
    let mut db = app.watch_db();
    let n = bodies.len();
    for (what, body, status) in bodies {
        let what = format!("{}: {what}", write.what);
        let before = db.state();
        let r = write.send(app, Some(&write.token), Some(body));
        assert_refused(&r, status, &mut db, &before, &what);
    }
    write.succeeds(app);
    n
}

#[test]
fn bad_bodies_for_cases_get_4xx_problem_json_and_write_nothing() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let mut refused = 0;

    // Create a draft.
    let good = draft_body(LEAD);
    let mut bodies = bad_bodies(
        &good,
        ("/title", json!(42)),
        "/cost_lines/1/description",
        &[("/cost_lines/0/amount", 422), ("/requested_grant", 422)],
    );
    for (what, ags) in BAD_AGS {
        // A lead the token does not act for is refused before it is looked at.
        let body = set(&good, "/lead_ags", json!(ags));
        bodies.push((format!("lead_ags: {what}"), json_bytes(&body), 403));
        let body = set(&good, "/partners", partners_with(ags));
        bodies.push((format!("partner: {what}"), json_bytes(&body), 422));
    }
    let create_write = Write {
        what: "create a draft",
        method: "POST",
        path: "/api/v1/applications".into(),
        precondition: None,
        body: Some(good),
        token: lead.clone(),
        ok: 201,
    };
    refused += refuse_bodies(&app, &create_write, bodies);

    // Edit a draft (with the right If-Match).
    let draft = id_of(&create(&app, &lead, &draft_body(LEAD)));
    let good = json!({
        "title": "Neu",
        "requested_grant": "41000.00",
        "cost_lines": [{"category": "software", "description": "Modul", "amount": "40000.00", "eligible": true}],
        "reason": "Umfang",
    });
    let mut bodies = bad_bodies(
        &good,
        ("/title", json!(["Neu"])),
        "/reason",
        &[("/cost_lines/0/amount", 422), ("/requested_grant", 422)],
    );
    for (what, ags) in BAD_AGS {
        let mut body = good.clone();
        body["partners"] = partners_with(ags);
        bodies.push((format!("partner: {what}"), json_bytes(&body), 422));
    }
    let edit = Write {
        what: "edit a draft",
        method: "PATCH",
        path: format!("/api/v1/applications/{draft}"),
        precondition: Some(("If-Match", etag(&app, &draft))),
        body: Some(good),
        token: lead.clone(),
        ok: 200,
    };
    refused += refuse_bodies(&app, &edit, bodies);

    // Submit the proof of use of an approved case (the transition with amounts).
    let (approved, _) = approved_case(&app);
    let good = json!({
        "action": "submit_proof",
        "actual_costs": [
            {"line": 1, "amount": "40000.00"},
            {"line": 2, "amount": "12500.50"},
            {"line": 3, "amount": "300.00"},
        ],
    });
    let bodies = bad_bodies(
        &good,
        ("/action", json!(7)),
        "/action",
        &[("/actual_costs/0/amount", 422)],
    );
    let proof = Write {
        what: "submit the proof",
        method: "POST",
        path: format!("/api/v1/applications/{approved}/transitions"),
        precondition: Some(("If-Match", etag(&app, &approved))),
        body: Some(good),
        token: lead.clone(),
        ok: 200,
    };
    refused += refuse_bodies(&app, &proof, bodies);
    eprintln!("bad bodies for cases: {refused} refusals");
}

#[test]
fn bad_bodies_for_notices_payments_and_budgets_get_4xx_problem_json_and_write_nothing() {
    let app = spawn_app();
    let mut refused = 0;

    // Prepare a notice.
    let (approved, _) = approved_case(&app);
    let in_review = case_in(&app, "in_review");
    let good = with_max(partial_grant_body());
    let bodies = bad_bodies(
        &good,
        ("/kind", json!(1)),
        "/approved_lines/0/reason",
        &[
            ("/max_amount", 422),
            ("/approved_lines/0/approved_amount", 422),
        ],
    );
    let notice = Write {
        what: "prepare a notice",
        method: "POST",
        path: format!("/api/v1/applications/{in_review}/notices"),
        precondition: None,
        body: Some(good),
        token: app.caseworker(),
        ok: 201,
    };
    refused += refuse_bodies(&app, &notice, bodies);

    // Request a payment.
    let good = json!({"amount": "1000.00", "reason": "Abschlag"});
    let bodies = bad_bodies(
        &good,
        ("/reason", json!(false)),
        "/reason",
        &[("/amount", 422)],
    );
    let payment = Write {
        what: "request a payment",
        method: "POST",
        path: format!("/api/v1/applications/{approved}/payment-requests"),
        precondition: None,
        body: Some(good),
        token: app.applicant(&[LEAD]),
        ok: 201,
    };
    refused += refuse_bodies(&app, &payment, bodies);

    // Set a budget.
    let good = json!({"amount": "2000000.00", "reason": "Haushaltsgesetz"});
    let bodies = bad_bodies(
        &good,
        ("/reason", json!({"text": "x"})),
        "/reason",
        &[("/amount", 422)],
    );
    let budget = Write {
        what: "set a budget",
        method: "PUT",
        path: format!("/api/v1/programmes/{PROGRAMME}/budgets/{}", year() + 1),
        precondition: Some(("If-None-Match", "*".to_owned())),
        body: Some(good),
        token: app.admin(),
        ok: 201,
    };
    refused += refuse_bodies(&app, &budget, bodies);
    eprintln!("bad bodies for notices, payments and budgets: {refused} refusals");
}

/// A grant body with a ceiling (so that it has a second money field).
fn with_max(mut body: Value) -> Value {
    body["max_amount"] = json!("50000.00");
    body
}

#[test]
fn values_at_the_edge_of_their_types_get_4xx_problem_json_and_write_nothing() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let in_review = case_in(&app, "in_review");
    let notices = format!("/api/v1/applications/{in_review}/notices");
    let programme = format!("/api/v1/programmes/{PROGRAMME}");
    // Above what a Decimal holds once multiplied into basis points.
    let huge = "79228162514264337593543950335";
    let mut joint = draft_body(LEAD);
    joint["partners"] = json!([{"ags": LEAD, "share": huge}, {"ags": "16063003", "share": "0.5"}]);
    // (what, token, method, path, If-Match, body, status)
    type Edge<'a> = (
        &'a str,
        String,
        &'a str,
        String,
        Option<&'a str>,
        Option<Value>,
        u16,
    );
    let cases: Vec<Edge<'_>> = vec![
        (
            "a partner's share beyond Decimal",
            lead.clone(),
            "POST",
            "/api/v1/applications".into(),
            None,
            Some(joint),
            422,
        ),
        (
            "a funding rate beyond Decimal",
            app.caseworker(),
            "POST",
            notices.clone(),
            None,
            Some(with_rate(partial_grant_body(), huge)),
            422,
        ),
        (
            "a programme's maximum rate beyond Decimal",
            app.admin(),
            "PATCH",
            programme,
            Some("\"1\""),
            Some(json!({"max_rate": huge})),
            422,
        ),
        (
            "a notice posted before the first delivery rule",
            app.caseworker(),
            "POST",
            notices,
            None,
            Some(set(
                &partial_grant_body(),
                "/posted_on",
                json!("0001-01-01"),
            )),
            422,
        ),
        (
            "a cursor that is not ASCII",
            app.caseworker(),
            "GET",
            "/api/v1/applications?cursor=%FF%FE".into(),
            None,
            None,
            422,
        ),
        (
            "a cursor with a character across a hex pair",
            lead.clone(),
            "GET",
            "/api/v1/municipalities?cursor=a%C3%A4b".into(),
            None,
            None,
            422,
        ),
    ];
    let mut db = app.watch_db();
    for (what, token, method, path, if_match, body, status) in cases {
        let headers: Vec<(&str, &str)> =
            if_match.map(|v| vec![("If-Match", v)]).unwrap_or_default();
        let before = db.state();
        let r = app.request(
            method,
            &path,
            Some(&token),
            &headers,
            body.as_ref().map(json_bytes),
        );
        assert_refused(&r, status, &mut db, &before, what);
    }
}

fn with_rate(mut body: Value, rate: &str) -> Value {
    body["financing_type"] = json!("anteil");
    body["rate"] = json!(rate);
    body
}
