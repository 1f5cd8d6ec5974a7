//! Benchmark: listing 50 cases with filters at 100,000 cases in the database.
//!
//! Seeds a fresh database with `BENCH_CASES` (default 100000) generated cases, then measures
//! each list request three ways, interleaved in one run:
//!
//! - **http**: `GET /api/v1/applications?...` through the in-process server (token check,
//!   query, JSON of the page, HTTP over loopback with keep-alive);
//! - **repo**: `persistence::applications::list` on a direct connection;
//! - **plain**: the same query written by hand as SQL, loaded with `diesel::sql_query` into a
//!   `QueryableByName` struct of the same columns on the same connection type.
//!
//! Before timing, it asserts that plain SQL and repo return the same rows in the same order
//! and that the HTTP page holds the same ids. A second table times rewrites of the plain SQL
//! that `docs/benchmarks.md` suggests (each asserted to return the same rows).
//!
//! ```text
//! cargo bench --bench list_cases                      # SQLite, temp file
//! scripts/with-pg.sh cargo bench --bench list_cases   # PostgreSQL, fresh database fa_bench_<uuid>
//! BENCH_CASES=2000 BENCH_ITER=5 cargo test --bench list_cases   # quick check in debug
//! ```
//!
//! Environment: `DATABASE_URL` (unset: a temp SQLite file, deleted afterwards; `postgres://`:
//! a server on which a fresh database is created and dropped afterwards; else a SQLite path
//! that must not exist yet), `BENCH_CASES`, `BENCH_ITER` (timed iterations, default 200),
//! `BENCH_WARMUP` (default BENCH_ITER/10, at least 3), `BENCH_EXPLAIN=1` (print query plans),
//! `BENCH_SHOW_SQL=1` (print the SQL the repository sends), `BENCH_KEEP_DB=1` (keep the
//! database, to look at it afterwards), `BENCH_PG_SETTINGS=name=value,...` (PostgreSQL:
//! `ALTER DATABASE ... SET` before the server starts, e.g. `max_parallel_workers_per_gather=0`).
//! Results: `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Nullable, Text, Timestamp};
use foerderakte::auth::mint_hs256;
use foerderakte::config::{JwtSettings, Settings};
use foerderakte::domain::{Ags, Money, Role};
use foerderakte::http::pagination;
use foerderakte::persistence::applications::{self as repo, ApplicationRow, ListFilter, Scope};
use foerderakte::persistence::{self, AnyConnection, Backend, Db};
use foerderakte::startup::Application;

mod common;
use common::{BenchDb, Rng, env_usize, ms};

const SECRET: &str = "bench-secret-that-is-long-enough-0123456789";
/// Page size of every request; the handler loads one row more to know whether there is a
/// next page, so repo and plain SQL load `PAGE + 1` rows too.
const PAGE: i64 = 50;

// ---------------------------------------------------------------------------------------------
// Deterministic data.

const STATUSES: [&str; 10] = [
    "draft",
    "submitted",
    "in_review",
    "info_requested",
    "approved",
    "rejected",
    "withdrawn",
    "proof_submitted",
    "closed",
    "revoked",
];
/// Cases opened in 2025 or later: many still open.
const STATUS_WEIGHTS_RECENT: [u32; 10] = [10, 12, 15, 8, 25, 5, 4, 12, 8, 1];
/// Older cases: mostly decided and closed.
const STATUS_WEIGHTS_OLD: [u32; 10] = [1, 1, 2, 1, 10, 8, 5, 10, 60, 2];
/// Cases opened per year, 2019..=2026: volume grows.
const YEAR_WEIGHTS: [u32; 8] = [6, 8, 10, 12, 14, 16, 18, 16];

const EGOV_OBJECTS: [(&str, &str); 6] = [
    ("a", "Einführung DMS und elektronische Akte"),
    ("b", "Online-Dienste und Fachverfahren"),
    ("c", "Schnittstellen Fachverfahren/DMS"),
    ("d", "Informationssicherheitsmanagement"),
    ("e", "E-Rechnung und Digitalstrategie"),
    ("f", "Qualifizierung Informationssicherheit"),
];
const CATEGORIES: [&str; 7] = [
    "software",
    "hardware",
    "services",
    "personnel",
    "training",
    "fees",
    "other",
];
const PHRASES: [&str; 8] = [
    "Die Verwaltung digitalisiert ihre Vorgangsbearbeitung durchgängig.",
    "Ziel ist die medienbruchfreie Bearbeitung vom Antrag bis zum Bescheid.",
    "Das Vorhaben wird mit dem Landesrechenzentrum abgestimmt.",
    "Die Beschäftigten werden vor der Einführung geschult.",
    "Die Lösung wird im Betrieb nach BSI-Grundschutz abgesichert.",
    "Vorhandene Fachverfahren werden über standardisierte Schnittstellen angebunden.",
    "Die Bürgerinnen und Bürger erhalten ein Online-Angebot rund um die Uhr.",
    "Die Umsetzung erfolgt in drei Stufen über zwei Haushaltsjahre.",
];

#[derive(QueryableByName)]
struct Municipality {
    #[diesel(sql_type = Text)]
    ags: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    population: Option<i64>,
}

struct CostLine {
    category: &'static str,
    description: String,
    amount: i64,
    eligible: bool,
}

