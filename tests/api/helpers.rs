//! `spawn_app()` and a `TestApp` with one helper per endpoint.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use diesel::prelude::*;
use foerderakte::auth::mint_hs256;
use foerderakte::config::{JwtSettings, Settings};
use foerderakte::domain::{Ags, Role};
use foerderakte::http::caller::RequestClock;
use foerderakte::persistence::{self, Backend};
use foerderakte::startup::Application;
use serde_json::Value;

pub const SECRET: &str = "test-secret-that-is-long-enough-0123456789";
pub const ISSUER: &str = "foerderakte";
pub const AUDIENCE: &str = "foerderakte-api";

static LOG: Once = Once::new();

/// A test's own database: a temporary SQLite file, or a PostgreSQL database created for the
/// test when `TEST_DATABASE_URL` names a PostgreSQL server. Removed when the last holder drops
/// it (every `TestApp` on it holds it).
pub struct TestDatabase {
    /// What `DATABASE_URL` is for a server on this database.
    pub url: String,
    kind: TestDb,
}

enum TestDb {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new, empty database (no migrations yet: the server applies them when it starts).
    pub fn fresh() -> Arc<TestDatabase> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (url, kind) = match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if Backend::of_url(&admin_url) == Backend::Postgres => {
                let name = format!("fa_test_{id}");
                let mut conn =
                    persistence::establish(&admin_url).expect("TEST_DATABASE_URL connects");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create test database");
                let url = persistence::url_with_database(&admin_url, &name);
                (url, TestDb::Postgres { admin_url, name })
            }
            _ => {
                let path = std::env::temp_dir().join(format!("foerderakte-test-{id}.sqlite3"));
                (path.display().to_string(), TestDb::Sqlite(path))
            }
        };
        Arc::new(TestDatabase { url, kind })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.kind {
            TestDb::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            TestDb::Postgres { admin_url, name } => {
                if let Ok(mut conn) = persistence::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            }
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub settings: Settings,
    /// The server this app started in-process; `None` for a client of another process.
    server: Option<InProcess>,
    database: Arc<TestDatabase>,
    agent: ureq::Agent,
}

struct InProcess {
    handle: ServerHandle,
    clock: RequestClock,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A response, read fully.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// Asserts an RFC 9457 problem with this status and returns its body.
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["type"].is_string() && p["title"].is_string() && p["detail"].is_string());
        p
    }
}

pub fn jwt_settings() -> JwtSettings {
    JwtSettings {
        algorithm: foerderakte::auth::JwtAlgorithm::Hs256,
        secret: Some(SECRET.into()),
        public_key: None,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        max_ttl_secs: foerderakte::config::JWT_MAX_TTL_SECS,
    }
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(jwt_settings())
}

pub fn spawn_app_with(jwt: JwtSettings) -> TestApp {
    spawn_app_configured(jwt, |_| {})
}

/// A server on a fresh database with these token settings and the rest of the settings
/// changed by `change` (say, the authority's level).
pub fn spawn_app_configured(jwt: JwtSettings, change: impl FnOnce(&mut Settings)) -> TestApp {
    LOG.call_once(|| {
        let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
            .is_test(true)
            .try_init();
    });
    // A new test's time starts now (libtest may run several tests on one thread).
    SECONDS_AHEAD.set(0);
    let database = TestDatabase::fresh();
    let mut settings = settings_for(&database, jwt);
    change(&mut settings);
    TestApp::start(settings, database)
}

/// Settings for a server on `database` with these token settings, on a free port.
pub fn settings_for(database: &TestDatabase, jwt: JwtSettings) -> Settings {
    Settings {
        database_url: database.url.clone(),
        bind_addr: "127.0.0.1:0".into(),
        pool_size: 8,
        jwt,
        authority: foerderakte::config::default_authority(),
        audit: audit_settings(),
        limits: foerderakte::config::LimitSettings::for_pool(8),
        metrics_token: None,
        open_data: false,
        cors_allowed_origins: Vec::new(),
        rate_limit_per_minute: None,
        // No delivery worker unless a test asks for one (tests/api/webhooks.rs): the others
        // watch the database and must see only their own writes.
        webhooks: foerderakte::config::WebhookSettings {
            interval_ms: 0,
            ..Default::default()
        },
    }
}

