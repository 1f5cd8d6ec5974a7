//! The audit log (admin): read it, verify it against the rows, sign checkpoints.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::{Caller, Idempotent, body_of, created_response};
use super::dto::AuditEventDto;
use super::pagination::{self, Page};
use crate::auth::policy;
use crate::domain::calendar::instant_problem;
use crate::error::{ApiError, Problem};
use crate::persistence::audit as repo;
use crate::persistence::verify::{self as check, VerifyReport};
use crate::persistence::{Pool, checkpoints};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries at or after this time (RFC 3339).
    #[serde(default, deserialize_with = "crate::http::strict::instant_option")]
    pub since: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The append-only audit log, oldest first.
#[utoipa::path(
    operation_id = "list_audit_entries",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = Page<AuditEventDto>),
    )
)]
#[get("/audit")]
pub async fn list(caller: Caller, query: web::Query<AuditQuery>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_AUDIT)?;
    let q = query.into_inner();
    let limit = pagination::limit(q.limit)?;
    let after = q
        .cursor
        .as_deref()
        .map(pagination::decode)
        .transpose()?
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| ApiError::validation("cursor", "is not a cursor this API issued"))
        })
        .transpose()?;
    if let Some(problem) = q.since.and_then(instant_problem) {
        return Err(ApiError::validation("since", problem));
    }
    let since = q.since.map(|s| s.naive_utc());
    let rows = caller
        .db(move |conn, _| Ok(repo::list(conn, since, after, limit + 1)?))
        .await?;
    let page = pagination::page(rows, limit, |e| e.id.to_string(), AuditEventDto::from);
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// Seconds to wait for a run to finish before answering 202 with its progress (0–60,
    /// default 20).
    #[param(minimum = 0, maximum = 60)]
    pub wait: Option<u64>,
    /// `true`: start from the last checkpoint a full run verified, and reconcile only the
    /// records written since (seconds on a large log). Default: a full run.
    pub incremental: Option<bool>,
}

/// The verify runs of this instance: at most one at a time; a result nobody has seen yet
/// (its run outlasted the request that started it) is kept for the next request.
#[derive(Default)]
pub struct VerifyRuns {
    state: Mutex<RunsState>,
    done: Condvar,
}

impl VerifyRuns {
    /// Whether a run is going.
    fn running(&self) -> bool {
        let st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.running.is_some()
    }
}

#[derive(Default)]
struct RunsState {
    running: Option<Arc<AtomicU64>>,
    unseen: Option<Result<VerifyReport, String>>,
    generation: u64,
}

/// A verify run still going.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyProgress {
    /// `running`
    pub state: String,
    pub entries_checked: u64,
}

/// Verifies the whole audit log: the keyed chain from its first entry, every checkpoint,
/// every stored notice document, and every row of every audited table against the state the
/// log gives it (docs/audit.md). Starts a run unless one is going and answers with its result
/// within `wait` seconds, else 202 with its progress; ask again for the result.
#[utoipa::path(
    operation_id = "verify_audit_log",
    tag = "audit",
    params(VerifyQuery),
    responses(
        (status = 200, description = "the log and the rows verify", body = VerifyReport),
        (status = 202, description = "a run is going; ask again", body = VerifyProgress),
        (status = 409, description = "something does not verify; `findings` names each difference (table, record, field)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audit/verify")]
pub async fn verify(
    caller: Caller,
    query: web::Query<VerifyQuery>,
    runs: web::Data<VerifyRuns>,
    pool: web::Data<Pool>,
) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_AUDIT)?;
    let wait = query.wait.unwrap_or(20);
    if wait > 60 {
        return Err(ApiError::validation("wait", "must lie between 0 and 60"));
    }
    let extent = match query.incremental.unwrap_or(false) {
        true => check::Extent::SinceVerified,
        false => check::Extent::Full,
    };
    let runs = runs.into_inner();
    // A new run is expensive work (`http::limits`); waiting for one that is going is not.
    let turn = match runs.running() {
        true => None,
        false => Some(caller.heavy_owned().await?),
    };
    let wait = Duration::from_secs(wait);
    let outcome = web::block(move || start_or_wait(&runs, &pool, extent, wait, turn))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    match outcome {
        Outcome::Running(n) => Ok(HttpResponse::Accepted()
            .insert_header((header::RETRY_AFTER, "5"))
            .json(VerifyProgress {
                state: "running".into(),
                entries_checked: n,
            })),
        Outcome::Done(Err(e)) => Err(ApiError::internal(e)),
        Outcome::Done(Ok(report)) if report.ok => Ok(HttpResponse::Ok().json(report)),
        Outcome::Done(Ok(report)) => Ok(not_verified(&report)),
    }
}

enum Outcome {
    Running(u64),
    Done(Result<VerifyReport, String>),
}

