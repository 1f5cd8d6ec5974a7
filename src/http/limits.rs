//! Bounded work: no few requests can starve the others (docs/operations.md, "Bounds").
//!
//! - **Expensive operations** (a notice's document, the reports, audit verify) take a permit
//!   of [`Limits`] before they touch the database: at most `heavy` run at once, so at most
//!   that many pooled connections are busy with them and the rest of the pool stays for
//!   everything else. A request that does not get a permit within `heavy_wait` is answered
//!   503 with `Retry-After` instead of queueing for the pool.
//! - **`/health/ready`** has a connection of its own ([`HealthPool`]): a full pool cannot make
//!   the service look dead to its orchestrator.
//! - **A request body** must arrive within `body_timeout` of the request head
//!   ([`body_deadline`]); a body that is never finished is answered 408 and its memory freed,
//!   instead of being waited for indefinitely.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};

use crate::config::LimitSettings;
use crate::error::ApiError;
use crate::persistence::Pool;

/// The permits for expensive work and the body deadline, in the app data.
#[derive(Debug)]
pub struct Limits {
    heavy: Arc<Semaphore>,
    heavy_wait: Duration,
    body_timeout: Duration,
}

impl Limits {
    pub fn new(s: &LimitSettings) -> Limits {
        Limits {
            heavy: Arc::new(Semaphore::new(s.heavy)),
            heavy_wait: Duration::from_millis(s.heavy_wait_ms),
            body_timeout: Duration::from_secs(s.body_timeout_secs),
        }
    }

    /// A permit for one expensive operation, held until it is dropped: waits at most
    /// `heavy_wait` for one, then refuses with 503 and `Retry-After`.
    pub async fn heavy(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.heavy_wait, self.heavy.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// A permit that outlives the request (a verify run in its own thread).
    pub async fn heavy_owned(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.heavy_wait, self.heavy.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// The permits free now (for the metrics).
    pub fn heavy_available(&self) -> usize {
        self.heavy.available_permits()
    }
}

fn busy() -> ApiError {
    ApiError::Busy {
        detail: "too many documents, reports or verifications are being made at the moment; \
                 try again shortly"
            .into(),
        retry_after: 2,
    }
}

/// The readiness probe's own pool (one connection), apart from the requests' pool.
#[derive(Clone)]
pub struct HealthPool(pub Pool);

/// The message of the error a late body ends with; `errors::json_config` turns it into 408.
pub const BODY_TIMED_OUT: &str = "the request body did not arrive in time";

/// Gives every request body a deadline: the stream ends with a timed-out error once
/// `body_timeout` has passed since the request head arrived.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(limits) = req.app_data::<web::Data<Limits>>() {
        let timeout = limits.body_timeout;
        let inner = req.take_payload();
        let timed = Deadline {
            inner,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            expired: false,
        };
        let stream: Pin<Box<dyn futures_core::Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(timed);
        req.set_payload(Payload::from(stream));
    }
    next.call(req).await
}

/// A payload stream that fails with `TimedOut` at its deadline.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: bool,
}

impl futures_core::Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired = true;
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    BODY_TIMED_OUT,
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Whether a payload error is the deadline's.
pub fn timed_out(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_bound_a_request_waits_its_while_then_is_busy_with_retry_after() {
        let limits = Limits::new(&LimitSettings {
            heavy: 1,
            heavy_wait_ms: 50,
            body_timeout_secs: 1,
        });
        actix_web::rt::System::new().block_on(async {
            let first = limits.heavy().await.expect("the one turn");
            assert_eq!(limits.heavy_available(), 0);
            match limits.heavy().await {
                Err(ApiError::Busy { retry_after, .. }) => assert_eq!(retry_after, 2),
                other => panic!("{other:?}"),
            }
            assert!(matches!(
                limits.heavy_owned().await,
                Err(ApiError::Busy { .. })
            ));
            drop(first);
            let owned = limits.heavy_owned().await.expect("free again");
            assert_eq!(limits.heavy_available(), 0);
            drop(owned);
            assert_eq!(limits.heavy_available(), 1);
        });
    }
}
