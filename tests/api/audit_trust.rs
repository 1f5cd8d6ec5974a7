//! Issue 14: a record an auditor can trust. Each tampering of the issue is made directly in the
//! database (the schema's guards dropped first, as a superuser could), and both
//! `foerderakte audit verify` (exit status) and `GET /api/v1/audit/verify` (409 problem+json)
//! must name what differs. On an intact database both say ok. Then the guards themselves,
//! and the frozen notice document.

use std::process::Command;

use diesel::prelude::*;
use foerderakte::domain::audit::{AuditKey, Keyring};
use foerderakte::persistence::audit::{AuditEvent, Entry, Signer};
use foerderakte::persistence::schema::{
    applications as ap, audit_events as a, audit_seals as se, budgets as b, notice_documents as nd,
    notices as n, payment_requests as pr,
};
use foerderakte::persistence::{self, AnyConnection};
use serde_json::Value;

use crate::helpers::{
    AUDIENCE, AUDIT_KEY, ISSUER, SECRET, TestApp, audit_entries, drop_guards, spawn_app,
};
use crate::notices::{approved_case, pay};

/// A database with a case approved with 40,000.00 (its grant notice signed, with its
/// document), a released payout of 15,000.00 and a second case in review, all of it sealed
/// (the suite's servers run no sealer of their own: `SEAL_INTERVAL_MS` 0).
struct Scene {
    app: TestApp,
    case: String,
    notice: String,
    other: String,
}

fn scene() -> Scene {
    let app = spawn_app();
    let (case, signed) = approved_case(&app);
    pay(&app, &case, "15000.00");
    let other = crate::applications::case_in(&app, "in_review");
    let notice = signed["id"].as_str().unwrap().to_owned();
    seal(&app);
    Scene {
        app,
        case,
        notice,
        other,
    }
}

/// Seals what the app's database holds, as the server's sealer does, until nothing is left
/// unsealed. On PostgreSQL a round takes only transactions below the oldest one still running
/// that may write to this database (the server's own writes in flight can hold a round back
/// for a moment).
fn seal(app: &TestApp) {
    let mut conn = app.db();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while unsealed(&mut conn) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "entries unsealed after 60 s"
        );
        persistence::seal::seal_all(&mut conn, persistence::stored_now()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// How many entries no seal covers.
fn unsealed(conn: &mut AnyConnection) -> i64 {
    let from = persistence::seal::last(conn)
        .unwrap()
        .map_or(0, |s| s.to_txid);
    a::table
        .filter(a::txid.ge(from))
        .count()
        .get_result(conn)
        .unwrap()
}

/// `foerderakte audit verify` on the app's database: (exit ok, stdout).
fn cli_verify(app: &TestApp, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_foerderakte"))
        .arg("audit")
        .arg("verify")
        .args(extra)
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", &app.settings.database_url)
        .env("AUDIT_KEY", AUDIT_KEY)
        .env("JWT_SECRET", SECRET)
        .env("JWT_ISSUER", ISSUER)
        .env("JWT_AUDIENCE", AUDIENCE)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), stdout)
}

/// Both verifiers refuse, and each names `table` (and `field`, if given) in a finding.
fn assert_found(s: &Scene, what: &str, table: &str, field: Option<&str>) {
    let (ok, out) = cli_verify(&s.app, &[]);
    assert!(!ok, "{what}: the CLI verified: {out}");
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let names = |findings: &Value| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["table"] == table && field.is_none_or(|x| f["field"] == x))
    };
    assert!(names(&report["findings"]), "{what}: CLI findings: {out}");
    let http = s.app.verify_audit(&s.app.admin()).assert_problem(409);
    assert!(names(&http["findings"]), "{what}: HTTP findings: {http}");
    assert!(
        http["detail"].as_str().unwrap().contains("finding"),
        "{what}: {http}"
    );
}

fn exec(conn: &mut AnyConnection, sql: &str) -> usize {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
}

fn tampered(
    what: &str,
    table: &str,
    field: Option<&str>,
    change: impl FnOnce(&Scene, &mut AnyConnection),
) {
    let s = scene();
    let mut conn = s.app.db();
    drop_guards(&mut conn);
    change(&s, &mut conn);
    assert_found(&s, what, table, field);
}

