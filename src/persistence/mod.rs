//! SQL of the records: schema, row structs, queries, transactions. (The aggregate report
//! queries are in `reporting`.)
//!
//! One code base for two databases: diesel's `MultiConnection` over SQLite (the default, a file)
//! and PostgreSQL (chosen by a `postgres://` URL). Money is stored as integer cents.

pub mod applications;
pub mod audit;
pub mod base_rates;
pub mod budgets;
pub(crate) mod cached;
mod case_load;
pub mod case_numbers;
pub mod checkout;
pub mod checkpoints;
pub mod events;
pub mod idempotency;
pub mod ledger;
pub mod municipalities;
pub mod notices;
pub mod payments;
pub mod programmes;
pub mod register;
pub mod repayments;
pub mod schema;
pub mod seal;
pub mod steps;
mod stored;
pub mod totals;
pub mod verify;
pub mod webhooks;
mod writer_queue;

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool as R2d2Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// The connection pool, and the queue the server's requests wait in for one of its
/// connections (`gate`).
///
/// r2d2 hands a returned connection to whichever thread asks next, not to the one that has
/// waited longest: under load a request could wait behind many that came after it (p99 at 50
/// times the median in the one-statement read, docs/benchmarks.md). The gate is a fair
/// (first come, first served) semaphore with a permit per connection: a request takes a
/// permit before it asks the pool, so it finds a connection free and no thread sleeps in the
/// pool waiting for one. The background workers (sealer, publisher, webhooks) ask the pool
/// directly. Everything else of r2d2's pool is reached through `Deref`.
#[derive(Debug, Clone)]
pub struct Pool {
    connections: R2d2Pool<ConnectionManager<AnyConnection>>,
    gate: Arc<tokio::sync::Semaphore>,
    stats: Arc<PoolStats>,
}

impl std::ops::Deref for Pool {
    type Target = R2d2Pool<ConnectionManager<AnyConnection>>;
    fn deref(&self) -> &Self::Target {
        &self.connections
    }
}

impl Pool {
    /// The queue for the pool's connections, one permit per connection.
    pub fn gate(&self) -> &Arc<tokio::sync::Semaphore> {
        &self.gate
    }

