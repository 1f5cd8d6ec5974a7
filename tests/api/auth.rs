//! Token checks: every bad token is 401 problem+json; a valid token of the wrong role is 403.

use foerderakte::auth::JwtAlgorithm;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;

use crate::helpers::{
    SECRET, bad_tokens, claims, hmac_signed, hs256, jwt_settings, spawn_app, spawn_app_with,
};

#[test]
fn bad_tokens_are_refused_with_401_problem_json() {
    let app = spawn_app();
    let valid = hs256(&claims("caseworker"), SECRET.as_bytes());
    let cases = bad_tokens(&claims("caseworker"));
    for (what, token) in cases {
        let resp = app.get("/api/v1/municipalities/16063105", token.as_deref());
        assert_eq!(resp.status, 401, "{what}: {}", resp.body);
        resp.assert_problem(401);
        assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{what}");
    }
    // The valid token itself passes, so the cases above fail for their own reason.
    assert_eq!(
        app.get("/api/v1/municipalities/16063105", Some(&valid))
            .status,
        200
    );
}

#[test]
fn a_valid_token_of_a_role_that_may_not_gets_403() {
    let app = spawn_app();
    for token in [app.caseworker(), app.applicant(&["16063105"])] {
        app.register_editions(&token).assert_problem(403);
    }
    assert_eq!(app.register_editions(&app.admin()).status, 200);
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn an_rs256_service_accepts_its_identity_providers_tokens_and_refuses_confusion() {
    let mut jwt = jwt_settings();
    jwt.algorithm = JwtAlgorithm::Rs256;
    jwt.secret = None;
    jwt.public_key = Some(fixture("rsa-public.pem"));
    let app = spawn_app_with(jwt);
    let private = std::fs::read(fixture("rsa-private.pem")).unwrap();
    let good = encode(
        &Header::new(Algorithm::RS256),
        &claims("caseworker"),
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.get("/api/v1/municipalities/16063105", Some(&good))
            .status,
        200
    );

    // The classic confusion: HS256 signed with the public key as the HMAC secret.
    let public = std::fs::read(fixture("rsa-public.pem")).unwrap();
    let confused = hmac_signed(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims("admin"),
        &public,
    );
    app.get("/api/v1/municipalities/16063105", Some(&confused))
        .assert_problem(401);
    let hs = hs256(&claims("admin"), SECRET.as_bytes());
    app.get("/api/v1/municipalities/16063105", Some(&hs))
        .assert_problem(401);
}

#[test]
fn an_es256_service_accepts_es256_and_refuses_rs256() {
    let mut jwt = jwt_settings();
    jwt.algorithm = JwtAlgorithm::Es256;
    jwt.secret = None;
    jwt.public_key = Some(fixture("ec-public.pem"));
    let app = spawn_app_with(jwt);
    let ec = std::fs::read(fixture("ec-private.pem")).unwrap();
    let good = encode(
        &Header::new(Algorithm::ES256),
        &claims("ministry"),
        &EncodingKey::from_ec_pem(&ec).unwrap(),
    )
    .unwrap();
    assert_eq!(
        app.get("/api/v1/municipalities/16063105", Some(&good))
            .status,
        200
    );
    let rsa = std::fs::read(fixture("rsa-private.pem")).unwrap();
    let rs = encode(
        &Header::new(Algorithm::RS256),
        &claims("ministry"),
        &EncodingKey::from_rsa_pem(&rsa).unwrap(),
    )
    .unwrap();
    app.get("/api/v1/municipalities/16063105", Some(&rs))
        .assert_problem(401);
}
