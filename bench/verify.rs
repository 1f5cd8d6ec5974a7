//! Verify benchmark: the audit log's full and incremental verification on the load data set,
//! next to the database's own scan of the log in the same run.
//!
//! Loads `BENCH_CASES` (default 1,000,000) cases with the `seed-demo --cases` generator into a
//! fresh database, then measures:
//!
//! - **scan**: `SELECT COUNT(*), SUM(LENGTH(...))` over every column verify reads of the log:
//!   the database's own speed at reading what verify must read (the baseline);
//! - **full**: `verify_and_record(Extent::Full)`: the chain, the checkpoints, the documents
//!   and every row of every audited table against the log; it records a verified checkpoint;
//! - **incremental**: `BENCH_WRITES` (default 1,000) lifecycle transitions through the write
//!   path, then `verify(Extent::SinceVerified)`.
//!
//! Prints the times, entries per second and the ratio full ÷ scan.
//!
//! ```text
//! cargo bench --bench verify                                  # SQLite
//! scripts/with-pg.sh cargo bench --bench verify               # PostgreSQL
//! BENCH_CASES=20000 cargo bench --bench verify                # a quick check
//! ```
//!
//! `BENCH_KEEP_DB=1` keeps the loaded database (its name is printed); `BENCH_REUSE_DB=<url>`
//! measures such a database again without loading it (the writes of each run stay in it).
//!
//! Results: `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::{BenchDb, env_usize};
use diesel::prelude::*;
use foerderakte::domain::audit::{AuditKey, Keyring};
use foerderakte::domain::{Action, Role};
use foerderakte::persistence::applications::{self, TransitionRequest, Writer};
use foerderakte::persistence::schema::applications as ap;
use foerderakte::persistence::verify::{self, Extent, VerifyReport};
use foerderakte::persistence::{self, Backend};

const AUDIT_KEY: &str = "be1ce0debe1ce0debe1ce0debe1ce0debe1ce0debe1ce0debe1ce0debe1ce0de";

#[derive(QueryableByName)]
struct Scan {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    bytes: Option<i64>,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64())
}

fn report(what: &str, r: &VerifyReport, secs: f64) {
    println!(
        "{what:<12} {secs:>8.1} s  {:>10} entries  {:>9} records  {:>7} seals  {:>10.0} entries/s  ok={}",
        r.entries_checked,
        r.records_checked,
        r.seals_checked,
        r.entries_checked as f64 / secs.max(1e-9),
        r.ok
    );
    assert!(r.ok, "{what}: {:?}", r.findings);
}

/// `n` lifecycle steps (`start_review` of submitted cases) through the write path.
fn writes(conn: &mut persistence::AnyConnection, n: usize) -> usize {
    let cases: Vec<(String, i32)> = ap::table
        .filter(ap::status.eq("submitted"))
        .select((ap::id, ap::version))
        .limit(n as i64)
        .load(conn)
        .unwrap();
    let w = Writer {
        subject: "bench.caseworker",
        role: Role::Caseworker,
        municipalities: &[],
        // Microseconds, as the request clock gives them: what both databases store.
        now: chrono::SubsecRound::trunc_subsecs(chrono::Utc::now().naive_utc(), 6),
        new_id: None,
        name: None,
    };
    for (id, version) in &cases {
        let t = TransitionRequest {
            action: Action::StartReview,
            reason: None,
            response_due: None,
            expected: foerderakte::persistence::Expected::Version(*version),
            actual_costs: None,
        };
        applications::apply_transition(conn, id, &w, &t).expect("a transition");
    }
    cases.len()
}

fn main() {
    // RUST_LOG=info prints verify's phases (the chain, the documents, the rows, the seal).
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    let n_cases = env_usize("BENCH_CASES", 1_000_000);
    let n_writes = env_usize("BENCH_WRITES", 1_000);
    let keys = Keyring::single(AuditKey::from_hex(AUDIT_KEY).unwrap());
    persistence::audit::install_keys(keys.clone());
    foerderakte::http::representation::install();
    // BENCH_REUSE_DB: a database a run before loaded and kept (BENCH_KEEP_DB=1), measured
    // again without loading it anew.
    let reuse = std::env::var("BENCH_REUSE_DB")
        .ok()
        .filter(|u| !u.is_empty());
    let (url, _db) = match &reuse {
        Some(url) => (url.clone(), None),
        None => {
            let (url, db) = BenchDb::create("fa_verify");
            (url, Some(db))
        }
    };
    let backend = Backend::of_url(&url);
    let mut conn = persistence::establish(&url).expect("the bench database connects");
    if reuse.is_none() {
        persistence::prepare_database(&mut conn).expect("migrations and register");
        let options = foerderakte::seed::Options {
            cases: Some(n_cases as u64),
            seed: foerderakte::seed::DEFAULT_SEED,
            bulk: false,
        };
        let (_, load) = timed(|| foerderakte::seed::run(&mut conn, &options, &mut |_| {}).unwrap());
        eprintln!("loaded {n_cases} cases in {load:.0} s ({backend:?})");
    }

    let sql = "SELECT COUNT(*) AS n, SUM(LENGTH(record_type) + LENGTH(record_key) + LENGTH(actor) \
               + LENGTH(role) + LENGTH(action) + LENGTH(changes) + LENGTH(prev_mac) + LENGTH(mac) \
               + LENGTH(state) + LENGTH(state_hash) + LENGTH(key_id) + COALESCE(LENGTH(reason), 0)) \
               AS bytes FROM audit_events";
    // Once to warm the cache as the verify runs will find it, then timed.
    let _ = diesel::sql_query(sql)
        .get_result::<Scan>(&mut conn)
        .unwrap();
    let (scan, scan_secs) = timed(|| {
        diesel::sql_query(sql)
            .get_result::<Scan>(&mut conn)
            .unwrap()
    });
    println!(
        "{:<12} {scan_secs:>8.1} s  {:>10} entries  {:>9.0} MB of log",
        "scan",
        scan.n,
        scan.bytes.unwrap_or(0) as f64 / 1e6
    );
    let none = |_: u64| {};
    let (full, full_secs) =
        timed(|| verify::verify_and_record(&mut conn, &keys, &[], Extent::Full, &none).unwrap());
    report("full", &full, full_secs);
    let (done, write_secs) = timed(|| writes(&mut conn, n_writes));
    eprintln!("{done} transitions in {write_secs:.1} s");
    // As `foerderakte audit verify --incremental` runs it: the writes sealed first.
    let (inc, inc_secs) = timed(|| {
        verify::verify_and_record(&mut conn, &keys, &[], Extent::SinceVerified, &none).unwrap()
    });
    assert!(
        inc.incremental,
        "the incremental run started from the verified checkpoint"
    );
    report("incremental", &inc, inc_secs);
    println!(
        "{backend:?}, {} entries: full verify {full_secs:.1} s = {:.1}x the scan of the log; \
         incremental after {done} writes {inc_secs:.2} s",
        full.entries_checked,
        full_secs / scan_secs.max(1e-9)
    );
}