    /// Counts a wait in the gate like a wait in the pool (`PoolCounts`): its time, and a
    /// timeout if it found no permit within `CHECKOUT_TIMEOUT`.
    pub fn waited(&self, wait: Duration, timed_out: bool) {
        let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
        self.stats.wait_micros.fetch_add(micros, Ordering::Relaxed);
        if timed_out {
            self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How long a checkout waits for a connection (in the gate, then in the pool) before the
/// request is answered 503.
pub const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);
pub type Conn = PooledConnection<ConnectionManager<AnyConnection>>;
pub type PoolError = diesel::r2d2::PoolError;
/// The backend type of `AnyConnection`, for boxed queries.
pub type Db = <AnyConnection as Connection>::Backend;

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

pub type BoxError = Box<dyn Error + Send + Sync>;

/// The versions a conditional write accepts (an `If-Match`, RFC 9110 § 13.1.1): any current
/// one (`*`: the record exists), one, or one of a list. The write checks it against the version
/// it read and then updates `WHERE version = <read>`, so a concurrent writer still fails it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected<'a> {
    Any,
    Version(i32),
    OneOf(&'a [i32]),
}

impl Expected<'_> {
    pub fn admits(self, version: i32) -> bool {
        match self {
            Expected::Any => true,
            Expected::Version(v) => v == version,
            Expected::OneOf(vs) => vs.contains(&version),
        }
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

impl AnyConnection {
    /// Which database this connection is to.
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Pg(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// `postgres://u@h:p/db?x` → the same URL naming database `name` (for tools and tests that
/// create a throw-away database next to the one they were given).
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Opens one connection of the backend the URL names. (`AnyConnection::establish` would try
/// each backend and hide the real error.)
pub fn establish(url: &str) -> Result<AnyConnection, ConnectionError> {
    match Backend::of_url(url) {
        Backend::Postgres => diesel::PgConnection::establish(url).map(AnyConnection::Pg),
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(url)?;
            configure_sqlite(&mut c).map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(AnyConnection::Sqlite(c))
        }
    }
}

/// Settings every SQLite connection needs: WAL so readers do not block the writer, a busy
/// timeout so writers queue instead of failing, foreign keys (off by default), and the
/// statement and savepoint journals in memory instead of temporary files (a write in a
/// savepoint, such as each write of the seed's demo history, copies every page it changes
/// there first). Memory is bounded (docs/operations.md, "Memory"): the page cache per
/// connection (`SQLITE_CACHE_KIB`; the operating system caches the file as well, and a pool
/// of ten connections with SQLite's default of 2 MiB each kept 20 MiB of pages in the
/// process), and all of SQLite's heap in the process (`SQLITE_SOFT_HEAP_LIMIT`, a setting of
/// the library, not of the connection: above it, SQLite reuses cached pages instead of
/// allocating more).
fn configure_sqlite(c: &mut diesel::SqliteConnection) -> QueryResult<()> {
    c.batch_execute(&format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -{SQLITE_CACHE_KIB}; PRAGMA soft_heap_limit = {SQLITE_SOFT_HEAP_LIMIT};",
        SQLITE_BUSY_TIMEOUT.as_millis()
    ))
}

/// How long a SQLite writer waits for the file's write lock (SQLite's busy handler, and the
/// process's queue of write transactions, `writer_queue`) before "database is locked".
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The page cache of each SQLite connection, in KiB.
pub const SQLITE_CACHE_KIB: u32 = 512;

/// The bound of SQLite's heap in the process, in bytes (page caches, statements, sorts).
pub const SQLITE_SOFT_HEAP_LIMIT: u64 = 8 * 1024 * 1024;

/// Applies `configure_sqlite` to every pooled connection.
#[derive(Debug)]
struct ConnInit;

impl CustomizeConnection<AnyConnection, diesel::r2d2::Error> for ConnInit {
    fn on_acquire(&self, conn: &mut AnyConnection) -> Result<(), diesel::r2d2::Error> {
        if let AnyConnection::Sqlite(c) = conn {
            configure_sqlite(c).map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// What the pool's checkouts waited and how many found no connection in time, counted by
/// r2d2's events (for `/metrics`). Shared between the pool and whoever reads it.
#[derive(Debug, Default)]
pub struct PoolStats {
    checkouts: AtomicU64,
    wait_micros: AtomicU64,
    timeouts: AtomicU64,
}

/// A reading of `PoolStats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolCounts {
    /// Connections handed out (every successful `pool.get()`).
    pub checkouts: u64,
    /// The time those checkouts waited for a connection, in total.
    pub wait: Duration,
    /// `pool.get()` calls that found no connection within the checkout timeout (the request
    /// got 503).
    pub timeouts: u64,
}

impl PoolStats {
    pub fn counts(&self) -> PoolCounts {
        PoolCounts {
            checkouts: self.checkouts.load(Ordering::Relaxed),
            wait: Duration::from_micros(self.wait_micros.load(Ordering::Relaxed)),
            timeouts: self.timeouts.load(Ordering::Relaxed),
        }
    }
}

/// Feeds r2d2's checkout and timeout events into `PoolStats`.
#[derive(Debug)]
struct PoolEvents(Arc<PoolStats>);

impl diesel::r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: diesel::r2d2::event::CheckoutEvent) {
        let micros = u64::try_from(event.duration().as_micros()).unwrap_or(u64::MAX);
        self.0.checkouts.fetch_add(1, Ordering::Relaxed);
        self.0.wait_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn handle_timeout(&self, _event: diesel::r2d2::event::TimeoutEvent) {
        self.0.timeouts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds the pool, its checkouts counted in `stats`. The first connection is opened
/// directly so that a wrong URL or an unreachable server is reported with the database's own
/// message.
pub fn build_pool(url: &str, size: u32, stats: Arc<PoolStats>) -> Result<Pool, BoxError> {
    drop(establish(url).map_err(|e| format!("cannot connect to the database: {e}"))?);
    let manager = ConnectionManager::<AnyConnection>::new(url);
    let connections = R2d2Pool::builder()
        .max_size(size)
        // No `SELECT 1` per checkout: `checkout::run` finds a closed connection by its first
        // statement and runs the work again on another.
        .test_on_check_out(false)
        .connection_timeout(CHECKOUT_TIMEOUT)
        .connection_customizer(Box::new(ConnInit))
        .event_handler(Box::new(PoolEvents(stats.clone())))
        .build(manager)?;
    let permits = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Pool {
        connections,
        gate: Arc::new(tokio::sync::Semaphore::new(permits)),
        stats,
    })
}

/// Applies the pending migrations of this backend; returns how many ran.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<usize, BoxError> {
    let applied = match conn {
        AnyConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS)?.len(),
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS)?.len(),
    };
    Ok(applied)
}

/// True when every embedded migration has been applied.
pub fn migrations_current(conn: &mut AnyConnection) -> Result<bool, BoxError> {
    let pending = match conn {
        AnyConnection::Pg(c) => c.has_pending_migration(PG_MIGRATIONS)?,
        AnyConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS)?,
    };
    Ok(!pending)
}

/// Key of the PostgreSQL advisory lock that serialises start-up preparation, so that several
/// instances starting at once on one database do not race to migrate.
const PREPARE_LOCK: i64 = 0x000f_0e2d_a17e;

/// Migrations, then the municipality register if its edition is not loaded yet.
pub fn prepare_database(conn: &mut AnyConnection) -> Result<(), BoxError> {
    let pg = matches!(conn, AnyConnection::Pg(_));
    if pg {
        diesel::sql_query(format!("SELECT pg_advisory_lock({PREPARE_LOCK})")).execute(conn)?;
    }
    let result = (|| -> Result<(), BoxError> {
        let applied = run_migrations(conn)?;
        if applied > 0 {
            log::info!("applied {applied} migration(s)");
        }
        adopt_shipped_rows(conn)?;
        let written = notices::ensure_shipped_delivery_rules(conn, stored_now())?;
        if written > 0 {
            log::info!("wrote {written} delivery rule(s) of the law (domain::calendar)");
        }
        register::import_bundled_if_missing(conn)?;
        if let Some(built) = totals::ensure_built(conn, stored_now())? {
            log::info!(
                "built the report totals: {} case parts, {} totals",
                built.parts,
                built.totals
            );
        }
        // What start-up wrote (and whatever a previous process left unsealed).
        seal::seal_all(conn, stored_now())?;
        Ok(())
    })();
    if pg {
        diesel::sql_query(format!("SELECT pg_advisory_unlock({PREPARE_LOCK})")).execute(conn)?;
    }
    result
}

/// The current instant as both databases store it: microseconds (PostgreSQL drops the
/// nanoseconds, and a row's state must equal the one its audit entry records).
pub fn stored_now() -> chrono::NaiveDateTime {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now().naive_utc(), 6)
}

/// On a new database (an empty log), the rows the migrations ship (programmes and their
/// funding objects, base rates, delivery rules) enter the log as the system's `init`, so that
/// verify knows them. Never later: a row that appears behind the service's back stays a
/// finding.
fn adopt_shipped_rows(conn: &mut AnyConnection) -> Result<(), BoxError> {
    write_tx(conn, |conn| {
        if audit::last_id(conn)? > 0 {
            return Ok(());
        }
        let system = programmes::Actor {
            subject: "system",
            role: "system",
            now: stored_now(),
        };
        let reason = Some("shipped with the schema (migrations)");
        let entry = |record_type, key: String, state| {
            system
                .entry(record_type, &key, "init", reason, serde_json::json!({}))
                .with_state(serde_json::Value::Null, state)
        };
        let mut entries = Vec::new();
        for (p, objects) in programmes::list(conn)? {
            entries.push(entry(
                ledger::PROGRAMME,
                p.code.clone(),
                ledger::programme(&p, &objects),
            ));
        }
        for r in base_rates::list(conn)? {
            entries.push(entry(
                ledger::BASE_RATE,
                r.valid_from.to_string(),
                ledger::base_rate(&r),
            ));
        }
        for r in notices::delivery_rule_rows(conn)? {
            let state = ledger::delivery_rule(&r);
            entries.push(entry(
                ledger::DELIVERY_RULE,
                r.valid_from.to_string(),
                state,
            ));
        }
        audit::append_all(conn, &entries.iter().collect::<Vec<_>>())?;
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}

/// A cheap round trip, for the readiness probe.
pub fn ping(conn: &mut AnyConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

fn in_transaction<C>(c: &mut C) -> QueryResult<bool>
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    Ok(AnsiTransactionManager::transaction_manager_status_mut(c)
        .transaction_depth()?
        .is_some())
}

/// The tables whose rows `row_count` counts.
pub const COUNTED_TABLES: [&str; 9] = [
    "applications",
    "application_members",
    "cost_lines",
    "notices",
    "notice_lines",
    "notice_allocations",
    "payment_requests",
    "budgets",
    "audit_events",
];

/// The rows of one of `COUNTED_TABLES` (the seed's report); any other name is refused.
pub fn row_count(conn: &mut AnyConnection, table: &str) -> QueryResult<u64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    if !COUNTED_TABLES.contains(&table) {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("{table} is not a counted table").into(),
        ));
    }
    let c: Count =
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result(conn)?;
    Ok(u64::try_from(c.n).unwrap_or(0))
}