#[test]
fn an_intact_database_verifies_through_the_cli_and_the_api() {
    let s = scene();
    let (ok, out) = cli_verify(&s.app, &[]);
    assert!(ok, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let mut conn = s.app.db();
    assert_eq!(report["entries_checked"], audit_entries(&mut conn));
    assert_eq!(report["documents_checked"], 1);
    let http = s.app.verify_audit(&s.app.admin());
    assert_eq!(http.status, 200, "{}", http.body);
    assert_eq!(http.json()["ok"], true);
    assert_eq!(http.json()["findings_total"], 0);
    // Other roles do not verify.
    s.app.verify_audit(&s.app.caseworker()).assert_problem(403);
    s.app.verify_audit(&s.app.ministry()).assert_problem(403);
    // `wait` is bounded.
    s.app
        .get("/api/v1/audit/verify?wait=61", Some(&s.app.admin()))
        .assert_problem(422);
}

#[test]
fn removed_entries_are_found() {
    tampered(
        "the last entry of a case's chain",
        "audit_events",
        None,
        |s, c| {
            let last: i64 = a::table
                .filter(a::record_key.eq(&s.case))
                .select(diesel::dsl::max(a::id))
                .first::<Option<i64>>(c)
                .unwrap()
                .unwrap();
            diesel::delete(a::table.find(last)).execute(c).unwrap();
        },
    );
    tampered(
        "the last entry of every chain",
        "audit_events",
        None,
        |_, c| {
            exec(
                c,
                "DELETE FROM audit_events WHERE id IN (SELECT MAX(id) FROM audit_events \
             GROUP BY record_type, record_key)",
            );
        },
    );
    tampered("every entry of one case", "applications", None, |s, c| {
        diesel::delete(a::table.filter(a::record_key.eq(&s.other)))
            .execute(c)
            .unwrap();
    });
    tampered(
        "a released payout, row and entries",
        "audit_events",
        None,
        |s, c| {
            let pid: String = pr::table
                .filter(pr::application_id.eq(&s.case))
                .select(pr::id)
                .first(c)
                .unwrap();
            diesel::delete(
                a::table.filter(
                    a::record_key
                        .eq(&pid)
                        .and(a::action.eq("pay"))
                        .or(a::record_key.eq(&s.case).and(a::action.eq("payout"))),
                ),
            )
            .execute(c)
            .unwrap();
            exec(
                c,
                &format!(
                    "UPDATE payment_requests SET status = 'prepared', paid_by = NULL, \
                 paid_at = NULL, paid_year = NULL WHERE id = '{pid}'"
                ),
            );
            exec(
                c,
                &format!(
                    "UPDATE applications SET paid_cents = 0, version = version - 1 WHERE id = '{}'",
                    s.case
                ),
            );
        },
    );
}

#[test]
fn changed_rows_are_found_by_table_and_field() {
    tampered(
        "a signed notice's grant doubled",
        "notices",
        Some("granted_cents"),
        |_, c| {
            exec(
                c,
                "UPDATE notices SET granted_cents = granted_cents * 2 WHERE status = 'signed'",
            );
        },
    );
    tampered(
        "a case's paid amount",
        "applications",
        Some("paid_cents"),
        |s, c| {
            diesel::update(ap::table.find(&s.case))
                .set(ap::paid_cents.eq(ap::paid_cents + 100))
                .execute(c)
                .unwrap();
        },
    );
    tampered("a case's status", "applications", Some("status"), |s, c| {
        exec(
            c,
            &format!(
                "UPDATE applications SET status = 'closed' WHERE id = '{}'",
                s.case
            ),
        );
    });
    tampered("a case's lead", "applications", Some("lead_ags"), |s, c| {
        exec(
            c,
            &format!(
                "UPDATE applications SET lead_ags = '16051000' WHERE id = '{}'",
                s.case
            ),
        );
    });
    tampered(
        "a budget's commitment",
        "budgets",
        Some("committed_cents"),
        |_, c| {
            diesel::update(b::table.filter(b::committed_cents.gt(0)))
                .set(b::committed_cents.eq(b::committed_cents - 1))
                .execute(c)
                .unwrap();
        },
    );
    tampered(
        "a payment request deleted",
        "payment_requests",
        None,
        |s, c| {
            diesel::delete(pr::table.filter(pr::application_id.eq(&s.case)))
                .execute(c)
                .unwrap();
        },
    );
    tampered(
        "a stored document changed",
        "notice_documents",
        Some("content"),
        |s, c| {
            diesel::update(nd::table.find(&s.notice))
                .set(nd::content.eq(b"%PDF-1.7 forged".to_vec()))
                .execute(c)
                .unwrap();
        },
    );
}

/// A signer with a key that is not the audit key (an attacker without it).
fn forger(byte: u8) -> Signer {
    Signer {
        keys: std::sync::Arc::new(Keyring::single(AuditKey::new(vec![byte; 32]).unwrap())),
    }
}

/// Entry `id`, edited and re-MAC'd with another key, written back over the stored one.
fn remac_with_forged_key(c: &mut AnyConnection, id: i64, edit: impl Fn(&mut AuditEvent)) {
    let mut e: AuditEvent = a::table
        .find(id)
        .select(AuditEvent::as_select())
        .first(c)
        .unwrap();
    edit(&mut e);
    let forged = forger(7).sign(&entry_of(&e), e.id, e.seq).unwrap();
    diesel::update(a::table.find(e.id))
        .set((a::actor.eq(&e.actor), a::mac.eq(&forged.mac)))
        .execute(c)
        .unwrap();
}

/// A stored entry as the entry a writer would append (its state carried over as stored).
fn entry_of(e: &AuditEvent) -> Entry {
    let patch: Value = serde_json::from_str(&e.state).unwrap();
    Entry {
        record_type: foerderakte::persistence::ledger::RECORD_TYPES
            .iter()
            .map(|(t, _)| *t)
            .find(|t| *t == e.record_type)
            .expect("a known record type"),
        record_key: e.record_key.clone(),
        occurred_at: e.occurred_at,
        actor: e.actor.clone(),
        role: e.role.clone(),
        action: e.action.clone(),
        from_status: e.from_status.clone(),
        to_status: e.to_status.clone(),
        reason: e.reason.clone(),
        changes: serde_json::from_str(&e.changes).unwrap(),
        state: Some(persistence::audit::StateChange {
            patch,
            hash: e.state_hash.clone(),
        }),
    }
}

#[test]
fn entries_forged_without_the_key_are_found() {
    tampered(
        "an actor changed and the MAC recomputed",
        "audit_events",
        Some("mac"),
        |s, c| {
            let id: i64 = a::table
                .filter(a::record_key.eq(&s.case))
                .filter(a::action.eq("start_review"))
                .select(a::id)
                .first(c)
                .unwrap();
            remac_with_forged_key(c, id, |e| e.actor = "mallory".into());
        },
    );
    tampered(
        "an entry appended without the key",
        "audit_events",
        Some("mac"),
        |s, c| {
            let mut forged = entry_of(
                &persistence::audit::for_record(c, "application", &s.other)
                    .unwrap()
                    .pop()
                    .unwrap(),
            );
            forged.action = "withdraw".into();
            forged.actor = "mallory".into();
            let id = persistence::audit::last_id(c).unwrap() + 1;
            let e = forger(9).sign(&forged, id, 99).unwrap();
            exec(
                c,
                &format!(
                    "INSERT INTO audit_events (id, record_type, record_key, seq, occurred_at, actor, \
                 role, action, changes, prev_mac, mac, state, state_hash, key_id) VALUES \
                 ({}, '{}', '{}', 99, '2026-01-01 00:00:00', 'mallory', 'admin', 'withdraw', '{{}}', \
                 '{}', '{}', '{{}}', '{}', '{}')",
                    e.id,
                    e.record_type,
                    e.record_key,
                    e.prev_mac,
                    e.mac,
                    e.state_hash,
                    // The real key's id, which a forger reads off any entry.
                    crate::helpers::audit_keys().current.id()
                ),
            );
        },
    );
    tampered(
        "a seal recomputed without the key after an entry was removed",
        "audit_seals",
        Some("mac"),
        |_, c| {
            // The newest seal that keeps an entry after one is removed (on PostgreSQL the
            // sealer's last round may have taken a single entry).
            let last = persistence::seal::after(c, 0)
                .unwrap()
                .into_iter()
                .rev()
                .find(|seal| seal.entries >= 2)
                .expect("a seal of two entries or more");
            diesel::delete(a::table.find(last.last_event))
                .execute(c)
                .unwrap();
            let mut digest = foerderakte::domain::audit::SealDigest::default();
            let rest: Vec<(i64, String)> = a::table
                .filter(a::txid.ge(last.from_txid).and(a::txid.lt(last.to_txid)))
                .order(a::id.asc())
                .select((a::id, a::mac))
                .load(c)
                .unwrap();
            for (id, mac) in &rest {
                digest.add(*id, mac);
            }
            let mut forged = last.clone();
            forged.entries = digest.count();
            forged.last_event = rest.last().unwrap().0;
            forged.digest = digest.finish();
            forged.mac = foerderakte::domain::audit::seal_mac(
                &AuditKey::new(vec![5; 32]).unwrap(),
                &forged.prev_mac,
                &forged.fields(),
            );
            diesel::update(se::table.find(last.id))
                .set((
                    se::entries.eq(forged.entries),
                    se::last_event.eq(forged.last_event),
                    se::digest.eq(&forged.digest),
                    se::mac.eq(&forged.mac),
                ))
                .execute(c)
                .unwrap();
        },
    );
}

#[test]
fn newest_entries_removed_after_a_published_checkpoint_are_found() {
    let s = scene();
    let out = Command::new(env!("CARGO_BIN_EXE_foerderakte"))
        .args(["audit", "checkpoint"])
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", &s.app.settings.database_url)
        .env("AUDIT_KEY", AUDIT_KEY)
        .env("JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published = std::env::temp_dir().join(format!("checkpoint-{}.json", s.case));
    std::fs::write(&published, &out.stdout).unwrap();
    let file = published.display().to_string();
    let (ok, text) = cli_verify(&s.app, &["--checkpoint", &file]);
    assert!(ok, "{text}");

    // The newest entries go, and their seal with them: only the checkpoint knows.
    let mut conn = s.app.db();
    drop_guards(&mut conn);
    let last = persistence::seal::last(&mut conn).unwrap().unwrap();
    assert!(last.id > 1, "the scene's writes have a seal of their own");
    diesel::delete(a::table.filter(a::txid.ge(last.from_txid)))
        .execute(&mut conn)
        .unwrap();
    diesel::delete(se::table.find(last.id))
        .execute(&mut conn)
        .unwrap();
    exec(&mut conn, "DELETE FROM audit_checkpoints");
    let (ok, text) = cli_verify(&s.app, &["--checkpoint", &file]);
    assert!(!ok, "{text}");
    assert!(text.contains("entries were removed"), "{text}");
    // The API has no published checkpoint, but the rows the lost entries wrote remain.
    s.app.verify_audit(&s.app.admin()).assert_problem(409);
    let _ = std::fs::remove_file(published);
}

#[test]
fn the_schema_refuses_changes_to_the_log_and_to_signed_notices() {
    let s = scene();
    let cp = s.app.post_json(
        "/api/v1/audit/checkpoints",
        Some(&s.app.admin()),
        &serde_json::json!({}),
    );
    assert_eq!(cp.status, 201, "{}", cp.body);
    assert_eq!(cp.json()["verified"], false, "{}", cp.body);
    let mut conn = s.app.db();
    let refused = |conn: &mut AnyConnection, sql: &str| {
        let r = diesel::sql_query(sql).execute(conn);
        assert!(r.is_err(), "{sql} was allowed");
    };
    refused(&mut conn, "UPDATE audit_events SET actor = 'mallory'");
    refused(&mut conn, "DELETE FROM audit_events");
    refused(&mut conn, "DELETE FROM audit_checkpoints");
    refused(&mut conn, "UPDATE audit_seals SET entries = entries + 1");
    refused(&mut conn, "DELETE FROM audit_seals");
    refused(
        &mut conn,
        "UPDATE notices SET granted_cents = granted_cents * 2 WHERE status = 'signed'",
    );
    refused(&mut conn, "DELETE FROM notices WHERE status = 'signed'");
    refused(&mut conn, "UPDATE notice_lines SET approved_cents = 0");
    refused(&mut conn, "DELETE FROM notice_allocations");
    refused(&mut conn, "UPDATE notice_documents SET sha256 = 'x'");
    refused(&mut conn, "DELETE FROM notice_documents");
    if s.app.backend() == persistence::Backend::Postgres {
        refused(&mut conn, "TRUNCATE audit_events");
        refused(&mut conn, "TRUNCATE audit_seals");
        refused(&mut conn, "TRUNCATE notices CASCADE");
    }
    let n: i64 = n::table.count().get_result(&mut conn).unwrap();
    assert_eq!(n, 1);
    let (ok, out) = cli_verify(&s.app, &[]);
    assert!(ok, "{out}");
}

#[test]
fn a_signed_notice_keeps_its_document_byte_for_byte_across_new_authority_settings_and_a_restart() {
    let s = scene();
    let reader = s.app.caseworker();
    let (status, before) = s
        .app
        .get_bytes(&format!("/api/v1/notices/{}/document", s.notice), &reader);
    assert_eq!(status, 200);
    assert!(before.starts_with(b"%PDF"));
    let notice = s.notice.clone();
    let app = s.app.restart_with(|settings| {
        settings.authority = foerderakte::document::Authority {
            name: "Ein anderes Ministerium".into(),
            unit: "Eine andere Stelle".into(),
            address: vec!["Anderswo 1".into(), "99999 Nirgendwo".into()],
            place: "Nirgendwo".into(),
            level: foerderakte::domain::remedy::AuthorityLevel::Landesbehoerde,
        };
    });
    let (status, after) = app.get_bytes(&format!("/api/v1/notices/{notice}/document"), &reader);
    assert_eq!(status, 200);
    assert!(before == after, "the document changed with the settings");
    let mut conn = app.db();
    let sha: String = nd::table
        .find(&notice)
        .select(nd::sha256)
        .first(&mut conn)
        .unwrap();
    let signing = persistence::audit::for_record(&mut conn, "notice", &notice)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(signing.action, "sign");
    assert!(signing.state.contains(&sha), "{}", signing.state);
}

#[test]
fn the_server_seals_finished_writes_by_itself() {
    let database = crate::helpers::TestDatabase::fresh();
    let mut settings = crate::helpers::settings_for(&database, crate::helpers::jwt_settings());
    settings.audit.seal_interval_ms = 20;
    let app = TestApp::start(settings, database);
    let case = crate::applications::case_in(&app, "in_review");
    let mut conn = app.db();
    // Liveness, not speed: the server's sealer gets 60 s to cover every entry written so far.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let n = unsealed(&mut conn);
        if n == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} entries unsealed after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let report = crate::helpers::verify_db(&mut conn);
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_unsealed, 0);
    assert!(
        persistence::audit::for_record(&mut conn, "application", &case)
            .unwrap()
            .len()
            > 1
    );
}

/// Transaction ids are cluster-wide on PostgreSQL: a transaction left open in *another*
/// database of the cluster (a neighbour's batch, a pg_dump) must not hold back the seals of
/// this one. One `seal_all` covers a write made while it runs.
#[test]
fn a_transaction_open_in_another_database_does_not_hold_back_the_seals() {
    let app = spawn_app();
    if app.backend() != persistence::Backend::Postgres {
        return;
    }
    let neighbour = crate::helpers::TestDatabase::fresh();
    let mut other = persistence::establish(&neighbour.url).expect("neighbour connects");
    diesel::sql_query("BEGIN").execute(&mut other).unwrap();
    diesel::sql_query("SELECT pg_current_xact_id()")
        .execute(&mut other)
        .unwrap();
    crate::applications::case_in(&app, "in_review");
    let mut conn = app.db();
    persistence::seal::seal_all(&mut conn, persistence::stored_now()).unwrap();
    assert_eq!(
        unsealed(&mut conn),
        0,
        "the neighbour's transaction held the round back"
    );
    diesel::sql_query("ROLLBACK").execute(&mut other).unwrap();
}
