//! Crash safety: the real binary (`foerderakte serve`) as a child process under load from
//! several writers, killed with SIGKILL after a random number of acknowledged writes and
//! restarted on the same database, ten times in one test. After every restart, every write
//! that was acknowledged (2xx) before a kill must be there, every case's history must be
//! complete, and the audit log must verify.
//!
//! Each writer works through its own cases: create with an `Idempotency-Key`, two edits,
//! submit, start review, twice request and provide information (every write with
//! `If-Match`), then a grant notice of 40,000.00 prepared and signed against this year's
//! budget, which covers only `GRANTS` of them (the others are refused with 409). A request
//! that fails at the transport level (the server died under it) is not acknowledged: the
//! writer waits for the restarted server, re-reads its case and carries on from what the
//! database holds; a create is retried with the same key and body. The budget must commit
//! exactly 40,000.00 per approved case and never more than its amount.
//!
//! `CRASH_SEED=<n>` replays the kill points of a run (the seed is printed).

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use foerderakte::persistence::Backend;
use serde_json::{Value, json};

use crate::applications::{LEAD, action_body, draft_body, etag, list_ids, with, year};
use crate::helpers::{AUDIENCE, ISSUER, Resp, SECRET, TestApp, TestDatabase};
use crate::notices::{budget, nid_of, partial_grant_body, set_budget};

const CRASHES: usize = 10;
const WRITERS: usize = 6;
/// A kill comes after this many more acknowledged writes (uniform, inclusive).
const KILL_AFTER: (u64, u64) = (15, 75);
/// The budget covers this many grants of `GRANT_CENTS`.
const GRANTS: i64 = 12;
/// What `partial_grant_body` grants on `draft_body`: 40,000.00.
const GRANT_CENTS: i64 = 4_000_000;
/// A case's last write brings it to this version (see `next_write`); then the writer starts
/// a new case.
const LAST_VERSION: i64 = 9;
/// Failure guards, not timing assertions: a server that is not ready, or writers that make no
/// progress for this long, fail the test instead of hanging it.
const READY_WITHIN: Duration = Duration::from_secs(60);
const PROGRESS_WITHIN: Duration = Duration::from_secs(60);

/// A write that got a 2xx, and what it changed: the case's history event at `version` must be
/// this write.
#[derive(Debug, Clone)]
struct Ack {
    case: String,
    /// The version the answer carried (its ETag).
    version: i64,
    write: Write,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Write {
    Create { key: String, title: String },
    Edit { title: String },
    Transition { action: String, to: String },
}

/// What the writers and the test's main thread share.
#[derive(Default)]
struct Phase {
    /// Counts the servers started; a writer whose request failed waits for the next one.
    generation: u64,
    /// The running server; `None` between a kill and the next restart.
    server: Option<Arc<TestApp>>,
    stopping: bool,
    acks: Vec<Ack>,
    /// Every create key a writer sent, with its body.
    keys: Vec<(String, Value)>,
    /// Writes whose request failed at the transport level, and how many of those the
    /// database turned out to hold.
    cut_off: usize,
    cut_off_committed: usize,
    /// Of the cut-off writes, those sent before the kill (in flight when it came); the others
    /// were sent to the dead server.
    cut_off_in_flight: usize,
    /// When each generation's server was killed (`generation - 1` is the index).
    kills: Vec<Instant>,
    /// Signings refused for want of budget (409).
    refused: usize,
    errors: Vec<String>,
}

impl Phase {
    /// A write sent at `sent` to the server of `generation` failed at the transport level.
    fn count_cut_off(&mut self, generation: u64, sent: Instant, committed: bool) {
        let killed = usize::try_from(generation - 1)
            .ok()
            .and_then(|i| self.kills.get(i));
        self.cut_off += 1;
        self.cut_off_in_flight += usize::from(killed.is_some_and(|k| sent < *k));
        self.cut_off_committed += usize::from(committed);
    }
}

#[derive(Default)]
struct Shared {
    phase: Mutex<Phase>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Phase)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    /// The first server of a generation after `seen`, or `None` when the test stops.
    fn server_after(&self, seen: u64) -> Option<(u64, Arc<TestApp>)> {
        let mut p = self.lock();
        loop {
            if p.stopping || !p.errors.is_empty() {
                return None;
            }
            if let Some(s) = &p.server
                && p.generation > seen
            {
                return Some((p.generation, Arc::clone(s)));
            }
            p = self.changed.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Waits until `n` writes are acknowledged; panics on a writer's error or when the writers
    /// make no progress.
    fn wait_for_acks(&self, n: usize) {
        let mut p = self.lock();
        let mut last = (p.acks.len(), Instant::now());
        while p.acks.len() < n {
            assert!(p.errors.is_empty(), "a writer failed: {:?}", p.errors);
            if p.acks.len() != last.0 {
                last = (p.acks.len(), Instant::now());
            }
            assert!(
                last.1.elapsed() < PROGRESS_WITHIN,
                "no write acknowledged for {PROGRESS_WITHIN:?} ({} so far)",
                p.acks.len()
            );
            p = self
                .changed
                .wait_timeout(p, Duration::from_secs(1))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        assert!(p.errors.is_empty(), "a writer failed: {:?}", p.errors);
    }
}

/// Stops the writers when the main thread leaves the scope, also by a panic (else the scope
/// would wait for them forever).
struct StopOnDrop<'a>(&'a Shared);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.update(|p| p.stopping = true);
    }
}