/// One generated case, all columns.
struct SeedCase {
    id: String,
    case_number: String,
    case_year: i32,
    programme: &'static str,
    object: &'static str,
    lead: usize,
    /// `(municipality index, share_bp)`, lead first.
    members: Vec<(usize, i32)>,
    title: String,
    description: String,
    project_start: Option<NaiveDate>,
    project_end: Option<NaiveDate>,
    lines: [CostLine; 2],
    total: i64,
    eligible: i64,
    own: i64,
    third: i64,
    requested: i64,
    granted: Option<i64>,
    paid: i64,
    status: &'static str,
    version: i32,
    info_due: Option<NaiveDate>,
    early_start_at: Option<NaiveDateTime>,
    early_start_by: Option<&'static str>,
    clock_seconds: i64,
    clock_since: Option<NaiveDateTime>,
    submitted_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn generate(n: usize, munis: &[Municipality]) -> Vec<SeedCase> {
    let mut rng = Rng(0x00F0_E2DA_17E2_2026);
    // Busier towns apply more often: weight √population.
    let weights: Vec<u32> = munis
        .iter()
        .map(|m| ((m.population.unwrap_or(100).max(25) as f64).sqrt() * 10.0) as u32)
        .collect();
    let mut by_kreis: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, m) in munis.iter().enumerate() {
        by_kreis.entry(&m.ags[..5]).or_default().push(i);
    }
    let egov_2024_from = date(2024, 7, 1).and_hms_opt(0, 0, 0).unwrap();
    let mut cases = Vec::with_capacity(n);
    for _ in 0..n {
        let year = 2019 + i32::try_from(rng.weighted(&YEAR_WEIGHTS)).unwrap();
        let start = date(year, 1, 1).and_hms_opt(0, 0, 0).unwrap();
        let days = if year == 2026 { 320 } else { 364 };
        let created_at = start
            + TimeDelta::seconds(rng.between(0, days * 86_400 + 86_399))
            + TimeDelta::microseconds(rng.between(0, 999_999));
        let (programme, object, joint) = match rng.below(100) {
            0..=7 => ("THUERFAG-24-KOOP", "koop", true),
            8..=19 => ("THUERFAG-24-STUDIE", "studie", rng.percent(10)),
            _ => {
                let p = if created_at < egov_2024_from {
                    "THUEREGOVRL-2018"
                } else {
                    "THUEREGOVRL-2024"
                };
                let o = EGOV_OBJECTS[usize::try_from(rng.below(6)).unwrap()].0;
                (p, o, rng.percent(1))
            }
        };
        let lead = rng.weighted(&weights);
        let mut members = vec![(lead, 10_000)];
        if joint {
            // Partners from the same Kreis where it has enough Gemeinden.
            let kreis = &by_kreis[&munis[lead].ags[..5]];
            let pool: Vec<usize> = if kreis.len() >= 3 {
                kreis.clone()
            } else {
                (0..munis.len()).collect()
            };
            while members.len() < 3 {
                let p = pool[usize::try_from(rng.below(pool.len() as u64)).unwrap()];
                if members.iter().all(|(m, _)| *m != p) {
                    members.push((p, 0));
                }
            }
            members[0].1 = 3334;
            members[1].1 = 3333;
            members[2].1 = 3333;
        }
        let status_ix = if year >= 2025 {
            rng.weighted(&STATUS_WEIGHTS_RECENT)
        } else {
            rng.weighted(&STATUS_WEIGHTS_OLD)
        };
        let status = STATUSES[status_ix];
        let label = match object {
            "koop" => "Interkommunale Zusammenarbeit IT-Betrieb",
            "studie" => "Machbarkeitsstudie gemeinsame Verwaltungs-IT",
            o => EGOV_OBJECTS
                .iter()
                .find(|(c, _)| *c == o)
                .map(|(_, l)| *l)
                .unwrap_or("E-Government"),
        };
        let title = format!("{label} {}", munis[lead].name);
        let mut description = String::new();
        for _ in 0..rng.between(2, 4) {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str(PHRASES[usize::try_from(rng.below(8)).unwrap()]);
        }
        let a1 = rng.between(500_000, 40_000_000);
        let a2 = rng.between(100_000, 10_000_000);
        let lines = [
            CostLine {
                category: CATEGORIES[usize::try_from(rng.below(3)).unwrap()],
                description: "Lizenzen, Einrichtung und Migration".into(),
                amount: a1,
                eligible: true,
            },
            CostLine {
                category: CATEGORIES[3 + usize::try_from(rng.below(4)).unwrap()],
                description: "Schulung, Projektsteuerung und Nebenkosten".into(),
                amount: a2,
                eligible: rng.percent(80),
            },
        ];
        let total = a1 + a2;
        let eligible = a1 + if lines[1].eligible { a2 } else { 0 };
        let requested = match programme {
            "THUERFAG-24-KOOP" => (eligible * 9 / 10).min(50_000_000),
            "THUERFAG-24-STUDIE" => (eligible * 3 / 4).min(3_000_000),
            _ => eligible * 8 / 10,
        };
        let third = if rng.percent(10) {
            (total - requested).min(total / 20)
        } else {
            0
        };
        let own = total - requested - third;
        let decided = matches!(
            status,
            "approved" | "proof_submitted" | "closed" | "revoked"
        );
        let granted = decided.then(|| requested - requested * rng.between(0, 10) / 100);
        let paid = match (status, granted) {
            ("proof_submitted" | "closed", Some(g)) => g,
            ("approved", Some(g)) if rng.percent(40) => g / 2,
            _ => 0,
        };
        let submitted_at =
            (status != "draft").then(|| created_at + TimeDelta::days(rng.between(1, 30)));
        let updated_at =
            submitted_at.unwrap_or(created_at) + TimeDelta::seconds(rng.between(0, 200 * 86_400));
        let version = if status == "draft" {
            i32::try_from(rng.between(1, 3)).unwrap()
        } else {
            i32::try_from(rng.between(2, 8)).unwrap()
        };
        let clock_seconds = if status == "draft" {
            0
        } else {
            rng.between(86_400, 120 * 86_400)
        };
        let clock_since =
            matches!(status, "submitted" | "in_review" | "proof_submitted").then_some(updated_at);
        let info_due =
            (status == "info_requested").then(|| updated_at.date() + TimeDelta::days(28));
        let early = decided && programme.starts_with("THUEREGOVRL") && rng.percent(5);
        let early_start_at = submitted_at
            .filter(|_| early)
            .map(|t| t + TimeDelta::days(3));
        let project_start = (status != "draft" || rng.percent(50))
            .then(|| created_at.date() + TimeDelta::days(rng.between(60, 200)));
        let project_end = project_start.map(|s| s + TimeDelta::days(rng.between(180, 720)));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
        bytes[8..].copy_from_slice(&rng.next().to_le_bytes());
        cases.push(SeedCase {
            id: uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
            case_number: String::new(),
            case_year: year,
            programme,
            object,
            lead,
            members,
            title,
            description,
            project_start,
            project_end,
            lines,
            total,
            eligible,
            own,
            third,
            requested,
            granted,
            paid,
            status,
            version,
            info_due,
            early_start_at,
            early_start_by: early_start_at.map(|_| "carla.caseworker"),
            clock_seconds,
            clock_since,
            submitted_at,
            created_at,
            updated_at,
        });
    }
    cases
}

