//! Load benchmark: the release server under concurrent clients, next to the database's own
//! speed in the same run.
//!
//! Loads `BENCH_CASES` (default 100,000) cases with the `seed-demo --cases` generator into a
//! fresh database, starts the release binary (`foerderakte serve`) as a child process, and at
//! each connection count (`BENCH_CONNS`, default 1,8,32,64; one keep-alive connection per client
//! thread) measures for `BENCH_SECS` seconds (default 5):
//!
//! - **read**: `GET /api/v1/applications/{id}` of random cases (caseworker);
//! - **list**: `GET /api/v1/applications?…&limit=50` with three filters in turn (caseworker);
//! - **transition**: `POST /api/v1/applications/{id}/transitions` with `If-Match`, each client
//!   alternating `request_info` (caseworker) and `provide_info` (the lead applicant) on cases of
//!   its own;
//! - **sign**: `POST /api/v1/notices/{id}/sign` (approver) of grant notices prepared through the
//!   API before the timing, `BENCH_SIGN` (default 400) per connection count, each client its own
//!   share;
//!
//! - **wrk read** and **wrk create**: the same point read, and `POST /api/v1/applications` of
//!   a draft (the lead applicant), driven by `wrk` (Debian package), an independent HTTP client
//!   written in C with Lua scripts (`BENCH_OPS` `wrk`; 2 threads, the level's connections);
//!
//! and on PostgreSQL, in the same database, `pgbench` select-only (`-S`) and simple-update (`-N`)
//! at the same client counts (scale `BENCH_PGBENCH_SCALE`, default 10), right after each row;
//! for the read and the transition also pgbench running the statements the server sends for
//! them (`bench/sql/read.sql`, `bench/sql/transition.sql`, prepared; the transition's end in
//! `ROLLBACK`): how near the server comes to the database doing the same work.
//! Prints req/s, p50, p99, errors, the ratios API ÷ pgbench, the CPU per request of the
//! server, PostgreSQL and the clients (this program and its children, wrk, pgbench), the CPU
//! per transaction of each baseline, and the server's peak RSS (`VmHWM`).
//!
//! ```text
//! scripts/with-pg.sh cargo bench --bench load                 # PostgreSQL (the acceptance run)
//! cargo bench --bench load                                    # SQLite (no pgbench baseline)
//! BENCH_CASES=3000 BENCH_SECS=1 BENCH_SIGN=40 cargo bench --bench load   # a quick check
//! ```
//!
//! Environment besides the above: `DATABASE_URL` (see `bench/common.rs`),
//! `BENCH_POOL` (the server's `DATABASE_POOL_SIZE`, default 10 as in `.env.example`),
//! `BENCH_OPS` (a subset of `read,list,transition,sign,wrk`), `BENCH_PERF=<file>` (a `perf record`
//! CPU profile of the server over the measurement), `BENCH_KEEP_DB=1`.
//! Results: `docs/benchmarks.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use foerderakte::auth::mint_hs256;
use foerderakte::config::JwtSettings;
use foerderakte::domain::{Ags, Role};
use foerderakte::persistence::{self, Backend};
use serde_json::{Value, json};

mod common;
use common::{BenchDb, Rng, env_usize, ms, vacuum_after_load};

const SECRET: &str = "bench-secret-that-is-long-enough-0123456789";
const PROGRAMME: &str = "THUEREGOVRL-2024";

/// The audit key of the server and the load generator (hex).
const AUDIT_KEY: &str = "be1ce0debe1ce0debe1ce0debe1ce0debe1ce0debe1ce0debe1ce0debe1ce0de";

fn jwt() -> JwtSettings {
    JwtSettings {
        algorithm: foerderakte::auth::JwtAlgorithm::Hs256,
        secret: Some(SECRET.into()),
        public_key: None,
        issuer: "foerderakte".into(),
        audience: "foerderakte-api".into(),
        max_ttl_secs: foerderakte::config::JWT_MAX_TTL_SECS,
    }
}

fn token(role: Role, sub: &str, ags: &[&str]) -> String {
    let ags: Vec<Ags> = ags.iter().map(|a| Ags::parse(a).expect("AGS")).collect();
    mint_hs256(&jwt(), sub, role, &ags, 24 * 3600).expect("token")
}

// ---------------------------------------------------------------------------------------------
// The server as a child process.

struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(database_url: &str, pool: usize) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_foerderakte"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_POOL_SIZE", pool.to_string())
            .env("JWT_ALGORITHM", "HS256")
            .env("JWT_SECRET", SECRET)
            .env("AUDIT_KEY", AUDIT_KEY)
            .env("JWT_ISSUER", "foerderakte")
            .env("JWT_AUDIENCE", "foerderakte-api")
            // One access-log line per request would be measured too; warnings still show.
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the server starts");
        let server = Server {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        let agent = agent();
        let started = Instant::now();
        loop {
            if let Ok(r) = agent.get(format!("{}/health/ready", server.address)).call()
                && r.status() == 200
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the server did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `VmHWM` (peak resident set) and `VmRSS` of the server process, in KiB.
    fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/<pid>/status");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_idle_connections_per_host(1)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One request; the status and the `ETag` header, the body read (so the connection is reused).
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> (u16, Option<String>, String) {
    let precondition = if_match.map(|v| ("If-Match", v));
    send_with(agent, (method, url), token, precondition, body)
}

/// `send` with any precondition header (`If-Match`, `If-None-Match`).
fn send_with(
    agent: &ureq::Agent,
    (method, url): (&str, &str),
    token: &str,
    precondition: Option<(&str, &str)>,
    body: Option<&Value>,
) -> (u16, Option<String>, String) {
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"));
    if let Some((name, v)) = precondition {
        req = req.header(name, v);
    }
    let result = match body {
        Some(b) => agent.run(
            req.header("Content-Type", "application/json")
                .body(serde_json::to_vec(b).expect("JSON"))
                .expect("request"),
        ),
        None => agent.run(req.body(()).expect("request")),
    };
    match result {
        Ok(mut r) => {
            let etag = r
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (r.status().as_u16(), etag, text)
        }
        Err(e) => (0, None, e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Where the CPU goes: user + system time of the server, the PostgreSQL processes and this
// program (the clients), from /proc, in clock ticks.

#[derive(Clone, Copy, Default)]
struct Cpu {
    server: u64,
    database: u64,
    clients: u64,
}

/// CPU ticks of the server, of the PostgreSQL cluster and of this program.
struct CpuSnapshot {
    server: u64,
    database: u64,
    clients: u64,
}

fn ticks_of(stat: &str) -> u64 {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

/// The CPU of a process's children it has waited for (cutime 16, cstime 17): for this program,
/// wrk's and pgbench's; for PostgreSQL's postmaster, every backend and worker that has ended.
fn children_ticks_of(stat: &str) -> u64 {
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(13) + n(14)
}

/// The cluster's CPU so far: every live `postgres` process's own ticks and the ended ones'
/// (in the postmaster's children's ticks once it has reaped them). So the backends of a
/// pgbench run, which end with it, and autovacuum workers count too.
fn cpu_now(server_pid: u32) -> CpuSnapshot {
    let read = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let mut database = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "postgres" {
            let stat = read(pid);
            database += ticks_of(&stat) + children_ticks_of(&stat);
        }
    }
    CpuSnapshot {
        server: ticks_of(&read(&server_pid.to_string())),
        database,
        clients: ticks_of(&read("self")) + children_ticks_of(&read("self")),
    }
}

impl CpuSnapshot {
    /// The CPU used since `before`.
    fn since(&self, before: &CpuSnapshot) -> Cpu {
        Cpu {
            server: self.server - before.server,
            database: self.database.saturating_sub(before.database),
            clients: self.clients - before.clients,
        }
    }
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------------
// Measuring.

#[derive(Default)]
struct Outcome {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    /// p50 and p99 in ms as wrk measured them (wrk keeps no samples for us).
    wrk_latency: Option<(f64, f64)>,
    elapsed: Duration,
    /// CPU used during the run (set by the caller).
    cpu: Cpu,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&mut self, p: usize) -> f64 {
        match (self.wrk_latency, p) {
            (Some((p50, _)), 50) => return p50,
            (Some((_, p99)), 99) => return p99,
            _ => {}
        }
        self.latencies.sort();
        let n = self.latencies.len();
        if n == 0 {
            return f64::NAN;
        }
        ms(self.latencies[((n * p).div_ceil(100)).clamp(1, n) - 1])
    }
}

/// A client's next request: `None` when it has nothing left to do, else whether it succeeded
/// (and the error text if not).
type Step = Box<dyn FnMut(&ureq::Agent) -> Option<Result<(), String>> + Send>;

/// Runs one client thread per step function until `limit` has passed or every client is done.
fn run(clients: Vec<Step>, limit: Duration) -> Outcome {
    let start = Instant::now();
    let deadline = start + limit;
    let threads: Vec<_> = clients
        .into_iter()
        .map(|mut step| {
            std::thread::spawn(move || {
                let agent = agent();
                let mut out = Outcome::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match step(&agent) {
                        None => break,
                        Some(Ok(())) => {
                            out.ok += 1;
                            out.latencies.push(t.elapsed());
                        }
                        Some(Err(e)) => {
                            out.errors += 1;
                            out.first_error.get_or_insert(e);
                        }
                    }
                }
                out
            })
        })
        .collect();
    let mut total = Outcome::default();
    for t in threads {
        let o = t.join().expect("a client thread");
        total.ok += o.ok;
        total.errors += o.errors;
        total.latencies.extend(o.latencies);
        if total.first_error.is_none() {
            total.first_error = o.first_error;
        }
    }
    total.elapsed = start.elapsed();
    total
}

/// `run`, with the CPU that the server, the database and the clients used meanwhile.
fn run_measured(server_pid: u32, clients: Vec<Step>, limit: Duration) -> Outcome {
    let before = cpu_now(server_pid);
    let mut out = run(clients, limit);
    out.cpu = cpu_now(server_pid).since(&before);
    out
}

fn expect_status(got: (u16, Option<String>, String), want: u16) -> Result<Option<String>, String> {
    if got.0 == want {
        Ok(got.1)
    } else {
        Err(format!(
            "{} {}",
            got.0,
            got.2.chars().take(300).collect::<String>()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// wrk: an independent HTTP client (C, Lua scripts), for the point read and the create.

/// Runs `wrk` with `script` against `address` on `conns` connections (2 threads) for `secs`;
/// the outcome with wrk's request rate, its latency percentiles (`--latency`) and as errors
/// its non-2xx/3xx answers and socket errors.
fn wrk(address: &str, script: &std::path::Path, conns: usize, secs: usize) -> Outcome {
    let out = Command::new("wrk")
        .args([
            "-t",
            &conns.clamp(1, 2).to_string(),
            "-c",
            &conns.to_string(),
            "-d",
            &format!("{secs}s"),
            "--latency",
            "-s",
            &script.display().to_string(),
            address,
        ])
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let number_after = |label: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.trim_end_matches(',').parse().ok())
    };
    let duration_ms = |v: &str| -> f64 {
        let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len()));
        let x: f64 = num.parse().unwrap_or(f64::NAN);
        match unit {
            "us" => x / 1000.0,
            "ms" => x,
            "s" => x * 1000.0,
            "m" => x * 60_000.0,
            _ => f64::NAN,
        }
    };
    let pct = |p: &str| -> f64 {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .map_or(f64::NAN, |r| duration_ms(r.trim()))
    };
    let rate = number_after("Requests/sec:").unwrap_or(0.0);
    let non_2xx = number_after("Non-2xx or 3xx responses:").unwrap_or(0.0) as usize;
    let socket: usize = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Socket errors:"))
        .map_or(0, |r| {
            r.split(',')
                .filter_map(|kv| kv.split_whitespace().nth(1)?.parse::<usize>().ok())
                .sum()
        });
    let elapsed = Duration::from_secs(secs as u64);
    let errors = non_2xx + socket;
    Outcome {
        ok: (rate * elapsed.as_secs_f64()) as usize,
        errors,
        first_error: (errors > 0).then(|| text.lines().take(20).collect::<Vec<_>>().join("\n")),
        latencies: Vec::new(),
        wrk_latency: Some((pct("50%"), pct("99%"))),
        elapsed,
        cpu: Cpu::default(),
    }
}

/// A Lua string literal of `s` (a long bracket no JSON or token contains).
fn lua_string(s: &str) -> String {
    assert!(!s.contains("]==]"));
    format!("[==[{s}]==]")
}

/// The wrk script of the point read: random case ids of `ids_file` (one per line).
fn wrk_read_script(
    dir: &std::path::Path,
    ids_file: &std::path::Path,
    token: &str,
) -> std::path::PathBuf {
    let path = dir.join("read.lua");
    let lua = format!(
        "local ids = {{}}\n\
         for line in io.lines({ids}) do ids[#ids + 1] = line end\n\
         local auth = {{[\"Authorization\"] = \"Bearer \" .. {token}}}\n\
         math.randomseed(os.time() + math.floor(os.clock() * 1000000))\n\
         request = function()\n\
           return wrk.format(\"GET\", \"/api/v1/applications/\" .. ids[math.random(#ids)], auth)\n\
         end\n",
        ids = lua_string(&ids_file.display().to_string()),
        token = lua_string(token),
    );
    std::fs::write(&path, lua).expect("write read.lua");
    path
}

/// The wrk script of the create: one draft of `body` posted again and again.
fn wrk_create_script(dir: &std::path::Path, body: &Value, token: &str) -> std::path::PathBuf {
    let path = dir.join("create.lua");
    let lua = format!(
        "wrk.method = \"POST\"\n\
         wrk.path = \"/api/v1/applications\"\n\
         wrk.body = {body}\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"Authorization\"] = \"Bearer \" .. {token}\n",
        body = lua_string(&body.to_string()),
        token = lua_string(token),
    );
    std::fs::write(&path, lua).expect("write create.lua");
    path
}

/// A draft of `lead` as the API's example has it, its project in the coming year.
fn draft(lead: &str, today: chrono::NaiveDate) -> Value {
    json!({
        "programme": PROGRAMME,
        "funding_object": "c",
        "lead_ags": lead,
        "title": "Schnittstelle DMS – Fachverfahren Bauamt",
        "description": "Anbindung des Bauamts an DMS und Online-Dienste",
        "project_start": (today + Days::new(60)).to_string(),
        "project_end": (today + Days::new(360)).to_string(),
        "cost_lines": [
            {"category": "software", "description": "Schnittstellenmodul", "amount": "40000.00", "eligible": true},
            {"category": "services", "description": "Einführung und Schulung", "amount": "12500.50", "eligible": true}
        ],
        "own_contribution": "10500.50",
        "third_party_funds": "0.00",
        "requested_grant": "42000.00",
        "partners": [],
        "contact": "Ingo Beispiel, Leiter IT",
        "postal_address": "Stadtverwaltung\nMarkt 1\n99817 Eisenach"
    })
}

// ---------------------------------------------------------------------------------------------
// The cases the write scenarios use.

#[derive(QueryableByName, Clone)]
struct Case {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    lead_ags: String,
    #[diesel(sql_type = Integer)]
    version: i32,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

// ---------------------------------------------------------------------------------------------
// pgbench, in the same database.

struct PgbenchResult {
    tps: f64,
    p50: f64,
    p99: f64,
    /// Transactions done, and the CPU they took (PostgreSQL, and pgbench as a client).
    transactions: u64,
    cpu: Cpu,
}

impl PgbenchResult {
    /// Its table cells: TPS, p50 and p99 (ms), and the API's rate `api` over its TPS.
    fn cells(&self, api: f64) -> String {
        format!(
            "{:.0} | {:.2} | {:.2} | {:.2}",
            self.tps,
            self.p50,
            self.p99,
            api / self.tps
        )
    }
}

/// What pgbench runs: one of its own transactions (`-S`, `-N`, simple protocol, as pgbench's
/// documented baselines), or a script of `bench/sql` with the statements the server sends,
/// prepared as the server keeps them, on `cases` cases (`ncases`), optionally with the generic
/// plans the server's write transactions use.
#[derive(Clone, Copy)]
enum Pgbench {
    Builtin(&'static str),
    Same {
        script: &'static str,
        cases: usize,
        generic_plans: bool,
    },
}

impl Pgbench {
    fn name(self) -> &'static str {
        match self {
            Pgbench::Builtin("-S") => "pgbench -S",
            Pgbench::Builtin("-N") => "pgbench -N",
            Pgbench::Builtin(_) => "pgbench",
            Pgbench::Same { script, .. } => script,
        }
    }
}

fn pgbench(url: &str, run: Pgbench, clients: usize, secs: usize, server: u32) -> PgbenchResult {
    let dir = std::env::temp_dir().join(format!("fa-pgbench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("pgbench log dir");
    let prefix = dir.join("log");
    let mut cmd = Command::new("pgbench");
    match run {
        Pgbench::Builtin(mode) => {
            cmd.arg(mode);
        }
        Pgbench::Same {
            script,
            cases,
            generic_plans,
        } => {
            let file = format!("{}/bench/sql/{script}", env!("CARGO_MANIFEST_DIR"));
            cmd.args([
                "-f",
                &file,
                "-M",
                "prepared",
                "-D",
                &format!("ncases={cases}"),
            ]);
            if generic_plans {
                cmd.env("PGOPTIONS", "-c plan_cache_mode=force_generic_plan");
            }
        }
    }
    let before = cpu_now(server);
    let out = cmd
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &secs.to_string(),
            "--log",
            &format!("--log-prefix={}", prefix.display()),
            url,
        ])
        .output()
        .expect("pgbench runs (PostgreSQL client tools)");
    // The backends end with pgbench; the postmaster reaps them a moment later.
    std::thread::sleep(Duration::from_millis(200));
    let cpu = cpu_now(server).since(&before);
    let mode = run.name();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench {mode} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {stdout}"));
    let transactions = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    // Per-transaction log lines: client_id transaction_no latency_us script_no epoch us.
    let mut lat: Vec<u64> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("pgbench logs").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        lat.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    lat.sort_unstable();
    let pct = |p: usize| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        lat[((lat.len() * p).div_ceil(100)).clamp(1, lat.len()) - 1] as f64 / 1000.0
    };
    PgbenchResult {
        tps,
        p50: pct(50),
        p99: pct(99),
        transactions,
        cpu,
    }
}

// ---------------------------------------------------------------------------------------------

/// One operation at one connection count, with its baselines.
struct Row {
    op: &'static str,
    conns: usize,
    api: Outcome,
    baseline: Option<(&'static str, PgbenchResult)>,
    /// pgbench running the statements the server sends for this operation (bench/sql).
    same: Option<(&'static str, PgbenchResult)>,
}

/// The baselines' side: the same statements by pgbench next to the API, and the CPU each
/// baseline transaction took.
fn print_baselines(rows: &[Row], hz: f64) {
    println!(
        "\nThe same statements by pgbench (bench/sql, -M prepared, ending in ROLLBACK for the \
         transition), and the CPU per transaction of each baseline (µs; PostgreSQL / pgbench)\n\n\
         | operation | conns | req/s | same statements | TPS | p50 ms | p99 ms | API ÷ same | \
         PostgreSQL µs: API / same | builtin | PostgreSQL / pgbench µs |\n\
         |---|--:|--:|---|--:|--:|--:|--:|--:|---|--:|"
    );
    let per = |b: &PgbenchResult, t: u64| t as f64 / hz * 1e6 / b.transactions.max(1) as f64;
    for r in rows
        .iter()
        .filter(|r| r.baseline.is_some() || r.same.is_some())
    {
        let api_db = r.api.cpu.database as f64 / hz * 1e6 / r.api.ok.max(1) as f64;
        let same = match &r.same {
            Some((name, b)) => format!(
                "{name} | {} | {api_db:.0} / {:.0}",
                b.cells(r.api.rate()),
                per(b, b.cpu.database)
            ),
            None => "– | | | | | ".to_owned(),
        };
        let builtin = match &r.baseline {
            Some((name, b)) => format!(
                "{name} | {:.0} / {:.0}",
                per(b, b.cpu.database),
                per(b, b.cpu.clients)
            ),
            None => "– | ".to_owned(),
        };
        println!(
            "| {} | {} | {:.0} | {same} | {builtin} |",
            r.op,
            r.conns,
            r.api.rate()
        );
    }
}

/// The cases transitions and signings are taken from: in review under the programme, with a
/// project that runs into today or later (a grant period from today must overlap it,
/// `domain::notice`). A condition on `applications`.
fn in_review_now(today: chrono::NaiveDate) -> String {
    format!("status = 'in_review' AND programme_code = '{PROGRAMME}' AND project_end >= '{today}'")
}

/// The cases the scripts of `bench/sql` draw from, numbered (pgbench draws numbers): every
/// case for the read, and for the transition the cases in review of the programme whose
/// project runs into today or later (those the API's transitions are taken from), with
/// their leads' municipalities. Returns how many of each.
fn number_cases(conn: &mut persistence::AnyConnection, today: chrono::NaiveDate) -> (usize, usize) {
    let statements = [
        "DROP TABLE IF EXISTS bench_case_ids, bench_transition_ids".to_owned(),
        "CREATE TABLE bench_case_ids AS \
         SELECT CAST(row_number() OVER (ORDER BY id) AS INTEGER) AS n, id FROM applications"
            .to_owned(),
        "ALTER TABLE bench_case_ids ADD PRIMARY KEY (n)".to_owned(),
        format!(
            "CREATE TABLE bench_transition_ids AS \
             SELECT CAST(row_number() OVER (ORDER BY id) AS INTEGER) AS n, id, lead_ags AS ags \
             FROM applications WHERE {}",
            in_review_now(today)
        ),
        "ALTER TABLE bench_transition_ids ADD PRIMARY KEY (n)".to_owned(),
        "ANALYZE bench_case_ids, bench_transition_ids".to_owned(),
    ];
    for sql in &statements {
        diesel::sql_query(sql.as_str())
            .execute(conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |conn: &mut persistence::AnyConnection, table: &str| -> usize {
        let c: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result(conn)
            .expect("a count");
        usize::try_from(c.n).expect("a count")
    };
    (
        count(conn, "bench_case_ids"),
        count(conn, "bench_transition_ids"),
    )
}

fn main() {
    let n_cases = env_usize("BENCH_CASES", 100_000);
    let secs = env_usize("BENCH_SECS", 5).max(1);
    let per_level_sign = env_usize("BENCH_SIGN", 400).max(1);
    let pool = env_usize("BENCH_POOL", 10);
    let scale = env_usize("BENCH_PGBENCH_SCALE", 10);
    let levels: Vec<usize> = std::env::var("BENCH_CONNS")
        .unwrap_or_else(|_| "1,8,32,64".into())
        .split(',')
        .map(|v| {
            v.trim()
                .parse()
                .expect("BENCH_CONNS: numbers separated by commas")
        })
        .collect();
    let limit = Duration::from_secs(secs as u64);
    let ops = std::env::var("BENCH_OPS").unwrap_or_else(|_| "read,wrk,list,transition,sign".into());
    let want = |op: &str| ops.split(',').any(|o| o.trim() == op);

    let (url, _db) = BenchDb::create("fa_load");
    let backend = Backend::of_url(&url);
    foerderakte::persistence::audit::install_keys(foerderakte::domain::audit::Keyring::single(
        foerderakte::domain::audit::AuditKey::from_hex(AUDIT_KEY).expect("the bench's audit key"),
    ));
    foerderakte::http::representation::install();
    let mut conn = persistence::establish(&url).expect("the bench database connects");
    persistence::prepare_database(&mut conn).expect("migrations and register");
    let t = Instant::now();
    let options = foerderakte::seed::Options {
        cases: Some(n_cases as u64),
        seed: foerderakte::seed::DEFAULT_SEED,
        bulk: false,
    };
    foerderakte::seed::run(&mut conn, &options, &mut |_| {}).expect("the load generator");
    eprintln!(
        "loaded {n_cases} cases in {:.0} s",
        t.elapsed().as_secs_f64()
    );

    if backend == Backend::Postgres {
        vacuum_after_load(&mut conn);
        let t = Instant::now();
        let out = Command::new("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string(), &url])
            .output()
            .expect("pgbench -i runs");
        assert!(
            out.status.success(),
            "pgbench -i: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "pgbench tables at scale {scale} in {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }

    let ids: Arc<Vec<String>> = Arc::new(
        diesel::sql_query("SELECT id FROM applications ORDER BY id")
            .load::<Id>(&mut conn)
            .expect("case ids")
            .into_iter()
            .map(|r| r.id)
            .collect(),
    );
    // Cases whose project runs into today or later: a grant period from today must overlap it
    // (`domain::notice`).
    let today = Utc::now().date_naive();
    let in_review: Vec<Case> = diesel::sql_query(format!(
        "SELECT id, lead_ags, version FROM applications WHERE {} ORDER BY id",
        in_review_now(today)
    ))
    .load(&mut conn)
    .expect("cases in review");
    // The scripts of bench/sql draw their cases from these (PostgreSQL only).
    let numbered = (backend == Backend::Postgres).then(|| number_cases(&mut conn, today));
    let max_conns = levels.iter().copied().max().unwrap_or(1);
    let sign_needed = if want("sign") {
        per_level_sign * levels.len()
    } else {
        0
    };
    let transition_cases = (max_conns * 2).min(in_review.len() / 4);
    assert!(
        in_review.len() >= transition_cases + sign_needed,
        "{} cases in review under {PROGRAMME}, {transition_cases} + {sign_needed} needed: \
         more BENCH_CASES or less BENCH_SIGN",
        in_review.len()
    );
    let (transition_pool, sign_pool) = in_review.split_at(transition_cases);
    eprintln!(
        "{} cases, {} in review under {PROGRAMME}: {} for transitions, {} for signings",
        ids.len(),
        in_review.len(),
        transition_pool.len(),
        sign_needed
    );

    let server = Server::start(&url, pool);
    let pid = server.child.id();
    let hz = clock_ticks_per_second();
    let (hwm_start, rss_start) = server.memory_kib();
    let address = Arc::new(server.address.clone());
    let caseworker = Arc::new(token(Role::Caseworker, "bench.caseworker", &[]));
    let approver = token(Role::Approver, "bench.approver", &[]);
    let admin = token(Role::Admin, "bench.admin", &[]);
    let setup = agent();

    // The budget of this year covers every grant the signings make: changed at whatever
    // version the seed left it (`If-Match: *`), or created if the seed set none.
    let budget_year = today.format("%Y").to_string();
    let budget_url = format!("{address}/api/v1/programmes/{PROGRAMME}/budgets/{budget_year}");
    let amount = json!({"amount": "5000000000.00"});
    let changed = send(&setup, "PUT", &budget_url, &admin, Some("*"), Some(&amount));
    if changed.0 == 412 {
        let create = Some(("If-None-Match", "*"));
        let created = send_with(&setup, ("PUT", &budget_url), &admin, create, Some(&amount));
        expect_status(created, 201).expect("the budget is created");
    } else {
        expect_status(changed, 200).expect("the budget is set");
    }

    // Grant notices for the signings, prepared through the API before any timing.
    let grant = json!({
        "kind": "grant",
        "posted_on": today.to_string(),
        "grant_period_start": today.to_string(),
        "grant_period_end": (today + Days::new(365)).to_string(),
    });
    let t = Instant::now();
    let notices: Vec<String> = sign_pool[..sign_needed]
        .iter()
        .map(|c| {
            let (status, _, body) = send(
                &setup,
                "POST",
                &format!("{address}/api/v1/applications/{}/notices", c.id),
                &caseworker,
                None,
                Some(&grant),
            );
            assert_eq!(status, 201, "prepare a notice for {}: {body}", c.id);
            let v: Value = serde_json::from_str(&body).expect("a notice");
            v["id"].as_str().expect("notice id").to_owned()
        })
        .collect();
    eprintln!(
        "{} notices prepared in {:.0} s",
        notices.len(),
        t.elapsed().as_secs_f64()
    );

    // Applicant tokens for the transition cases' lead municipalities.
    let mut applicant_tokens: HashMap<String, Arc<String>> = HashMap::new();
    for c in transition_pool {
        applicant_tokens
            .entry(c.lead_ags.clone())
            .or_insert_with(|| Arc::new(token(Role::Applicant, "bench.applicant", &[&c.lead_ags])));
    }
    // Each transition case: its id, its lead's token, its current ETag, whether it is in review.
    type TransitionCase = (String, Arc<String>, String, bool);
    let mut transition_state: Vec<TransitionCase> = transition_pool
        .iter()
        .map(|c| {
            (
                c.id.clone(),
                applicant_tokens[&c.lead_ags].clone(),
                format!("\"{}\"", c.version),
                true,
            )
        })
        .collect();
    let due = (today + Days::new(30)).to_string();

    // wrk's scripts: the case ids to read, the draft to create (Eisenach as the lead).
    let wrk_dir = std::env::temp_dir().join(format!("fa-wrk-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&wrk_dir).expect("wrk script dir");
    let ids_file = wrk_dir.join("ids.txt");
    std::fs::write(&ids_file, ids.join("\n")).expect("write the ids");
    let wrk_read = wrk_read_script(&wrk_dir, &ids_file, &caseworker);
    let lead = "16063105";
    let lead_token = token(Role::Applicant, "bench.applicant", &[lead]);
    let wrk_create = wrk_create_script(&wrk_dir, &draft(lead, today), &lead_token);

    let lists = Arc::new(vec![
        format!("/api/v1/applications?status=in_review&programme={PROGRAMME}&year=2025&limit=50"),
        "/api/v1/applications?kreis=16063&limit=50".to_owned(),
        "/api/v1/applications?ags=16062054&limit=50".to_owned(),
    ]);

    // pgbench at this row's connections, next to the API's measurement (PostgreSQL only).
    let pg = |run: Pgbench, conns: usize| {
        (backend == Backend::Postgres).then(|| (run.name(), pgbench(&url, run, conns, secs, pid)))
    };
    let same = |script: &'static str, cases: Option<usize>, generic_plans: bool| Pgbench::Same {
        script,
        cases: cases.unwrap_or(0),
        generic_plans,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut notices = notices.into_iter();
    // BENCH_PERF=<file>: a CPU profile of the server over the whole measurement (perf record).
    let perf = std::env::var("BENCH_PERF").ok().map(|file| {
        Command::new("perf")
            .args([
                "record",
                "-F",
                "499",
                "-g",
                "-o",
                &file,
                "-p",
                &pid.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("perf record starts")
    });
    for &conns in &levels {
        // read
        if want("read") {
            let clients: Vec<Step> = (0..conns)
                .map(|c| {
                    let (ids, address, tok) = (ids.clone(), address.clone(), caseworker.clone());
                    let mut rng = Rng(c as u64 + 1);
                    Box::new(move |a: &ureq::Agent| {
                        let id = &ids[(rng.next() % ids.len() as u64) as usize];
                        let url = format!("{address}/api/v1/applications/{id}");
                        Some(expect_status(send(a, "GET", &url, &tok, None, None), 200).map(drop))
                    }) as Step
                })
                .collect();
            let read = run_measured(pid, clients, limit);
            rows.push(Row {
                op: "read GET /applications/{id}",
                conns,
                api: read,
                baseline: pg(Pgbench::Builtin("-S"), conns),
                same: None,
            });
        }
        // wrk: the point read and the create, each next to its pgbench
        if want("wrk") {
            let read_same = same("read.sql", numbered.map(|n| n.0), false);
            let runs = [
                (
                    "wrk read GET /applications/{id}",
                    &wrk_read,
                    Pgbench::Builtin("-S"),
                    Some(read_same),
                ),
                (
                    "wrk create POST /applications",
                    &wrk_create,
                    Pgbench::Builtin("-N"),
                    None,
                ),
            ];
            for (op, script, builtin, same_run) in runs {
                let before = cpu_now(pid);
                let mut api = wrk(&address, script, conns, secs);
                api.cpu = cpu_now(pid).since(&before);
                rows.push(Row {
                    op,
                    conns,
                    api,
                    baseline: pg(builtin, conns),
                    same: same_run.and_then(|r| pg(r, conns)),
                });
            }
        }
        // list
        if want("list") {
            let clients: Vec<Step> = (0..conns)
                .map(|c| {
                    let (lists, address, tok) =
                        (lists.clone(), address.clone(), caseworker.clone());
                    let mut i = c;
                    Box::new(move |a: &ureq::Agent| {
                        i += 1;
                        let url = format!("{address}{}", lists[i % lists.len()]);
                        Some(expect_status(send(a, "GET", &url, &tok, None, None), 200).map(drop))
                    }) as Step
                })
                .collect();
            rows.push(Row {
                op: "list GET /applications?filter",
                conns,
                api: run_measured(pid, clients, limit),
                baseline: None,
                same: None,
            });
        }
        // transition: each client works on every conns-th case of the pool
        if want("transition") {
            let mut shares: Vec<Vec<TransitionCase>> = vec![Vec::new(); conns];
            for (i, c) in transition_state.drain(..).enumerate() {
                shares[i % conns].push(c);
            }
            let handles: Vec<Arc<std::sync::Mutex<Vec<TransitionCase>>>> = shares
                .into_iter()
                .map(|s| Arc::new(std::sync::Mutex::new(s)))
                .collect();
            let clients: Vec<Step> = handles
            .iter()
            .map(|share| {
                let (share, address, cw, due) =
                    (share.clone(), address.clone(), caseworker.clone(), due.clone());
                let mut next = 0usize;
                Box::new(move |a: &ureq::Agent| {
                    let mut cases = share.lock().expect("share");
                    if cases.is_empty() {
                        return None;
                    }
                    let k = next % cases.len();
                    next += 1;
                    let (id, applicant, etag, in_review) = &mut cases[k];
                    let url = format!("{address}/api/v1/applications/{id}/transitions");
                    let (tok, body) = if *in_review {
                        (
                            cw.as_str(),
                            json!({"action": "request_info", "reason": "Angebot fehlt", "response_due": due}),
                        )
                    } else {
                        (
                            applicant.as_str(),
                            json!({"action": "provide_info", "reason": "Angebot nachgereicht"}),
                        )
                    };
                    let r = send(a, "POST", &url, tok, Some(etag), Some(&body));
                    Some(expect_status(r, 200).map(|new| {
                        *etag = new.expect("an ETag");
                        *in_review = !*in_review;
                    }))
                }) as Step
            })
            .collect();
            let transition = run_measured(pid, clients, limit);
            for h in handles {
                transition_state.append(&mut h.lock().expect("share"));
            }
            let transition_same = same("transition.sql", numbered.map(|n| n.1), true);
            rows.push(Row {
                op: "transition POST …/transitions",
                conns,
                api: transition,
                baseline: pg(Pgbench::Builtin("-N"), conns),
                same: pg(transition_same, conns),
            });
        }
        // sign: this level's share of the prepared notices
        if want("sign") {
            let batch: Vec<String> = notices.by_ref().take(per_level_sign).collect();
            let mut queues: Vec<Vec<String>> = vec![Vec::new(); conns];
            for (i, n) in batch.into_iter().enumerate() {
                queues[i % conns].push(n);
            }
            let clients: Vec<Step> = queues
                .into_iter()
                .map(|mut queue| {
                    let (address, tok) = (address.clone(), approver.clone());
                    Box::new(move |a: &ureq::Agent| {
                        let nid = queue.pop()?;
                        let url = format!("{address}/api/v1/notices/{nid}/sign");
                        Some(expect_status(send(a, "POST", &url, &tok, None, None), 200).map(drop))
                    }) as Step
                })
                .collect();
            let sign = run_measured(pid, clients, Duration::from_secs(600));
            rows.push(Row {
                op: "sign POST /notices/{id}/sign",
                conns,
                api: sign,
                baseline: pg(Pgbench::Builtin("-N"), conns),
                same: None,
            });
        }
        eprintln!("{conns} connections done");
    }
    if let Some(mut p) = perf {
        // perf writes its file on SIGINT.
        let _ = Command::new("kill")
            .args(["-INT", &p.id().to_string()])
            .status();
        let _ = p.wait();
    }
    let (hwm, rss) = server.memory_kib();
    drop(server);
    let _ = std::fs::remove_dir_all(&wrk_dir);

    let engine = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!(
        "\nload at {} cases on {engine}; {} server, pool {pool}, {secs} s per row \
         (sign: {per_level_sign} notices per row)\n",
        ids.len(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "| operation | conns | req/s | p50 ms | p99 ms | errors | baseline | TPS | p50 ms | p99 ms | API ÷ baseline |"
    );
    println!("|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|");
    for r in &mut rows {
        let (rate, p50, p99) = (r.api.rate(), r.api.percentile(50), r.api.percentile(99));
        let base = match &r.baseline {
            Some((name, b)) => format!("{name} | {}", b.cells(rate)),
            None => "– | | | | ".to_owned(),
        };
        println!(
            "| {} | {} | {rate:.0} | {p50:.2} | {p99:.2} | {} | {base} |",
            r.op, r.conns, r.api.errors
        );
    }
    println!(
        "\nCPU per request (µs of user + system time, from /proc; 2 cores = 200 % busy)\n\n\
         | operation | conns | server | PostgreSQL | clients | busy % |\n|---|--:|--:|--:|--:|--:|"
    );
    for r in &rows {
        let per = |t: u64| t as f64 / hz * 1e6 / r.api.ok.max(1) as f64;
        let busy = (r.api.cpu.server + r.api.cpu.database + r.api.cpu.clients) as f64
            / hz
            / r.api.elapsed.as_secs_f64()
            * 100.0;
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {busy:.0} |",
            r.op,
            r.conns,
            per(r.api.cpu.server),
            per(r.api.cpu.database),
            per(r.api.cpu.clients)
        );
    }
    if backend == Backend::Postgres {
        print_baselines(&rows, hz);
    }
    println!(
        "\nserver memory: {:.1} MB resident after start, {:.1} MB at the end, peak {:.1} MB \
         (VmHWM; {:.1} MB peak after start)",
        rss_start as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        hwm_start as f64 / 1024.0
    );
    let errors: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.api
                .first_error
                .as_ref()
                .map(|e| format!("{} × {}: {e}", r.op, r.conns))
        })
        .collect();
    if !errors.is_empty() {
        println!("\nfirst error per row:");
        for e in &errors {
            println!("- {e}");
        }
        std::process::exit(1);
    }
}
