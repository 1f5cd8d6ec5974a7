//! The handler toolkit: who calls and when (`Caller`), the one clock every request reads
//! (`RequestClock`), and what a refused write answers (`From<WriteError> for ApiError`).
//!
//! A handler reads like a list: extract the `Caller`, `caller.require(policy)` (403), call
//! persistence with `caller.scope()` or `caller.writer()`, `?` the refusal, respond.

use std::future::{Ready, ready};
use std::sync::{Arc, RwLock};

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use chrono::{Duration, NaiveDateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use super::dto::field_errors;
use crate::auth::Principal;
use crate::domain::{Refusal, Role};
use crate::error::ApiError;
use crate::persistence::applications::{Scope, WriteError, Writer};
use crate::persistence::idempotency::{Created, Idempotency, KeyRefusal, Work};
use crate::persistence::{AnyConnection, Pool};

/// Where the instant of a request comes from: the system clock, fixed at an instant, or the
/// system clock shifted by a duration. One is registered in app data by `startup`; clones
/// share the setting, so a test can fix or shift the time of a running server. (Not to be
/// confused with `domain::Clock`, the processing clock of a case.)
#[derive(Debug, Clone, Default)]
pub struct RequestClock {
    mode: Arc<RwLock<Mode>>,
}

#[derive(Debug, Clone, Copy, Default)]
enum Mode {
    #[default]
    System,
    Fixed(NaiveDateTime),
    Shifted(Duration),
}

impl RequestClock {
    /// The system clock.
    pub fn system() -> Self {
        RequestClock::default()
    }

    /// Every request from now on happens at `at`.
    pub fn fix(&self, at: NaiveDateTime) {
        self.set(Mode::Fixed(at));
    }

    /// Every request from now on happens `by` after the system time.
    pub fn shift(&self, by: Duration) {
        self.set(Mode::Shifted(by));
    }

    /// Moves the clock `by` ahead of where it is: a fixed clock stays fixed, later.
    pub fn advance(&self, by: Duration) {
        let mut mode = self.mode.write().unwrap_or_else(|e| e.into_inner());
        *mode = match *mode {
            Mode::System => Mode::Shifted(by),
            Mode::Fixed(t) => Mode::Fixed(t + by),
            Mode::Shifted(d) => Mode::Shifted(d + by),
        };
    }

    /// Back to the system clock.
    pub fn reset(&self) {
        self.set(Mode::System);
    }

    /// The current instant in UTC, in microseconds: what both databases store exactly.
    pub fn now(&self) -> NaiveDateTime {
        let mode = *self.mode.read().unwrap_or_else(|e| e.into_inner());
        let t = match mode {
            Mode::System => Utc::now().naive_utc(),
            Mode::Fixed(t) => t,
            Mode::Shifted(d) => Utc::now().naive_utc() + d,
        };
        t.trunc_subsecs(6)
    }

    fn set(&self, mode: Mode) {
        *self.mode.write().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// The clock in the app data, or the system clock when none is registered.
    fn of(req: &HttpRequest) -> NaiveDateTime {
        req.app_data::<web::Data<RequestClock>>()
            .map_or_else(|| RequestClock::system().now(), |c| c.now())
    }
}

/// The authenticated caller of a request (401 when the token is missing or bad, as
/// `Principal`), its municipality keys, the request's instant and the connection pool its
/// database work runs on (`Caller::db`).
#[derive(Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The keys of the municipalities an applicant acts for (empty for staff).
    pub keys: Vec<String>,
    /// When the request happens (from `RequestClock`, microseconds).
    pub now: NaiveDateTime,
    pool: web::Data<Pool>,
    limits: web::Data<super::limits::Limits>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("principal", &self.principal)
            .field("keys", &self.keys)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Caller {
    pub fn new(
        principal: Principal,
        now: NaiveDateTime,
        pool: web::Data<Pool>,
        limits: web::Data<super::limits::Limits>,
    ) -> Self {
        let keys = principal
            .municipalities
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        Caller {
            principal,
            keys,
            now,
            pool,
            limits,
        }
    }

    /// A turn for an expensive operation (`http::limits`): take it after authorization and
    /// hold it while the work runs; 503 with `Retry-After` when none is free in time.
    pub async fn heavy(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        self.limits.heavy().await
    }

    /// A turn for an expensive operation that runs beyond the request (a verify run).
    pub async fn heavy_owned(&self) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        self.limits.heavy_owned().await
    }

    /// The German civil date of the request (Europe/Berlin), for every calendar decision.
    pub fn today(&self) -> chrono::NaiveDate {
        crate::domain::calendar::german_date(self.now)
    }

    /// Runs the request's database work (`http::db`) with a pooled connection and the caller.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: Fn(&mut AnyConnection, &Caller) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let caller = self.clone();
        super::db(&self.pool, move |conn| f(conn, &caller)).await
    }

    /// Refuses with 403 unless the caller has one of the roles.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        self.principal.require(roles)
    }

    /// What the caller may read.
    pub fn scope(&self) -> Scope<'_> {
        Scope::for_role(self.principal.role, &self.keys)
    }

    /// Who writes, and when. The one place a `Writer` is built.
    pub fn writer(&self) -> Writer<'_> {
        Writer {
            subject: &self.principal.subject,
            role: self.principal.role,
            municipalities: &self.keys,
            now: self.now,
            new_id: None,
            name: self.principal.name.as_deref(),
        }
    }

    /// The caller as the actor of an audited write on a record without a status (programmes,
    /// base rates, delivery rules).
    pub fn actor(&self) -> crate::persistence::programmes::Actor<'_> {
        crate::persistence::programmes::Actor {
            subject: &self.principal.subject,
            role: self.principal.role.as_str(),
            now: self.now,
        }
    }

    /// Runs a create's `work` once per `Idempotency-Key` of the caller (without a key: once),
    /// in one transaction with the key (`persistence::idempotency::once`). `work` returns the
    /// record, its id and the response body; `status` is what the response answers.
    pub fn once<T>(
        &self,
        conn: &mut AnyConnection,
        idem: &Idempotent,
        status: StatusCode,
        work: &mut Work<'_, T, ApiError>,
    ) -> Result<Created<T>, ApiError> {
        crate::persistence::idempotency::once(
            conn,
            &self.principal.subject,
            self.now,
            idem.key(),
            status.as_u16(),
            work,
        )
    }

    /// Whether the caller acts for the municipality `ags`.
    pub fn acts_for(&self, ags: &str) -> bool {
        self.keys.iter().any(|k| k == ags)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = Principal::from_request(req, payload).into_inner();
        ready(principal.and_then(|p| Caller::for_principal(req, p)))
    }
}