/// Case numbers in creation order, gap-free per prefix and year; returns the counters.
fn number(cases: &mut [SeedCase]) -> BTreeMap<(&'static str, i32), i32> {
    cases.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let mut counters = BTreeMap::new();
    for c in cases.iter_mut() {
        let prefix = foerderakte::domain::application::case_number_prefix(c.programme);
        let n = counters.entry((prefix, c.case_year)).or_insert(0);
        *n += 1;
        c.case_number = foerderakte::domain::application::case_number(prefix, c.case_year, *n);
    }
    counters
}

// SQL literals. The data is ours; quotes are doubled anyway.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
/// Diesel's own text format for SQLite timestamps, so that keyset comparisons of bound
/// parameters against stored text are exact.
fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%F %T%.f"))
}
fn day(d: NaiveDate) -> String {
    format!("'{}'", d.format("%F"))
}
fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "NULL".to_owned(), f)
}
fn boolean(b: bool) -> &'static str {
    if b { "TRUE" } else { "FALSE" }
}

fn insert_sql(batch: &[SeedCase], munis: &[Municipality]) -> String {
    let mut apps = String::from(
        "INSERT INTO applications (id, case_number, case_year, programme_code, funding_object, \
         lead_ags, joint, title, description, project_start, project_end, total_cost_cents, \
         eligible_cents, own_contribution_cents, third_party_cents, requested_cents, \
         granted_cents, paid_cents, status, version, info_due, early_start_at, early_start_by, \
         clock_seconds, clock_since, submitted_at, created_by, created_at, updated_at) VALUES ",
    );
    let mut members = String::from(
        "INSERT INTO application_members (application_id, position, ags, kreis, share_bp, \
         is_lead) VALUES ",
    );
    let mut lines = String::from(
        "INSERT INTO cost_lines (application_id, line_no, category, description, amount_cents, \
         eligible) VALUES ",
    );
    for (i, c) in batch.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let lead = &munis[c.lead].ags;
        write!(
            apps,
            "{sep}({},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{})",
            q(&c.id),
            q(&c.case_number),
            c.case_year,
            q(c.programme),
            q(c.object),
            q(lead),
            boolean(c.members.len() > 1),
            q(&c.title),
            q(&c.description),
            opt(c.project_start, day),
            opt(c.project_end, day),
            c.total,
            c.eligible,
            c.own,
            c.third,
            c.requested,
            opt(c.granted, |g| g.to_string()),
            c.paid,
            q(c.status),
            c.version,
            opt(c.info_due, day),
            opt(c.early_start_at, ts),
            opt(c.early_start_by, q),
            c.clock_seconds,
            opt(c.clock_since, ts),
            opt(c.submitted_at, ts),
            q(&format!("applicant-{lead}")),
            ts(c.created_at),
            ts(c.updated_at),
        )
        .unwrap();
        for (pos, (m, share)) in c.members.iter().enumerate() {
            let ags = &munis[*m].ags;
            let sep = if i == 0 && pos == 0 { "" } else { "," };
            write!(
                members,
                "{sep}({},{pos},{},{},{share},{})",
                q(&c.id),
                q(ags),
                q(&ags[..5]),
                boolean(pos == 0)
            )
            .unwrap();
        }
        for (no, l) in c.lines.iter().enumerate() {
            let sep = if i == 0 && no == 0 { "" } else { "," };
            write!(
                lines,
                "{sep}({},{},{},{},{},{})",
                q(&c.id),
                no + 1,
                q(l.category),
                q(&l.description),
                l.amount,
                boolean(l.eligible)
            )
            .unwrap();
        }
    }
    format!("{apps};\n{members};\n{lines};")
}

