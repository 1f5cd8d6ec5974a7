//! Bounded work (issue 16, `http::limits`): expensive requests cannot starve the others, the
//! readiness probe always gets its connection, a body that never finishes is answered 408, and
//! text a notice cannot print is refused at input.

use std::io::{Read, Write};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::applications::{LEAD, count_rows, draft_body, with};
use crate::helpers::{Resp, TestApp, jwt_settings, spawn_app, spawn_app_configured};
use crate::notices::{approved_case, nid_of};

/// An answer of an expensive request under load: done, or 503 problem+json with Retry-After.
fn done_or_busy(what: &str, r: &Resp) -> bool {
    match r.status {
        200 => true,
        503 => {
            assert!(
                r.header("retry-after").is_some(),
                "{what}: 503 without Retry-After"
            );
            r.assert_problem(503);
            false
        }
        other => panic!("{what}: {other} {}", r.body),
    }
}

fn p99(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    let i = ((ms.len() as f64) * 0.99).ceil() as usize;
    ms[i.saturating_sub(1).min(ms.len() - 1)]
}

/// The storm: 100 clients fetch a signed notice's document and 20 ask for reports, three
/// rounds each, while one client reads its case 200 times and the probe is polled. Everything
/// the reading client and the probe asked for is answered 200; the storm gets its answers or
/// 503 with Retry-After. The reading client's p99 is printed (issue 16's acceptance asks for
/// under 200 ms in a debug build; `cargo test --test api -- bounds:: --nocapture`).
#[test]
fn a_storm_of_documents_and_reports_leaves_room_for_readers_and_the_probe() {
    let app = spawn_app();
    let (id, notice) = approved_case(&app);
    let nid = nid_of(&notice);
    let (cw, ministry) = (app.caseworker(), app.ministry());
    let document = format!("/api/v1/notices/{nid}/document");
    let storm_over = AtomicBool::new(false);
    let barrier = Barrier::new(122);
    let (done, busy, reads, probes) = std::thread::scope(|s| {
        let storm: Vec<_> = (0..120)
            .map(|i| {
                let (app, barrier, cw, ministry, document) =
                    (&app, &barrier, &cw, &ministry, &document);
                s.spawn(move || {
                    barrier.wait();
                    let mut outcome = (0, 0);
                    for _ in 0..3 {
                        let ok = if i < 100 {
                            let (status, bytes) = app.get_bytes(document, cw);
                            match status {
                                200 => {
                                    assert!(bytes.starts_with(b"%PDF-"));
                                    true
                                }
                                503 => false,
                                other => panic!("document: {other}"),
                            }
                        } else {
                            let r = app.get(
                                "/api/v1/reports/volumes?group_by=year,municipality",
                                Some(ministry),
                            );
                            done_or_busy("report", &r)
                        };
                        if ok { outcome.0 += 1 } else { outcome.1 += 1 }
                    }
                    outcome
                })
            })
            .collect();
        let reader = s.spawn(|| {
            barrier.wait();
            (0..200)
                .map(|_| {
                    let t = Instant::now();
                    let r = app.get_application(&id, &cw);
                    assert_eq!(r.status, 200, "the reader: {}", r.body);
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect::<Vec<f64>>()
        });
        let probe = s.spawn(|| {
            barrier.wait();
            let mut n = 0;
            while !storm_over.load(Ordering::Relaxed) {
                let r = app.get("/health/ready", None);
                assert_eq!(r.status, 200, "the probe during the storm: {}", r.body);
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        });
        let (mut done, mut busy) = (0, 0);
        for h in storm {
            let (d, b) = h.join().expect("a storm thread");
            done += d;
            busy += b;
        }
        storm_over.store(true, Ordering::Relaxed);
        let reads = reader.join().expect("the reader");
        (done, busy, reads, probe.join().expect("the probe"))
    });
    assert!(done > 0, "some of the storm is served");
    assert!(probes > 0, "the probe ran during the storm");
    println!(
        "storm: {done} served, {busy} answered 503; reader: 200 reads, p99 {:.1} ms, max {:.1} ms; probe: {probes} × 200",
        p99(reads.clone()),
        reads.iter().copied().fold(0.0, f64::max)
    );
}

/// With every turn for expensive work taken, the next expensive request is answered 503
/// with Retry-After at once (after the short wait), and a cheap one is still served.
#[test]
fn an_expensive_request_beyond_the_bound_is_503_with_retry_after() {
    let app = spawn_app_configured(jwt_settings(), |s| {
        s.limits.heavy = 1;
        s.limits.heavy_wait_ms = 0;
    });
    let ministry = app.ministry();
    // Twelve at once on one turn: whoever does not get it is refused, none waits for the pool.
    let answers = crate::applications::race(12, |_| {
        app.get(
            "/api/v1/reports/volumes?group_by=year,municipality",
            Some(&ministry),
        )
    });
    let served = answers.iter().filter(|r| done_or_busy("report", r)).count();
    assert!(served >= 1, "one at least is served");
    let r = app.get("/api/v1/municipalities?limit=1", Some(&app.caseworker()));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Sends the head of a POST and part of its body, then nothing: the server answers 408
/// problem+json when the body's deadline has passed, and writes nothing.
#[test]
fn a_body_that_never_finishes_is_answered_408() {
    let app = spawn_app_configured(jwt_settings(), |s| s.limits.body_timeout_secs = 1);
    let applicant = app.applicant(&[LEAD]);
    let before = count_rows(&app, "applications");
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(&address).expect("connects");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST /api/v1/applications HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {applicant}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"title\": \"unfinis"
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "after {:?}: {answer}",
        started.elapsed()
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("did not arrive in time"), "{answer}");
    assert_eq!(count_rows(&app, "applications"), before);
}

fn refused_naming(app: &TestApp, body: &Value, field: &str, says: &str) {
    let before = count_rows(app, "applications");
    let r = app.create_application(&app.applicant(&[LEAD]), body);
    let p = r.assert_problem(422);
    let errors = p["errors"].to_string();
    assert!(errors.contains(field), "{field}: {p}");
    assert!(errors.contains(says), "{says}: {p}");
    assert_eq!(count_rows(app, "applications"), before, "nothing written");
}

/// What a notice cannot print never gets in: characters outside the notice font, control
/// characters, and text beyond the longest a field may be, at any depth of the body. So a
/// signed notice's document always renders: among them the cost-line description of 70,000
/// distinct characters that once made every rendering of its notice fail.
#[test]
fn text_a_notice_cannot_print_is_refused_at_input() {
    let app = spawn_app();
    let line = |description: &str| {
        with(
            draft_body(LEAD),
            json!({"cost_lines": [
                {"category": "software", "description": description, "amount": "40000.00", "eligible": true}
            ]}),
        )
    };
    refused_naming(
        &app,
        &line("Modul 漢字"),
        "cost_lines[0].description",
        "U+6F22",
    );
    refused_naming(
        &app,
        &line("Modul \u{E000}"),
        "cost_lines[0].description",
        "cannot print",
    );
    refused_naming(
        &app,
        &line("Modul\u{7}"),
        "cost_lines[0].description",
        "U+0007",
    );
    let distinct: String = (0x4E00u32..)
        .filter_map(char::from_u32)
        .take(70_000)
        .collect();
    refused_naming(
        &app,
        &line(&distinct),
        "cost_lines[0].description",
        "at most 20000",
    );
    let long = "Begründung ".repeat(2_000);
    refused_naming(
        &app,
        &with(draft_body(LEAD), json!({ "description": long })),
        "description",
        "at most 20000",
    );
    // What a German notice prints passes: umlauts, ß, €, §, dashes, quotes, line breaks.
    let ok = with(
        draft_body(LEAD),
        json!({"description": "Straße „Am Markt“ – § 24 ThürFAG, 5 €\nZeile 2\tTab"}),
    );
    let r = app.create_application(&app.applicant(&[LEAD]), &ok);
    assert_eq!(r.status, 201, "{}", r.body);
}

/// The document names the 503 of exactly the operations that take a turn for expensive work,
/// and the 408 of every operation with a JSON body.
#[test]
fn the_document_names_the_busy_and_the_timeout_answers() {
    let doc = foerderakte::openapi::document_json();
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let mut busy = Vec::new();
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            let responses = &op["responses"];
            if responses.get("503").is_some() && !op["operationId"].is_null() {
                busy.push(op["operationId"].as_str().unwrap().to_owned());
            }
            if op["requestBody"]["content"]["application/json"].is_object() {
                assert!(responses.get("408").is_some(), "{}", op["operationId"]);
            }
        }
    }
    busy.sort();
    // HEAD runs the GET: its operations repeat the GET's answers.
    busy.retain(|id| !id.starts_with("health_ready") && !id.ends_with("_head"));
    assert_eq!(
        busy,
        [
            "notice_document",
            "open_data_grants",
            "report_budget",
            "report_pipeline",
            "report_processing_times",
            "report_volumes",
            "verify_audit_log"
        ]
    );
}
