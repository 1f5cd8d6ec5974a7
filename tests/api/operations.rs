//! Health, metrics, request ids, the OpenAPI document and the offline docs UI.

use std::io::{Read, Write};

use crate::helpers::{TestApp, jwt_settings, spawn_app, spawn_app_configured};

/// Sends a request with any method straight over TCP (HTTP clients refuse methods they do not
/// know) and returns the status line.
fn raw_request(app: &TestApp, method: &str, path: &str) -> String {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the answer is read");
    answer.lines().next().unwrap_or_default().to_owned()
}

fn scrape(app: &TestApp) -> String {
    let r = app.get("/metrics", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[test]
fn the_suite_runs_on_the_database_it_was_given() {
    let app = spawn_app();
    let expected = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) => foerderakte::persistence::Backend::of_url(&url),
        Err(_) => foerderakte::persistence::Backend::Sqlite,
    };
    assert_eq!(app.backend(), expected);
    eprintln!("integration tests run on {:?}", app.backend());
}

#[test]
fn health_probes_answer_without_a_token() {
    let app = spawn_app();
    let live = app.get("/health/live", None);
    assert_eq!(live.status, 200);
    let ready = app.get("/health/ready", None);
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json()["status"], "ok");
}

#[test]
fn every_answer_carries_a_request_id_and_a_callers_id_is_kept() {
    let app = spawn_app();
    let resp = app.get("/health/live", None);
    assert_eq!(resp.header("x-request-id").map(str::len), Some(36));
    let resp = app.request("GET", "/nope", None, &[("X-Request-Id", "abc-123")], None);
    assert_eq!(resp.header("x-request-id"), Some("abc-123"));
    let resp = app.request(
        "GET",
        "/health/live",
        None,
        &[("X-Request-Id", "a b")],
        None,
    );
    assert_ne!(resp.header("x-request-id"), Some("a b"));
}

#[test]
fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn_app();
    let t = app.caseworker();
    app.get_municipality("16063105", &t);
    app.get_municipality("16051000", &t);
    app.get_municipality("16099999", &t);
    let resp = app.get("/metrics", None);
    assert_eq!(resp.status, 200);
    assert!(
        resp.header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.body;
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/municipalities/{ags}",status="200"} 2"#),
        "{text}"
    );
    assert!(text.contains(
        r#"http_requests_total{method="GET",route="/api/v1/municipalities/{ags}",status="404"} 1"#
    ));
    assert!(text.contains("http_request_duration_seconds_bucket"));
}