/// The suite's audit key (hex): every in-process server and every spawned binary signs with
/// it, so that one process's entries verify in another.
pub const AUDIT_KEY: &str = "a0d17c0ffee0a0d17c0ffee0a0d17c0ffee0a0d17c0ffee0a0d17c0ffee01234";

pub fn audit_settings() -> foerderakte::config::AuditSettings {
    foerderakte::config::AuditSettings {
        source: foerderakte::config::AuditKeySource::Hex(AUDIT_KEY.into()),
        previous: Vec::new(),
        seal_interval_ms: 0,
    }
}

/// The suite's keys, for verify in the test itself.
pub fn audit_keys() -> foerderakte::domain::audit::Keyring {
    audit_settings()
        .load()
        .expect("the suite's audit key loads")
}

/// Drops the schema guards of the log and of signed notices, as a database superuser could,
/// for a test that tampers behind the service's back.
pub fn drop_guards(conn: &mut persistence::AnyConnection) {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    match conn.backend() {
        Backend::Sqlite => {
            let names: Vec<Name> =
                diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                    .load(conn)
                    .expect("the triggers");
            for n in names {
                diesel::sql_query(format!("DROP TRIGGER {}", n.name))
                    .execute(conn)
                    .expect("a trigger drops");
            }
        }
        Backend::Postgres => {
            for t in [
                "audit_events",
                "audit_seals",
                "audit_checkpoints",
                "notices",
                "notice_lines",
                "notice_allocations",
                "notice_documents",
            ] {
                diesel::sql_query(format!("ALTER TABLE {t} DISABLE TRIGGER USER"))
                    .execute(conn)
                    .expect("the triggers are disabled");
            }
        }
    }
}

/// How many entries the audit log holds.
pub fn audit_entries(conn: &mut persistence::AnyConnection) -> i64 {
    use foerderakte::persistence::schema::audit_events as a;
    a::table.count().get_result(conn).expect("the log counts")
}