/// Seeds `n` cases; returns the seconds it took.
fn seed(conn: &mut AnyConnection, n: usize) -> f64 {
    let started = Instant::now();
    let munis: Vec<Municipality> = diesel::sql_query(
        "SELECT ags, name, population FROM municipalities \
         WHERE kind IN ('gemeinde', 'stadt') AND valid_to IS NULL ORDER BY ags",
    )
    .load(conn)
    .expect("the register loads");
    assert!(munis.len() > 100, "the register has current Gemeinden");
    let mut cases = generate(n, &munis);
    let counters = number(&mut cases);
    for chunk in cases.chunks(10_000) {
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            for batch in chunk.chunks(500) {
                conn.batch_execute(&insert_sql(batch, &munis))?;
            }
            Ok(())
        })
        .expect("seed batch");
    }
    let counter_rows: Vec<String> = counters
        .iter()
        .map(|((prefix, year), n)| format!("({},{year},{n})", q(prefix)))
        .collect();
    if !counter_rows.is_empty() {
        conn.batch_execute(&format!(
            "INSERT INTO case_counters (prefix, year, last_number) VALUES {}",
            counter_rows.join(",")
        ))
        .expect("case counters");
    }
    match conn {
        AnyConnection::Sqlite(_) => conn
            .batch_execute("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("ANALYZE"),
        // VACUUM as well: an insert-only table gets it from autovacuum soon after a bulk
        // load; doing it now keeps autovacuum from starting in the middle of the timing.
        AnyConnection::Pg(_) => conn
            .batch_execute("VACUUM ANALYZE")
            .expect("VACUUM ANALYZE"),
    }
    started.elapsed().as_secs_f64()
}

// ---------------------------------------------------------------------------------------------
// The plain-SQL baseline.

/// The list columns, in `ApplicationRow` order.
const COLUMNS: &str = "id, case_number, case_year, programme_code, funding_object, lead_ags, \
    joint, title, description, project_start, project_end, total_cost_cents, eligible_cents, \
    own_contribution_cents, third_party_cents, requested_cents, granted_cents, paid_cents, \
    status, version, info_due, early_start_at, early_start_by, clock_seconds, clock_since, \
    submitted_at, created_by, created_at, updated_at, reclaimed_cents, contact, postal_address";

#[derive(QueryableByName)]
struct PlainRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    case_number: String,
    #[diesel(sql_type = Integer)]
    case_year: i32,
    #[diesel(sql_type = Text)]
    programme_code: String,
    #[diesel(sql_type = Text)]
    funding_object: String,
    #[diesel(sql_type = Text)]
    lead_ags: String,
    #[diesel(sql_type = Bool)]
    joint: bool,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Nullable<Date>)]
    project_start: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Date>)]
    project_end: Option<NaiveDate>,
    #[diesel(sql_type = BigInt)]
    total_cost_cents: i64,
    #[diesel(sql_type = BigInt)]
    eligible_cents: i64,
    #[diesel(sql_type = BigInt)]
    own_contribution_cents: i64,
    #[diesel(sql_type = BigInt)]
    third_party_cents: i64,
    #[diesel(sql_type = BigInt)]
    requested_cents: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    granted_cents: Option<i64>,
    #[diesel(sql_type = BigInt)]
    paid_cents: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Nullable<Date>)]
    info_due: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    early_start_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    early_start_by: Option<String>,
    #[diesel(sql_type = BigInt)]
    clock_seconds: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    clock_since: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    submitted_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Text)]
    created_by: String,
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    updated_at: NaiveDateTime,
    #[diesel(sql_type = BigInt)]
    reclaimed_cents: i64,
    #[diesel(sql_type = Nullable<Text>)]
    contact: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    postal_address: Option<String>,
}

/// A stored amount (the comparison is not timed).
fn money(cents: i64) -> Money {
    Money::from_cents(cents).expect("a stored amount")
}

impl PlainRow {
    /// For the equivalence check only (not timed).
    fn into_row(self) -> ApplicationRow {
        ApplicationRow {
            id: self.id,
            case_number: self.case_number,
            case_year: self.case_year,
            programme_code: self.programme_code,
            funding_object: self.funding_object,
            lead_ags: self.lead_ags,
            joint: self.joint,
            title: self.title,
            description: self.description,
            project_start: self.project_start,
            project_end: self.project_end,
            total_cost_cents: money(self.total_cost_cents),
            eligible_cents: money(self.eligible_cents),
            own_contribution_cents: money(self.own_contribution_cents),
            third_party_cents: money(self.third_party_cents),
            requested_cents: money(self.requested_cents),
            granted_cents: self.granted_cents.map(money),
            paid_cents: money(self.paid_cents),
            status: self.status.parse().expect("a stored status"),
            version: self.version,
            info_due: self.info_due,
            early_start_at: self.early_start_at,
            early_start_by: self.early_start_by,
            clock_seconds: self.clock_seconds,
            clock_since: self.clock_since,
            submitted_at: self.submitted_at,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            reclaimed_cents: money(self.reclaimed_cents),
            contact: self.contact,
            postal_address: self.postal_address,
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct OneText {
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Timestamp)]
    created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Integer)]
    parent: i32,
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i32),
    BigInt(i64),
    Ts(NaiveDateTime),
}

impl Bind {
    fn literal(&self) -> String {
        match self {
            Bind::Text(s) => q(s),
            Bind::Int(i) => i.to_string(),
            Bind::BigInt(i) => i.to_string(),
            Bind::Ts(t) => ts(*t),
        }
    }
}

/// A query with its binds written in, for EXPLAIN on PostgreSQL.
fn with_literals(sql: &str, binds: &[Bind]) -> String {
    let mut sql = sql.to_owned();
    for (i, b) in binds.iter().enumerate().rev() {
        sql = sql.replace(&format!("${}", i + 1), &b.literal());
    }
    sql
}

fn load_plain<T>(conn: &mut AnyConnection, sql: &str, binds: &[Bind]) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Db> + 'static,
{
    let mut query = diesel::sql_query(sql).into_boxed::<Db>();
    for b in binds {
        query = match b {
            Bind::Text(s) => query.bind::<Text, _>(s.as_str()),
            Bind::Int(i) => query.bind::<Integer, _>(*i),
            Bind::BigInt(i) => query.bind::<BigInt, _>(*i),
            Bind::Ts(t) => query.bind::<Timestamp, _>(*t),
        };
    }
    query.load(conn)
}

// ---------------------------------------------------------------------------------------------
// The requests.

