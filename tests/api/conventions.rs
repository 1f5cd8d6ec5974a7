//! The HTTP conventions clients expect (issue 18): HEAD on every GET route, conditional GET,
//! CORS for an allowlist, compression, a per-caller rate limit.

use std::io::Read;

use crate::applications::{LEAD, case_in};
use crate::helpers::{Resp, TestApp, jwt_settings, spawn_app, spawn_app_configured};

fn head_paths(app: &TestApp) -> Vec<String> {
    let id = case_in(app, "submitted");
    vec![
        "/health/live".into(),
        "/health/ready".into(),
        "/api/v1/municipalities?kreis=16063".into(),
        format!("/api/v1/municipalities/{LEAD}"),
        "/api/v1/programmes".into(),
        "/api/v1/programmes/THUEREGOVRL-2024".into(),
        format!("/api/v1/applications/{id}"),
        format!("/api/v1/applications/{id}/history"),
        "/api/v1/applications".into(),
        "/api/v1/reports/volumes?group_by=year&format=csv-de".into(),
        "/api/v1/applications/no-such-case".into(),
    ]
}

#[test]
fn head_answers_as_get_without_the_body_on_every_get_route() {
    let app = spawn_app();
    let admin = app.admin();
    for path in head_paths(&app) {
        let get = app.request("GET", &path, Some(&admin), &[], None);
        let head = app.request("HEAD", &path, Some(&admin), &[], None);
        assert_eq!(head.status, get.status, "{path}");
        assert_eq!(head.body, "", "{path}: no body");
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "{path}: the GET's length"
        );
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
        assert_eq!(head.header("etag"), get.header("etag"), "{path}");
    }
    // Without a token HEAD is refused as GET is; on a POST-only route it is 405 naming GET-less
    // methods.
    let r = app.request("HEAD", "/api/v1/programmes", None, &[], None);
    assert_eq!(r.status, 401);
    let r = app.request("HEAD", "/api/v1/audit/checkpoints", Some(&admin), &[], None);
    assert_eq!(r.status, 405);
    // Every GET of the document has its HEAD.
    let doc: serde_json::Value =
        serde_json::from_str(&app.get("/api/v1/openapi.json", None).body).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert_eq!(
            item.get("get").is_some(),
            item.get("head").is_some(),
            "{path}"
        );
    }
}

#[test]
fn if_none_match_with_the_etag_is_304_without_a_body() {
    let app = spawn_app();
    let cw = app.caseworker();
    let id = case_in(&app, "submitted");
    for path in [
        format!("/api/v1/applications/{id}"),
        "/api/v1/programmes/THUEREGOVRL-2024".to_owned(),
    ] {
        let first = app.get(&path, Some(&cw));
        let etag = first.header("etag").expect("an ETag").to_owned();
        let weak = format!("W/{etag}");
        for inm in [etag.as_str(), weak.as_str(), "*"] {
            let r = app.request("GET", &path, Some(&cw), &[("If-None-Match", inm)], None);
            assert_eq!(r.status, 304, "{path} {inm}");
            assert_eq!(r.body, "", "{path}");
            assert_eq!(r.header("etag"), Some(etag.as_str()), "{path}");
        }
        let r = app.request(
            "GET",
            &path,
            Some(&cw),
            &[("If-None-Match", "\"999\"")],
            None,
        );
        assert_eq!(r.status, 200, "{path}: another version");
        assert_eq!(r.body, first.body);
    }
}

#[test]
fn cors_lets_the_allowed_origin_through_and_refuses_another() {
    let app = spawn_app_configured(jwt_settings(), |s| {
        s.cors_allowed_origins = vec!["https://portal.example".into()];
    });
    let preflight = |origin: &str| {
        app.request(
            "OPTIONS",
            "/api/v1/applications",
            None,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                (
                    "Access-Control-Request-Headers",
                    "authorization, content-type, idempotency-key",
                ),
            ],
            None,
        )
    };
    let ok = preflight("https://portal.example");
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://portal.example")
    );
    let methods = ok
        .header("access-control-allow-methods")
        .unwrap_or_default();
    assert!(methods.contains("POST"), "{methods}");
    let bad = preflight("https://evil.example");
    assert_eq!(bad.status, 400);
    assert!(bad.header("access-control-allow-origin").is_none());
    // A simple request from the allowed origin may read the ETag.
    let r = app.request(
        "GET",
        "/api/v1/programmes/THUEREGOVRL-2024",
        Some(&app.caseworker()),
        &[("Origin", "https://portal.example")],
        None,
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://portal.example")
    );
    assert!(
        r.header("access-control-expose-headers")
            .unwrap_or_default()
            .contains("etag")
    );
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .unwrap();
    out
}

#[test]
fn a_report_is_compressed_when_the_client_asks() {
    let app = spawn_app();
    case_in(&app, "submitted");
    let path = "/api/v1/reports/volumes?basis=submission&group_by=year,municipality";
    let plain = app.get(path, Some(&app.ministry()));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let req = ureq::http::Request::builder()
        .uri(format!("{}{path}", app.address))
        .header("Authorization", format!("Bearer {}", app.ministry()))
        .header("Accept-Encoding", "gzip")
        .body(())
        .unwrap();
    let mut resp = agent.run(req).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let bytes = resp.body_mut().read_to_vec().unwrap();
    assert_eq!(gunzip(&bytes), plain.body, "the same report");
}

#[test]
fn over_the_rate_limit_a_caller_gets_429_with_retry_after_and_others_go_on() {
    let app = spawn_app_configured(jwt_settings(), |s| s.rate_limit_per_minute = Some(5));
    let (cw, admin) = (app.caseworker(), app.admin());
    let statuses: Vec<u16> = (0..7)
        .map(|_| app.get("/api/v1/programmes", Some(&cw)).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let r: Resp = app.get("/api/v1/programmes", Some(&cw));
    let p = r.assert_problem(429);
    assert!(p["detail"].as_str().unwrap().contains("5 requests"), "{p}");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another caller, and the probes, are not held back.
    assert_eq!(app.get("/api/v1/programmes", Some(&admin)).status, 200);
    assert_eq!(app.get("/health/ready", None).status, 200);
}
