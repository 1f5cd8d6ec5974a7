//! Request id, metrics and the guarantee that every error leaves as problem+json.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};

use super::metrics::{Metrics, UNMATCHED};
use crate::error::{ApiError, PROBLEM_JSON, Problem};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, for log lines.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's request id if it is short printable ASCII; otherwise makes one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Wraps every request: assigns the request id, records metrics by route pattern, and turns
/// any error answer that is not problem+json (actix's own 404s, 405s, payload errors) into one.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    // Errors that inner services return instead of a response are rare in actix (handlers'
    // errors are already responses); actix renders them after this point.
    let res = next.call(req).await?.map_into_boxed_body();
    let mut res = ensure_problem(res);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| UNMATCHED.to_owned());
        m.observe(
            res.request().method().as_str(),
            &route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// Refuses with 400 a request whose path or query encodes the NUL character (`%00`, the only
/// way to put one into a URI): no key, id, code or filter of the API contains one, and
/// PostgreSQL cannot compare `text` with it. (`json::Json` does the same for bodies.)
pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let encoded = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    if encoded.contains("%00") {
        return Ok(req.error_response(ApiError::BadRequest(
            "the path or query contains the NUL character (%00)".into(),
        )));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn ensure_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    // A problem already, or a page of the dashboard (`http::dashboard`), which answers its
    // errors as German HTML pages for a browser.
    let shaped = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("text/html"));
    if shaped {
        return res;
    }
    res.map_into_response(|old| {
        let mut resp = problem_response(status);
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                resp.headers_mut().insert(name.clone(), value.clone());
            }
        }
        resp
    })
}

/// A generic problem for a status we did not produce ourselves.
fn problem_response(status: StatusCode) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error").to_owned();
    let problem = Problem {
        type_: format!("/problems/http-{}", status.as_u16()),
        detail: title.clone(),
        title,
        status: status.as_u16(),
        errors: None,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(serde_json::to_vec(&problem).unwrap_or_default())
}

/// Moves the body-less answer into a `HttpResponse` keeping the request (for `map_into_response`).
pub(crate) trait MapIntoResponse {
    fn map_into_response(self, f: impl FnOnce(&HttpResponse<BoxBody>) -> HttpResponse) -> Self;
}

impl MapIntoResponse for ServiceResponse<BoxBody> {
    fn map_into_response(self, f: impl FnOnce(&HttpResponse<BoxBody>) -> HttpResponse) -> Self {
        let (req, old) = self.into_parts();
        let new = f(&old);
        ServiceResponse::new(req, new)
    }
}