/// A write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so that it takes the write
/// lock before it reads: a read-then-write `BEGIN DEFERRED` transaction fails with "database
/// is locked" the moment another writer holds the lock, and `busy_timeout` cannot help it.
/// Outermost on SQLite, it first waits its turn among this process's writers of the file, in
/// the order they came (`writer_queue`; SQLite's busy handler serves them in no order).
/// On PostgreSQL it is a plain transaction; conflicts are caught by conditional updates and
/// row locks. Nested in another `write_tx`, it is a savepoint on both backends.
///
/// On PostgreSQL the transaction plans its statements generically (`plan_cache_mode =
/// force_generic_plan`, set with `BEGIN` in the same round trip, undone by the commit or
/// rollback): each prepared statement is planned once per connection, not at every execution.
/// The write path's statements find rows by their keys, which a generic plan does as well as
/// a custom one; PostgreSQL's default kept planning the report totals' contribution statement
/// anew each time (320 µs of planning for 160 µs of execution; docs/benchmarks.md). Reads
/// outside write transactions (lists with skewed filters) keep the default.
pub fn write_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    // Held to the commit or rollback, then handed to the next writer of the file.
    let _turn = match conn {
        AnyConnection::Sqlite(c) => match in_transaction(c)? {
            false => Some(writer_queue::take(c)?),
            true => None,
        },
        AnyConnection::Pg(_) => None,
    };
    begin(
        conn,
        "BEGIN IMMEDIATE",
        "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan",
    )?;
    finish_tx(conn, f)
}

