//! Benchmark: the reports at 1,000,000 cases, each against hand-written SQL in the same run.
//!
//! Loads `BENCH_CASES` (default 1,000,000) cases with the `seed-demo --cases` generator into a
//! fresh database, runs `ANALYZE` (on PostgreSQL `VACUUM (ANALYZE)`), then times every report
//! three ways, interleaved:
//!
//! - **http**: `GET /api/v1/reports/…` through the in-process server (token, validation, the
//!   report query, the JSON, HTTP over loopback);
//! - **repo**: the `reporting::` function on a direct connection (SQL built and bound by the
//!   code, rows assembled);
//! - **plain**: the same report written by hand as one SQL statement, as someone who knows the
//!   schema would write it for `psql`, run with `diesel::sql_query` on the same connection type.
//!
//! Before timing, it checks that repo and plain return the same rows. Prints median ms per
//! column and the ratios http ÷ plain and repo ÷ plain.
//!
//! ```text
//! cargo bench --bench reports                                   # SQLite, temp file
//! scripts/with-pg.sh cargo bench --bench reports                # PostgreSQL
//! BENCH_CASES=5000 BENCH_ITER=2 cargo test --bench reports      # quick check in debug
//! ```
//!
//! Environment: `DATABASE_URL` (unset: a temp SQLite file; `postgres://`: a fresh database is
//! created on that server and dropped afterwards), `BENCH_CASES`, `BENCH_ITER` (timed rounds,
//! default 5), `BENCH_EXPLAIN=1` (print the plans of the code's queries), `BENCH_KEEP_DB=1`
//! (keep the database), `BENCH_REUSE=<url>` (time on a database loaded by an earlier run with
//! `BENCH_KEEP_DB=1` instead of loading one).
//! Results: `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use foerderakte::auth::mint_hs256;
use foerderakte::config::{JwtSettings, Settings};
use foerderakte::domain::Role;
use foerderakte::persistence::{self, AnyConnection, Backend};
use foerderakte::reporting::{self, Basis, GroupKey, VolumeQuery};
use foerderakte::startup::Application;

mod common;
use common::{BenchDb, env_usize, ms, vacuum_after_load};

const SECRET: &str = "bench-secret-that-is-long-enough-0123456789";
static AUDIT_KEY_HEX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "be".repeat(32));

// ---------------------------------------------------------------------------------------------
// Plain rows: every column as text, so that the code's rows and the hand-written ones compare.

#[derive(QueryableByName)]
struct PlainVolume {
    #[diesel(sql_type = Integer)]
    yr: i32,
    #[diesel(sql_type = Text)]
    k: String,
    #[diesel(sql_type = BigInt)]
    cnt: i64,
    #[diesel(sql_type = BigInt)]
    req: i64,
    #[diesel(sql_type = BigInt)]
    gra: i64,
    #[diesel(sql_type = BigInt)]
    pai: i64,
    #[diesel(sql_type = BigInt)]
    rec: i64,
}

#[derive(QueryableByName)]
struct PlainPipeline {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    cnt: i64,
    #[diesel(sql_type = BigInt)]
    req: i64,
}

#[derive(QueryableByName)]
struct PlainProcessing {
    #[diesel(sql_type = Text)]
    prog: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    median: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    p90: Option<i64>,
}

type Rows = Vec<Vec<String>>;

fn year_of(backend: Backend, col: &str) -> String {
    match backend {
        Backend::Postgres => format!("EXTRACT(YEAR FROM {col} + INTERVAL '1 hour')::int"),
        Backend::Sqlite => format!("CAST(strftime('%Y', {col}, '+1 hour') AS INTEGER)"),
    }
}