impl Caller {
    /// The caller of a request whose principal is already verified (the bearer token by the
    /// extractor, the dashboard's session cookie by `http::dashboard`).
    pub fn for_principal(req: &HttpRequest, principal: Principal) -> Result<Caller, ApiError> {
        let (pool, limits) = app_parts(req)?;
        Ok(Caller::new(principal, RequestClock::of(req), pool, limits))
    }
}

/// The connection pool and the bounds of expensive work, from the app data (also for a
/// request without a caller: open data).
pub(crate) fn app_parts(
    req: &HttpRequest,
) -> Result<(web::Data<Pool>, web::Data<super::limits::Limits>), ApiError> {
    let pool = req
        .app_data::<web::Data<Pool>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("no connection pool in the app data"))?;
    let limits = req
        .app_data::<web::Data<super::limits::Limits>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("no limits in the app data"))?;
    Ok((pool, limits))
}

/// The 404 of an application (case) that does not exist or that the caller may not see.
pub fn no_application(id: &str) -> ApiError {
    ApiError::NotFound(format!("no application {id}"))
}

/// A refused write and its answer. A missing record is named by the error itself.
impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound(what) => ApiError::NotFound(what),
            WriteError::Forbidden(m) => ApiError::Forbidden(m),
            WriteError::Stale => ApiError::PreconditionFailed(
                "the case has changed since you read it; GET it again and retry with its ETag"
                    .into(),
            ),
            WriteError::Precondition(m) => ApiError::PreconditionFailed(m),
            WriteError::Refused(r @ Refusal::Role { .. }) => ApiError::Forbidden(r.to_string()),
            WriteError::Refused(r @ Refusal::State { .. }) => ApiError::Conflict(r.to_string()),
            WriteError::Conflict(m) => ApiError::Conflict(m),
            WriteError::Invalid(vs) => ApiError::Validation(field_errors(vs)),
            WriteError::KeyReused => ApiError::Unprocessable(
                "this Idempotency-Key was used before with a different request body".into(),
            ),
            WriteError::Db(e) => e.into(),
        }
    }
}