struct Case {
    key: char,
    label: String,
    /// Path and query of the HTTP request.
    path: String,
    bearer: String,
    /// `Some`: applicant scope.
    scope_keys: Option<Vec<String>>,
    filter: ListFilter,
    /// The hand-written `WHERE` clause (empty: none) and its binds `$1..`.
    where_sql: String,
    binds: Vec<Bind>,
    /// The full plain query; its binds are `binds` and the limit.
    sql: String,
    sql_binds: Vec<Bind>,
}

impl Case {
    #[allow(clippy::too_many_arguments)]
    fn new(
        key: char,
        label: String,
        path: String,
        bearer: &str,
        scope_keys: Option<Vec<String>>,
        filter: ListFilter,
        where_sql: &str,
        binds: Vec<Bind>,
    ) -> Case {
        let filter = ListFilter {
            limit: PAGE + 1,
            ..filter
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM applications {where_sql} \
             ORDER BY created_at DESC, id DESC LIMIT ${}",
            binds.len() + 1
        );
        let mut sql_binds = binds.clone();
        sql_binds.push(Bind::BigInt(PAGE + 1));
        Case {
            key,
            label,
            path,
            bearer: bearer.to_owned(),
            scope_keys,
            filter,
            where_sql: where_sql.to_owned(),
            binds,
            sql,
            sql_binds,
        }
    }

    fn repo(&self, conn: &mut AnyConnection) -> QueryResult<Vec<ApplicationRow>> {
        let scope = match &self.scope_keys {
            Some(keys) => Scope::Municipalities(keys),
            None => Scope::All,
        };
        repo::list(conn, scope, &self.filter)
    }

    fn plain(&self, conn: &mut AnyConnection) -> QueryResult<Vec<PlainRow>> {
        load_plain(conn, &self.sql, &self.sql_binds)
    }

    fn matching(&self, conn: &mut AnyConnection) -> i64 {
        let sql = format!("SELECT COUNT(*) AS n FROM applications {}", self.where_sql);
        load_plain::<Count>(conn, &sql, &self.binds).expect("count")[0].n
    }
}

struct Http {
    base: String,
    agent: ureq::Agent,
}

