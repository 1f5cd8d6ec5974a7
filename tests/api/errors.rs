//! Every failure is a 4xx problem+json: never a 500, never HTML.

use serde_json::json;

use crate::helpers::spawn_app;

#[test]
fn bad_requests_get_4xx_problem_json() {
    let app = spawn_app();
    let admin = app.admin();
    let a = Some(admin.as_str());
    let path = "/api/v1/register/editions";
    let two_mb = vec![b'x'; 2 * 1024 * 1024];
    let mut big_json = br#"{"content": ""#.to_vec();
    big_json.extend(std::iter::repeat_n(b'a', 2 * 1024 * 1024));
    big_json.extend(br#""}"#);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));

    type Case<'a> = (&'a str, &'a str, &'a str, Option<(&'a str, Vec<u8>)>, u16);
    let cases: Vec<Case<'_>> = vec![
        (
            "malformed JSON",
            "POST",
            path,
            Some(("application/json", b"{\"content\": ".to_vec())),
            400,
        ),
        (
            "JSON of the wrong type",
            "POST",
            path,
            Some(("application/json", b"{\"content\": 42}".to_vec())),
            400,
        ),
        (
            "unknown field",
            "POST",
            path,
            Some((
                "application/json",
                br#"{"content": "", "extra": 1}"#.to_vec(),
            )),
            400,
        ),
        (
            "deeply nested JSON",
            "POST",
            path,
            Some(("application/json", deep.into_bytes())),
            400,
        ),
        (
            "wrong content type",
            "POST",
            path,
            Some(("text/plain", b"hello".to_vec())),
            415,
        ),
        (
            "2 MB JSON body",
            "POST",
            path,
            Some(("application/json", big_json)),
            413,
        ),
        (
            "2 MB body of garbage",
            "POST",
            path,
            Some(("application/json", two_mb.clone())),
            413,
        ),
        (
            "2 MB body to an unknown route",
            "POST",
            "/api/v1/nothing",
            Some(("application/json", two_mb)),
            404,
        ),
        ("unknown route", "GET", "/api/v1/nothing-here", None, 404),
        (
            "unknown route outside the API",
            "GET",
            "/index.html",
            None,
            404,
        ),
        (
            "wrong method",
            "DELETE",
            "/api/v1/municipalities/16063105",
            None,
            405,
        ),
        (
            "wrong method on a list",
            "PUT",
            "/api/v1/municipalities",
            None,
            405,
        ),
        (
            "malformed AGS",
            "GET",
            "/api/v1/municipalities/1606310X",
            None,
            400,
        ),
        (
            "AGS of another Land",
            "GET",
            "/api/v1/municipalities/09162000",
            None,
            400,
        ),
        (
            "unknown AGS",
            "GET",
            "/api/v1/municipalities/16099999",
            None,
            404,
        ),
        (
            "bad limit",
            "GET",
            "/api/v1/municipalities?limit=0",
            None,
            422,
        ),
        (
            "limit not a number",
            "GET",
            "/api/v1/municipalities?limit=many",
            None,
            400,
        ),
        (
            "unknown query parameter",
            "GET",
            "/api/v1/municipalities?colour=red",
            None,
            400,
        ),
        (
            "forged cursor",
            "GET",
            "/api/v1/municipalities?cursor=zz",
            None,
            422,
        ),
        (
            "malformed kreis",
            "GET",
            "/api/v1/municipalities?kreis=163",
            None,
            422,
        ),
        (
            "a NUL character in a path parameter",
            "GET",
            "/api/v1/programmes/THUEREGOVRL%00",
            None,
            400,
        ),
        (
            "a NUL character in a query parameter",
            "GET",
            "/api/v1/municipalities?q=Eisen%00ach",
            None,
            400,
        ),
        (
            "a NUL character in the body",
            "POST",
            path,
            Some((
                "application/json",
                serde_json::to_vec(&json!({"content": "# edition\t2025-01-01\u{0}"})).unwrap(),
            )),
            422,
        ),
        (
            "an edition without its edition line",
            "POST",
            path,
            Some((
                "application/json",
                serde_json::to_vec(&json!({"content": "ags\tname"})).unwrap(),
            )),
            422,
        ),
    ];
    for (what, method, path, body, status) in cases {
        let resp = app.request(method, path, a, &[], body);
        assert_eq!(resp.status, status, "{what}: {}", resp.body);
        resp.assert_problem(status);
        assert!(!resp.body.contains("<html"), "{what}");
    }
    let resp = app.request("DELETE", "/api/v1/municipalities/16063105", a, &[], None);
    assert_eq!(resp.header("allow"), Some("GET"));
}

#[test]
fn validation_problems_name_the_field() {
    let app = spawn_app();
    let p = app
        .list_municipalities("?kreis=1606x", &app.caseworker())
        .assert_problem(422);
    assert_eq!(p["errors"][0]["field"], "kreis");
    // A NUL character deep in a body is named by its path (PostgreSQL's text cannot hold it).
    let p = app
        .post_json(
            "/api/v1/register/editions",
            Some(&app.admin()),
            &json!({"content": "# edition\t2025-01-01\u{0}"}),
        )
        .assert_problem(422);
    assert_eq!(p["errors"][0]["field"], "content");
}

#[test]
fn a_cursor_with_multi_byte_characters_is_a_validation_error_not_a_crash() {
    // Found by schemathesis: `cursor=0ࠀ` (an even byte count, not hex) panicked the worker.
    let app = spawn_app();
    let t = app.caseworker();
    for path in [
        "/api/v1/municipalities?cursor=0%E0%A0%80",
        "/api/v1/applications?cursor=%C3%A40",
        "/api/v1/audit?cursor=0%E0%A0%80",
    ] {
        let token = if path.starts_with("/api/v1/audit") {
            app.admin()
        } else {
            t.clone()
        };
        let p = app.get(path, Some(&token)).assert_problem(422);
        assert_eq!(p["errors"][0]["field"], "cursor", "{path}");
    }
}

#[test]
fn whole_numbers_with_a_zero_fraction_are_integers() {
    // JSON Schema counts 2027.0 as an integer; schemathesis sent it and got 400.
    let app = spawn_app();
    let admin = app.admin();
    let resp = app.request(
        "PATCH",
        "/api/v1/programmes/THUEREGOVRL-2024",
        Some(&admin),
        &[("If-Match", "\"0\"")],
        Some(("application/json", br#"{"min_partners": 2.5}"#.to_vec())),
    );
    let p = resp.assert_problem(400);
    assert!(
        p["detail"].as_str().unwrap().contains("whole number"),
        "{p}"
    );
}

/// Sends `request` as raw bytes and reads the answer until the server closes the connection:
/// `(status, headers in lower case, body)`.
fn raw_exchange(app: &crate::helpers::TestApp, request: &[u8]) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let addr = app.address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    // Only so that a server that keeps the connection open cannot hang the test.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // The server may answer and close before it has read everything (431): what it sent
    // before is read all the same.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head: {:?}", String::from_utf8_lossy(&answer)));
    let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head}"));
    (status, head, answer[split + 4..].to_vec())
}

#[test]
fn errors_the_http_layer_answers_itself_are_a_bare_status_and_the_rest_problem_json() {
    // actix-http answers these before any application code runs (docs/testing.md, "What the
    // HTTP layer answers itself"): a status line, `content-length: 0`, no body, and the
    // connection is closed. This test records that; it fails if actix starts to answer
    // otherwise, so that the documentation is revisited.
    let app = spawn_app();
    let huge_header = format!(
        "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(128 * 1024)
    );
    let many_headers = format!(
        "GET /health/live HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let cases: [(&str, Vec<u8>, u16); 5] = [
        ("a request head over 128 KiB", huge_header.into_bytes(), 431),
        ("more than 96 header fields", many_headers.into_bytes(), 431),
        (
            "a malformed request line",
            b"GET /health/live HTTP/1.1 extra\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a request line that is not HTTP",
            b"HELLO\r\n\r\n".to_vec(),
            400,
        ),
        (
            "Content-Length with chunked transfer coding (RFC 9112 section 6.3)",
            b"POST /api/v1/register/editions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            400,
        ),
    ];
    for (what, request, status) in cases {
        let (got, head, body) = raw_exchange(&app, &request);
        assert_eq!(got, status, "{what}: {head}");
        assert!(head.contains("content-length: 0"), "{what}: {head}");
        assert!(
            body.is_empty(),
            "{what}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // What reaches the application is problem+json, over the same raw connection: a request
    // without a token, and a path no route has.
    let (status, head, body) = raw_exchange(
        &app,
        b"POST /api/v1/register/editions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1\r\nConnection: close\r\n\r\n{",
    );
    assert_eq!(status, 401, "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
    assert!(!body.is_empty());
    let (status, head, _) = raw_exchange(
        &app,
        b"GET /nothing/here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 404, "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
}
