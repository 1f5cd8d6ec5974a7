//! The authorization matrix: every operation of the committed OpenAPI document × every caller
//! (no token, an applicant of the case's municipality, an applicant of another one, and each
//! staff role) against `POLICY`, the decided policy. A refused call gets exactly 401 (no
//! token), 404 (an applicant of another municipality, for a case it could otherwise reach) or
//! 403 (a role that may not), as problem+json, and writes nothing; an allowed call gets its
//! success status with a valid request. An operation without a row in `POLICY`, or a row
//! without an operation, fails the test.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use foerderakte::domain::Role;
use serde_json::{Value, json};

use crate::applications::{LANGENSALZA, LEAD, case_in, create, day, draft_body, id_of, year};
use crate::helpers::{Resp, TestApp, spawn_app};
use crate::notices::{PROGRAMME, approved_case, nid_of, partial_grant_body, prepare};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No `Authorization` header.
    Anonymous,
    /// An applicant acting for the municipality of the fixtures' cases (the lead, Eisenach).
    Own,
    /// An applicant acting for another municipality only (Bad Langensalza).
    Foreign,
    Caseworker,
    Approver,
    Ministry,
    Admin,
}
use Who::*;

const EVERYONE: [Who; 7] = [
    Anonymous, Own, Foreign, Caseworker, Approver, Ministry, Admin,
];

/// Does the operation reach one case (or its notice or payment request)? Then an applicant of
/// another municipality gets 404 where the case's own applicant may act, so that no one learns
/// that the case exists; elsewhere a role that may not gets 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Case,
    Other,
}
use Reach::{Case, Other};

const ANYONE: &[Who] = &EVERYONE;
const ANY_ROLE: &[Who] = &[Own, Foreign, Caseworker, Approver, Ministry, Admin];
/// Lists of cases: applicants (scoped to their municipalities) and the competence centre.
const CASE_READERS: &[Who] = &[Own, Foreign, Caseworker, Approver];
const OWNER_OR_STAFF: &[Who] = &[Own, Caseworker, Approver];
/// Aggregates: reports and budgets.
const FIGURES: &[Who] = &[Caseworker, Approver, Ministry, Admin];

