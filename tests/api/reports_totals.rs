//! Issue 19: the maintained report totals. Whatever the write path does to cases (create,
//! submit, grant, pay, revoke, repay, single and joint, over several years), the totals it
//! keeps equal a recomputation from the cases: the stored parts and totals (`reports check`)
//! and every report read from them, row for row. And `foerderakte reports rebuild` restores
//! totals that were changed behind the service's back.

use chrono::NaiveDate;
use foerderakte::persistence::{self, AnyConnection};
use foerderakte::reporting::{self, Basis, GroupKey, VolumeQuery};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::applications::{LEAD, case_in, create, draft_body, drive, id_of, three_partners, with};
use crate::helpers::{TestApp, spawn_app};
use crate::notices::{nid_of, partial_grant_body, prepare, set_budget, sign};

/// The totals agree with the facts: no stored part or total differs from a recomputation, and
/// every basis's report, in several groupings and filters, is the same from both.
pub(crate) fn assert_totals_follow_the_facts(conn: &mut AnyConnection) {
    let drift = persistence::totals::check(conn).unwrap();
    assert!(drift.is_none(), "{drift:?}");
    for basis in [Basis::Notice, Basis::Submission, Basis::Payment] {
        let all = VolumeQuery::all(basis);
        let queries = [
            all.clone(),
            VolumeQuery {
                group_by: vec![GroupKey::Year, GroupKey::Municipality],
                ..all.clone()
            },
            VolumeQuery {
                group_by: GroupKey::ALL.to_vec(),
                ..all.clone()
            },
            VolumeQuery {
                group_by: vec![GroupKey::Kreis],
                from: Some(2025),
                kreis: Some("16063".into()),
                ..all.clone()
            },
        ];
        for q in queries {
            let kept = reporting::volumes(conn, &q).unwrap();
            assert_eq!(
                kept,
                reporting::volumes_from_facts(conn, &q).unwrap(),
                "{q:?}"
            );
        }
    }
}

/// What happens to one case of the property, on its day (from January 2025 to June 2026: the
/// base rates shipped reach that far, and a repayment's interest needs them).
#[derive(Debug, Clone)]
struct Script {
    day: NaiveDate,
    joint: bool,
    /// 0: draft; 1: submitted; 2: withdrawn in review; 3: granted (after a request for
    /// information and its answer); 4: paid; 5: revoked; 6: repaid.
    reach: u8,
    /// The first payout in euros (of the 40,000.00 granted).
    paid: u32,
}

fn script() -> impl Strategy<Value = Script> {
    (0u32..520, any::<bool>(), 0u8..7, 1u32..40_000).prop_map(|(d, joint, reach, paid)| Script {
        day: NaiveDate::from_ymd_opt(2025, 1, 6).unwrap() + chrono::Duration::days(d.into()),
        joint,
        reach,
        paid,
    })
}

/// Plays one case through the API as far as its script goes.
fn play(app: &TestApp, s: &Script) {
    app.travel_to(s.day);
    let lead = app.applicant(&[LEAD]);
    let body = match s.joint {
        true => with(draft_body(LEAD), json!({"partners": three_partners()})),
        false => draft_body(LEAD),
    };
    let id = id_of(&create(app, &lead, &body));
    // Steps that change only the lifecycle's columns (a withdrawal, a review's start, a
    // request for information and its answer) leave the totals without recomputing them
    // (`persistence::totals::unchanged_by`); the check after each case holds them to that.
    let path: &[&str] = match s.reach {
        0 => &[],
        1 => &["submit"],
        2 => &["submit", "start_review", "withdraw"],
        _ => &["submit", "start_review", "request_info", "provide_info"],
    };
    drive(app, &id, &lead, path);
    if s.reach < 3 {
        return;
    }
    sign(app, &nid_of(&prepare(app, &id, &partial_grant_body())));
    if s.reach < 4 {
        return;
    }
    app.advance_days(4);
    crate::notices::pay(app, &id, &format!("{}.00", s.paid));
    if s.reach < 5 {
        return;
    }
    let revocation = json!({"kind": "revocation", "posted_on": crate::applications::day(0),
        "reason": "Zuwendungszweck nur teilweise erreicht", "revoked_amount": "39999.99",
        "interest_from": crate::applications::day(0)});
    sign(app, &nid_of(&prepare(app, &id, &revocation)));
    if s.reach < 6 {
        return;
    }
    app.advance_days(1);
    let r = app.request(
        "POST",
        &format!("/api/v1/applications/{id}/repayments"),
        Some(&app.caseworker()),
        &[("Idempotency-Key", &format!("repay-{id}"))],
        Some((
            "application/json",
            serde_json::to_vec(
                &json!({"amount": "0.01", "received_on": crate::applications::day(0)}),
            )
            .unwrap(),
        )),
    );
    assert_eq!(r.status, 201, "repayment: {}", r.body);
}