#[test]
fn invented_methods_fold_into_one_series_and_the_metrics_do_not_grow() {
    let app = spawn_app();
    // Every series the loop below touches exists before the size is taken: an invented
    // method on an unknown path (404) and on a known one (405), and the scrape itself.
    assert!(raw_request(&app, "WARMUP", "/nope").contains(" 404 "));
    assert!(raw_request(&app, "WARMUP", "/api/v1/municipalities").contains(" 405 "));
    scrape(&app);
    let before = scrape(&app);
    for i in 0..300 {
        let (path, status) = match i % 2 {
            0 => (format!("/invented/{i}?q={i}"), " 404 "),
            _ => ("/api/v1/municipalities".to_owned(), " 405 "),
        };
        let line = raw_request(&app, &format!("M{i}X"), &path);
        assert!(line.contains(status), "M{i}X {path}: {line}");
    }
    let after = scrape(&app);
    assert!(
        after.len().abs_diff(before.len()) <= 2048,
        "/metrics grew from {} to {} bytes:\n{after}",
        before.len(),
        after.len()
    );
    assert!(
        after.contains(r#"http_requests_total{method="other",route="unmatched",status="404"} 151"#),
        "{after}"
    );
    assert!(
        after.contains(
            r#"http_requests_total{method="other",route="/api/v1/municipalities",status="405"} 151"#
        ),
        "{after}"
    );
    for series in ["M1X", "M2X", "/invented/"] {
        assert!(!after.contains(series), "{series} is a label: {after}");
    }
}

#[test]
fn the_metrics_show_the_pool_and_the_process() {
    let app = spawn_app();
    app.get_municipality("16063105", &app.caseworker());
    let text = scrape(&app);
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        value("db_pool_connections{state=\"idle\"}") >= 1.0,
        "{text}"
    );
    assert!(value("db_pool_connections{state=\"in_use\"}") >= 0.0);
    assert_eq!(value("db_pool_max_connections"), 8.0);
    assert!(
        value("db_pool_checkout_wait_seconds_count") >= 1.0,
        "{text}"
    );
    assert!(value("db_pool_checkout_wait_seconds_sum") >= 0.0);
    assert_eq!(value("db_pool_timeouts_total"), 0.0);
    if cfg!(target_os = "linux") {
        assert!(value("process_resident_memory_bytes") > 1e6, "{text}");
        assert!(value("process_open_fds") >= 3.0, "{text}");
        assert!(value("process_cpu_seconds_total") > 0.0, "{text}");
        let started = value("process_start_time_seconds");
        let now = chrono::Utc::now().timestamp() as f64;
        assert!(
            started > now - 86_400.0 && started <= now + 1.0,
            "{started} {now}"
        );
    }
    for kind in ["gauge", "counter", "summary"] {
        assert!(text.contains(&format!(" {kind}\n")), "{kind}: {text}");
    }
}

#[test]
fn with_a_metrics_token_a_scrape_needs_it_as_its_bearer_token() {
    const TOKEN: &str = "scrape-0123456789abcdef";
    let app = spawn_app_configured(jwt_settings(), |s| s.metrics_token = Some(TOKEN.into()));
    let refused = app.get("/metrics", None);
    let problem = refused.assert_problem(401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("METRICS_TOKEN")
    );
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    for wrong in [
        "scrape-0123456789abcdeX".to_owned(),
        "scrape-0123456789abcde".to_owned(),
        format!("{TOKEN}0"),
        app.admin(),
    ] {
        app.request("GET", "/metrics", Some(&wrong), &[], None)
            .assert_problem(401);
    }
    app.request("GET", "/metrics", None, &[("Authorization", TOKEN)], None)
        .assert_problem(401);
    let ok = app.request("GET", "/metrics", Some(TOKEN), &[], None);
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body.contains("http_requests_total"));
    let lower = format!("bearer {TOKEN}");
    let ok = app.request("GET", "/metrics", None, &[("Authorization", &lower)], None);
    assert_eq!(ok.status, 200, "{}", ok.body);
    // The refused scrapes are counted like any request; the probes stay open.
    assert!(
        ok.body.contains(r#"route="/metrics",status="401"} 6"#),
        "{}",
        ok.body
    );
    assert_eq!(app.get("/health/live", None).status, 200);
}

#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    let generated = foerderakte::openapi::document_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated && std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -q -- openapi > openapi/openapi.json` \
         (or the tests with UPDATE_OPENAPI=1) and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn the_served_openapi_document_is_the_committed_one() {
    let app = spawn_app();
    let resp = app.get("/api/v1/openapi.json", None);
    assert_eq!(resp.status, 200);
    let served: serde_json::Value = resp.json();
    let generated: serde_json::Value =
        serde_json::from_str(&foerderakte::openapi::document_json()).unwrap();
    assert_eq!(served, generated);
}

