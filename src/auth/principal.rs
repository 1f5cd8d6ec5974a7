//! Who is calling: the authenticated principal and its extractor.

use std::future::{Ready, ready};

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use crate::domain::{Ags, Role};
use crate::error::ApiError;

use super::JwtVerifier;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// The municipalities an applicant acts for (empty for other roles).
    pub municipalities: Vec<Ags>,
    /// The person's name (the token's `name` claim), if it has one.
    pub name: Option<String>,
}

impl Principal {
    pub fn new(subject: String, role: Role, municipalities: Vec<Ags>) -> Self {
        Principal {
            subject,
            role,
            municipalities,
            name: None,
        }
    }

    /// Refuses with 403 unless the principal has one of the roles.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the role {} may not do this",
                self.role
            )))
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    if let Some(p) = req.extensions().get::<Principal>() {
        return Ok(p.clone());
    }
    let verifier = req
        .app_data::<web::Data<JwtVerifier>>()
        .ok_or_else(|| ApiError::internal("JwtVerifier missing from app data"))?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthorized("no Authorization header".into()))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not ASCII".into()))?;
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or_else(|| ApiError::Unauthorized("expected `Authorization: Bearer <token>`".into()))?;
    let principal = verifier
        .verify(token)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    req.extensions_mut().insert(principal.clone());
    Ok(principal)
}