impl Http {
    fn get(&self, path: &str, bearer: &str) -> String {
        let mut resp = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", bearer)
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

fn page_ids(body: &str) -> (Vec<String>, Option<String>) {
    let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let ids = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    (ids, v["next_cursor"].as_str().map(str::to_owned))
}

fn cursor_of(created_at: NaiveDateTime, id: &str) -> String {
    pagination::encode(&format!("{}|{id}", created_at.and_utc().timestamp_micros()))
}

/// Busiest municipality, and a municipality that is a partner (not lead) in joint cases.
fn pick_municipalities(conn: &mut AnyConnection) -> (String, String) {
    let busiest: Vec<OneText> = diesel::sql_query(
        "SELECT ags AS v FROM application_members GROUP BY ags ORDER BY COUNT(*) DESC, ags LIMIT 1",
    )
    .load(conn)
    .expect("busiest");
    let partner: Vec<OneText> = diesel::sql_query(
        "SELECT ags AS v FROM application_members WHERE is_lead = FALSE \
         GROUP BY ags ORDER BY COUNT(*) DESC, ags LIMIT 1",
    )
    .load(conn)
    .expect("partner");
    (busiest[0].v.clone(), partner[0].v.clone())
}

fn build_cases(
    conn: &mut AnyConnection,
    http: &Http,
    jwt: &JwtSettings,
    n_cases: usize,
) -> Vec<Case> {
    let caseworker = format!(
        "Bearer {}",
        mint_hs256(jwt, "carla.caseworker", Role::Caseworker, &[], 86_400).unwrap()
    );
    let (busiest, partner) = pick_municipalities(conn);
    let applicant = format!(
        "Bearer {}",
        mint_hs256(
            jwt,
            "ingo.it-lead",
            Role::Applicant,
            &[Ags::parse(&busiest).unwrap()],
            86_400
        )
        .unwrap()
    );
    let lim = format!("limit={PAGE}");
    let keyset = "WHERE created_at <= $1 AND (created_at < $2 OR (created_at = $3 AND id < $4))";
    let mut cases = vec![
        Case::new(
            'a',
            "no filter (caseworker)".into(),
            format!("/api/v1/applications?{lim}"),
            &caseworker,
            None,
            ListFilter::default(),
            "",
            vec![],
        ),
        Case::new(
            'b',
            "status=in_review, programme=THUEREGOVRL-2024, year=2025".into(),
            format!(
                "/api/v1/applications?status=in_review&programme=THUEREGOVRL-2024&year=2025&{lim}"
            ),
            &caseworker,
            None,
            ListFilter {
                statuses: vec!["in_review".into()],
                programme: Some("THUEREGOVRL-2024".into()),
                year: Some(2025),
                ..ListFilter::default()
            },
            "WHERE status IN ($1) AND programme_code = $2 AND case_year = $3",
            vec![
                Bind::Text("in_review".into()),
                Bind::Text("THUEREGOVRL-2024".into()),
                Bind::Int(2025),
            ],
        ),
        Case::new(
            'c',
            "kreis=16063".into(),
            format!("/api/v1/applications?kreis=16063&{lim}"),
            &caseworker,
            None,
            ListFilter {
                kreis: Some("16063".into()),
                ..ListFilter::default()
            },
            "WHERE EXISTS (SELECT 1 FROM application_members m \
             WHERE m.application_id = applications.id AND m.kreis = $1)",
            vec![Bind::Text("16063".into())],
        ),
        Case::new(
            'd',
            format!("applicant scope, busiest municipality {busiest}"),
            format!("/api/v1/applications?{lim}"),
            &applicant,
            Some(vec![busiest.clone()]),
            ListFilter::default(),
            "WHERE id IN (SELECT application_id FROM application_members WHERE ags IN ($1))",
            vec![Bind::Text(busiest.clone())],
        ),
        Case::new(
            'e',
            format!("ags={partner} (caseworker)"),
            format!("/api/v1/applications?ags={partner}&{lim}"),
            &caseworker,
            None,
            ListFilter {
                ags: Some(partner.clone()),
                ..ListFilter::default()
            },
            "WHERE id IN (SELECT application_id FROM application_members WHERE ags = $1)",
            vec![Bind::Text(partner.clone())],
        ),
    ];
    // (f) the 3rd page of (a): follow the cursors the API hands out; the repo and plain SQL
    // start after the 100th row.
    let (_, c2) = page_ids(&http.get(&cases[0].path, &caseworker));
    let c2 = c2.expect("a second page");
    let (_, c3) = page_ids(&http.get(&format!("{}&cursor={c2}", cases[0].path), &caseworker));
    let c3 = c3.expect("a third page");
    let pos = |conn: &mut AnyConnection, offset: usize| -> Position {
        diesel::sql_query(format!(
            "SELECT created_at, id FROM applications ORDER BY created_at DESC, id DESC \
             LIMIT 1 OFFSET {offset}"
        ))
        .load::<Position>(conn)
        .expect("position")
        .remove(0)
    };
    let p100 = pos(conn, 99);
    assert_eq!(c3, cursor_of(p100.created_at, &p100.id), "page 3 cursor");
    let after = |p: &Position| {
        (
            ListFilter {
                after: Some((p.created_at, p.id.clone())),
                ..ListFilter::default()
            },
            vec![
                Bind::Ts(p.created_at),
                Bind::Ts(p.created_at),
                Bind::Ts(p.created_at),
                Bind::Text(p.id.clone()),
            ],
        )
    };
    let (filter, binds) = after(&p100);
    cases.push(Case::new(
        'f',
        "3rd page of (a), cursor".into(),
        format!("/api/v1/applications?{lim}&cursor={c3}"),
        &caseworker,
        None,
        filter,
        keyset,
        binds,
    ));
    // (g) a deep page: the cursor halfway through the list.
    let half = n_cases / 2;
    let deep = pos(conn, half - 1);
    let (filter, binds) = after(&deep);
    cases.push(Case::new(
        'g',
        format!("page after row {half} of (a), cursor"),
        format!(
            "/api/v1/applications?{lim}&cursor={}",
            cursor_of(deep.created_at, &deep.id)
        ),
        &caseworker,
        None,
        filter,
        keyset,
        binds,
    ));
    cases
}

/// A rewrite of one case's plain SQL that `docs/benchmarks.md` suggests; timed as plain SQL
/// in the same loop and checked to return the same rows.
struct Variant {
    /// Index of the case in `cases`.
    base: usize,
    label: &'static str,
    sql: String,
    binds: Vec<Bind>,
}

fn build_variants(cases: &[Case]) -> Vec<Variant> {
    let find = |key: char| cases.iter().position(|c| c.key == key).expect("case");
    let select = |where_sql: &str, limit_bind: usize| {
        format!(
            "SELECT {COLUMNS} FROM applications {where_sql} \
             ORDER BY created_at DESC, id DESC LIMIT ${limit_bind}"
        )
    };
    let limit = Bind::BigInt(PAGE + 1);
    let exists = |key: char, column: &str, label: &'static str| {
        let base = find(key);
        Variant {
            base,
            label,
            sql: select(
                &format!(
                    "WHERE EXISTS (SELECT 1 FROM application_members m \
                     WHERE m.application_id = applications.id AND m.{column} = $1)"
                ),
                2,
            ),
            binds: vec![cases[base].binds[0].clone(), limit.clone()],
        }
    };
    let g = find('g');
    let (t, id) = match (&cases[g].binds[0], &cases[g].binds[3]) {
        (Bind::Ts(t), Bind::Text(id)) => (*t, id.clone()),
        _ => unreachable!("(g) binds are created_at ×3, id"),
    };
    vec![
        exists('e', "ags", "ags filter as EXISTS"),
        Variant {
            base: g,
            label: "keyset as row value (created_at, id) < ($1, $2)",
            sql: select("WHERE (created_at, id) < ($1, $2)", 3),
            binds: vec![Bind::Ts(t), Bind::Text(id), limit],
        },
    ]
}

/// The SQL the repository sends for each case, and whether diesel caches its prepared
/// statement (captured on a separate connection, so the timed one carries no instrumentation).
fn repo_sql(url: &str, cases: &[Case]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for c in cases {
        // A new connection each time: diesel reports `CacheQuery` only when it puts a
        // statement into the connection's cache.
        let events: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
        let mut conn = persistence::establish(url).expect("connects");
        let sink = Arc::clone(&events);
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| match e {
            InstrumentationEvent::StartQuery { query, .. } => {
                sink.lock().unwrap().push((query.to_string(), false));
            }
            InstrumentationEvent::CacheQuery { .. } => {
                if let Some(last) = sink.lock().unwrap().last_mut() {
                    last.1 = true;
                }
            }
            _ => {}
        });
        c.repo(&mut conn).expect("repo list");
        out.push(events.lock().unwrap().last().cloned().unwrap_or_default());
    }
    out
}

