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

#[test]
fn a_token_lives_at_most_jwt_max_ttl_counted_from_iat_and_from_now() {
    use crate::helpers::now;
    use foerderakte::config::JWT_MAX_TTL_SECS as DAY;
    let status = |app: &crate::helpers::TestApp, changes: serde_json::Value| {
        let mut c = claims("caseworker");
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        let token = hs256(&c, SECRET.as_bytes());
        app.get("/api/v1/municipalities/16063105", Some(&token))
            .status
    };
    let app = spawn_app();
    // Exactly the default maximum, a day, passes; an hour more does not, with or without iat.
    assert_eq!(status(&app, json!({"iat": now(), "exp": now() + DAY})), 200);
    assert_eq!(status(&app, json!({"exp": now() + DAY})), 200);
    assert_eq!(
        status(&app, json!({"iat": now(), "exp": now() + DAY + 3600})),
        401
    );
    assert_eq!(status(&app, json!({"exp": now() + DAY + 3600})), 401);
    // Issued an hour ago for a day: fine. Issued two days ago for two days and an hour: it
    // expires within the hour, but its lifetime is over the maximum.
    assert_eq!(
        status(
            &app,
            json!({"iat": now() - 3600, "exp": now() + DAY - 3600})
        ),
        200
    );
    assert_eq!(
        status(&app, json!({"iat": now() - 2 * DAY, "exp": now() + 3600})),
        401
    );
    // A shorter JWT_MAX_TTL: an hour.
    let mut jwt = jwt_settings();
    jwt.max_ttl_secs = 3600;
    let short = spawn_app_with(jwt);
    assert_eq!(
        status(&short, json!({"iat": now(), "exp": now() + 3600})),
        200
    );
    assert_eq!(
        status(&short, json!({"iat": now(), "exp": now() + 7200})),
        401
    );
}

/// `foerderakte token` with the test server's settings and `env`; its stdout if it succeeded.
fn cli_token(args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    use crate::helpers::{AUDIENCE, ISSUER};
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_foerderakte"))
        .arg("token")
        .args(args)
        .current_dir(std::env::temp_dir())
        // Minting reads no database; a PostgreSQL URL in the test's environment would make
        // the settings ask for an audit key.
        .env_remove("DATABASE_URL")
        .env_remove("JWT_MAX_TTL")
        .env("JWT_SECRET", SECRET)
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_cli_mints_tokens_within_jwt_max_ttl_and_refuses_longer_ones() {
    let app = spawn_app();
    let base = ["--role", "caseworker", "--sub", "cli.caseworker"];
    // The default lifetime (8 h) and the default maximum (24 h).
    let token = cli_token(&base, &[]).unwrap();
    assert_eq!(
        app.get("/api/v1/municipalities/16063105", Some(&token))
            .status,
        200
    );
    let token = cli_token(&[&base[..], &["--ttl", "24h"]].concat(), &[]).unwrap();
    assert_eq!(
        app.get("/api/v1/municipalities/16063105", Some(&token))
            .status,
        200
    );
    let err = cli_token(&[&base[..], &["--ttl", "2d"]].concat(), &[]).unwrap_err();
    assert!(err.contains("JWT_MAX_TTL"), "{err}");
    let err = cli_token(&base, &[("JWT_MAX_TTL", "1h")]).unwrap_err();
    assert!(err.contains("JWT_MAX_TTL"), "{err}");
    assert!(cli_token(&base, &[("JWT_MAX_TTL", "forever")]).is_err());
}
