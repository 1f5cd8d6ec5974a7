//! JWT decoding with exactly one configured algorithm, issuer and audience.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::config::{JwtAlgorithm, JwtSettings};
use crate::domain::{Ags, Role};

use super::Principal;
use super::subject::{invisible_character, subject_problem};

impl JwtAlgorithm {
    fn algorithm(self) -> Algorithm {
        match self {
            JwtAlgorithm::Hs256 => Algorithm::HS256,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
            JwtAlgorithm::Es256 => Algorithm::ES256,
        }
    }
}

/// The claims this service reads. `iss`, `aud`, `exp` and `sub` are required; `nbf` and `iat`
/// are checked when present; `ags` is required for applicants.
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
    /// `JWT_MAX_TTL`.
    max_ttl_secs: u64,
}

/// Clock skew tolerated between the identity provider and this service, in seconds: for
/// `exp`, `nbf`, `iat` and the lifetime measured from now.
pub const LEEWAY_SECS: u64 = 30;

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
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(JwtVerifier {
            key,
            validation,
            max_ttl_secs: s.max_ttl_secs,
        })
    }

    /// Decodes and checks a token, then turns its claims into a `Principal`.
    pub fn verify(&self, token: &str) -> Result<Principal, JwtError> {
        self.verify_until(token).map(|(p, _)| p)
    }

    /// As `verify`, with the token's expiry (`exp`, seconds since the epoch): the dashboard's
    /// session lives as long as the token it was opened with.
    pub fn verify_until(&self, token: &str) -> Result<(Principal, u64), JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Invalid("too long".into()));
        }
        let data = decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| JwtError::Invalid(describe(&e)))?;
        // RFC 7515 § 4.1.6: a recipient that does not understand an extension `crit` names
        // must refuse the token; this service understands none.
        if data.header.crit.is_some() {
            return Err(JwtError::Invalid(
                "the header has `crit`: no critical extension is supported".into(),
            ));
        }
        check_lifetime(
            &data.claims,
            jsonwebtoken::get_current_timestamp(),
            self.max_ttl_secs,
        )?;
        let exp = data.claims.exp;
        Ok((principal_from(data.claims)?, exp))
    }
}

/// The times the library does not check (it checks `exp` and `nbf`): `iat` not in the future
/// (RFC 7519 § 4.1.6 leaves it to the application), and a lifetime of at most `max_ttl`,
/// measured as `exp − iat` when the token says when it was issued and always as `exp − now`,
/// so that a token without `iat` cannot live longer either. A stolen token is useful only
/// until it expires (OWASP JWT Cheat Sheet: short-lived tokens).
fn check_lifetime(c: &Claims, now: u64, max_ttl: u64) -> Result<(), JwtError> {
    if let Some(iat) = c.iat {
        if iat > now.saturating_add(LEEWAY_SECS) {
            return Err(JwtError::Claims("iat lies in the future".into()));
        }
        if c.exp < iat {
            return Err(JwtError::Claims("exp lies before iat".into()));
        }
        if c.exp - iat > max_ttl {
            return Err(JwtError::Claims(format!(
                "the token lives longer (exp − iat) than the {max_ttl} s this service accepts"
            )));
        }
    }
    if c.exp.saturating_sub(now) > max_ttl.saturating_add(LEEWAY_SECS) {
        return Err(JwtError::Claims(format!(
            "the token expires more than {max_ttl} s from now"
        )));
    }
    Ok(())
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
    // The subject is the actor of every change and what the four-eyes rule compares.
    if let Some(problem) = subject_problem(&c.sub) {
        return Err(JwtError::Claims(problem));
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
        Some(n) if n.chars().count() > 200 || invisible_character(&n).is_some() => {
            return Err(JwtError::Claims(
                "name must be at most 200 characters without control or invisible characters"
                    .into(),
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
    if ttl_secs > s.max_ttl_secs {
        return Err(format!(
            "a lifetime of {ttl_secs} s exceeds JWT_MAX_TTL ({} s)",
            s.max_ttl_secs
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64, iat: Option<u64>) -> Claims {
        Claims {
            sub: "s".into(),
            role: "admin".into(),
            ags: None,
            iss: "i".into(),
            aud: serde_json::Value::Null,
            exp,
            nbf: None,
            iat,
            name: None,
        }
    }

    #[test]
    fn the_lifetime_is_bounded_from_iat_and_from_now() {
        let now = 1_800_000_000;
        let day = 86_400;
        let ok = |exp, iat| check_lifetime(&claims(exp, iat), now, day).is_ok();
        assert!(ok(now + day, Some(now)));
        assert!(ok(now + day, None));
        assert!(ok(now + 60, Some(now + LEEWAY_SECS)));
        assert!(!ok(now + day + 1, Some(now)));
        assert!(!ok(u64::MAX, None));
        assert!(!ok(u64::MAX, Some(now)));
        assert!(!ok(now + day + LEEWAY_SECS + 1, None));
        // Issued two days ago for three days: not longer than a day from now, but its
        // lifetime is.
        assert!(!ok(now + day, Some(now - 2 * day)));
        assert!(!ok(now + 60, Some(now + LEEWAY_SECS + 1)));
        assert!(!ok(now + 60, Some(now + 120)));
    }
}