fn start_or_wait(
    runs: &Arc<VerifyRuns>,
    pool: &Pool,
    extent: check::Extent,
    wait: Duration,
    turn: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Outcome {
    let mut st = runs.state.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = st.unseen.take() {
        return Outcome::Done(r);
    }
    if st.running.is_none() {
        let progress = Arc::new(AtomicU64::new(0));
        st.running = Some(progress.clone());
        st.generation += 1;
        let (runs2, pool) = (runs.clone(), pool.clone());
        std::thread::spawn(move || {
            let result = run_verify(&pool, extent, &progress);
            drop(turn);
            let mut st = runs2.state.lock().unwrap_or_else(PoisonError::into_inner);
            st.running = None;
            st.unseen = Some(result);
            runs2.done.notify_all();
        });
    }
    let generation = st.generation;
    let (mut st, _) = runs
        .done
        .wait_timeout_while(st, wait, |s| {
            s.running.is_some() && s.generation == generation
        })
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(r) = st.unseen.take() {
        return Outcome::Done(r);
    }
    Outcome::Running(st.running.as_ref().map_or(0, |p| p.load(Ordering::Relaxed)))
}

fn run_verify(
    pool: &Pool,
    extent: check::Extent,
    progress: &AtomicU64,
) -> Result<VerifyReport, String> {
    let keys = repo::keys().map_err(|e| e.to_string())?;
    crate::persistence::checkout::run(pool, |conn| {
        check::verify_and_record(conn, &keys, &[], extent, &|n| {
            progress.store(n, Ordering::Relaxed)
        })
        .map_err(|e| VerifyFailed(format!("verify: {e}")))
    })
    .map_err(|e| e.0)
}

/// A verify run that could not finish (the database, not a finding), as its message.
struct VerifyFailed(String);

impl From<crate::persistence::PoolError> for VerifyFailed {
    fn from(e: crate::persistence::PoolError) -> Self {
        VerifyFailed(e.to_string())
    }
}

/// 409 problem+json naming every finding (the first 200; `findings_total` counts all).
fn not_verified(report: &VerifyReport) -> HttpResponse {
    let first = report.findings.first();
    let detail = format!(
        "the audit log or the rows do not verify: {} finding(s){}",
        report.findings_total,
        first.map_or(String::new(), |f| format!(
            "; first: {} {} {}{}: {}",
            f.kind,
            f.table,
            f.record,
            f.field
                .as_deref()
                .map_or(String::new(), |x| format!(" {x}")),
            f.detail
        ))
    );
    let body = serde_json::json!({
        "type": "/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": detail,
        "findings_total": report.findings_total,
        "findings": report.findings,
        "entries_checked": report.entries_checked,
        "head_seq": report.head_seq,
    });
    HttpResponse::Conflict()
        .content_type("application/problem+json")
        .body(body.to_string())
}

/// Signs the chain's current head as a checkpoint and stores it (for publication:
/// `foerderakte audit checkpoint`). With `Idempotency-Key`, a retry gets the first response
/// (the checkpoint of the head then), even if the log has grown since.
#[utoipa::path(
    operation_id = "create_audit_checkpoint",
    tag = "audit",
    params(
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "makes a retry safe; 1 to 255 visible ASCII characters",
            pattern = "^[!-~]{1,255}$"
        ),
    ),
    responses(
        (status = 201, body = CheckpointDto),
    )
)]
#[post("/audit/checkpoints")]
pub async fn checkpoint(caller: Caller, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    caller.require(policy::READ_AUDIT)?;
    let idem = Idempotent::of(&req, "create_audit_checkpoint", &())?;
    let created = caller
        .db(move |conn, caller| {
            crate::persistence::seal::seal_all(conn, caller.now)?;
            caller.once(conn, &idem, StatusCode::CREATED, &mut |conn| {
                let cp = CheckpointDto::from(checkpoints::sign_head(conn, caller.now)?);
                Ok(((), cp.seq.to_string(), body_of(&cp)?))
            })
        })
        .await?;
    Ok(created_response(created, StatusCode::CREATED, |_| None))
}

/// A signed checkpoint as published.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointDto {
    pub seq: i64,
    pub head_mac: String,
    pub created_at: DateTime<Utc>,
    /// Made by a full verify run that found the log intact up to it.
    pub verified: bool,
    pub key_id: String,
    pub mac: String,
}

impl From<checkpoints::Checkpoint> for CheckpointDto {
    fn from(c: checkpoints::Checkpoint) -> Self {
        CheckpointDto {
            seq: c.seq,
            head_mac: c.head_mac,
            created_at: c.created_at.and_utc(),
            verified: c.verified,
            key_id: c.key_id,
            mac: c.mac,
        }
    }
}