/// The decided policy (`/work/shared/design/api.md`, Resources): (method, path, who may,
/// reach). Rows not in the API page's table (interest, payment-request lists and rejection,
/// base rates, programme edits, register editions, health and metrics) follow the code as
/// reviewed with it.
const POLICY: &[(&str, &str, &[Who], Reach)] = &[
    ("GET", "/health/live", ANYONE, Other),
    ("GET", "/health/ready", ANYONE, Other),
    ("GET", "/metrics", ANYONE, Other),
    ("GET", "/api/v1/municipalities", ANY_ROLE, Other),
    ("GET", "/api/v1/municipalities/{ags}", ANY_ROLE, Other),
    ("GET", "/api/v1/register/editions", &[Admin], Other),
    ("POST", "/api/v1/register/editions", &[Admin], Other),
    ("GET", "/api/v1/programmes", ANY_ROLE, Other),
    ("GET", "/api/v1/programmes/{code}", ANY_ROLE, Other),
    ("PATCH", "/api/v1/programmes/{code}", &[Admin], Other),
    ("GET", "/api/v1/programmes/{code}/budgets", FIGURES, Other),
    (
        "GET",
        "/api/v1/programmes/{code}/budgets/{year}",
        FIGURES,
        Other,
    ),
    (
        "PUT",
        "/api/v1/programmes/{code}/budgets/{year}",
        &[Admin],
        Other,
    ),
    ("GET", "/api/v1/base-rates", ANY_ROLE, Other),
    ("POST", "/api/v1/base-rates", &[Admin], Other),
    (
        "POST",
        "/api/v1/base-rates/{valid_from}/corrections",
        &[Admin],
        Other,
    ),
    ("GET", "/api/v1/delivery-rules", ANY_ROLE, Other),
    ("POST", "/api/v1/delivery-rules", &[Admin], Other),
    ("GET", "/api/v1/applications", CASE_READERS, Other),
    ("POST", "/api/v1/applications", &[Own], Other),
    ("GET", "/api/v1/applications/{id}", OWNER_OR_STAFF, Case),
    ("PATCH", "/api/v1/applications/{id}", &[Own], Case),
    // By action: the applicant submits, provides information, withdraws and submits the
    // proof; the caseworker starts the review, requests information, permits an early start
    // and returns the proof; approvers act through notices only.
    (
        "POST",
        "/api/v1/applications/{id}/transitions",
        &[Own, Caseworker],
        Case,
    ),
    (
        "GET",
        "/api/v1/applications/{id}/history",
        OWNER_OR_STAFF,
        Case,
    ),
    (
        "GET",
        "/api/v1/applications/{id}/interest",
        OWNER_OR_STAFF,
        Case,
    ),
    (
        "GET",
        "/api/v1/applications/{id}/notices",
        OWNER_OR_STAFF,
        Case,
    ),
    (
        "POST",
        "/api/v1/applications/{id}/notices",
        &[Caseworker],
        Case,
    ),
    // Applicants see the signed notices of their cases.
    ("GET", "/api/v1/notices/{id}", OWNER_OR_STAFF, Case),
    ("GET", "/api/v1/notices/{id}/document", OWNER_OR_STAFF, Case),
    ("POST", "/api/v1/notices/{id}/sign", &[Approver], Case),
    (
        "GET",
        "/api/v1/applications/{id}/payment-requests",
        OWNER_OR_STAFF,
        Case,
    ),
    (
        "POST",
        "/api/v1/applications/{id}/payment-requests",
        &[Own],
        Case,
    ),
    (
        "GET",
        "/api/v1/applications/{id}/repayments",
        OWNER_OR_STAFF,
        Case,
    ),
    (
        "POST",
        "/api/v1/applications/{id}/repayments",
        &[Caseworker],
        Case,
    ),
    // A caseworker prepares, an approver releases.
    (
        "POST",
        "/api/v1/payment-requests/{id}/payout",
        &[Caseworker, Approver],
        Case,
    ),
    (
        "POST",
        "/api/v1/payment-requests/{id}/reject",
        &[Caseworker],
        Case,
    ),
    ("GET", "/api/v1/reports/volumes", FIGURES, Other),
    ("GET", "/api/v1/reports/pipeline", FIGURES, Other),
    ("GET", "/api/v1/reports/budget", FIGURES, Other),
    ("GET", "/api/v1/reports/processing-times", FIGURES, Other),
    // Open data: with OPEN_DATA=true without a token (tests/api/open_data.rs); by default for
    // the roles that read reports.
    ("GET", "/api/v1/open-data/grants", FIGURES, Other),
    ("GET", "/api/v1/audit", &[Admin], Other),
    ("GET", "/api/v1/audit/verify", &[Admin], Other),
    ("POST", "/api/v1/audit/checkpoints", &[Admin], Other),
    // The feed: every role, each seeing the records it may read (tests/api/events.rs).
    ("GET", "/api/v1/events", ANY_ROLE, Other),
    // Webhooks are an operator's integration (docs/webhooks.md).
    ("GET", "/api/v1/webhooks", &[Admin], Other),
    ("POST", "/api/v1/webhooks", &[Admin], Other),
    ("GET", "/api/v1/webhooks/{id}", &[Admin], Other),
    ("PATCH", "/api/v1/webhooks/{id}", &[Admin], Other),
    ("DELETE", "/api/v1/webhooks/{id}", &[Admin], Other),
    ("GET", "/api/v1/webhooks/{id}/deliveries", &[Admin], Other),
    (
        "POST",
        "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        &[Admin],
        Other,
    ),
];

/// The status a refused caller gets.
fn refusal(who: Who, may: &[Who], reach: Reach) -> u16 {
    match who {
        Anonymous => 401,
        Foreign if reach == Case && may.contains(&Own) => 404,
        _ => 403,
    }
}