/// Year × municipality (or Kreis) of a basis, written by hand: every member row of every fact
/// through the same window functions (shares add up to 10000, checked at submission). `key`
/// `""`: per year only.
fn plain_volumes(backend: Backend, basis: Basis, key: &str) -> String {
    let facts = match basis {
        Basis::Notice => format!(
            "SELECT n.id AS fid, n.application_id AS case_id, {} AS yr, 1 AS cnt, \
             a.requested_cents AS req, COALESCE(a.granted_cents, 0) AS gra, \
             a.paid_cents AS pai, a.reclaimed_cents AS rec \
             FROM notices n JOIN applications a ON a.id = n.application_id \
             WHERE n.kind = 'grant' AND n.status = 'signed'",
            year_of(backend, "n.signed_at")
        ),
        Basis::Payment => format!(
            "SELECT p.id AS fid, p.application_id AS case_id, p.paid_year AS yr, 1 AS cnt, \
             0 AS req, 0 AS gra, p.amount_cents AS pai, 0 AS rec \
             FROM payment_requests p WHERE p.status = 'paid' \
             UNION ALL SELECT n.id, n.application_id, {}, 0, 0, 0, 0, n.reclaim_cents \
             FROM notices n WHERE n.kind = 'revocation' AND n.status = 'signed' \
             AND n.reclaim_cents > 0",
            year_of(backend, "n.signed_at")
        ),
        Basis::Submission => format!(
            "SELECT a.id AS fid, a.id AS case_id, {} AS yr, 1 AS cnt, a.requested_cents AS req, \
             COALESCE(a.granted_cents, 0) AS gra, a.paid_cents AS pai, a.reclaimed_cents AS rec \
             FROM applications a WHERE a.submitted_at IS NOT NULL",
            year_of(backend, "a.submitted_at")
        ),
    };
    let split = |m: &str| {
        format!(
            "{m} * share_bp / 10000 + CASE WHEN ROW_NUMBER() OVER (PARTITION BY fid ORDER BY \
             {m} * share_bp % 10000 DESC, position) <= {m} - SUM({m} * share_bp / 10000) OVER \
             (PARTITION BY fid) THEN 1 ELSE 0 END AS {m}"
        )
    };
    format!(
        "SELECT yr, k, CAST(SUM(cnt) AS BIGINT) AS cnt, CAST(SUM(req) AS BIGINT) AS req, \
         CAST(SUM(gra) AS BIGINT) AS gra, CAST(SUM(pai) AS BIGINT) AS pai, \
         CAST(SUM(rec) AS BIGINT) AS rec FROM (\
         SELECT f.yr, {k} AS k, CASE WHEN m.is_lead THEN f.cnt ELSE 0 END AS cnt, {}, {}, {}, {} \
         FROM ({facts}) f JOIN application_members m ON m.application_id = f.case_id) s \
         GROUP BY yr, k ORDER BY yr, k",
        split("req"),
        split("gra"),
        split("pai"),
        split("rec"),
        k = if key.is_empty() {
            "''".to_owned()
        } else {
            format!("m.{key}")
        },
    )
}

fn plain_pipeline(backend: Backend, end: &str) -> String {
    let last = match backend {
        Backend::Postgres => format!(
            "SELECT DISTINCT ON (record_key) record_key, to_status FROM audit_events \
             WHERE record_type = 'application' AND to_status IS NOT NULL \
             AND occurred_at < '{end}' ORDER BY record_key, seq DESC"
        ),
        Backend::Sqlite => format!(
            "SELECT e.record_key, e.to_status FROM audit_events e \
             WHERE e.record_type = 'application' AND e.to_status IS NOT NULL \
             AND e.occurred_at < '{end}' AND e.seq = (SELECT MAX(seq) FROM audit_events x \
             WHERE x.record_type = 'application' AND x.record_key = e.record_key \
             AND x.to_status IS NOT NULL AND x.occurred_at < '{end}')"
        ),
    };
    format!(
        "SELECT l.to_status AS status, CAST(COUNT(*) AS BIGINT) AS cnt, \
         CAST(SUM(a.requested_cents) AS BIGINT) AS req FROM ({last}) l \
         JOIN applications a ON a.id = l.record_key \
         WHERE l.to_status IN ('submitted', 'in_review', 'info_requested') \
         GROUP BY l.to_status ORDER BY l.to_status"
    )
}