/// The binary as a child process; killed when dropped (a failing test leaves no server).
struct Server {
    child: Child,
    app: Arc<TestApp>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `foerderakte serve` on `database` and a free loopback port, with the harness's
    /// token settings; returns once `/health/ready` answers 200.
    fn start(database: &Arc<TestDatabase>, log: &Path) -> Server {
        // The port is chosen by binding port 0 and released before the child binds it; if
        // someone takes it in between, the child exits and we try another.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let stderr = File::options()
                .create(true)
                .append(true)
                .open(log)
                .expect("the server log opens");
            let child = Command::new(env!("CARGO_BIN_EXE_foerderakte"))
                .arg("serve")
                // Not the source tree: no developer's `.env` is read.
                .current_dir(std::env::temp_dir())
                .env("DATABASE_URL", &database.url)
                .env("BIND_ADDR", format!("127.0.0.1:{port}"))
                .env("JWT_ALGORITHM", "HS256")
                .env("JWT_SECRET", SECRET)
                .env("JWT_ISSUER", ISSUER)
                .env("JWT_AUDIENCE", AUDIENCE)
                .env("DATABASE_POOL_SIZE", "8")
                .env("AUDIT_KEY", crate::helpers::AUDIT_KEY)
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("the binary starts");
            let app = Arc::new(TestApp::client(
                format!("http://127.0.0.1:{port}"),
                Arc::clone(database),
            ));
            let mut server = Server { child, app };
            if server.wait_ready(log) {
                return server;
            }
        }
        panic!("the server did not start; log:\n{}", tail(log));
    }

    /// Polls `/health/ready` until it answers 200 (true) or the child exits (false).
    fn wait_ready(&mut self, log: &Path) -> bool {
        let since = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the child's status") {
                eprintln!("crash: the server exited at start ({status})");
                return false;
            }
            if let Ok(r) = self
                .app
                .try_request("GET", "/health/ready", None, &[], None)
                && r.status == 200
            {
                return true;
            }
            assert!(
                since.elapsed() < READY_WITHIN,
                "not ready within {READY_WITHIN:?}; log:\n{}",
                tail(log)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL (`Child::kill` on Unix), and reap the process.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed child is reaped");
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// splitmix64: the kill points, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn between(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// What a writer knows of its current case.
struct Case {
    id: String,
    version: i64,
    status: String,
}

/// The next write of a case, chosen from its status and version (so that a writer can carry
/// on from whatever a crash left): edits while a draft is below version 3, then submit,
/// start review, and request/provide information until version `LAST_VERSION`, then the
/// grant unless its signing was `refused`. `None`: the case is done.
fn next_write(c: &Case, refused: bool) -> Option<(&'static str, &'static str)> {
    match (c.status.as_str(), c.version) {
        ("draft", v) if v < 3 => Some(("PATCH", "edit")),
        ("draft", _) => Some(("POST", "submit")),
        ("submitted", _) => Some(("POST", "start_review")),
        ("in_review", v) if v < LAST_VERSION => Some(("POST", "request_info")),
        ("in_review", _) if !refused => Some(("POST", "sign")),
        ("info_requested", _) => Some(("POST", "provide_info")),
        _ => None,
    }
}

/// The version and status of a case JSON answer; checks its ETag.
fn case_of(id: &str, r: &Resp) -> Result<Case, String> {
    let c = r.json();
    let version = c["version"]
        .as_i64()
        .ok_or(format!("no version: {}", r.body))?;
    if r.header("etag") != Some(etag(version).as_str()) {
        return Err(format!("ETag {:?} for version {version}", r.header("etag")));
    }
    Ok(Case {
        id: id.to_owned(),
        version,
        status: c["status"].as_str().unwrap_or_default().to_owned(),
    })
}

/// One writer: its own cases, one after the other, until the test stops. Returns an error
/// for any answer the contract does not allow.
fn writer(shared: &Shared, n: usize) -> Result<(), String> {
    let Some(mut server) = shared.server_after(0) else {
        return Ok(());
    };
    let applicant = server.1.applicant(&[LEAD]);
    let caseworker = server.1.caseworker();
    let approver = server.1.approver();
    for created in 1.. {
        let key = format!("crash-w{n}-c{created}");
        let body = with(draft_body(LEAD), json!({ "title": key }));
        shared.update(|p| p.keys.push((key.clone(), body.clone())));
        // Retried with the same key and body through every crash until acknowledged.
        let mut cut_off = false;
        let mut case = loop {
            if shared.lock().stopping {
                return Ok(());
            }
            let (generation, sent) = (server.0, Instant::now());
            match server.1.create_try(&applicant, &key, &body) {
                Ok(r) if r.status == 201 => {
                    if cut_off && r.header("idempotent-replayed") == Some("true") {
                        shared.update(|p| p.cut_off_committed += 1);
                    }
                    let id = r.json()["id"].as_str().unwrap_or_default().to_owned();
                    let c = case_of(&id, &r)?;
                    if c.version != 1 || c.status != "draft" {
                        return Err(format!("create {key}: {}", r.body));
                    }
                    let write = Write::Create {
                        key: key.clone(),
                        title: key.clone(),
                    };
                    shared.update(|p| {
                        p.acks.push(Ack {
                            case: id,
                            version: 1,
                            write,
                        })
                    });
                    break c;
                }
                Ok(r) => return Err(format!("create {key}: {} {}", r.status, r.body)),
                Err(_) => {
                    if !cut_off {
                        cut_off = true;
                        shared.update(|p| p.count_cut_off(generation, sent, false));
                    }
                    match shared.server_after(server.0) {
                        Some(next) => server = next,
                        None => return Ok(()),
                    }
                }
            }
        };
        // A write of this case failed at the transport level: it may or may not have been
        // committed. Only then may the case be ahead of what this writer knows (412).
        let mut uncertain = false;
        // The grant notice prepared for this case, and whether its signing was refused.
        let mut notice: Option<String> = None;
        let mut refused = false;
        while let Some((method, action)) = next_write(&case, refused) {
            if shared.lock().stopping {
                return Ok(());
            }
            if action == "sign" && notice.is_none() {
                // Preparing changes no case version; a notice prepared under a kill is
                // simply prepared again.
                match server.1.try_request(
                    "POST",
                    &format!("/api/v1/applications/{}/notices", case.id),
                    Some(&caseworker),
                    &[],
                    Some(("application/json", json_bytes(&partial_grant_body()))),
                ) {
                    Ok(r) if r.status == 201 => notice = Some(nid_of(&r.json())),
                    Ok(r) => {
                        return Err(format!("prepare on {}: {} {}", case.id, r.status, r.body));
                    }
                    Err(_) => {
                        let Some(next) = shared.server_after(server.0) else {
                            return Ok(());
                        };
                        server = next;
                    }
                }
                continue;
            }
            let (path, token, body, write) = match action {
                "sign" => (
                    format!(
                        "/api/v1/notices/{}/sign",
                        notice.as_deref().unwrap_or_default()
                    ),
                    &approver,
                    None,
                    Write::Transition {
                        action: "approve".into(),
                        to: "approved".into(),
                    },
                ),
                "edit" => {
                    let title = format!("{key} v{}", case.version + 1);
                    (
                        format!("/api/v1/applications/{}", case.id),
                        &applicant,
                        Some(json!({ "title": title })),
                        Write::Edit { title },
                    )
                }
                _ => {
                    let (token, to) = match action {
                        "submit" => (&applicant, "submitted"),
                        "start_review" => (&caseworker, "in_review"),
                        "request_info" => (&caseworker, "info_requested"),
                        _ => (&applicant, "in_review"),
                    };
                    let write = Write::Transition {
                        action: action.to_owned(),
                        to: to.to_owned(),
                    };
                    let path = format!("/api/v1/applications/{}/transitions", case.id);
                    (path, token, Some(action_body(action)), write)
                }
            };
            // Signing takes no If-Match: the notice names the case version it was prepared on.
            let if_match = etag(case.version);
            let headers: &[(&str, &str)] = match body {
                Some(_) => &[("If-Match", if_match.as_str())],
                None => &[],
            };
            let body = body.map(|b| ("application/json", json_bytes(&b)));
            let (generation, sent) = (server.0, Instant::now());
            let r = server
                .1
                .try_request(method, &path, Some(token), headers, body);
            match r {
                Ok(r) if r.status == 409 && action == "sign" => {
                    if r.header("content-type") != Some("application/problem+json") {
                        return Err(format!("sign on {}: {}", case.id, r.body));
                    }
                    refused = true;
                    shared.update(|p| p.refused += 1);
                }
                Ok(r) if r.status == 200 => {
                    let after = if action == "sign" {
                        if r.json()["status"] != "signed" {
                            return Err(format!("sign on {}: {}", case.id, r.body));
                        }
                        Case {
                            id: case.id.clone(),
                            version: case.version + 1,
                            status: "approved".into(),
                        }
                    } else {
                        case_of(&case.id, &r)?
                    };
                    if after.version != case.version + 1 {
                        return Err(format!("{write:?} at {}: {}", case.version, r.body));
                    }
                    let ack = Ack {
                        case: case.id.clone(),
                        version: after.version,
                        write,
                    };
                    shared.update(|p| p.acks.push(ack));
                    case = after;
                    uncertain = false;
                }
                Ok(r) if r.status == 412 && uncertain => {
                    // The write cut off by the kill was committed after all.
                    let Some(c) = reread(shared, &mut server, &case.id, &caseworker)? else {
                        return Ok(());
                    };
                    case = c;
                    uncertain = false;
                }
                Ok(r) => {
                    return Err(format!(
                        "{write:?} on {} at {}: {} {}",
                        case.id, case.version, r.status, r.body
                    ));
                }
                Err(_) => {
                    let Some(c) = reread(shared, &mut server, &case.id, &caseworker)? else {
                        return Ok(());
                    };
                    let committed = c.version > case.version;
                    shared.update(|p| p.count_cut_off(generation, sent, committed));
                    case = c;
                    uncertain = true;
                }
            }
        }
    }
    Ok(())
}

/// Reads a case from the next server that answers (the current one may be dead); `None`
/// when the test stops first.
fn reread(
    shared: &Shared,
    server: &mut (u64, Arc<TestApp>),
    id: &str,
    token: &str,
) -> Result<Option<Case>, String> {
    loop {
        match server.1.try_request(
            "GET",
            &format!("/api/v1/applications/{id}"),
            Some(token),
            &[],
            None,
        ) {
            Ok(r) if r.status == 200 => return case_of(id, &r).map(Some),
            Ok(r) => return Err(format!("re-read {id}: {} {}", r.status, r.body)),
            Err(_) => match shared.server_after(server.0) {
                Some(next) => *server = next,
                None => return Ok(None),
            },
        }
    }
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialises")
}

impl TestApp {
    /// `POST /applications` with `Idempotency-Key`; a transport failure is an `Err`.
    fn create_try(&self, token: &str, key: &str, body: &Value) -> Result<Resp, ureq::Error> {
        let bytes = json_bytes(body);
        self.try_request(
            "POST",
            "/api/v1/applications",
            Some(token),
            &[("Idempotency-Key", key)],
            Some(("application/json", bytes)),
        )
    }
}

/// Every acknowledged write is in the database: its case exists at that version or later,
/// and the history event at that version is this write. Every case's history is complete
/// (one event per version, numbered 1..=version) and ends in the case's state (status and
/// title). Returns the number of cases checked.
fn check_acknowledged(app: &TestApp, acks: &[Ack]) -> usize {
    let cw = app.caseworker();
    let mut by_case: BTreeMap<&str, Vec<&Ack>> = BTreeMap::new();
    for a in acks {
        by_case.entry(a.case.as_str()).or_default().push(a);
    }
    for (id, acks) in &by_case {
        let (version, case, history) = case_and_history(app, id, &cw);
        for a in acks {
            assert!(
                a.version <= version,
                "{id}: acknowledged version {} lost, the case is at {version}",
                a.version
            );
            let e = &history[usize::try_from(a.version - 1).expect("a version from 1")];
            let title_after = &e["changes"]["title"]["after"];
            match &a.write {
                Write::Create { title, .. } => {
                    assert_eq!(e["action"], "create", "{id}: {e}");
                    assert_eq!(title_after, title.as_str(), "{id}: {e}");
                }
                Write::Edit { title } => {
                    assert_eq!(e["action"], "edit", "{id}: {e}");
                    assert_eq!(title_after, title.as_str(), "{id}: {e}");
                }
                Write::Transition { action, to } => {
                    assert_eq!(e["action"], action.as_str(), "{id}: {e}");
                    assert_eq!(e["to_status"], to.as_str(), "{id}: {e}");
                }
            }
        }
        assert_state_is_the_history(id, &case, &history);
    }
    by_case.len()
}

/// A case (caseworker's view), its version, and its history checked complete.
fn case_and_history(app: &TestApp, id: &str, cw: &str) -> (i64, Value, Vec<Value>) {
    let r = app.get_application(id, cw);
    assert_eq!(r.status, 200, "{id}: {}", r.body);
    let case = r.json();
    let version = case["version"].as_i64().expect("a version");
    let h = app.application_history(id, cw);
    assert_eq!(h.status, 200, "{id}: {}", h.body);
    let history = h.json().as_array().expect("a history").clone();
    let seqs: Vec<i64> = history
        .iter()
        .map(|e| e["seq"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(
        seqs,
        (1..=version).collect::<Vec<_>>(),
        "{id}: history events are not the versions 1..={version}"
    );
    (version, case, history)
}

/// The case's status and title are the last ones its history records.
fn assert_state_is_the_history(id: &str, case: &Value, history: &[Value]) {
    let last = |field: &str| {
        history
            .iter()
            .rev()
            .map(|e| &e["changes"][field]["after"])
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(case["status"], last("status"), "{id}");
    assert_eq!(case["title"], last("title"), "{id}");
}

/// Cents of a money string (`"400000.00"`).
fn cents(money: &Value) -> i64 {
    money
        .as_str()
        .and_then(|s| s.replace('.', "").parse().ok())
        .unwrap_or_else(|| panic!("not money: {money}"))
}

/// The budget commits 40,000.00 for each approved case, all of them at least those whose
/// signing was acknowledged, and never more than its amount. Returns the approved cases.
fn assert_budget_matches_the_grants(app: &TestApp, acks: &[Ack]) -> usize {
    let b = budget(app, year());
    assert_eq!(cents(&b["amount"]), GRANTS * GRANT_CENTS, "{b}");
    let approved = list_ids(app, "?status=approved&limit=500", &app.caseworker());
    let n = i64::try_from(approved.len()).expect("a count");
    assert_eq!(cents(&b["committed"]), n * GRANT_CENTS, "{b}: {n} approved");
    assert!(n <= GRANTS, "{b}: {n} approved");
    for a in acks.iter().filter(|a| a.version == LAST_VERSION + 1) {
        assert!(
            approved.contains(&a.case),
            "{}: acknowledged grant lost",
            a.case
        );
    }
    approved.len()
}

fn assert_audit_verifies(app: &TestApp) -> Value {
    let r = app.verify_audit(&app.admin());
    assert_eq!(r.status, 200, "{}", r.body);
    let report = r.json();
    assert_eq!(report["ok"], true, "{report}");
    report
}

#[test]
fn the_binary_killed_ten_times_under_load_keeps_every_acknowledged_write() {
    let started = Instant::now();
    let database = TestDatabase::fresh();
    let log: PathBuf = std::env::temp_dir().join(format!(
        "foerderakte-crash-{}.log",
        uuid::Uuid::new_v4().simple()
    ));
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let backend = format!("{:?}", Backend::of_url(&database.url));
    eprintln!(
        "crash: {backend}, CRASH_SEED={seed}, server log {}",
        log.display()
    );
    let mut rng = Rng(seed);
    let shared = Shared::default();

    std::thread::scope(|s| {
        let stop = StopOnDrop(&shared);
        let writers: Vec<_> = (0..WRITERS)
            .map(|n| {
                let shared = &shared;
                s.spawn(move || {
                    // A panic (an answer that is not JSON) is an error like any other, so
                    // that the main thread stops waiting for this writer.
                    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| writer(shared, n)))
                        .unwrap_or_else(|_| Err("panicked".into()));
                    if let Err(e) = outcome {
                        shared.update(|p| p.errors.push(format!("writer {n}: {e}")));
                    }
                })
            })
            .collect();
        for crash in 1..=CRASHES {
            let server = Server::start(&database, &log);
            if crash == 1 {
                set_budget(
                    &server.app,
                    year(),
                    &format!("{}.00", GRANTS * GRANT_CENTS / 100),
                );
            } else {
                // The writers are waiting for this server: the database is as the kill left it.
                let acks = shared.lock().acks.clone();
                check_acknowledged(&server.app, &acks);
                assert_budget_matches_the_grants(&server.app, &acks);
                assert_audit_verifies(&server.app);
            }
            let before = shared.lock().acks.len();
            let target = before + usize::try_from(rng.between(KILL_AFTER)).expect("small");
            shared.update(|p| {
                p.generation += 1;
                p.server = Some(Arc::clone(&server.app));
            });
            shared.wait_for_acks(target);
            shared.update(|p| p.kills.push(Instant::now()));
            server.kill();
            let acks = shared.lock().acks.len();
            shared.update(|p| p.server = None);
            eprintln!(
                "crash {crash}: killed after {} acknowledged writes of this run ({acks} in all)",
                acks - before
            );
        }
        drop(stop);
        for w in writers {
            w.join().expect("a writer thread");
        }
    });
    let phase = shared.lock();
    assert!(phase.errors.is_empty(), "{:?}", phase.errors);

    // The last restart: every acknowledged write, every history, the audit log.
    let server = Server::start(&database, &log);
    let app = &server.app;
    let cases = check_acknowledged(app, &phase.acks);
    // Every create key, sent again, answers with one case of its own: the acknowledged ones
    // with the acknowledged case; a key whose create was cut off by the kill creates it now
    // (or finds it created). No key made two cases and no case is without a key.
    let lead = app.applicant(&[LEAD]);
    let mut ids = Vec::new();
    for (key, body) in &phase.keys {
        let r = app.create_application_with_key(&lead, key, body);
        assert_eq!(r.status, 201, "{key}: {}", r.body);
        let id = r.json()["id"].as_str().expect("an id").to_owned();
        let acked = phase.acks.iter().find(|a| match &a.write {
            Write::Create { key: k, .. } => k == key,
            _ => false,
        });
        if let Some(a) = acked {
            assert_eq!(a.case, id, "{key}");
            assert_eq!(r.header("idempotent-replayed"), Some("true"), "{key}");
        }
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), phase.keys.len(), "a case answers two keys");
    let listed = app.list_applications("?limit=500", &app.caseworker());
    assert_eq!(listed.status, 200, "{}", listed.body);
    let mut listed: Vec<String> = listed.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, ids, "the cases are exactly those of the keys");
    let cw = app.caseworker();
    for id in &ids {
        let (_, case, history) = case_and_history(app, id, &cw);
        assert_state_is_the_history(id, &case, &history);
    }
    let approved = assert_budget_matches_the_grants(app, &phase.acks);
    let report = assert_audit_verifies(app);
    server.kill();
    let _ = std::fs::remove_file(&log);
    eprintln!(
        "crash: {backend}: {CRASHES} kills, {} writes acknowledged on {cases} cases ({} keys); \
         {} writes cut off by a kill ({} of them in flight when it came, the others sent to \
         the dead server), {} of them committed; {approved} grants signed, {} \
         refused for want of budget; audit log of {} entries verified; {:.1} s",
        phase.acks.len(),
        phase.keys.len(),
        phase.cut_off,
        phase.cut_off_in_flight,
        phase.cut_off_committed,
        phase.refused,
        report["entries_checked"],
        started.elapsed().as_secs_f64()
    );
}
