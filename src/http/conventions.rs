//! The HTTP conventions clients expect (issue 18), as middleware around every route: HEAD on
//! every GET route, conditional GET (`If-None-Match` → 304), CORS for a configured allowlist,
//! and a per-caller rate limit. (Compression is actix's `Compress`; `Retry-After` on every 503
//! is `error::ApiError`'s.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use super::middleware::MapIntoResponse;
use crate::error::ApiError;

/// HEAD is answered as the GET of the same URL without its body (RFC 9110 § 9.3.2): the route
/// runs as GET, and actix-http writes the GET's status and headers (`Content-Length`
/// included) and no body for a HEAD request.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Whether `If-None-Match` names the current representation: `*`, or one of its tags equal
/// to the ETag under the weak comparison (RFC 9110 § 13.1.2, § 8.8.3.2: `W/` ignored).
fn none_match_hits(if_none_match: &str, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let current = opaque(etag);
    if_none_match.trim() == "*" || if_none_match.split(',').any(|t| opaque(t) == current)
}

/// A GET (or HEAD) whose `If-None-Match` names the representation's ETag is answered 304 Not
/// Modified with the headers the 200 would have had (ETag, Cache-Control, Vary, …) and no
/// body (RFC 9110 § 15.4.5): a client that polls a case or a budget transfers nothing while
/// it is unchanged.
pub async fn conditional_get(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let if_none_match = (req.method() == Method::GET)
        .then(|| req.headers().get(header::IF_NONE_MATCH).cloned())
        .flatten()
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(inm) = if_none_match else {
        return Ok(res);
    };
    let hit = res.status() == StatusCode::OK
        && res
            .headers()
            .get(header::ETAG)
            .and_then(|e| e.to_str().ok())
            .is_some_and(|etag| none_match_hits(&inm, etag));
    if !hit {
        return Ok(res);
    }
    Ok(res.map_into_response(|old| {
        let mut not_modified = HttpResponse::NotModified().finish();
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                not_modified
                    .headers_mut()
                    .append(name.clone(), value.clone());
            }
        }
        not_modified
    }))
}

/// The CORS middleware for the configured origins (`CORS_ALLOWED_ORIGINS`): browsers on those
/// origins may call the API with the headers it uses and read the headers it answers with;
/// a preflight from any other origin is refused. Without origins, nothing cross-origin is
/// allowed (the middleware then only refuses preflights).
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::ACCEPT,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// A fixed-window request count per caller (`RATE_LIMIT_PER_MINUTE`): the caller is the bearer
/// token (by its SHA-256, so no token is kept) or, without one, the peer address. The probes
/// and `/metrics` are not counted. Over the limit: 429 problem+json with `Retry-After` (the
/// seconds until the window ends). Per instance: behind a load balancer each instance counts
/// its own share.
pub struct RateLimit {
    per_minute: Option<u32>,
    windows: Mutex<HashMap<[u8; 32], (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimit {
    pub fn new(per_minute: Option<u32>) -> RateLimit {
        RateLimit {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `caller` at `now`: `Err(seconds)` to wait when over the limit.
    pub fn count(&self, caller: [u8; 32], now: Instant) -> Result<(), u64> {
        let Some(limit) = self.per_minute else {
            return Ok(());
        };
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, n) = windows.entry(caller).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            (*start, *n) = (now, 0);
        }
        if *n >= limit {
            let left = WINDOW.saturating_sub(now.duration_since(*start));
            return Err(left.as_secs().max(1));
        }
        *n += 1;
        Ok(())
    }
}

fn caller_key(req: &ServiceRequest) -> [u8; 32] {
    let mut h = Sha256::new();
    match req.headers().get(header::AUTHORIZATION) {
        Some(auth) => {
            h.update(b"token:");
            h.update(auth.as_bytes());
        }
        None => {
            h.update(b"peer:");
            let peer = req.peer_addr().map(|a| a.ip().to_string());
            h.update(peer.unwrap_or_default().as_bytes());
        }
    }
    h.finalize().into()
}

pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let exempt = req.path().starts_with("/health/") || req.path() == "/metrics";
    let limit = req.app_data::<web::Data<RateLimit>>().cloned();
    if let (false, Some(limit)) = (exempt, limit)
        && let Err(wait) = limit.count(caller_key(&req), Instant::now())
    {
        let e = ApiError::TooManyRequests {
            detail: format!(
                "more than {} requests in a minute; try again in {wait} s",
                limit.per_minute.unwrap_or(0)
            ),
            retry_after: u32::try_from(wait).unwrap_or(60),
        };
        return Ok(req.error_response(e));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_star_matches() {
        assert!(none_match_hits("\"3\"", "\"3\""));
        assert!(none_match_hits("W/\"3\"", "\"3\""));
        assert!(none_match_hits("\"1\", \"3\"", "\"3\""));
        assert!(none_match_hits("*", "\"3\""));
        assert!(!none_match_hits("\"4\"", "\"3\""));
        assert!(!none_match_hits("\"30\"", "\"3\""));
    }

    #[test]
    fn a_caller_gets_its_limit_per_minute_and_then_the_seconds_to_wait() {
        let limit = RateLimit::new(Some(3));
        let t0 = Instant::now();
        let (a, b) = ([1; 32], [2; 32]);
        for _ in 0..3 {
            assert_eq!(limit.count(a, t0), Ok(()));
        }
        assert_eq!(limit.count(a, t0 + Duration::from_secs(15)), Err(45));
        assert_eq!(
            limit.count(b, t0),
            Ok(()),
            "another caller has its own count"
        );
        assert_eq!(limit.count(a, t0 + WINDOW), Ok(()), "a new window");
        assert_eq!(RateLimit::new(None).count(a, t0), Ok(()));
    }
}