fn plain_processing(lo: &str, hi: &str) -> String {
    let ranked = |partition: &str, key: &str| {
        format!(
            "SELECT {key} AS prog, CAST(COUNT(*) AS BIGINT) AS n, \
             CAST(MAX(CASE WHEN rn = (c + 1) / 2 THEN s END) AS BIGINT) AS median, \
             CAST(MAX(CASE WHEN rn = (9 * c + 9) / 10 THEN s END) AS BIGINT) AS p90 FROM (\
             SELECT a.programme_code, a.clock_seconds AS s, \
             ROW_NUMBER() OVER ({partition} ORDER BY a.clock_seconds) AS rn, \
             COUNT(*) OVER ({partition}) AS c \
             FROM notices n JOIN applications a ON a.id = n.application_id \
             WHERE n.kind IN ('grant', 'rejection') AND n.status = 'signed' \
             AND n.signed_at >= '{lo}' AND n.signed_at < '{hi}') x"
        )
    };
    format!(
        "SELECT * FROM ({} GROUP BY programme_code ORDER BY programme_code) p UNION ALL {}",
        ranked("PARTITION BY a.programme_code", "programme_code"),
        ranked("", "'all'"),
    )
}

// ---------------------------------------------------------------------------------------------

struct Report {
    name: &'static str,
    /// The http column's page; a `/dashboard/` page is asked for with the session cookie.
    path: String,
    repo: Box<dyn Fn(&mut AnyConnection) -> Rows>,
    plain: Box<dyn Fn(&mut AnyConnection) -> Rows>,
}

fn volumes_report(backend: Backend, name: &'static str, basis: Basis, key: GroupKey) -> Report {
    let mut q = VolumeQuery {
        group_by: vec![GroupKey::Year, key],
        ..VolumeQuery::all(basis)
    };
    let column = match key {
        GroupKey::Kreis => "kreis",
        GroupKey::Year => "",
        _ => "ags",
    };
    let path = match key {
        // The dashboard's overview: eight years by year, the page as the ministry gets it.
        GroupKey::Year => {
            q.group_by = vec![GroupKey::Year];
            q.from = Some(2019);
            q.to = Some(2026);
            "/dashboard/?from=2019&to=2026".to_owned()
        }
        _ => format!(
            "/api/v1/reports/volumes?basis={}&group_by=year,{}",
            basis.as_str(),
            key.as_str()
        ),
    };
    let sql = plain_volumes(backend, basis, column);
    Report {
        name,
        path,
        repo: Box::new(move |c| {
            reporting::volumes(c, &q)
                .unwrap()
                .into_iter()
                .map(|r| {
                    let m = r.measures();
                    vec![
                        r.year.unwrap_or_default().to_string(),
                        r.ags.or(r.kreis).unwrap_or_default(),
                        m.count.to_string(),
                        m.requested.to_string(),
                        m.granted.to_string(),
                        m.paid.to_string(),
                        m.reclaimed.to_string(),
                    ]
                })
                .collect()
        }),
        plain: Box::new(move |c| {
            diesel::sql_query(&sql)
                .load::<PlainVolume>(c)
                .unwrap()
                .into_iter()
                .map(|r| {
                    vec![
                        r.yr.to_string(),
                        r.k,
                        r.cnt.to_string(),
                        r.req.to_string(),
                        r.gra.to_string(),
                        r.pai.to_string(),
                        r.rec.to_string(),
                    ]
                })
                .collect()
        }),
    }
}

fn reports(backend: Backend) -> Vec<Report> {
    let as_of = NaiveDate::from_ymd_opt(2019, 12, 31).unwrap();
    vec![
        volumes_report(
            backend,
            "dashboard overview 2019–2026 (notice, year)",
            Basis::Notice,
            GroupKey::Year,
        ),
        volumes_report(
            backend,
            "volumes notice, year × municipality",
            Basis::Notice,
            GroupKey::Municipality,
        ),
        volumes_report(
            backend,
            "volumes payment, year × Kreis",
            Basis::Payment,
            GroupKey::Kreis,
        ),
        volumes_report(
            backend,
            "volumes submission, year × municipality",
            Basis::Submission,
            GroupKey::Municipality,
        ),
        Report {
            name: "pipeline as of 2019-12-31",
            path: "/api/v1/reports/pipeline?as_of=2019-12-31".into(),
            repo: Box::new(move |c| {
                let mut rows: Rows = reporting::pipeline(c, as_of, None)
                    .unwrap()
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.status,
                            r.count.to_string(),
                            r.requested.unwrap_or(0).to_string(),
                        ]
                    })
                    .collect();
                rows.sort();
                rows
            }),
            plain: Box::new(move |c| {
                diesel::sql_query(plain_pipeline(backend, "2019-12-31 23:00:00"))
                    .load::<PlainPipeline>(c)
                    .unwrap()
                    .into_iter()
                    .map(|r| vec![r.status, r.cnt.to_string(), r.req.to_string()])
                    .collect()
            }),
        },
        Report {
            name: "processing times 2020",
            path: "/api/v1/reports/processing-times?year=2020".into(),
            repo: Box::new(|c| {
                reporting::processing_times(c, 2020)
                    .unwrap()
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.programme.unwrap_or_else(|| "all".into()),
                            r.decided.to_string(),
                            format!("{:?}", r.median_seconds),
                            format!("{:?}", r.p90_seconds),
                        ]
                    })
                    .collect()
            }),
            plain: Box::new(|c| {
                diesel::sql_query(plain_processing(
                    "2019-12-31 23:00:00",
                    "2020-12-31 23:00:00",
                ))
                .load::<PlainProcessing>(c)
                .unwrap()
                .into_iter()
                .map(|r| {
                    vec![
                        r.prog,
                        r.n.to_string(),
                        format!("{:?}", r.median),
                        format!("{:?}", r.p90),
                    ]
                })
                .collect()
            }),
        },
    ]
}