/// Verifies the database as `foerderakte audit verify` does.
pub fn verify_db(
    conn: &mut foerderakte::persistence::AnyConnection,
) -> foerderakte::persistence::verify::VerifyReport {
    foerderakte::persistence::audit::install_keys(audit_keys());
    foerderakte::persistence::verify::verify(
        conn,
        &audit_keys(),
        &[],
        foerderakte::persistence::verify::Extent::Full,
        &|_| {},
    )
    .expect("verify runs")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl TestApp {
    /// Builds and starts an `Application` with these settings on its own thread.
    pub fn start(settings: Settings, database: Arc<TestDatabase>) -> TestApp {
        let app = Application::build(&settings).expect("the application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let clock = app.clock();
        // A restarted or second server lives in the test's time (`advance_days`).
        clock.advance(chrono::Duration::seconds(SECONDS_AHEAD.get()));
        let server = app.server();
        let handle = server.handle();
        let thread = std::thread::spawn(move || {
            let _ = actix_web::rt::System::new().block_on(server);
        });
        TestApp {
            address,
            settings,
            server: Some(InProcess {
                handle,
                clock,
                thread: Some(thread),
            }),
            database,
            agent: agent(),
        }
    }

    /// Another server on this app's database with the same settings but its own pool, port
    /// and workers, as a second instance behind a load balancer would be. The database is
    /// removed when the last of the two is dropped.
    /// Lets `days` days pass for this app and this test: the server's clock moves ahead, and
    /// `today()` (so the fixtures' `day()` and `year()`) follows.
    pub fn advance_days(&self, days: i64) {
        self.advance(chrono::Duration::days(days));
    }

    fn advance(&self, by: chrono::Duration) {
        SECONDS_AHEAD.set(SECONDS_AHEAD.get() + by.num_seconds());
        self.clock()
            .advance(chrono::Duration::seconds(by.num_seconds()));
    }

    /// Moves the test's time to noon (German time) of the German day `day`, backwards too.
    /// Noon, not the time of day the test runs at: shifted by whole days, 22:30 UTC on a
    /// winter day would be past midnight on a summer day in Germany, the day after `day`.
    pub fn travel_to(&self, day: chrono::NaiveDate) {
        let noon =
            foerderakte::domain::calendar::german_day_start_utc(day) + chrono::Duration::hours(12);
        self.advance(noon - test_now());
    }

    /// The clock the in-process server reads each request's instant from.
    pub fn clock(&self) -> &RequestClock {
        &self
            .server
            .as_ref()
            .expect("a server started in-process")
            .clock
    }

    pub fn second_instance(&self) -> TestApp {
        TestApp::start(self.settings.clone(), Arc::clone(&self.database))
    }

    /// Stops this server and starts one on the same database with its settings changed by
    /// `change`: a restart with a new configuration.
    pub fn restart_with(self, change: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.settings.clone();
        change(&mut settings);
        let database = Arc::clone(&self.database);
        drop(self);
        TestApp::start(settings, database)
    }

    /// A client of a server this harness did not start (the binary as a child process) at
    /// `address` (`http://127.0.0.1:PORT`) on `database`, with the harness's token settings.
    pub fn client(address: String, database: Arc<TestDatabase>) -> TestApp {
        let settings = settings_for(&database, jwt_settings());
        TestApp {
            address,
            settings,
            server: None,
            database,
            agent: agent(),
        }
    }

    pub fn database(&self) -> &Arc<TestDatabase> {
        &self.database
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The server stops first; the database goes with the last `Arc` after this body.
        if let Some(server) = &mut self.server {
            let handle = server.handle.clone();
            actix_web::rt::System::new().block_on(handle.stop(false));
            if let Some(t) = server.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl TestApp {
    pub fn backend(&self) -> Backend {
        Backend::of_url(&self.settings.database_url)
    }

    /// A direct connection to the test's database, for checks behind the server's back.
    pub fn db(&self) -> persistence::AnyConnection {
        persistence::establish(&self.settings.database_url).expect("test database connects")
    }

    pub fn token(&self, role: Role, sub: &str, ags: &[&str]) -> String {
        let ags: Vec<Ags> = ags
            .iter()
            .map(|a| Ags::parse(a).expect("valid AGS"))
            .collect();
        mint_hs256(&self.settings.jwt, sub, role, &ags, 3600).expect("token")
    }

    pub fn caseworker(&self) -> String {
        self.token(Role::Caseworker, "carla.caseworker", &[])
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, "otto.operator", &[])
    }

    pub fn applicant(&self, ags: &[&str]) -> String {
        self.token(Role::Applicant, "ingo.it-lead", ags)
    }

    /// Any request: method, path, optional bearer token, extra headers, optional raw body.
    /// Panics when the server cannot be reached.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        self.try_request(method, path, token, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// `request`, but a transport failure (connection refused or reset, a server that died
    /// mid-request) is an `Err` instead of a panic.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Resp, ureq::Error> {
        let url = format!("{}{}", self.address, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut resp = match body {
            Some((content_type, bytes)) => {
                let req = req
                    .header("Content-Type", content_type)
                    .body(bytes)
                    .expect("request builds");
                self.agent.run(req)
            }
            None => {
                let req = req.body(()).expect("request builds");
                self.agent.run(req)
            }
        }?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()?;
        // A binary body (a PDF) reads as empty text; `get_bytes` is for those.
        let body = String::from_utf8(bytes).unwrap_or_default();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request("GET", path, token, &[], None)
    }

    pub fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("serialises");
        self.request("POST", path, token, &[], Some(("application/json", bytes)))
    }

    // One helper per endpoint.

    pub fn list_municipalities(&self, query: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/municipalities{query}"), Some(token))
    }

    pub fn get_municipality(&self, ags: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/municipalities/{ags}"), Some(token))
    }

    pub fn register_editions(&self, token: &str) -> Resp {
        self.get("/api/v1/register/editions", Some(token))
    }

    pub fn import_edition(&self, content: &str, token: &str) -> Resp {
        self.post_json(
            "/api/v1/register/editions",
            Some(token),
            &serde_json::json!({ "content": content }),
        )
    }
}

// Applications and what their tests need besides.

impl TestApp {
    pub fn approver(&self) -> String {
        self.token(Role::Approver, "anna.approver", &[])
    }

    /// An approver who signs no notices: four eyes across the money let someone who prepared
    /// or signed a case's grant not release its payouts, so the tests' payouts are released by
    /// this one.
    pub fn releaser(&self) -> String {
        self.token(Role::Approver, "rolf.releaser", &[])
    }

    pub fn ministry(&self) -> String {
        self.token(Role::Ministry, "max.ministry", &[])
    }

    /// A JSON request with optional `If-Match`.
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        if_match: Option<&str>,
        body: &Value,
    ) -> Resp {
        let headers: Vec<(&str, &str)> =
            if_match.map(|v| vec![("If-Match", v)]).unwrap_or_default();
        let bytes = serde_json::to_vec(body).expect("serialises");
        self.request(
            method,
            path,
            token,
            &headers,
            Some(("application/json", bytes)),
        )
    }

    pub fn create_application(&self, token: &str, body: &Value) -> Resp {
        self.post_json("/api/v1/applications", Some(token), body)
    }

    pub fn create_application_with_key(&self, token: &str, key: &str, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("serialises");
        self.request(
            "POST",
            "/api/v1/applications",
            Some(token),
            &[("Idempotency-Key", key)],
            Some(("application/json", bytes)),
        )
    }

    pub fn get_application(&self, id: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/applications/{id}"), Some(token))
    }

    /// `query` starts with `?` or is empty.
    pub fn list_applications(&self, query: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/applications{query}"), Some(token))
    }

    pub fn patch_application(
        &self,
        id: &str,
        token: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Resp {
        self.send_json(
            "PATCH",
            &format!("/api/v1/applications/{id}"),
            Some(token),
            if_match,
            body,
        )
    }

    pub fn transition_application(
        &self,
        id: &str,
        token: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Resp {
        self.send_json(
            "POST",
            &format!("/api/v1/applications/{id}/transitions"),
            Some(token),
            if_match,
            body,
        )
    }

    pub fn application_history(&self, id: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/applications/{id}/history"), Some(token))
    }

    /// `GET /audit/verify`, asking again while a run is going (202), as a client must: on a
    /// busy machine a run over the demo history takes longer than one request's wait.
    pub fn verify_audit(&self, token: &str) -> Resp {
        let started = std::time::Instant::now();
        loop {
            let r = self.get("/api/v1/audit/verify", Some(token));
            if r.status != 202 || started.elapsed() > std::time::Duration::from_secs(600) {
                return r;
            }
        }
    }

    pub fn get_programme(&self, code: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/programmes/{code}"), Some(token))
    }

    pub fn patch_programme(
        &self,
        code: &str,
        token: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Resp {
        self.send_json(
            "PATCH",
            &format!("/api/v1/programmes/{code}"),
            Some(token),
            if_match,
            body,
        )
    }
}

// Notices, budgets, payments and interest.

impl TestApp {
    /// `POST /applications/{id}/notices` (caseworker).
    pub fn prepare_notice(&self, app_id: &str, token: &str, body: &Value) -> Resp {
        self.post_json(
            &format!("/api/v1/applications/{app_id}/notices"),
            Some(token),
            body,
        )
    }

    /// `POST /notices/{nid}/sign` (approver, no body).
    pub fn sign_notice(&self, nid: &str, token: &str) -> Resp {
        self.request(
            "POST",
            &format!("/api/v1/notices/{nid}/sign"),
            Some(token),
            &[],
            None,
        )
    }

    pub fn get_notice(&self, nid: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/notices/{nid}"), Some(token))
    }

    pub fn list_notices(&self, app_id: &str, token: &str) -> Resp {
        self.get(
            &format!("/api/v1/applications/{app_id}/notices"),
            Some(token),
        )
    }

    pub fn notice_document(&self, nid: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/notices/{nid}/document"), Some(token))
    }

    /// The bytes of a `GET` answer (for binary documents).
    pub fn get_bytes(&self, path: &str, token: &str) -> (u16, Vec<u8>) {
        let url = format!("{}{}", self.address, path);
        let req = ureq::http::Request::builder()
            .method("GET")
            .uri(&url)
            .header("Authorization", format!("Bearer {token}"))
            .body(())
            .expect("request builds");
        let mut resp = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .expect("a body");
        (status, bytes)
    }

    /// Sets a budget as an administrator would: reads it (`GET …/budgets/{year}`) and sends
    /// `PUT` with `If-Match` and its `ETag`, or `If-None-Match: *` if there is none yet.
    pub fn put_budget(&self, code: &str, year: i32, token: &str, body: &Value) -> Resp {
        let current = self.get_budget(code, year, token);
        let etag = current.header("etag").map(str::to_owned);
        let headers: Vec<(&str, &str)> = match (current.status, etag.as_deref()) {
            (200, Some(etag)) => vec![("If-Match", etag)],
            _ => vec![("If-None-Match", "*")],
        };
        self.put_budget_with(code, year, token, &headers, body)
    }

    /// `PUT /programmes/{code}/budgets/{year}` with these headers.
    pub fn put_budget_with(
        &self,
        code: &str,
        year: i32,
        token: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Resp {
        self.request(
            "PUT",
            &format!("/api/v1/programmes/{code}/budgets/{year}"),
            Some(token),
            headers,
            Some((
                "application/json",
                serde_json::to_vec(body).expect("serialises"),
            )),
        )
    }

    /// `GET /programmes/{code}/budgets/{year}`: one budget with its `ETag`.
    pub fn get_budget(&self, code: &str, year: i32, token: &str) -> Resp {
        self.get(
            &format!("/api/v1/programmes/{code}/budgets/{year}"),
            Some(token),
        )
    }

    pub fn get_budgets(&self, code: &str, token: &str) -> Resp {
        self.get(&format!("/api/v1/programmes/{code}/budgets"), Some(token))
    }

    /// `POST /applications/{id}/payment-requests` (lead applicant).
    pub fn request_payment(&self, app_id: &str, token: &str, body: &Value) -> Resp {
        self.post_json(
            &format!("/api/v1/applications/{app_id}/payment-requests"),
            Some(token),
            body,
        )
    }

    pub fn list_payment_requests(&self, app_id: &str, token: &str) -> Resp {
        self.get(
            &format!("/api/v1/applications/{app_id}/payment-requests"),
            Some(token),
        )
    }

    /// `POST /payment-requests/{pid}/payout` (caseworker prepares, approver releases; no body).
    pub fn payout(&self, pid: &str, token: &str) -> Resp {
        self.request(
            "POST",
            &format!("/api/v1/payment-requests/{pid}/payout"),
            Some(token),
            &[],
            None,
        )
    }

    /// `POST /payment-requests/{pid}/reject` (caseworker).
    pub fn reject_payment(&self, pid: &str, token: &str, body: &Value) -> Resp {
        self.post_json(
            &format!("/api/v1/payment-requests/{pid}/reject"),
            Some(token),
            body,
        )
    }

    /// `GET /applications/{id}/interest?as_of=YYYY-MM-DD`.
    pub fn interest(&self, app_id: &str, as_of: &str, token: &str) -> Resp {
        self.get(
            &format!("/api/v1/applications/{app_id}/interest?as_of={as_of}"),
            Some(token),
        )
    }

    /// The first 500 entries of the audit log (admin).
    /// The whole audit log, every page of it, as one `{"items": […]}` (the status of the
    /// last page, or of the first that failed).
    pub fn audit_log(&self, token: &str) -> Resp {
        let mut items = Vec::new();
        let mut path = "/api/v1/audit?limit=500".to_owned();
        loop {
            let r = self.get(&path, Some(token));
            if r.status != 200 {
                return r;
            }
            let page = r.json();
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/api/v1/audit?limit=500&cursor={c}"),
                None => {
                    return Resp {
                        status: r.status,
                        headers: r.headers,
                        body: serde_json::json!({ "items": items }).to_string(),
                    };
                }
            }
        }
    }
}

// Tokens, good and bad (shared by `auth` and `attacks`).

pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims that pass every check of the test server's verifier, for a role that needs no `ags`.
pub fn claims(role: &str) -> Value {
    serde_json::json!({"sub": "tester", "role": role, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600})
}

pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("a token")
}

/// A token with any header, signed with HMAC-SHA256 over `header.payload` with `key`
/// (the algorithm-confusion attack: whatever the header claims, the key is a shared secret).
pub fn hmac_signed(header: &Value, claims: &Value, key: &[u8]) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use hmac::{Hmac, Mac};
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        B64.encode(mac.finalize().into_bytes())
    )
}

/// Every token the HS256 test server must refuse with 401, each with what is wrong with it.
/// `good` are claims the server accepts (see `claims`); the expired, premature, misdirected
/// and wrongly signed tokens spoil one thing of them, the tampered and forged ones claim
/// `admin`.
pub fn bad_tokens(good: &Value) -> Vec<(&'static str, Option<String>)> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use serde_json::json;
    let valid = hs256(good, SECRET.as_bytes());
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut tampered_payload = claims("admin");
    tampered_payload["sub"] = json!("mallory");
    parts[1] = B64.encode(tampered_payload.to_string());
    let tampered = parts.join(".");

    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    let mut not_yet = good.clone();
    not_yet["nbf"] = json!(now() + 3600);
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    let mut no_exp = good.clone();
    no_exp.as_object_mut().expect("claims").remove("exp");
    let mut applicant_without_ags = claims("applicant");
    applicant_without_ags
        .as_object_mut()
        .expect("claims")
        .remove("ags");
    let mut applicant_bad_ags = claims("applicant");
    applicant_bad_ags["ags"] = json!(["9162000"]);
    let unknown_role = claims("superuser");
    let mut nul_subject = good.clone();
    nul_subject["sub"] = json!("mallory\u{0}");
    let with_claims = |changes: Value| {
        let mut c = good.clone();
        for (k, v) in changes.as_object().expect("claims") {
            c[k] = v.clone();
        }
        hs256(&c, SECRET.as_bytes())
    };
    let day = foerderakte::config::JWT_MAX_TTL_SECS;
    let crit = hmac_signed(
        &json!({"alg": "HS256", "typ": "JWT", "crit": ["x-acme"], "x-acme": true}),
        good,
        SECRET.as_bytes(),
    );

    let alg_none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        B64.encode(claims("admin").to_string())
    );
    let rs256_with_hs_secret = hmac_signed(
        &json!({"alg": "RS256", "typ": "JWT"}),
        &claims("admin"),
        SECRET.as_bytes(),
    );
    let secret = SECRET.as_bytes();
    vec![
        ("no token", None),
        ("not a JWT", Some("hello".into())),
        ("tampered payload", Some(tampered)),
        (
            "signed with another secret",
            Some(hs256(good, b"another-secret-another-secret-xx")),
        ),
        ("expired", Some(hs256(&expired, secret))),
        ("not valid yet", Some(hs256(&not_yet, secret))),
        ("wrong audience", Some(hs256(&wrong_aud, secret))),
        ("wrong issuer", Some(hs256(&wrong_iss, secret))),
        ("no exp", Some(hs256(&no_exp, secret))),
        ("alg none", Some(alg_none)),
        (
            "RS256 header, HMAC with the HS secret",
            Some(rs256_with_hs_secret),
        ),
        (
            "applicant without ags",
            Some(hs256(&applicant_without_ags, secret)),
        ),
        (
            "applicant with a malformed ags",
            Some(hs256(&applicant_bad_ags, secret)),
        ),
        ("unknown role", Some(hs256(&unknown_role, secret))),
        (
            "a subject with a NUL character",
            Some(hs256(&nul_subject, secret)),
        ),
        (
            "exp = u64::MAX",
            Some(with_claims(json!({"exp": u64::MAX}))),
        ),
        (
            "a lifetime exp - iat beyond JWT_MAX_TTL",
            Some(with_claims(
                json!({"iat": now(), "exp": now() + day + 3600}),
            )),
        ),
        (
            "no iat, expiring beyond JWT_MAX_TTL from now",
            Some(with_claims(json!({"exp": now() + day + 3600}))),
        ),
        (
            "iat an hour in the future",
            Some(with_claims(
                json!({"iat": now() + 3600, "exp": now() + 7200}),
            )),
        ),
        ("a crit header", Some(crit)),
        (
            "a subject with a zero-width space",
            Some(with_claims(json!({"sub": "tester\u{200B}"}))),
        ),
        (
            "a subject with a bidi override",
            Some(with_claims(json!({"sub": "\u{202E}retset"}))),
        ),
        (
            "a subject with a control character",
            Some(with_claims(json!({"sub": "tes\u{7}ter"}))),
        ),
        (
            "a subject not in NFC",
            Some(with_claims(json!({"sub": "Ju\u{0308}rgen"}))),
        ),
        (
            "a subject with a private-use character",
            Some(with_claims(json!({"sub": "tester\u{E000}"}))),
        ),
        (
            "a subject ending in a space",
            Some(with_claims(json!({"sub": "tester "}))),
        ),
        ("oversized token", Some("a".repeat(9000))),
    ]
}

// What the database holds, to show that a refused request wrote nothing.

/// Row counts and sums of the columns a write changes, per table: equal before and after a
/// request means the request changed no row (an insert changes a count, an update a version,
/// a status timestamp or an amount, an audited write the audit log).
const DB_STATE_SQL: &[(&str, &str)] = &[
    ("applications", "COUNT(*)"),
    ("applications", "SUM(version)"),
    ("applications", "SUM(paid_cents)"),
    ("applications", "SUM(COALESCE(granted_cents, 0))"),
    ("applications", "SUM(reclaimed_cents)"),
    ("cost_lines", "COUNT(*)"),
    ("cost_lines", "SUM(amount_cents)"),
    ("cost_lines", "SUM(COALESCE(actual_cents, -1))"),
    ("application_members", "COUNT(*)"),
    ("application_members", "SUM(share_bp)"),
    ("case_counters", "COUNT(*)"),
    ("case_counters", "SUM(last_number)"),
    ("idempotency_keys", "COUNT(*)"),
    ("notices", "COUNT(*)"),
    ("notices", "COUNT(signed_at)"),
    ("notice_lines", "COUNT(*)"),
    ("notice_allocations", "COUNT(*)"),
    ("budgets", "COUNT(*)"),
    ("budgets", "SUM(amount_cents)"),
    ("budgets", "SUM(committed_cents)"),
    ("payment_requests", "COUNT(*)"),
    ("payment_requests", "COUNT(prepared_at)"),
    ("payment_requests", "COUNT(paid_at)"),
    ("payment_requests", "COUNT(rejected_at)"),
    ("audit_events", "COUNT(*)"),
    ("programmes", "SUM(version)"),
    (
        "funding_objects",
        "SUM(CASE WHEN fundable_now THEN 1 ELSE 0 END)",
    ),
    ("base_rates", "COUNT(*)"),
    ("delivery_rules", "COUNT(*)"),
    ("register_editions", "COUNT(*)"),
    ("municipalities", "COUNT(*)"),
    ("municipalities", "COUNT(valid_to)"),
];

#[derive(diesel::QueryableByName)]
struct StateRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    k: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `(table: measure, value)` for every measure of `DB_STATE_SQL`, read in one statement.
pub type DbState = Vec<(String, i64)>;

/// A connection to the test's database that reads its state (see `DB_STATE_SQL`).
pub struct DbWatch {
    conn: persistence::AnyConnection,
}

impl DbWatch {
    pub fn state(&mut self) -> DbState {
        let sql = DB_STATE_SQL
            .iter()
            .map(|(table, measure)| {
                format!(
                    "SELECT '{table}: {measure}' AS k, CAST(COALESCE({measure}, 0) AS BIGINT) AS n \
                     FROM {table}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let mut rows: DbState = diesel::sql_query(sql)
            .load::<StateRow>(&mut self.conn)
            .expect("the database state")
            .into_iter()
            .map(|r| (r.k, r.n))
            .collect();
        rows.sort();
        rows
    }

    /// Asserts that the database holds what it held in `before`, naming what differs.
    pub fn assert_unchanged(&mut self, before: &DbState, what: &str) {
        let after = self.state();
        let changed: Vec<String> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b != a)
            .map(|((k, b), (_, a))| format!("{k}: {b} → {a}"))
            .collect();
        assert!(changed.is_empty(), "{what} wrote: {}", changed.join("; "));
        assert_eq!(before.len(), after.len(), "{what}");
    }
}

impl TestApp {
    pub fn watch_db(&self) -> DbWatch {
        DbWatch { conn: self.db() }
    }
}

thread_local! {
    /// The seconds this test's thread moved its app's clock (`TestApp::advance_days`,
    /// `TestApp::travel_to`).
    static SECONDS_AHEAD: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// The instant (UTC) the test's server sees as now, to the second.
fn test_now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc() + chrono::Duration::seconds(SECONDS_AHEAD.get())
}

/// The German civil date (Europe/Berlin) the test's server sees as today: the system's, plus
/// the time the test moved its app's clock.
pub fn today() -> chrono::NaiveDate {
    foerderakte::domain::calendar::german_date(test_now())
}