#[test]
fn the_totals_the_writes_keep_always_equal_a_recomputation_from_the_cases() {
    let mut runner = TestRunner::new(Config {
        cases: 4,
        failure_persistence: None,
        max_shrink_iters: 8,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(script(), 1..7);
    runner
        .run(&strategy, |mut scripts| {
            scripts.sort_by_key(|s| s.day);
            let app = spawn_app();
            for y in 2025..=2027 {
                app.travel_to(NaiveDate::from_ymd_opt(2025, 1, 2).unwrap());
                set_budget(&app, y, "10000000.00");
            }
            let mut conn = app.db();
            for s in &scripts {
                play(&app, s);
                assert_totals_follow_the_facts(&mut conn);
            }
            Ok(())
        })
        .unwrap();
}

/// `reports check` finds totals changed behind the service's back and exits 1;
/// `reports rebuild` computes them anew, after which check is content again.
#[test]
fn reports_rebuild_restores_totals_changed_behind_the_services_back() {
    let app = spawn_app();
    let (case, _) = crate::notices::approved_case(&app);
    crate::notices::pay(&app, &case, "15000.00");
    case_in(&app, "submitted");
    let mut conn = app.db();
    assert_totals_follow_the_facts(&mut conn);
    let cli = |action: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_foerderakte"))
            .args(["reports", action])
            .current_dir(std::env::temp_dir())
            .env("DATABASE_URL", &app.settings.database_url)
            .env("JWT_ISSUER", crate::helpers::ISSUER)
            .env("JWT_AUDIENCE", crate::helpers::AUDIENCE)
            .env("AUDIT_KEY", crate::helpers::AUDIT_KEY)
            .env("JWT_SECRET", crate::helpers::SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    };
    let ok = cli("check");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE report_totals SET pai = pai + 1 WHERE basis = 'payment'"),
        &mut conn,
    )
    .unwrap();
    diesel::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM report_case_parts WHERE basis = 'submission'"),
        &mut conn,
    )
    .unwrap();
    let drift = persistence::totals::check(&mut conn).unwrap();
    assert!(drift.parts >= 2 && drift.totals >= 1, "{drift:?}");
    let found = cli("check");
    assert!(!found.status.success());
    assert!(
        String::from_utf8_lossy(&found.stdout).contains("differ"),
        "{}",
        String::from_utf8_lossy(&found.stdout)
    );
    let rebuilt = cli("rebuild");
    assert!(
        rebuilt.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert!(String::from_utf8_lossy(&rebuilt.stdout).contains("case parts"));
    assert_totals_follow_the_facts(&mut conn);
}

/// A bulk load marks the totals as not built before its first row (`totals::forget`): if it
/// dies before its closing rebuild, the next start-up builds them from the facts, instead of
/// trusting totals that miss the loaded cases.
#[test]
fn totals_a_bulk_load_left_unbuilt_are_built_by_the_next_start() {
    let app = spawn_app();
    let (case, _) = crate::notices::approved_case(&app);
    crate::notices::pay(&app, &case, "15000.00");
    let mut conn = app.db();
    // What a load that died half-way leaves: the state forgotten, totals without its cases.
    persistence::totals::forget(&mut conn).unwrap();
    for table in ["report_totals", "report_case_parts"] {
        diesel::RunQueryDsl::execute(diesel::sql_query(format!("DELETE FROM {table}")), &mut conn)
            .unwrap();
    }
    assert!(!persistence::totals::check(&mut conn).unwrap().is_none());
    let restarted = app.second_instance();
    let mut conn = restarted.db();
    assert_totals_follow_the_facts(&mut conn);
    // Built once: a later start finds the state and leaves the totals alone.
    assert_eq!(
        persistence::totals::ensure_built(&mut conn, persistence::stored_now()).unwrap(),
        None
    );
}