fn explain(conn: &mut AnyConnection, sql: &str, backend: Backend) -> String {
    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    #[derive(QueryableByName)]
    struct SqliteLine {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    match backend {
        Backend::Postgres => diesel::sql_query(format!("EXPLAIN {sql}"))
            .load::<PgLine>(conn)
            .map(|v| v.into_iter().map(|l| l.line).collect::<Vec<_>>().join("\n"))
            .unwrap_or_else(|e| format!("EXPLAIN failed: {e}")),
        Backend::Sqlite => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<SqliteLine>(conn)
            .map(|v| {
                v.into_iter()
                    .map(|l| l.detail)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_else(|e| format!("EXPLAIN failed: {e}")),
    }
}

fn median(v: &mut [Duration]) -> f64 {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        ms(v[n / 2])
    } else {
        (ms(v[n / 2 - 1]) + ms(v[n / 2])) / 2.0
    }
}

fn main() {
    let n_cases = env_usize("BENCH_CASES", 1_000_000);
    let iters = env_usize("BENCH_ITER", 5).max(1);
    let reuse = std::env::var("BENCH_REUSE").ok().filter(|u| !u.is_empty());
    let (url, _db) = match &reuse {
        Some(u) => (u.clone(), None),
        None => {
            let (u, db) = BenchDb::create("fa_reports");
            (u, Some(db))
        }
    };
    let backend = Backend::of_url(&url);
    // The benchmark's own audit key (its data is generated by this run), and the events'
    // representation, before anything is written.
    persistence::audit::install_keys(foerderakte::domain::audit::Keyring::single(
        foerderakte::domain::audit::AuditKey::from_hex(&AUDIT_KEY_HEX).expect("a key"),
    ));
    foerderakte::http::representation::install();
    let mut conn = persistence::establish(&url).expect("the bench database connects");
    persistence::prepare_database(&mut conn).expect("migrations and register");
    let t = Instant::now();
    if reuse.is_none() {
        eprintln!("loading {n_cases} cases with the seed-demo generator ...");
        let options = foerderakte::seed::Options {
            cases: Some(n_cases as u64),
            seed: foerderakte::seed::DEFAULT_SEED,
            bulk: false,
        };
        let written = foerderakte::seed::run(&mut conn, &options, &mut |line| eprintln!("{line}"))
            .expect("the load generator");
        eprint!("{}", written.text());
        vacuum_after_load(&mut conn);
    }
    let load_secs = t.elapsed().as_secs_f64();
    let n_cases: i64 = foerderakte::persistence::schema::applications::table
        .count()
        .get_result(&mut conn)
        .expect("count the cases");
    eprintln!("loaded in {load_secs:.0} s");

    let settings = Settings {
        database_url: url.clone(),
        bind_addr: "127.0.0.1:0".into(),
        pool_size: 4,
        jwt: JwtSettings {
            algorithm: foerderakte::auth::JwtAlgorithm::Hs256,
            secret: Some(SECRET.into()),
            public_key: None,
            issuer: "foerderakte".into(),
            audience: "foerderakte-api".into(),
            max_ttl_secs: foerderakte::config::JWT_MAX_TTL_SECS,
        },
        authority: foerderakte::config::default_authority(),
        // The benchmark's own key: its data is generated by this run.
        audit: foerderakte::config::AuditSettings {
            source: foerderakte::config::AuditKeySource::Hex(AUDIT_KEY_HEX.clone()),
            previous: Vec::new(),
            seal_interval_ms: 0,
        },
        limits: foerderakte::config::LimitSettings::for_pool(4),
        metrics_token: None,
        open_data: false,
        cors_allowed_origins: Vec::new(),
        rate_limit_per_minute: None,
        webhooks: foerderakte::config::WebhookSettings {
            interval_ms: 0,
            ..Default::default()
        },
    };
    let app = Application::build(&settings).expect("the server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let server = app.server();
    let handle = server.handle();
    let thread = std::thread::spawn(move || {
        let _ = actix_web::rt::System::new().block_on(server);
    });
    let token = mint_hs256(&settings.jwt, "bench", Role::Ministry, &[], 3600).expect("token");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let get = |path: &str| -> String {
        let request = agent.get(format!("{address}{path}"));
        let request = match path.starts_with("/dashboard/") {
            true => request.header("Cookie", format!("fa_sitzung={token}")),
            false => request.header("Authorization", format!("Bearer {token}")),
        };
        let mut r = request.call().expect("request");
        assert_eq!(r.status(), 200, "{path}");
        r.body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .expect("body")
    };

    let reports = reports(backend);
    let explain_on = std::env::var("BENCH_EXPLAIN").is_ok_and(|v| v == "1");
    for r in &reports {
        let repo = (r.repo)(&mut conn);
        let plain = (r.plain)(&mut conn);
        assert_eq!(
            repo, plain,
            "{}: the code and the hand-written SQL disagree",
            r.name
        );
        assert!(!repo.is_empty(), "{}: no rows", r.name);
        eprintln!("{}: {} rows, code = hand-written", r.name, repo.len());
    }
    if explain_on {
        let q = VolumeQuery {
            group_by: vec![GroupKey::Year, GroupKey::Municipality],
            ..VolumeQuery::all(Basis::Notice)
        };
        let (sql, _) = reporting::volumes_sql(backend, &q);
        println!(
            "plan of the code's volumes query:\n{}\n",
            explain(&mut conn, &sql, backend)
        );
        println!(
            "plan of the hand-written volumes query:\n{}\n",
            explain(
                &mut conn,
                &plain_volumes(backend, Basis::Notice, "ags"),
                backend
            )
        );
    }

    let mut http = vec![Vec::new(); reports.len()];
    let mut repo = vec![Vec::new(); reports.len()];
    let mut plain = vec![Vec::new(); reports.len()];
    for round in 0..=iters {
        for (i, r) in reports.iter().enumerate() {
            // Rotate the column order so that no column always runs on a warm cache.
            for col in 0..3 {
                let which = (col + round + i) % 3;
                let t = Instant::now();
                match which {
                    0 => drop(std::hint::black_box(get(&r.path))),
                    1 => drop(std::hint::black_box((r.repo)(&mut conn))),
                    _ => drop(std::hint::black_box((r.plain)(&mut conn))),
                }
                let d = t.elapsed();
                if round > 0 {
                    [&mut http, &mut repo, &mut plain][which][i].push(d);
                }
            }
        }
    }
    actix_web::rt::System::new().block_on(handle.stop(true));
    let _ = thread.join();

    let engine = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!(
        "\nreports at {n_cases} cases on {engine} (loaded in {load_secs:.0} s); median of {iters} \
         rounds after one warm-up, ms\n"
    );
    println!(
        "| report | http | repo | plain SQL | http ÷ plain | repo ÷ plain |\n|---|---:|---:|---:|---:|---:|"
    );
    for (i, r) in reports.iter().enumerate() {
        let (h, c, p) = (
            median(&mut http[i]),
            median(&mut repo[i]),
            median(&mut plain[i]),
        );
        println!(
            "| {} | {h:.0} | {c:.0} | {p:.0} | {:.2} | {:.2} |",
            r.name,
            h / p,
            c / p
        );
    }
}