#[test]
fn operation_ids_are_unique_and_json_bodies_document_413_and_415() {
    let doc: serde_json::Value =
        serde_json::from_str(&foerderakte::openapi::document_json()).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(seen.insert(id.to_owned()), "operationId {id} is used twice");
            if op["requestBody"]["content"]["application/json"].is_object() {
                for status in ["400", "413", "415"] {
                    assert!(
                        op["responses"][status].is_object(),
                        "{method} {path} takes JSON and documents no {status}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_documented_operation_documents_its_errors_and_auth() {
    let doc: serde_json::Value =
        serde_json::from_str(&foerderakte::openapi::document_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let public = path.starts_with("/health") || path == "/metrics";
            let responses = op["responses"].as_object().unwrap();
            if !public {
                assert!(
                    op["security"].is_array(),
                    "{method} {path} names no security"
                );
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents no 401"
                );
            }
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} documents no success"
            );
            // OpenAPI 3.1 requires a description of every response; generators refuse a
            // document without one (scripts/client-roundtrip.sh).
            for (status, response) in responses {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
}

#[test]
fn the_docs_ui_is_served_from_the_binary_with_no_external_url() {
    let app = spawn_app();
    let redirect = app.get("/docs", None);
    assert!(
        [200, 301, 302, 307, 308].contains(&redirect.status),
        "{}",
        redirect.status
    );
    let page = app.get("/docs/", None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("swagger-ui"), "{}", page.body);
    // Every asset the page loads is local, and none of them loads from another host.
    let mut assets = vec!["/docs/".to_owned()];
    for attr in ["src=\"", "href=\""] {
        for part in page.body.split(attr).skip(1) {
            let url = part.split('"').next().unwrap();
            assert!(
                !url.starts_with("http") && !url.starts_with("//"),
                "the docs page loads {url} from outside"
            );
            assets.push(format!("/docs/{}", url.trim_start_matches("./")));
        }
    }
    assert!(assets.len() >= 3, "{assets:?}");
    for asset in &assets {
        let resp = app.get(asset, None);
        assert_eq!(resp.status, 200, "{asset}");
        for cdn in [
            "unpkg.com",
            "cdn.jsdelivr",
            "cdnjs.",
            "fonts.googleapis",
            "petstore.swagger.io",
        ] {
            assert!(!resp.body.contains(cdn), "{asset} names {cdn}");
        }
    }
    let init = app.get("/docs/swagger-initializer.js", None);
    assert_eq!(init.status, 200);
    assert!(init.body.contains("/api/v1/openapi.json"), "{}", init.body);
}

/// The pool hands out connections without a round trip to test them (docs/benchmarks.md);
/// a connection the database has closed (a restart, a fail-over) fails on its first
/// statement, and the request runs again on another. So when PostgreSQL ends every
/// connection of the server, the next reads and writes still answer, with nothing lost and
/// nothing done twice. (SQLite has no connection to lose.)
#[test]
fn requests_after_the_database_closed_every_pooled_connection_still_answer() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let app = spawn_app();
    if app.backend() != foerderakte::persistence::Backend::Postgres {
        eprintln!("SQLite: no connection to lose");
        return;
    }
    let lead = app.applicant(&[crate::applications::LEAD]);
    let cw = app.caseworker();
    let draft = crate::applications::create(
        &app,
        &lead,
        &crate::applications::draft_body(crate::applications::LEAD),
    );
    let id = crate::applications::id_of(&draft);
    for _ in 0..20 {
        assert_eq!(app.get_application(&id, &cw).status, 200);
    }
    let mut db = app.db();
    let ended: N = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
    )
    .get_result(&mut db)
    .expect("the server's connections end");
    assert!(ended.n >= 1, "the server held no connection");
    // A write first (nothing of it may happen twice), then reads.
    let r = app.patch_application(
        &id,
        &lead,
        Some("\"1\""),
        &serde_json::json!({"title": "Nach dem Neustart"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for _ in 0..20 {
        let r = app.get_application(&id, &cw);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["version"], 2, "one edit, one new version");
    }
    let edits: N = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE record_key = $1 AND action = 'edit'",
    )
    .bind::<diesel::sql_types::Text, _>(&id)
    .get_result(&mut db)
    .expect("the case's history");
    assert_eq!(edits.n, 1, "the edit is recorded once");
}
