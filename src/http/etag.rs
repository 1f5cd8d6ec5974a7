//! Optimistic concurrency: every GET of a versioned resource returns `ETag: "<version>"`, and
//! every write requires `If-Match` with it (428 without, 412 when stale).

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The `ETag` header of a resource at `version`, for `insert_header`.
pub fn header(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, etag(version))
}

/// The version named by `If-Match`.
pub fn if_match(req: &HttpRequest) -> Result<i32, ApiError> {
    let value = req.headers().get(header::IF_MATCH).ok_or_else(|| {
        ApiError::PreconditionRequired(
            "this write needs If-Match with the ETag of your last GET".into(),
        )
    })?;
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or_else(|| {
            ApiError::PreconditionFailed("If-Match does not name a version of this resource".into())
        })
}
