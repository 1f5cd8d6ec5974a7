//! JWT decoding with exactly one configured algorithm, issuer and audience.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::config::{JwtAlgorithm, JwtSettings};
use crate::domain::{Ags, Role};

use super::Principal;

impl JwtAlgorithm {
    fn algorithm(self) -> Algorithm {
        match self {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// The claims this service reads. `iss`, `aud`, `exp` and `sub` are required; `nbf` is checked
/// when present; `ags` is required for applicants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ags: Option<Vec<String>>,
    pub iss: String,
    /// A string or an array of strings (identity providers send either); checked by the
    /// validation, not read here.
    pub aud: serde_json::Value,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// The person's name as the identity provider gives it (OpenID Connect `name`): printed
    /// under a notice the person signs ("Im Auftrag"); the subject when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Why a token was refused. The message goes to the client: it says what is wrong with the
/// token, never anything about our keys.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token's claims are not acceptable: {0}")]
    Claims(String),
}

/// Checks tokens against the configured algorithm and key.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

impl JwtVerifier {
    pub fn from_settings(s: &JwtSettings) -> Result<Self, String> {
        let key = match s.algorithm {
            JwtAlgorithm::Hs256 => {
                let secret = s.secret.as_deref().ok_or("JWT_SECRET is not set")?;
                DecodingKey::from_secret(secret.as_bytes())
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                let path = s.public_key.as_ref().ok_or("JWT_PUBLIC_KEY is not set")?;
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read JWT_PUBLIC_KEY {}: {e}", path.display()))?;
                let key = if s.algorithm == JwtAlgorithm::Rs256 {
                    DecodingKey::from_rsa_pem(&pem)
                } else {
                    DecodingKey::from_ec_pem(&pem)
                };
                key.map_err(|e| {
                    format!("JWT_PUBLIC_KEY {} is not a usable key: {e}", path.display())
                })?
            }
        };
        let mut validation = Validation::new(s.algorithm.algorithm());
        validation.set_issuer(&[&s.issuer]);
        validation.set_audience(&[&s.audience]);
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(JwtVerifier { key, validation })
    }

    /// Decodes and checks a token, then turns its claims into a `Principal`.
    pub fn verify(&self, token: &str) -> Result<Principal, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Invalid("too long".into()));
        }
        let data = decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| JwtError::Invalid(describe(&e)))?;
        principal_from(data.claims)
    }
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => "expired".into(),
        K::ImmatureSignature => "not valid yet (nbf)".into(),
        K::InvalidSignature => "bad signature".into(),
        K::InvalidAlgorithm | K::InvalidAlgorithmName => "algorithm not accepted".into(),
        K::InvalidIssuer => "wrong issuer".into(),
        K::InvalidAudience => "wrong audience".into(),
        K::MissingRequiredClaim(c) => format!("missing claim {c}"),
        K::InvalidToken | K::Base64(_) | K::Json(_) | K::Utf8(_) => "malformed".into(),
        _ => "not accepted".into(),
    }
}

fn principal_from(c: Claims) -> Result<Principal, JwtError> {
    if c.sub.trim().is_empty() {
        return Err(JwtError::Claims("sub is empty".into()));
    }
    // The subject is written as the actor of every change; PostgreSQL's text cannot hold NUL.
    if c.sub.contains('\0') {
        return Err(JwtError::Claims("sub contains the NUL character".into()));
    }
    let role: Role = c.role.parse().map_err(JwtError::Claims)?;
    let mut municipalities = Vec::new();
    for a in c.ags.unwrap_or_default() {
        municipalities
            .push(Ags::parse(&a).map_err(|e| JwtError::Claims(format!("ags {a:?} {e}")))?);
    }
    if role == Role::Applicant && municipalities.is_empty() {
        return Err(JwtError::Claims(
            "an applicant token must list its municipalities in `ags`".into(),
        ));
    }
    let name = match c.name.map(|n| n.trim().to_owned()) {
        Some(n) if n.is_empty() => None,
        Some(n) if n.chars().count() > 200 || n.chars().any(char::is_control) => {
            return Err(JwtError::Claims(
                "name must be at most 200 characters without control characters".into(),
            ));
        }
        other => other,
    };
    let mut p = Principal::new(c.sub, role, municipalities);
    p.name = name;
    Ok(p)
}

/// Mints an HS256 development token (`foerderakte token`).
pub fn mint_hs256(
    s: &JwtSettings,
    sub: &str,
    role: Role,
    ags: &[Ags],
    ttl_secs: u64,
) -> Result<String, String> {
    mint_hs256_named(s, sub, None, role, ags, ttl_secs)
}

/// `mint_hs256` with the person's `name` claim.
pub fn mint_hs256_named(
    s: &JwtSettings,
    sub: &str,
    name: Option<&str>,
    role: Role,
    ags: &[Ags],
    ttl_secs: u64,
) -> Result<String, String> {
    if s.algorithm != JwtAlgorithm::Hs256 {
        return Err(format!(
            "tokens can only be minted for HS256; this service is configured for {} (its tokens come from the identity provider)",
            s.algorithm
        ));
    }
    let secret = s.secret.as_deref().ok_or("JWT_SECRET is not set")?;
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: sub.to_owned(),
        role: role.as_str().to_owned(),
        ags: (!ags.is_empty()).then(|| ags.iter().map(|a| a.as_str().to_owned()).collect()),
        iss: s.issuer.clone(),
        aud: serde_json::Value::String(s.audience.clone()),
        exp: now + ttl_secs,
        nbf: Some(now),
        iat: Some(now),
        name: name.map(str::to_owned),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| e.to_string())
}