/// A request's `Idempotency-Key` cannot be honoured: used with another request (422), or its
/// first request holds it (409).
impl From<KeyRefusal> for ApiError {
    fn from(r: KeyRefusal) -> Self {
        WriteError::from(r).into()
    }
}

/// The `Idempotency-Key` header, if any: 1 to 255 visible ASCII characters.
pub(crate) fn idempotency_key(req: &actix_web::HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .ok()
        .filter(|s| (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
        })?;
    Ok(Some(v.to_owned()))
}

/// A create's `Idempotency-Key` (if sent) and the SHA-256 of what it asks for: the operation,
/// its path parameters and its body as the server read it, serialised again (canonical: the
/// white space and field order of the bytes sent do not matter, an absent optional field is
/// the same as null). The same key with another operation, path or body is refused (422).
#[derive(Debug, Clone)]
pub struct Idempotent {
    key: Option<String>,
    hash: String,
}

impl Idempotent {
    pub(crate) fn of(
        req: &HttpRequest,
        operation: &str,
        request: &impl serde::Serialize,
    ) -> Result<Idempotent, ApiError> {
        let key = idempotency_key(req)?;
        let canonical = serde_json::to_vec(&(operation, request)).map_err(ApiError::internal)?;
        Ok(Idempotent {
            key,
            hash: format!("{:x}", Sha256::digest(canonical)),
        })
    }

    /// For `persistence::idempotency::once`.
    pub(crate) fn key(&self) -> Option<Idempotency<'_>> {
        self.key.as_deref().map(|key| Idempotency {
            key,
            request_hash: &self.hash,
        })
    }
}

/// A create's response body, the JSON of `dto`.
pub(crate) fn body_of(dto: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string(dto).map_err(ApiError::internal)
}

/// The answer of a create: `status` (a replay: the first answer's) with the JSON body, a
/// `Location` if `location` gives one for the new record's id, and `Idempotent-Replayed:
/// true` on a replay.
pub(crate) fn created_response<T>(
    created: Created<T>,
    status: StatusCode,
    location: impl Fn(&str) -> Option<String>,
) -> HttpResponse {
    let (status, body, id, replayed) = match created {
        Created::New { id, body, .. } => (status, body, id, false),
        Created::Replay { status, body, id } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            body,
            id,
            true,
        ),
    };
    let mut resp = HttpResponse::build(status);
    if let Some(l) = location(&id) {
        resp.insert_header((header::LOCATION, l));
    }
    if replayed {
        resp.insert_header(("Idempotent-Replayed", "true"));
    }
    resp.content_type("application/json").body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_answers_its_instant_in_microseconds() {
        let clock = RequestClock::system();
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789)
            .unwrap()
            .naive_utc();
        clock.clone().fix(at);
        assert_eq!(clock.now(), at.trunc_subsecs(6));
        clock.shift(Duration::days(-1));
        let shifted = clock.now();
        assert!(shifted < Utc::now().naive_utc() - Duration::hours(23));
        clock.reset();
        assert!(clock.now() > shifted + Duration::hours(23));
    }
}