fn explain(conn: &mut AnyConnection, sql: &str, binds: &[Bind]) -> String {
    let mut out = String::new();
    match conn {
        AnyConnection::Sqlite(_) => {
            let lines: Vec<SqlitePlanLine> =
                load_plain(conn, &format!("EXPLAIN QUERY PLAN {sql}"), binds)
                    .expect("EXPLAIN QUERY PLAN");
            let mut depth: HashMap<i32, usize> = HashMap::new();
            for l in lines {
                let d = depth.get(&l.parent).map_or(0, |d| d + 1);
                depth.insert(l.id, d);
                writeln!(out, "{}{}", "  ".repeat(d), l.detail).unwrap();
            }
        }
        AnyConnection::Pg(_) => {
            conn.batch_execute(
                "CREATE OR REPLACE FUNCTION pg_temp.bench_explain(q text) RETURNS SETOF text \
                 LANGUAGE plpgsql AS $$ DECLARE r text; BEGIN \
                 FOR r IN EXECUTE q LOOP RETURN NEXT r; END LOOP; END $$",
            )
            .expect("explain function");
            let lines: Vec<OneText> = load_plain(
                conn,
                "SELECT pg_temp.bench_explain($1) AS v",
                &[Bind::Text(format!(
                    "EXPLAIN (ANALYZE, BUFFERS) {}",
                    with_literals(sql, binds)
                ))],
            )
            .expect("EXPLAIN");
            for l in lines {
                writeln!(out, "{}", l.v).unwrap();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Statistics and the report.

struct Stats {
    median: f64,
    p95: f64,
}

fn stats(samples: &mut [Duration]) -> Stats {
    samples.sort();
    let n = samples.len();
    let median = if n % 2 == 1 {
        ms(samples[n / 2])
    } else {
        (ms(samples[n / 2 - 1]) + ms(samples[n / 2])) / 2.0
    };
    let p95 = ms(samples[(n * 95).div_ceil(100).max(1) - 1]);
    Stats { median, p95 }
}

fn main() {
    let n_cases = env_usize("BENCH_CASES", 100_000);
    let iters = env_usize("BENCH_ITER", 200).max(1);
    let warmup = env_usize("BENCH_WARMUP", (iters / 10).max(3));
    assert!(n_cases >= 200, "BENCH_CASES must be at least 200");
    let (url, db) = BenchDb::create("fa_bench");
    let backend = Backend::of_url(&url);

    let mut conn = persistence::establish(&url).expect("the bench database connects");
    persistence::prepare_database(&mut conn).expect("migrations and register");
    eprintln!("seeding {n_cases} cases ...");
    let seed_secs = seed(&mut conn, n_cases);
    eprintln!("seeded in {seed_secs:.1} s");
    let version: Vec<OneText> = diesel::sql_query(match backend {
        Backend::Sqlite => "SELECT sqlite_version() AS v",
        Backend::Postgres => "SELECT current_setting('server_version') AS v",
    })
    .load(&mut conn)
    .expect("version");
    let engine = match backend {
        Backend::Sqlite => format!("SQLite {}", version[0].v),
        Backend::Postgres => format!("PostgreSQL {}", version[0].v),
    };

    let pg_settings = std::env::var("BENCH_PG_SETTINGS").unwrap_or_default();
    if let BenchDb::Postgres { name, .. } = &db {
        for setting in pg_settings.split(',').filter(|s| !s.trim().is_empty()) {
            let (k, v) = setting
                .split_once('=')
                .expect("BENCH_PG_SETTINGS is name=value,...");
            conn.batch_execute(&format!(
                "ALTER DATABASE {name} SET {} = {}",
                k.trim(),
                v.trim()
            ))
            .expect("ALTER DATABASE ... SET");
        }
        // New sessions (ours and the server's pool) pick the settings up.
        conn = persistence::establish(&url).expect("reconnects");
    }

    let jwt = JwtSettings {
        algorithm: foerderakte::auth::JwtAlgorithm::Hs256,
        secret: Some(SECRET.into()),
        public_key: None,
        issuer: "foerderakte".into(),
        audience: "foerderakte-api".into(),
        max_ttl_secs: foerderakte::config::JWT_MAX_TTL_SECS,
    };
    let settings = Settings {
        database_url: url.clone(),
        bind_addr: "127.0.0.1:0".into(),
        pool_size: 4,
        jwt: jwt.clone(),
        authority: foerderakte::config::default_authority(),
        // The benchmark's own key: its data is generated by this run.
        audit: foerderakte::config::AuditSettings {
            source: foerderakte::config::AuditKeySource::Hex("be".repeat(32)),
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
    let app = Application::build(&settings).expect("the application builds");
    let http = Http {
        base: format!("http://127.0.0.1:{}", app.port()),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into(),
    };
    let server = app.server();
    let handle: ServerHandle = server.handle();
    let thread = std::thread::spawn(move || {
        let _ = actix_web::rt::System::new().block_on(server);
    });

    let cases = build_cases(&mut conn, &http, &jwt, n_cases);

    // The three columns must do the same work: same rows, same order.
    let mut matching = Vec::new();
    for c in &cases {
        let repo_rows = c.repo(&mut conn).expect("repo list");
        let plain_rows: Vec<ApplicationRow> = c
            .plain(&mut conn)
            .expect("plain SQL")
            .into_iter()
            .map(PlainRow::into_row)
            .collect();
        assert!(
            repo_rows == plain_rows,
            "({}) plain SQL and repo differ: {:?} vs {:?}",
            c.key,
            plain_rows.iter().map(|r| &r.id).collect::<Vec<_>>(),
            repo_rows.iter().map(|r| &r.id).collect::<Vec<_>>()
        );
        let (http_ids, _) = page_ids(&http.get(&c.path, &c.bearer));
        let repo_ids: Vec<String> = repo_rows
            .iter()
            .take(usize::try_from(PAGE).unwrap())
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(http_ids, repo_ids, "({}) HTTP page and repo differ", c.key);
        assert!(!repo_ids.is_empty(), "({}) returns rows", c.key);
        matching.push((c.matching(&mut conn), http_ids.len()));
    }

    let variants = build_variants(&cases);
    for v in &variants {
        let base: Vec<String> = cases[v.base]
            .plain(&mut conn)
            .expect("plain SQL")
            .into_iter()
            .map(|r| r.id)
            .collect();
        let ids: Vec<String> = load_plain::<PlainRow>(&mut conn, &v.sql, &v.binds)
            .expect("variant SQL")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, base, "variant {:?} returns other rows", v.label);
    }

    if std::env::var("BENCH_SHOW_SQL").is_ok_and(|v| v == "1") {
        for (c, (sql, cached)) in cases.iter().zip(repo_sql(&url, &cases)) {
            println!(
                "({}) repo SQL (prepared statement cached: {cached}):\n{sql}\n",
                c.key
            );
            println!("({}) plain SQL:\n{}\n", c.key, c.sql);
        }
    }
    if std::env::var("BENCH_EXPLAIN").is_ok_and(|v| v == "1") {
        for c in &cases {
            println!(
                "({}) {}:\n{}",
                c.key,
                c.label,
                explain(&mut conn, &c.sql, &c.sql_binds)
            );
        }
        for v in &variants {
            let key = cases[v.base].key;
            println!(
                "({key}) {}:\n{}",
                v.label,
                explain(&mut conn, &v.sql, &v.binds)
            );
        }
    }

    // Each column on its own connection, as the server's pool has its own: SQLite's page cache
    // is per connection, and a query right after the same query on the same connection finds
    // its pages cached, which would favour whichever column runs second.
    let mut repo_conn = persistence::establish(&url).expect("connects");
    let mut plain_conn = persistence::establish(&url).expect("connects");
    let mut variant_conn = persistence::establish(&url).expect("connects");
    // Interleaved: every iteration runs every case in every column, cycling through all six
    // column orders, so that each column follows each other one equally often and drift
    // (caches, CPU frequency, the server's threads finishing a response) is shared.
    const ORDERS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [1, 2, 0],
        [2, 0, 1],
        [0, 2, 1],
        [2, 1, 0],
        [1, 0, 2],
    ];
    let mut samples: Vec<[Vec<Duration>; 3]> = cases
        .iter()
        .map(|_| std::array::from_fn(|_| Vec::with_capacity(iters)))
        .collect();
    let mut variant_samples: Vec<Vec<Duration>> =
        variants.iter().map(|_| Vec::with_capacity(iters)).collect();
    let started = Instant::now();
    for it in 0..warmup + iters {
        for (ci, c) in cases.iter().enumerate() {
            for col in ORDERS[(it + ci) % ORDERS.len()] {
                let t0 = Instant::now();
                match col {
                    0 => drop(black_box(http.get(&c.path, &c.bearer))),
                    1 => drop(black_box(c.repo(&mut repo_conn).expect("repo list"))),
                    _ => drop(black_box(c.plain(&mut plain_conn).expect("plain SQL"))),
                }
                let d = t0.elapsed();
                if it >= warmup {
                    samples[ci][col].push(d);
                }
            }
        }
        for (vi, v) in variants.iter().enumerate() {
            let t0 = Instant::now();
            let rows =
                load_plain::<PlainRow>(&mut variant_conn, &v.sql, &v.binds).expect("variant SQL");
            let d = t0.elapsed();
            drop(black_box(rows));
            if it >= warmup {
                variant_samples[vi].push(d);
            }
        }
    }
    let timing_secs = started.elapsed().as_secs_f64();

    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let with = if pg_settings.is_empty() {
        String::new()
    } else {
        format!(", database settings {pg_settings}")
    };
    println!(
        "\n### {engine}: {n_cases} cases, {iters} iterations (+{warmup} warm-up), {profile} build{with}\n"
    );
    println!(
        "Seed: {n_cases} cases in {seed_secs:.1} s; timing: {timing_secs:.1} s; {} CPUs. \
         Times in ms, median / p95; ratios of medians.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| request | matching | rows | http | repo | plain SQL | repo/plain | http/plain |");
    println!("|---|--:|--:|--:|--:|--:|--:|--:|");
    for ((c, s), (m, rows)) in cases.iter().zip(samples.iter_mut()).zip(&matching) {
        let st: Vec<Stats> = s.iter_mut().map(|v| stats(v)).collect();
        let cell = |s: &Stats| format!("{:.3} / {:.3}", s.median, s.p95);
        println!(
            "| ({}) {} | {m} | {rows} | {} | {} | {} | {:.2} | {:.2} |",
            c.key,
            c.label,
            cell(&st[0]),
            cell(&st[1]),
            cell(&st[2]),
            st[1].median / st[2].median,
            st[0].median / st[2].median,
        );
    }

    println!("\nSuggested rewrites, plain SQL, same run (same rows asserted):\n");
    println!("| request | rewrite | current plain SQL | rewrite | rewrite/current |");
    println!("|---|---|--:|--:|--:|");
    let mut current: Vec<Stats> = Vec::new();
    for s in samples.iter_mut() {
        current.push(stats(&mut s[2]));
    }
    for (v, s) in variants.iter().zip(variant_samples.iter_mut()) {
        let base = &current[v.base];
        let st = stats(s);
        println!(
            "| ({}) | {} | {:.3} / {:.3} | {:.3} / {:.3} | {:.2} |",
            cases[v.base].key,
            v.label,
            base.median,
            base.p95,
            st.median,
            st.p95,
            st.median / base.median
        );
    }

    actix_web::rt::System::new().block_on(handle.stop(false));
    let _ = thread.join();
    drop(conn);
    drop(db);
}