/// Begins a transaction with the backend's statement, or, inside a transaction already (the
/// seed's demo history is one), a savepoint.
fn begin(conn: &mut AnyConnection, sqlite: &str, pg: &str) -> QueryResult<()> {
    match conn {
        AnyConnection::Sqlite(c) => match in_transaction(c)? {
            true => AnsiTransactionManager::begin_transaction(&mut *c),
            false => AnsiTransactionManager::begin_transaction_sql(&mut *c, sqlite),
        },
        AnyConnection::Pg(c) => match in_transaction(c)? {
            true => AnsiTransactionManager::begin_transaction(&mut *c),
            false => AnsiTransactionManager::begin_transaction_sql(&mut *c, pg),
        },
    }
}

/// A read-only transaction that sees one snapshot of the database from its first read to
/// its end, whatever is committed meanwhile: `REPEATABLE READ READ ONLY` on PostgreSQL, a
/// deferred transaction on SQLite (in WAL mode its snapshot is taken at the first read and
/// held to the end). For a long read that must see one state, such as verify comparing the
/// log with the rows while the service writes. Nested in a transaction, a savepoint.
pub fn snapshot_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    begin(
        conn,
        "BEGIN DEFERRED",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    )?;
    finish_tx(conn, f)
}

/// Runs `f` in the transaction just begun: commits on success (rolling back if the commit
/// fails), rolls back on error.
fn finish_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match f(conn) {
        Ok(value) => {
            if let Err(e) =
                <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)
            {
                let _ =
                    <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gets_another_database_name_and_keeps_its_parameters() {
        assert_eq!(
            url_with_database("postgres://u@h:5433/postgres?sslmode=disable", "fa_x"),
            "postgres://u@h:5433/fa_x?sslmode=disable"
        );
        assert_eq!(
            url_with_database("postgresql://h", "fa_x"),
            "postgresql://h/fa_x"
        );
    }
}
