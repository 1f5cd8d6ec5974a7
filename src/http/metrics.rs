//! Prometheus metrics: request counts and latency histograms by method, route and status,
//! the connection pool, and the process's own figures (`process`). Every label has a bounded
//! set of values (the methods of RFC 9110, the route patterns, the status codes), so that no
//! request can add series: `/metrics` stays the same size however many requests it counts.
//! With `METRICS_TOKEN` set, a scrape needs it as its bearer token.

mod process;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{ApiError, Problem};
use crate::persistence::{Pool, PoolStats};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The methods counted under their own name: those of RFC 9110 § 9 and PATCH (RFC 5789).
/// Any other (a client may send any token as a method) counts as `other`.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The `method` label of a request's method: its name if it is a standard one, else `other`.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

/// The pool `/metrics` reports on.
#[derive(Debug)]
struct PoolSource {
    pool: Pool,
    stats: Arc<PoolStats>,
}

/// Shared by all workers; a request takes the lock once to add one observation.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(&'static str, String, u16), Series>>,
    pool: Option<PoolSource>,
    /// The SHA-256 of `METRICS_TOKEN`, if set.
    token_sha256: Option<[u8; 32]>,
}

impl Metrics {
    /// Metrics that report on `pool` (its checkouts counted in `stats`) and, with a token,
    /// answer only a scrape that presents it.
    pub fn new(pool: Pool, stats: Arc<PoolStats>, token: Option<&str>) -> Metrics {
        Metrics {
            series: Mutex::default(),
            pool: Some(PoolSource { pool, stats }),
            token_sha256: token.map(sha256),
        }
    }

    /// One request. `method` is folded into a standard method or `other` (`method_label`);
    /// `route` is the matched pattern (`/api/v1/municipalities/{ags}`) or `UNMATCHED`, never
    /// the raw path, so that the label set stays bounded.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut map) = self.series.lock() else {
            return;
        };
        let s = map
            .entry((method_label(method), route.to_owned(), status))
            .or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        let slot = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        s.buckets[slot] += 1;
    }

    /// Whether the request may scrape: always without a token, else only with
    /// `Authorization: Bearer <token>` (RFC 6750 § 2.1), compared in constant time: both
    /// sides hashed, then compared byte for byte without an early exit, so that the answer's
    /// timing tells nothing about how much of a guess was right.
    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(expected) = &self.token_sha256 else {
            return true;
        };
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            // The scheme is case-insensitive (RFC 9110 § 11.1).
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or([0u8; 32], |(_, t)| sha256(t.trim()));
        bool::from(presented.ct_eq(expected))
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        if let Some(source) = &self.pool {
            render_pool(&mut out, source);
        }
        if let Some(p) = process::read() {
            render_process(&mut out, &p);
        }
        out
    }

    fn render_requests(&self, out: &mut String) {
        let Ok(map) = self.series.lock() else {
            return;
        };
        out.push_str(
            "# HELP http_requests_total Requests answered, by method, route and status.\n",
        );
        out.push_str("# TYPE http_requests_total counter\n");
        for ((method, route, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        out.push_str(
            "# HELP http_request_duration_seconds Time to answer, by method, route and status.\n",
        );
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in map.iter() {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                escape(route)
            );
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i];
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += s.buckets[BUCKETS.len()];
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
    }
}

/// One metric without labels: its help, type and value.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// The pool's connections now (r2d2's `state()`), and what its checkouts waited and how many
/// timed out since the start (`PoolStats`).
fn render_pool(out: &mut String, source: &PoolSource) {
    let state = source.pool.state();
    let idle = state.idle_connections;
    let in_use = state.connections.saturating_sub(idle);
    out.push_str(
        "# HELP db_pool_connections Open connections of the database pool, in use or idle.\n\
         # TYPE db_pool_connections gauge\n",
    );
    let _ = writeln!(out, "db_pool_connections{{state=\"in_use\"}} {in_use}");
    let _ = writeln!(out, "db_pool_connections{{state=\"idle\"}} {idle}");
    metric(
        out,
        "db_pool_max_connections",
        "gauge",
        "The pool's size (DATABASE_POOL_SIZE).",
        source.pool.max_size(),
    );
    let counts = source.stats.counts();
    out.push_str(
        "# HELP db_pool_checkout_wait_seconds Time a request waited for a database connection.\n\
         # TYPE db_pool_checkout_wait_seconds summary\n",
    );
    let _ = writeln!(
        out,
        "db_pool_checkout_wait_seconds_sum {}\ndb_pool_checkout_wait_seconds_count {}",
        counts.wait.as_secs_f64(),
        counts.checkouts
    );
    metric(
        out,
        "db_pool_timeouts_total",
        "counter",
        "Checkouts that found no connection within the timeout (answered 503).",
        counts.timeouts,
    );
}

fn render_process(out: &mut String, p: &process::ProcessFigures) {
    metric(
        out,
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time spent, in seconds.",
        p.cpu_seconds,
    );
    metric(
        out,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        p.resident_bytes,
    );
    metric(
        out,
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        p.virtual_bytes,
    );
    metric(
        out,
        "process_open_fds",
        "gauge",
        "Open file descriptors.",
        p.open_fds,
    );
    if let Some(max) = p.max_fds {
        metric(
            out,
            "process_max_fds",
            "gauge",
            "The limit of open file descriptors.",
            max,
        );
    }
    metric(
        out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch, in seconds.",
        p.start_time_seconds,
    );
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Prometheus metrics (text format). Open like the health probes unless `METRICS_TOKEN` is
/// set; then only with `Authorization: Bearer <METRICS_TOKEN>` (docs/operations.md).
#[utoipa::path(
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not present it as its bearer token",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, ApiError> {
    if !metrics.admits(&req) {
        return Err(ApiError::Unauthorized(
            "the metrics need the scrape token (METRICS_TOKEN) as the bearer token".into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_in_the_count() {
        let m = Metrics::default();
        m.observe("GET", "/x", 200, 0.0005);
        m.observe("GET", "/x", 200, 0.3);
        m.observe("GET", "/x", 200, 60.0);
        let text = m.render();
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 3"));
        assert!(text.contains("le=\"0.001\"} 1"));
        assert!(text.contains("le=\"0.5\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 3"));
    }

    #[test]
    fn invented_methods_fold_into_one_label_and_standard_ones_keep_their_name() {
        let m = Metrics::default();
        for i in 0..50 {
            m.observe(&format!("FOO{i}"), UNMATCHED, 404, 0.001);
        }
        m.observe("PATCH", "/x", 200, 0.001);
        m.observe("get", "/x", 200, 0.001);
        let text = m.render();
        assert!(text.contains(
            "http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 50"
        ));
        assert!(text.contains("http_requests_total{method=\"PATCH\",route=\"/x\""));
        // Methods are case-sensitive (RFC 9110 § 9.1): `get` is not GET.
        assert!(text.contains("http_requests_total{method=\"other\",route=\"/x\""));
        assert_eq!(text.matches("http_requests_total{").count(), 3, "{text}");
    }
}