/// The operations of the committed OpenAPI document: (METHOD, path).
fn documented_operations() -> BTreeSet<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let item = item.as_object().expect("a path item");
        for method in item.keys() {
            // HEAD is the GET without its body, under the GET's policy
            // (`tests/api/conventions.rs` checks that it answers as the GET).
            if method == "head" {
                assert!(item.contains_key("get"), "HEAD {path} without a GET");
                continue;
            }
            if ["get", "put", "post", "delete", "options", "patch", "trace"]
                .contains(&method.as_str())
            {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

fn documented_responses(method: &str, path: &str) -> BTreeSet<String> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["paths"][path][method.to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} has no responses"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn the_policy_table_has_one_row_for_every_documented_operation_and_no_other() {
    let documented = documented_operations();
    let mut decided = BTreeSet::new();
    for (method, path, _, _) in POLICY {
        assert!(
            decided.insert(((*method).to_owned(), (*path).to_owned())),
            "{method} {path} has two rows in POLICY"
        );
    }
    let undecided: Vec<_> = documented.difference(&decided).collect();
    assert!(
        undecided.is_empty(),
        "operations without a decided policy (add a row to POLICY): {undecided:?}"
    );
    let gone: Vec<_> = decided.difference(&documented).collect();
    assert!(
        gone.is_empty(),
        "POLICY rows for operations the OpenAPI document does not have: {gone:?}"
    );
    assert_eq!(documented.len(), 52, "the API has grown: {documented:?}");

    // The document announces the refusals the policy decides.
    for (method, path, may, reach) in POLICY {
        let responses = documented_responses(method, path);
        for who in EVERYONE.iter().filter(|w| !may.contains(w)) {
            let status = refusal(*who, may, *reach).to_string();
            assert!(
                responses.contains(&status),
                "{method} {path} refuses {who:?} with {status}, which the document does not \
                 list: {responses:?}"
            );
        }
        // …and no refusal it does not decide: 403 only where some role is refused with it.
        let refuses_a_role = EVERYONE
            .iter()
            .any(|w| !may.contains(w) && refusal(*w, may, *reach) == 403);
        assert_eq!(
            responses.contains("403"),
            refuses_a_role,
            "{method} {path}: the document's 403 row and the policy disagree"
        );
    }
}

/// One request of the matrix, and the status it gets when the caller may make it.
struct Call {
    method: &'static str,
    path: String,
    if_match: Option<String>,
    /// Other headers (`If-None-Match`, `Idempotency-Key`).
    headers: Vec<(&'static str, String)>,
    body: Option<Value>,
    ok: u16,
}

fn call(method: &'static str, path: String, ok: u16) -> Call {
    Call {
        method,
        path,
        if_match: None,
        headers: Vec::new(),
        body: None,
        ok,
    }
}

impl Call {
    fn body(mut self, body: Value) -> Call {
        self.body = Some(body);
        self
    }
    fn if_match(mut self, etag: String) -> Call {
        self.if_match = Some(etag);
        self
    }
    fn header(mut self, name: &'static str, value: &str) -> Call {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// `template` with each `{name}` replaced.
fn at(template: &str, params: &[(&str, &str)]) -> String {
    let mut path = template.to_owned();
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(!path.contains('{'), "{template}: a parameter is missing");
    path
}

/// What the refused calls act on: one object in the state in which the allowed caller's call
/// succeeds. Allowed writes get fresh objects of their own.
struct Fixtures {
    draft: String,
    submitted: String,
    in_review: String,
    /// A prepared grant notice (on another case in review).
    prepared_notice: String,
    /// A case approved by a signed grant notice, this year's budget set.
    approved: String,
    signed_notice: String,
    /// Payment requests of `approved`: one requested, one prepared by the caseworker.
    requested: String,
    prepared_payment: String,
    /// A case whose grant was partly revoked after a payout: something to repay.
    revoked: String,
}

impl Fixtures {
    fn new(app: &TestApp) -> Fixtures {
        let (approved, signed) = approved_case(app);
        let requested = payment_request(app, &approved);
        let prepared_payment = payment_request(app, &approved);
        let r = app.payout(&prepared_payment, &app.caseworker());
        assert_eq!(r.status, 200, "{}", r.body);
        let lead = app.applicant(&[LEAD]);
        let (revoked, _) = approved_case(app);
        crate::notices::pay(app, &revoked, "30000.00");
        let revocation = prepare(
            app,
            &revoked,
            &json!({"kind": "revocation", "posted_on": day(0), "reason": "Zweck verfehlt",
                    "revoked_amount": "22345.67", "interest_from": day(0)}),
        );
        crate::notices::sign(app, &nid_of(&revocation));
        Fixtures {
            revoked,
            draft: id_of(&create(app, &lead, &draft_body(LEAD))),
            submitted: case_in(app, "submitted"),
            in_review: case_in(app, "in_review"),
            prepared_notice: prepared_notice(app),
            approved,
            signed_notice: nid_of(&signed),
            requested,
            prepared_payment,
        }
    }
}

impl Fixtures {
    /// The ids an applicant of another municipality must never see.
    fn ids(&self) -> [&str; 9] {
        [
            &self.revoked,
            &self.draft,
            &self.submitted,
            &self.in_review,
            &self.prepared_notice,
            &self.approved,
            &self.signed_notice,
            &self.requested,
            &self.prepared_payment,
        ]
    }
}

fn payment_request(app: &TestApp, case: &str) -> String {
    let r = app.request_payment(
        case,
        &app.applicant(&[LEAD]),
        &json!({"amount": "1000.00", "reason": "Abschlag"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    id_of(&r.json())
}

fn prepared_notice(app: &TestApp) -> String {
    nid_of(&prepare(
        app,
        &case_in(app, "in_review"),
        &partial_grant_body(),
    ))
}

/// The `ETag` of a case or programme, as a caseworker reads it.
fn etag_of(app: &TestApp, path: &str) -> String {
    let r = app.get(path, Some(&app.caseworker()));
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.header("etag").expect("an ETag").to_owned()
}

/// A register edition that changes nothing but its date.
fn edition_2025() -> String {
    foerderakte::persistence::register::BUNDLED
        .lines()
        .map(|line| {
            if line.starts_with("# edition") {
                "# edition\t2025-01-01"
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The calls of one operation for one caller. `may` says whether the caller may make them:
/// then a write gets a fresh object to act on, so that allowed calls do not get in each
/// other's way; a refused caller gets every variant an allowed caller would make, on the
/// shared fixtures.
fn calls(
    app: &TestApp,
    fixtures: &OnceCell<Fixtures>,
    method: &'static str,
    path: &str,
    who: Who,
    may: bool,
) -> Vec<Call> {
    let fx = || fixtures.get_or_init(|| Fixtures::new(app));
    let fresh = |shared: &str, make: &dyn Fn() -> String| {
        if may { make() } else { shared.to_owned() }
    };
    match (method, path) {
        ("GET", "/health/live" | "/health/ready" | "/metrics")
        | (
            "GET",
            "/api/v1/municipalities"
            | "/api/v1/register/editions"
            | "/api/v1/programmes"
            | "/api/v1/base-rates"
            | "/api/v1/delivery-rules"
            | "/api/v1/applications"
            | "/api/v1/reports/volumes"
            | "/api/v1/reports/pipeline"
            | "/api/v1/reports/budget"
            | "/api/v1/reports/processing-times"
            | "/api/v1/audit"
            | "/api/v1/audit/verify"
            | "/api/v1/events"
            | "/api/v1/webhooks",
        ) => vec![call(method, path.to_owned(), 200)],
        ("POST", "/api/v1/webhooks") => {
            vec![call(method, path.to_owned(), 201).body(webhook_body())]
        }
        ("GET", "/api/v1/webhooks/{id}" | "/api/v1/webhooks/{id}/deliveries") => {
            vec![call(method, at(path, &[("id", &webhook(app))]), 200)]
        }
        ("PATCH" | "DELETE", "/api/v1/webhooks/{id}") => {
            let path = at(path, &[("id", &webhook(app))]);
            let etag = app
                .get(&path, Some(&app.admin()))
                .header("etag")
                .unwrap()
                .to_owned();
            let c = call(method, path, if method == "DELETE" { 204 } else { 200 }).if_match(etag);
            vec![if method == "PATCH" {
                c.body(json!({"active": false}))
            } else {
                c
            }]
        }
        ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver") => {
            let (id, delivery) = failed_delivery(app);
            let path = at(path, &[("id", &id), ("delivery_id", &delivery)]);
            vec![call(method, path, 200)]
        }
        ("GET", "/api/v1/municipalities/{ags}") => {
            vec![call(method, at(path, &[("ags", LEAD)]), 200)]
        }
        ("GET", "/api/v1/open-data/grants") => {
            vec![call(method, format!("{path}?year=2025"), 200)]
        }
        ("POST", "/api/v1/register/editions") => {
            vec![call(method, path.to_owned(), 201).body(json!({"content": edition_2025()}))]
        }
        ("GET", "/api/v1/programmes/{code}" | "/api/v1/programmes/{code}/budgets") => {
            vec![call(method, at(path, &[("code", PROGRAMME)]), 200)]
        }
        ("PATCH", "/api/v1/programmes/{code}") => {
            let path = at(path, &[("code", PROGRAMME)]);
            let etag = etag_of(app, &path);
            vec![
                call(method, path, 200)
                    .if_match(etag)
                    .body(json!({"max_grant": "250000.00", "reason": "Aufruf"})),
            ]
        }
        ("PUT", "/api/v1/programmes/{code}/budgets/{year}") => {
            let y = (year() + 3).to_string();
            vec![
                call(method, at(path, &[("code", PROGRAMME), ("year", &y)]), 201)
                    .header("If-None-Match", "*")
                    .body(json!({"amount": "1000.00"})),
            ]
        }
        ("GET", "/api/v1/programmes/{code}/budgets/{year}") => {
            let y = year() + 4;
            if app.get_budget(PROGRAMME, y, &app.admin()).status == 404 {
                let r = app.put_budget(PROGRAMME, y, &app.admin(), &json!({"amount": "1.00"}));
                assert_eq!(r.status, 201, "{}", r.body);
            }
            let y = y.to_string();
            vec![call(
                method,
                at(path, &[("code", PROGRAMME), ("year", &y)]),
                200,
            )]
        }
        ("POST", "/api/v1/audit/checkpoints") => vec![call(method, path.to_owned(), 201)],
        ("POST", "/api/v1/base-rates") => vec![
            call(method, path.to_owned(), 201)
                .body(json!({"valid_from": "2026-07-01", "rate_percent": "1.27"})),
        ],
        ("POST", "/api/v1/base-rates/{valid_from}/corrections") => vec![
            call(method, at(path, &[("valid_from", "2026-01-01")]), 200)
                .body(json!({"rate_percent": "1.28", "reason": "Tippfehler"})),
        ],
        ("POST", "/api/v1/delivery-rules") => vec![
            call(method, path.to_owned(), 201)
                .body(json!({"valid_from": day(30), "days": 4, "source": "Testgesetz"})),
        ],
        ("GET", "/api/v1/applications/{id}/repayments") => {
            vec![call(method, at(path, &[("id", &fx().revoked)]), 200)]
        }
        ("POST", "/api/v1/applications/{id}/repayments") => vec![
            call(method, at(path, &[("id", &fx().revoked)]), 201)
                .body(json!({"amount": "1.00", "received_on": day(0)})),
        ],
        ("POST", "/api/v1/applications") => {
            vec![call(method, path.to_owned(), 201).body(draft_body(LEAD))]
        }
        ("GET", "/api/v1/applications/{id}" | "/api/v1/applications/{id}/history") => {
            vec![call(method, at(path, &[("id", &fx().draft)]), 200)]
        }
        ("GET", "/api/v1/applications/{id}/interest") => vec![call(
            method,
            format!("{}?as_of={}", at(path, &[("id", &fx().approved)]), day(0)),
            200,
        )],
        (
            "GET",
            "/api/v1/applications/{id}/notices" | "/api/v1/applications/{id}/payment-requests",
        ) => vec![call(method, at(path, &[("id", &fx().approved)]), 200)],
        ("PATCH", "/api/v1/applications/{id}") => {
            let id = fresh(&fx().draft, &|| {
                id_of(&create(app, &app.applicant(&[LEAD]), &draft_body(LEAD)))
            });
            let path = at(path, &[("id", &id)]);
            let etag = etag_of(app, &path);
            vec![
                call(method, path, 200)
                    .if_match(etag)
                    .body(json!({"title": "Schnittstelle DMS – Bauamt und Ordnungsamt"})),
            ]
        }
        ("POST", "/api/v1/applications/{id}/transitions") => {
            // The applicant submits a draft; the caseworker starts the review of a
            // submitted case.
            let applicants = (Own, "submit", "draft", fx().draft.as_str());
            let caseworkers = (
                Caseworker,
                "start_review",
                "submitted",
                fx().submitted.as_str(),
            );
            [applicants, caseworkers]
                .into_iter()
                .filter(|(by, ..)| !may || *by == who)
                .map(|(_, action, status, shared)| {
                    let id = fresh(shared, &|| case_in(app, status));
                    let case = format!("/api/v1/applications/{id}");
                    let etag = etag_of(app, &case);
                    call(method, at(path, &[("id", &id)]), 200)
                        .if_match(etag)
                        .body(json!({ "action": action }))
                })
                .collect()
        }
        ("POST", "/api/v1/applications/{id}/notices") => {
            let id = fresh(&fx().in_review, &|| case_in(app, "in_review"));
            vec![call(method, at(path, &[("id", &id)]), 201).body(partial_grant_body())]
        }
        ("GET", "/api/v1/notices/{id}" | "/api/v1/notices/{id}/document") => {
            vec![call(method, at(path, &[("id", &fx().signed_notice)]), 200)]
        }
        ("POST", "/api/v1/notices/{id}/sign") => {
            let id = fresh(&fx().prepared_notice, &|| prepared_notice(app));
            vec![call(method, at(path, &[("id", &id)]), 200)]
        }
        ("POST", "/api/v1/applications/{id}/payment-requests") => vec![
            call(method, at(path, &[("id", &fx().approved)]), 201)
                .body(json!({"amount": "1000.00", "reason": "Abschlag"})),
        ],
        ("POST", "/api/v1/payment-requests/{id}/payout") => {
            // The caseworker prepares a requested payout; the approver releases a prepared one.
            let preparers = (Caseworker, fx().requested.as_str(), false);
            let releasers = (Approver, fx().prepared_payment.as_str(), true);
            [preparers, releasers]
                .into_iter()
                .filter(|(by, ..)| !may || *by == who)
                .map(|(_, shared, prepared)| {
                    let id = fresh(shared, &|| {
                        let id = payment_request(app, &fx().approved);
                        if prepared {
                            let r = app.payout(&id, &app.caseworker());
                            assert_eq!(r.status, 200, "{}", r.body);
                        }
                        id
                    });
                    call(method, at(path, &[("id", &id)]), 200)
                })
                .collect()
        }
        ("POST", "/api/v1/payment-requests/{id}/reject") => {
            let id = fresh(&fx().requested, &|| payment_request(app, &fx().approved));
            vec![
                call(method, at(path, &[("id", &id)]), 200)
                    .body(json!({"reason": "Belege fehlen"})),
            ]
        }
        _ => panic!("{method} {path}: no calls for this operation; add them to `calls`"),
    }
}

fn webhook_body() -> Value {
    json!({"url": "https://93.184.216.34/hook", "events": ["webhook.*"]})
}

/// A new webhook subscription's id.
fn webhook(app: &TestApp) -> String {
    let r = app.post_json("/api/v1/webhooks", Some(&app.admin()), &webhook_body());
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

/// A webhook and a failed delivery of it (its own `webhook.created`, parked behind the
/// service's back: these servers run no delivery worker).
fn failed_delivery(app: &TestApp) -> (String, String) {
    use diesel::prelude::*;
    use foerderakte::persistence::schema::webhook_deliveries as wd;
    let id = webhook(app);
    let mut conn = app.db();
    // On PostgreSQL the event is placed once every earlier transaction of the cluster has
    // finished (other tests run beside this one).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        foerderakte::persistence::events::publish(&mut conn).unwrap();
        let queued: i64 = wd::table
            .filter(wd::subscription_id.eq(&id))
            .count()
            .get_result(&mut conn)
            .unwrap();
        if queued > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "the event is not published"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    diesel::update(wd::table.filter(wd::subscription_id.eq(&id)))
        .set(wd::status.eq("failed"))
        .execute(&mut conn)
        .unwrap();
    let delivery: String = wd::table
        .filter(wd::subscription_id.eq(&id))
        .select(wd::id)
        .first(&mut conn)
        .unwrap();
    (id, delivery)
}

fn token(app: &TestApp, who: Who) -> Option<String> {
    match who {
        Anonymous => None,
        Own => Some(app.applicant(&[LEAD])),
        Foreign => Some(app.token(Role::Applicant, "fritz.fremd", &[LANGENSALZA])),
        Caseworker => Some(app.caseworker()),
        // Not the approver who signed the fixtures' grants: four eyes across the money keep
        // that one from releasing their payouts (`payments`).
        Approver => Some(app.releaser()),
        Ministry => Some(app.ministry()),
        Admin => Some(app.admin()),
    }
}

fn send(app: &TestApp, c: &Call, token: Option<&str>) -> Resp {
    let mut headers = Vec::new();
    if let Some(v) = &c.if_match {
        headers.push(("If-Match", v.as_str()));
    }
    for (name, v) in &c.headers {
        headers.push((*name, v.as_str()));
    }
    let body = c
        .body
        .as_ref()
        .map(|b| ("application/json", serde_json::to_vec(b).unwrap()));
    app.request(c.method, &c.path, token, &headers, body)
}

/// Walks the rows of `POLICY` whose path `select` picks, every caller on each; returns how
/// many calls it made.
fn walk(select: impl Fn(&str) -> bool) -> usize {
    let app = spawn_app();
    let fixtures = OnceCell::new();
    if POLICY
        .iter()
        .any(|(_, p, ..)| select(p) && reaches_cases(p))
    {
        // Before the first call, so that lists have cases to show (or hide).
        fixtures.get_or_init(|| Fixtures::new(&app));
    }
    let mut db = app.watch_db();
    let mut made = 0;
    for (method, path, may, reach) in POLICY.iter().filter(|(_, p, ..)| select(p)) {
        for who in EVERYONE {
            let allowed = may.contains(&who);
            let token = token(&app, who);
            let calls = calls(&app, &fixtures, method, path, who, allowed);
            assert!(!calls.is_empty(), "{method} {path}: no call for {who:?}");
            for c in calls {
                let what = format!("{who:?}: {} {}", c.method, c.path);
                let before = db.state();
                let r = send(&app, &c, token.as_deref());
                made += 1;
                if allowed {
                    assert_eq!(r.status, c.ok, "{what} is allowed: {}", r.body);
                    if let (Foreign, Some(fx)) = (who, fixtures.get()) {
                        for id in fx.ids() {
                            assert!(!r.body.contains(id), "{what} shows {id}: {}", r.body);
                        }
                    }
                    if c.method == "GET" {
                        db.assert_unchanged(&before, &what);
                    }
                } else {
                    let status = refusal(who, may, *reach);
                    assert_eq!(r.status, status, "{what} is refused: {}", r.body);
                    let problem = r.assert_problem(status);
                    db.assert_unchanged(&before, &what);
                    if status == 404 {
                        assert_hidden(&app, &c, token.as_deref(), &problem, &fixtures, &what);
                    }
                }
            }
        }
    }
    eprintln!("authorization matrix: {made} calls");
    made
}

/// Asserts that the 404 for a case of another municipality is the 404 for a case that does
/// not exist: the same problem but for the id, so that the answer tells nothing.
fn assert_hidden(
    app: &TestApp,
    c: &Call,
    token: Option<&str>,
    problem: &Value,
    fixtures: &OnceCell<Fixtures>,
    what: &str,
) {
    const NONE: &str = "00000000-0000-4000-8000-000000000000";
    let fx = fixtures.get().expect("a 404 is about a fixture");
    let id = fx
        .ids()
        .into_iter()
        .find(|id| c.path.contains(id))
        .unwrap_or_else(|| panic!("{what}: no fixture in the path"));
    let missing = Call {
        method: c.method,
        path: c.path.replace(id, NONE),
        if_match: c.if_match.clone(),
        headers: c.headers.clone(),
        body: c.body.clone(),
        ok: c.ok,
    };
    let r = send(app, &missing, token);
    let expected = r.assert_problem(404).to_string().replace(NONE, id);
    assert_eq!(
        problem.to_string(),
        expected,
        "{what}: the answer differs from a missing id's"
    );
}

/// The operations on one case, its notices or its payment requests (the other test function
/// walks the rest; the two run side by side).
fn reaches_cases(path: &str) -> bool {
    [
        "/api/v1/applications",
        "/api/v1/notices",
        "/api/v1/payment-requests",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

#[test]
fn every_caller_gets_what_the_policy_decides_on_cases_notices_and_payments() {
    assert!(walk(reaches_cases) >= 16 * EVERYONE.len());
}

#[test]
fn every_caller_gets_what_the_policy_decides_on_the_register_programmes_reports_and_audit() {
    assert!(walk(|p| !reaches_cases(p)) >= 20 * EVERYONE.len());
}
