//! Token checks: every bad token is 401 problem+json; a valid token of the wrong role is 403.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use foerderakte::auth::JwtAlgorithm;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{AUDIENCE, ISSUER, SECRET, jwt_settings, spawn_app, spawn_app_with};

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn claims(role: &str) -> Value {
    json!({"sub": "tester", "role": role, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600})
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// A token with any header, signed with HMAC-SHA256 over `header.payload` with `key`
/// (the algorithm-confusion attack: whatever the header claims, the key is a shared secret).
fn hmac_signed(header: &Value, claims: &Value, key: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        B64.encode(mac.finalize().into_bytes())
    )
}

#[test]
fn bad_tokens_are_refused_with_401_problem_json() {
    let app = spawn_app();
    let valid = hs256(&claims("caseworker"), SECRET.as_bytes());
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut tampered_payload = claims("admin");
    tampered_payload["sub"] = json!("mallory");
    parts[1] = B64.encode(tampered_payload.to_string());
    let tampered = parts.join(".");

    let mut expired = claims("caseworker");
    expired["exp"] = json!(now() - 3600);
    let mut not_yet = claims("caseworker");
    not_yet["nbf"] = json!(now() + 3600);
    let mut wrong_aud = claims("caseworker");
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims("caseworker");
    wrong_iss["iss"] = json!("https://evil.example");
    let mut no_exp = claims("caseworker");
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut applicant_without_ags = claims("applicant");
    applicant_without_ags.as_object_mut().unwrap().remove("ags");
    let mut applicant_bad_ags = claims("applicant");
    applicant_bad_ags["ags"] = json!(["9162000"]);
    let unknown_role = claims("superuser");

    let alg_none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        B64.encode(claims("admin").to_string())
    );
    let rs256_with_hs_secret = hmac_signed(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &claims("admin"),
        SECRET.as_bytes(),
    );

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("not a JWT", Some("hello".into())),
        ("tampered payload", Some(tampered)),
        (
            "signed with another secret",
            Some(hs256(
                &claims("caseworker"),
                b"another-secret-another-secret-xx",
            )),
        ),
        ("expired", Some(hs256(&expired, SECRET.as_bytes()))),
        ("not valid yet", Some(hs256(&not_yet, SECRET.as_bytes()))),
        ("wrong audience", Some(hs256(&wrong_aud, SECRET.as_bytes()))),
        ("wrong issuer", Some(hs256(&wrong_iss, SECRET.as_bytes()))),
        ("no exp", Some(hs256(&no_exp, SECRET.as_bytes()))),
        ("alg none", Some(alg_none)),
        (
            "RS256 header, HMAC with the HS secret",
            Some(rs256_with_hs_secret),
        ),
        (
            "applicant without ags",
            Some(hs256(&applicant_without_ags, SECRET.as_bytes())),
        ),
        (
            "applicant with a malformed ags",
            Some(hs256(&applicant_bad_ags, SECRET.as_bytes())),
        ),
        (
            "unknown role",
            Some(hs256(&unknown_role, SECRET.as_bytes())),
        ),
        ("oversized token", Some("a".repeat(9000))),
    ];
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
