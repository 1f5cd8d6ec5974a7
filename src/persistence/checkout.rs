//! A pooled connection for one piece of work, without a round trip to test it first.
//!
//! r2d2 can test each connection it hands out (`test_on_check_out`, a `SELECT 1`): a round
//! trip on every request, a tenth of a point read's CPU (docs/benchmarks.md). The pool does
//! not test any more; instead `run` watches what the database answers on the checkout
//! (diesel's instrumentation). A connection the database closed meanwhile (a restart, a
//! fail-over, an idle connection cut by the network) fails on its first statement: it is then
//! discarded and the work runs again on another connection, the pool opening new ones as it
//! needs. The work is repeated only when nothing on that connection had been answered, so the
//! database never saw any of it: a write is never run twice. A connection lost after the
//! database answered something is discarded too, and the error is the caller's (the outcome
//! of a commit whose answer was lost is unknown; the client's `Idempotency-Key` or `If-Match`
//! decides what a retry of it does).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use diesel::Connection;
use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, TransactionManager,
};
use diesel::result::{DatabaseErrorKind, Error};

use super::{AnyConnection, Pool, PoolError};

const ANSWERED: u8 = 1;
const LOST: u8 = 2;

/// What the database did on one checkout: answered a statement (an error it reported counts:
/// it saw the statement), and lost the connection. Shared with the connection's
/// instrumentation.
#[derive(Debug, Clone, Default)]
struct Watch(Arc<AtomicU8>);

impl Watch {
    fn state(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery { error, .. } = event {
            let seen = match error {
                Some(Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => LOST,
                _ => ANSWERED,
            };
            // The first loss after no answer is what makes a repeat safe; keep both bits.
            self.0.fetch_or(seen, Ordering::Relaxed);
        }
    }
}

/// Makes the pool discard the connection when it comes back (r2d2 asks diesel whether it is
/// broken; a transaction manager in error says so).
fn discard(conn: &mut AnyConnection) {
    match conn {
        AnyConnection::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c),
        AnyConnection::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c),
    }
    .set_in_error();
}

/// Runs `work` with a connection of `pool`: again on another connection when the first was
/// lost before the database answered anything on it (at most once per pooled connection and
/// once more, so a pool full of connections a restart closed is worked through).
pub fn run<T, E>(pool: &Pool, work: impl Fn(&mut AnyConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<PoolError>,
{
    let attempts = pool.max_size() + 1;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut conn = pool.get()?;
        let watch = Watch::default();
        conn.set_instrumentation(watch.clone());
        let out = work(&mut conn);
        let state = watch.state();
        conn.set_instrumentation(None::<Watch>);
        if state & LOST != 0 {
            discard(&mut conn);
            drop(conn);
            if out.is_err() && state & ANSWERED == 0 && attempt < attempts {
                log::warn!("a pooled database connection was closed; the work runs on another");
                continue;
            }
        }
        return out;
    }
}
