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
