//! `seed-demo`: the demo history has the figures of the programme's reports for 2019 and
//! 2020, every seeded case is consistent with its rows, notices, payments, budgets and its
//! audit chain (which verifies), the same seed gives the same data, a load run writes the
//! cases it is asked for, and the API reads and continues a seeded database.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use foerderakte::domain::Money;
use foerderakte::domain::calendar::{delivery_days, is_working_day, shipped_delivery_rules};
use foerderakte::persistence::AnyConnection;
use foerderakte::persistence::applications::{ApplicationRow, CostLineRow, MemberRow};
use foerderakte::persistence::audit::AuditEvent;
use foerderakte::persistence::budgets::BudgetRow;
use foerderakte::persistence::notices::{AllocationRow, NoticeLineRow, NoticeRow};
use foerderakte::persistence::payments::PaymentRow;
use foerderakte::persistence::schema::{
    application_members, applications, audit_events, budgets, case_counters,
    case_number_allocations, cost_lines, notice_allocations, notice_lines, notices,
    payment_requests, programmes,
};
use foerderakte::seed::{self, Options, Report};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::applications::{LEAD, draft_body};
use crate::helpers::{TestApp, spawn_app};

fn seed_demo(app: &TestApp, seed: u64) -> Report {
    seed_demo_as(app, seed, false)
}

/// The demo history through the API's transactions, or (`bulk`) as batched inserts of what
/// the steps computed in memory.
fn seed_demo_as(app: &TestApp, seed: u64, bulk: bool) -> Report {
    let mut conn = app.db();
    seed::run(
        &mut conn,
        &Options {
            cases: None,
            seed,
            bulk,
        },
        &mut |_| {},
    )
    .expect("the demo seeds")
}

fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

/// A German calendar year as UTC instants: [31 Dec of the year before 23:00, 31 Dec 23:00).
fn german_year(y: i32) -> (NaiveDateTime, NaiveDateTime) {
    (at(y - 1, 12, 31, 23), at(y, 12, 31, 23))
}

#[derive(QueryableByName, Debug)]
struct Grants {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    granted: i64,
    #[diesel(sql_type = BigInt)]
    current: i64,
}

/// Signed grant notices signed in the German year `y`: how many, their grants, and the
/// grants now in force on their cases.
fn grants_signed_in(conn: &mut AnyConnection, y: i32) -> Grants {
    let (from, to) = german_year(y);
    diesel::sql_query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(n.granted_cents), 0) AS BIGINT) AS granted, \
                CAST(COALESCE(SUM(a.granted_cents), 0) AS BIGINT) AS current \
         FROM notices n JOIN applications a ON a.id = n.application_id \
         WHERE n.kind = 'grant' AND n.status = 'signed' \
           AND n.signed_at >= $1 AND n.signed_at < $2",
    )
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .get_result(conn)
    .unwrap()
}

#[derive(QueryableByName, Debug)]
struct Open {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    requested: i64,
}

/// Cases whose last status before `instant` (from the audit log) was open, and what they
/// request.
fn open_at(conn: &mut AnyConnection, instant: NaiveDateTime) -> Open {
    diesel::sql_query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(a.requested_cents), 0) AS BIGINT) AS requested \
         FROM applications a \
         JOIN audit_events e ON e.record_type = 'application' AND e.record_key = a.id \
         WHERE e.to_status IN ('submitted', 'in_review', 'info_requested') \
           AND e.seq = (SELECT MAX(l.seq) FROM audit_events l \
                        WHERE l.record_type = 'application' AND l.record_key = a.id \
                          AND l.to_status IS NOT NULL AND l.occurred_at < $1)",
    )
    .bind::<Timestamp, _>(instant)
    .get_result(conn)
    .unwrap()
}

#[test]
fn the_demo_history_has_the_reported_figures_of_2019_and_2020() {
    let app = spawn_app();
    let report = seed_demo(&app, seed::DEFAULT_SEED);
    let mut conn = app.db();

    let g2019 = grants_signed_in(&mut conn, 2019);
    assert_eq!(g2019.n, 16);
    assert_eq!(g2019.granted, 31_062_000, "310,620.00 € granted in 2019");
    assert_eq!(g2019.current, 31_062_000, "and still granted today");

    let open = open_at(&mut conn, german_year(2019).1);
    assert_eq!(open.n, 37, "open at the end of 2019");
    assert!(
        (915_000_000..=925_000_000).contains(&open.requested),
        "requested by the open applications: {}",
        open.requested
    );

    let g2020 = grants_signed_in(&mut conn, 2020);
    assert_eq!(g2020.n, 163);
    assert!(
        (780_500_000..=781_500_000).contains(&g2020.granted),
        "granted in 2020: {}",
        g2020.granted
    );
    assert_eq!(g2020.current, g2020.granted, "and still granted today");

    // The command's own report says the same.
    assert_eq!(report.grants_by_year[&2019], (16, 31_062_000));
    assert_eq!(report.grants_by_year[&2020], (163, g2020.granted));
    assert_eq!(report.open_end_2019, (37, open.requested));

    // Plausible later years, and cases still open today.
    for y in 2021..=2026 {
        let g = grants_signed_in(&mut conn, y);
        assert!((100..=250).contains(&g.n), "{y}: {} grants", g.n);
    }
    let open_now = open_at(&mut conn, at(2026, 11, 21, 0));
    assert!(open_now.n > 10, "open today: {}", open_now.n);

    // Exactly one revocation, with a reclaim, not on a grant of 2019 or 2020.
    let revocations: Vec<NoticeRow> = notices::table
        .filter(notices::kind.eq("revocation"))
        .select(NoticeRow::as_select())
        .load(&mut conn)
        .unwrap();
    assert_eq!(revocations.len(), 1);
    let r = &revocations[0];
    assert_eq!(r.status.as_str(), "signed");
    assert!(r.reclaim_cents.map(Money::cents).unwrap() > 0);
    let granted_on: NaiveDateTime = notices::table
        .filter(notices::application_id.eq(&r.application_id))
        .filter(notices::kind.eq("grant"))
        .select(notices::signed_at.assume_not_null())
        .first(&mut conn)
        .unwrap();
    assert!(granted_on >= german_year(2021).0, "granted {granted_on}");
    let status: String = applications::table
        .find(&r.application_id)
        .select(applications::status)
        .first(&mut conn)
        .unwrap();
    assert_eq!(status, "revoked");

    // Rejections, withdrawals, information requests, joint cases, tranches, finals.
    let count = |conn: &mut AnyConnection, kind: &str| -> i64 {
        notices::table
            .filter(notices::kind.eq(kind))
            .filter(notices::status.eq("signed"))
            .count()
            .get_result(conn)
            .unwrap()
    };
    assert!(count(&mut conn, "rejection") >= 10);
    assert!(count(&mut conn, "final") >= 500);
    assert!(count(&mut conn, "early_start") >= 10);
    let withdrawn: i64 = applications::table
        .filter(applications::status.eq("withdrawn"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(withdrawn >= 10);
    let info: i64 = audit_events::table
        .filter(audit_events::action.eq("request_info"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(info >= 100);
    let koop: Vec<(String, i64)> = application_members::table
        .inner_join(applications::table)
        .filter(applications::programme_code.eq("THUERFAG-24-KOOP"))
        .group_by(application_members::application_id)
        .select((
            application_members::application_id,
            diesel::dsl::count_star(),
        ))
        .load(&mut conn)
        .unwrap();
    assert!(koop.len() >= 20);
    assert!(
        koop.iter().all(|(_, n)| *n >= 3),
        "a KOOP case has three partners"
    );
    let paid_next_year: i64 = payment_requests::table
        .inner_join(notices::table.on(notices::application_id.eq(payment_requests::application_id)))
        .filter(notices::kind.eq("grant"))
        .filter(notices::signed_at.lt(german_year(2020).0))
        .filter(payment_requests::paid_year.eq(2020))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(paid_next_year > 0, "tranches of 2019 grants paid in 2020");

    // The audit log verifies, in the repository and through the API.
    let v = crate::helpers::verify_db(&mut conn);
    assert!(v.ok, "{:?}", v.findings);
    let entries: i64 = audit_events::table.count().get_result(&mut conn).unwrap();
    assert_eq!(v.entries_checked, u64::try_from(entries).unwrap());
    assert_eq!(report.audit_events, v.entries_checked);
    let resp = app.verify_audit(&app.admin());
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.json()["ok"], true);
}

/// Everything the database holds about the cases.
struct Data {
    apps: Vec<ApplicationRow>,
    members: Vec<MemberRow>,
    lines: Vec<CostLineRow>,
    notices: Vec<NoticeRow>,
    notice_lines: Vec<NoticeLineRow>,
    allocations: Vec<AllocationRow>,
    payments: Vec<PaymentRow>,
    audit: Vec<AuditEvent>,
    budgets: Vec<BudgetRow>,
    counters: Vec<(String, i32, i32)>,
    /// Every case number's allocation (`case_numbers`): number, instant, subject, outcome.
    numbers: Vec<(String, NaiveDateTime, String, Option<String>)>,
}

fn load(conn: &mut AnyConnection) -> Data {
    Data {
        apps: applications::table
            .order(applications::id)
            .select(ApplicationRow::as_select())
            .load(conn)
            .unwrap(),
        members: application_members::table
            .order((
                application_members::application_id,
                application_members::position,
            ))
            .select(MemberRow::as_select())
            .load(conn)
            .unwrap(),
        lines: cost_lines::table
            .order((cost_lines::application_id, cost_lines::line_no))
            .select(CostLineRow::as_select())
            .load(conn)
            .unwrap(),
        notices: notices::table
            .order(notices::id)
            .select(NoticeRow::as_select())
            .load(conn)
            .unwrap(),
        notice_lines: notice_lines::table
            .order((notice_lines::notice_id, notice_lines::line_no))
            .select(NoticeLineRow::as_select())
            .load(conn)
            .unwrap(),
        allocations: notice_allocations::table
            .order((
                notice_allocations::notice_id,
                notice_allocations::fiscal_year,
            ))
            .select(AllocationRow::as_select())
            .load(conn)
            .unwrap(),
        payments: payment_requests::table
            .order(payment_requests::id)
            .select(PaymentRow::as_select())
            .load(conn)
            .unwrap(),
        audit: audit_events::table
            .order(audit_events::id)
            .select(AuditEvent::as_select())
            .load(conn)
            .unwrap(),
        budgets: budgets::table
            .order((budgets::programme_code, budgets::fiscal_year))
            .select(BudgetRow::as_select())
            .load(conn)
            .unwrap(),
        counters: case_counters::table
            .order((case_counters::prefix, case_counters::year))
            .select((
                case_counters::prefix,
                case_counters::year,
                case_counters::last_number,
            ))
            .load(conn)
            .unwrap(),
        numbers: case_number_allocations::table
            .order(case_number_allocations::case_number)
            .select((
                case_number_allocations::case_number,
                case_number_allocations::allocated_at,
                case_number_allocations::allocated_by,
                case_number_allocations::outcome,
            ))
            .load(conn)
            .unwrap(),
    }
}

/// The instant lies on a German working day between 07:00 and 16:00 UTC.
fn in_working_hours(t: NaiveDateTime) -> bool {
    is_working_day(t.date()) && (7..16).contains(&t.hour())
}

/// Every case is what the write path would have left: rows, money, notices, payments,
/// budgets, counters and the history agree with each other.
fn assert_consistent(conn: &mut AnyConnection) -> Data {
    let d = load(conn);
    let terms: HashMap<String, (String, Option<i32>, Option<i64>)> = programmes::table
        .select((
            programmes::code,
            programmes::financing_type,
            programmes::max_rate_bp,
            programmes::max_grant_cents,
        ))
        .load::<(String, String, Option<i32>, Option<i64>)>(conn)
        .unwrap()
        .into_iter()
        .map(|(c, f, r, m)| (c, (f, r, m)))
        .collect();
    let mut by_case: HashMap<&str, Vec<&AuditEvent>> = HashMap::new();
    for e in &d.audit {
        if e.record_type == "application" {
            by_case.entry(&e.record_key).or_default().push(e);
        }
        // The history's writes, not the system's at start-up (`init`, the register).
        assert!(
            e.role == "system" || in_working_hours(e.occurred_at),
            "{e:?}"
        );
    }
    let mut numbers: BTreeMap<(String, i32), i32> = BTreeMap::new();
    for a in &d.apps {
        let id = a.id.as_str();
        let cn = &a.case_number;
        // The number: {PREFIX}-{YEAR}-{NNNN} of the year the case was opened.
        let parts: Vec<&str> = cn.split('-').collect();
        assert_eq!(parts.len(), 3, "{cn}");
        assert_eq!(parts[1], a.case_year.to_string(), "{cn}");
        assert_eq!(a.case_year, a.created_at.year(), "{cn}");
        assert_eq!(parts[2].len(), 4, "{cn}");
        let prefix = if a.programme_code.starts_with("THUEREGOVRL") {
            "EGOV"
        } else {
            "FAG"
        };
        assert_eq!(parts[0], prefix, "{cn}");
        let n: i32 = parts[2].parse().unwrap();
        let e = numbers.entry((prefix.to_owned(), a.case_year)).or_default();
        *e = (*e).max(n);

        // Members: positions from 0, one lead, shares adding to 10000, kreis from the AGS.
        let members: Vec<&MemberRow> = d
            .members
            .iter()
            .filter(|m| m.application_id == id)
            .collect();
        assert!(!members.is_empty(), "{cn}");
        assert_eq!(
            members.iter().map(|m| m.share_bp).sum::<i32>(),
            10_000,
            "{cn}"
        );
        for (i, m) in members.iter().enumerate() {
            assert_eq!(m.position, i32::try_from(i).unwrap(), "{cn}");
            assert_eq!(m.kreis, m.ags[..5], "{cn}");
            assert_eq!(m.is_lead, m.ags == a.lead_ags, "{cn}");
            assert!(m.share_bp >= 1, "{cn}");
        }
        assert_eq!(members.iter().filter(|m| m.is_lead).count(), 1, "{cn}");
        assert_eq!(a.joint, members.len() > 1, "{cn}");
        if a.programme_code == "THUERFAG-24-KOOP" {
            assert!(members.len() >= 3, "{cn}");
        }

        // Money: totals of the lines, a balanced plan, the programme's limit.
        let lines: Vec<&CostLineRow> = d.lines.iter().filter(|l| l.application_id == id).collect();
        assert!((1..=4).contains(&lines.len()), "{cn}");
        assert_eq!(
            a.total_cost_cents.cents(),
            lines.iter().map(|l| l.amount_cents.cents()).sum::<i64>(),
            "{cn}"
        );
        let eligible: i64 = lines
            .iter()
            .filter(|l| l.eligible)
            .map(|l| l.amount_cents.cents())
            .sum();
        assert_eq!(a.eligible_cents.cents(), eligible, "{cn}");
        assert_eq!(
            a.own_contribution_cents.cents()
                + a.third_party_cents.cents()
                + a.requested_cents.cents(),
            a.total_cost_cents.cents(),
            "{cn}"
        );
        let (financing, rate, cap) = &terms[&a.programme_code];
        let ceiling = match financing.as_str() {
            "anteil" => eligible * i64::from(rate.unwrap()) / 10_000,
            _ => eligible,
        };
        let ceiling = cap.map_or(ceiling, |c| ceiling.min(c));
        assert!(
            a.requested_cents.cents() > 0 && a.requested_cents.cents() <= ceiling,
            "{cn}"
        );

        // The history: version = entries, status = the last status, first and last instant.
        let events = &by_case[id];
        assert_eq!(
            i64::from(a.version),
            i64::try_from(events.len()).unwrap(),
            "{cn}"
        );
        assert_eq!(events[0].action, "create", "{cn}");
        assert_eq!(events[0].occurred_at, a.created_at, "{cn}");
        assert_eq!(events.last().unwrap().occurred_at, a.updated_at, "{cn}");
        let last_status = events
            .iter()
            .rev()
            .find_map(|e| e.to_status.clone())
            .unwrap();
        assert_eq!(last_status, a.status.as_str(), "{cn}");
        assert!(
            events
                .windows(2)
                .all(|w| w[0].occurred_at < w[1].occurred_at),
            "{cn}"
        );
        assert_eq!(
            a.submitted_at,
            events
                .iter()
                .find(|e| e.action == "submit")
                .map(|e| e.occurred_at),
            "{cn}"
        );
        // The clock runs while the case waits for the competence centre, and only then.
        let running = matches!(a.status.as_str(), "submitted" | "in_review");
        assert_eq!(a.clock_since.is_some(), running, "{cn}");
        assert_eq!(
            a.info_due.is_some(),
            a.status.as_str() == "info_requested",
            "{cn}"
        );
        assert!(a.clock_seconds >= 0, "{cn}");
        if a.status.as_str() != "draft" && a.status.as_str() != "withdrawn" {
            assert!(a.submitted_at.is_some(), "{cn}");
        }

        // Notices: numbered per case, four eyes, the grant in force is the case's grant.
        let mut ns: Vec<&NoticeRow> = d
            .notices
            .iter()
            .filter(|n| n.application_id == id)
            .collect();
        ns.sort_by_key(|n| n.prepared_at);
        let signed: Vec<&&NoticeRow> = ns
            .iter()
            .filter(|n| n.status.as_str() == "signed")
            .collect();
        for (i, n) in signed.iter().enumerate() {
            let seq = i32::try_from(i + 1).unwrap();
            assert_eq!(n.seq, Some(seq), "{cn}");
            assert_eq!(n.number.as_deref(), Some(format!("{cn}-B{seq}").as_str()));
            assert_ne!(n.signed_by.as_deref(), Some(n.prepared_by.as_str()), "{cn}");
            assert!(n.signed_at.unwrap() > n.prepared_at, "{cn}");
            assert!(n.posted_on >= n.prepared_at.date(), "{cn}");
            // § 41 (2) VwVfG: the third day, the fourth for notices posted since 2025.
            let days = delivery_days(&shipped_delivery_rules(), n.posted_on).unwrap();
            assert_eq!(n.delivery_days, i32::try_from(days).unwrap(), "{cn}");
            if n.granted_cents.map(Money::cents).is_some()
                && n.kind.as_str() != "revocation"
                && n.kind.as_str() != "final"
            {
                let alloc: i64 = d
                    .allocations
                    .iter()
                    .filter(|x| x.notice_id == n.id)
                    .map(|x| x.amount_cents.cents())
                    .sum();
                assert_eq!(Some(alloc), n.granted_cents.map(Money::cents), "{cn}");
            }
        }
        let in_force = signed
            .iter()
            .rev()
            .find(|n| n.granted_cents.map(Money::cents).is_some());
        assert_eq!(
            a.granted_cents.map(Money::cents),
            in_force.and_then(|n| n.granted_cents.map(Money::cents)),
            "{cn}"
        );
        let reclaimed: i64 = signed
            .iter()
            .filter_map(|n| n.reclaim_cents.map(Money::cents))
            .sum();
        assert_eq!(a.reclaimed_cents.cents(), reclaimed, "{cn}");

        // Payments: paid is the sum of the paid requests, and never above the grant (what
        // was reclaimed is paid back).
        let ps: Vec<&PaymentRow> = d
            .payments
            .iter()
            .filter(|p| p.application_id == id)
            .collect();
        let paid: i64 = ps
            .iter()
            .filter(|p| p.status.as_str() == "paid")
            .map(|p| p.amount_cents.cents())
            .sum();
        assert_eq!(a.paid_cents.cents(), paid, "{cn}");
        let granted = a.granted_cents.map(Money::cents).unwrap_or(0);
        assert!(
            a.paid_cents.cents() - a.reclaimed_cents.cents() <= granted,
            "{cn}"
        );
        if a.reclaimed_cents.cents() == 0 {
            assert!(a.paid_cents.cents() <= granted, "{cn}");
        }
        for p in ps.iter().filter(|p| p.status.as_str() == "paid") {
            assert_eq!(p.paid_year, Some(p.paid_at.unwrap().year()), "{cn}");
            assert_ne!(p.paid_by, p.prepared_by, "{cn}");
            assert!(p.requested_at < p.prepared_at.unwrap(), "{cn}");
            assert!(p.prepared_at < p.paid_at, "{cn}");
        }
    }
    // Counters continue where the numbers end.
    let counters: BTreeMap<(String, i32), i32> = d
        .counters
        .iter()
        .map(|(p, y, n)| ((p.clone(), *y), *n))
        .collect();
    assert_eq!(counters, numbers);
    let distinct: BTreeSet<&String> = d.apps.iter().map(|a| &a.case_number).collect();
    assert_eq!(distinct.len(), d.apps.len());

    // Budgets commit exactly what the notices in force allocate, and cover it.
    let mut committed: BTreeMap<(String, i32), i64> = BTreeMap::new();
    for a in &d.apps {
        let force = d
            .notices
            .iter()
            .filter(|n| n.application_id == a.id && n.status.as_str() == "signed")
            .filter(|n| n.granted_cents.map(Money::cents).is_some())
            .max_by_key(|n| n.seq);
        if let Some(n) = force {
            for x in d.allocations.iter().filter(|x| x.notice_id == n.id) {
                *committed
                    .entry((a.programme_code.clone(), x.fiscal_year))
                    .or_default() += x.amount_cents.cents();
            }
        }
    }
    for b in &d.budgets {
        let c = committed
            .remove(&(b.programme_code.clone(), b.fiscal_year))
            .unwrap_or(0);
        assert_eq!(
            b.committed_cents.cents(),
            c,
            "{} {}",
            b.programme_code,
            b.fiscal_year
        );
        assert!(b.amount_cents.cents() >= b.committed_cents.cents());
        assert_eq!(b.amount_cents.cents() % 10_000_000, 0, "whole 100,000 €");
    }
    assert!(
        committed.values().all(|c| *c == 0),
        "no budget for {committed:?}"
    );
    // Every notice line and allocation belongs to a notice.
    let ids: BTreeSet<&String> = d.notices.iter().map(|n| &n.id).collect();
    assert!(d.notice_lines.iter().all(|l| ids.contains(&l.notice_id)));
    let v = crate::helpers::verify_db(conn);
    assert!(v.ok, "{:?}", v.findings);
    d
}

#[test]
fn every_seeded_case_is_consistent_with_its_rows_and_its_history() {
    let app = spawn_app();
    seed_demo(&app, seed::DEFAULT_SEED);
    let mut conn = app.db();
    let d = assert_consistent(&mut conn);
    assert!(d.apps.len() > 1_000);
    // Only the revoked case was paid more than its grant (and has to pay it back).
    let reclaimed: Vec<&ApplicationRow> = d
        .apps
        .iter()
        .filter(|a| a.reclaimed_cents.cents() > 0)
        .collect();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].status.as_str(), "revoked");
    // The 2019 and 2020 grants were closed with the grant as final grant and paid in full.
    let (from, to) = (german_year(2019).0, german_year(2020).1);
    let early: Vec<&NoticeRow> = d
        .notices
        .iter()
        .filter(|n| n.kind.as_str() == "grant" && n.signed_at.is_some_and(|t| t >= from && t < to))
        .collect();
    assert_eq!(early.len(), 16 + 163);
    for g in early {
        let a = d.apps.iter().find(|a| a.id == g.application_id).unwrap();
        assert_eq!(a.status.as_str(), "closed", "{}", a.case_number);
        assert_eq!(
            a.granted_cents.map(Money::cents),
            g.granted_cents.map(Money::cents)
        );
        assert_eq!(
            Some(a.paid_cents.cents()),
            g.granted_cents.map(Money::cents)
        );
        assert!(
            d.notices.iter().all(|n| n.application_id != a.id
                || !matches!(n.kind.as_str(), "amendment" | "revocation"))
        );
    }
}

/// Every row the seed writes, in a fixed order; the audit log as its chains (record, seq),
/// without the log's own ids and MACs (places in the global chain, which the bulk load fills
/// in another order), without the system's entries at start-up, without the programme
/// changes that only the transactions write, and without the signings' states: only the
/// transactions render and store a notice's document, whose hash the state holds.
fn comparable(conn: &mut AnyConnection) -> Data {
    let mut d = load(conn);
    d.audit
        .retain(|e| e.record_type != "programme" && e.role != "system");
    d.audit.sort_by(|p, q| {
        (&p.record_type, &p.record_key, p.seq).cmp(&(&q.record_type, &q.record_key, q.seq))
    });
    for e in &mut d.audit {
        e.id = 0;
        e.txid = 0;
        e.prev_mac.clear();
        e.mac.clear();
        if e.record_type == "notice" && e.action == "sign" {
            e.state.clear();
            e.state_hash.clear();
        }
    }
    d
}

/// A digest of `comparable`.
fn digest(conn: &mut AnyConnection) -> String {
    let d = comparable(conn);
    let mut h = Sha256::new();
    let mut add = |s: String| h.update(s.as_bytes());
    add(format!("{:?}", d.apps));
    add(format!("{:?}", d.members));
    add(format!("{:?}", d.lines));
    add(format!("{:?}", d.notices));
    add(format!("{:?}", d.notice_lines));
    add(format!("{:?}", d.allocations));
    add(format!("{:?}", d.payments));
    add(format!("{:?}", d.audit));
    add(format!("{:?}", d.budgets));
    add(format!("{:?}", d.counters));
    add(format!("{:?}", d.numbers));
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails naming the first row that differs between two seeded databases.
fn assert_same_rows(a: &mut AnyConnection, b: &mut AnyConnection) {
    fn same<T: PartialEq + std::fmt::Debug>(what: &str, x: &[T], y: &[T]) {
        for (i, (p, q)) in x.iter().zip(y).enumerate() {
            assert_eq!(p, q, "{what}: row {i} differs (transactions, then bulk)");
        }
        assert_eq!(x.len(), y.len(), "{what}: row count");
    }
    let (x, y) = (comparable(a), comparable(b));
    same("applications", &x.apps, &y.apps);
    same("application_members", &x.members, &y.members);
    same("cost_lines", &x.lines, &y.lines);
    same("notices", &x.notices, &y.notices);
    same("notice_lines", &x.notice_lines, &y.notice_lines);
    same("notice_allocations", &x.allocations, &y.allocations);
    same("payment_requests", &x.payments, &y.payments);
    let text = |d: &Data| -> Vec<String> { d.audit.iter().map(|e| format!("{e:?}")).collect() };
    same("audit_events", &text(&x), &text(&y));
    same("budgets", &x.budgets, &y.budgets);
    same("case_counters", &x.counters, &y.counters);
    same("case_number_allocations", &x.numbers, &y.numbers);
}

/// The same seed gives the same history, and the transactions (what the API's handlers
/// call) write exactly the rows that the steps computed in memory (what a bulk load
/// inserts): every field of every case, notice, payment request, budget, counter and audit
/// entry, ids and instants included.
#[test]
fn the_same_seed_gives_the_same_history_through_the_transactions_and_in_bulk() {
    let (a, b, c) = (spawn_app(), spawn_app(), spawn_app());
    let ra = seed_demo(&a, 7);
    let rb = seed_demo_as(&b, 7, true);
    let rc = seed_demo(&c, 8);
    assert_same_rows(&mut a.db(), &mut b.db());
    let (da, db, dc) = (
        digest(&mut a.db()),
        digest(&mut b.db()),
        digest(&mut c.db()),
    );
    assert_eq!(da, db);
    assert_eq!(
        (
            ra.applications,
            ra.notices,
            ra.payment_requests,
            ra.audit_events
        ),
        (
            rb.applications,
            rb.notices,
            rb.payment_requests,
            rb.audit_events + 4
        ),
        "the transactions also write the four programme changes"
    );
    assert_ne!(da, dc);
    assert_eq!(ra.grants_by_year, rb.grants_by_year);
    // The totals the transactions kept and those the bulk load built equal a recomputation.
    crate::reports_totals::assert_totals_follow_the_facts(&mut a.db());
    crate::reports_totals::assert_totals_follow_the_facts(&mut b.db());
    // Another seed, another history with the same reported figures.
    assert_eq!(rc.grants_by_year[&2019], (16, 31_062_000));
    assert_eq!(rc.grants_by_year[&2020].0, 163);
    assert_eq!(rc.open_end_2019.0, 37);
    assert_consistent(&mut c.db());
}

fn seed_demo_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_foerderakte"))
        .arg("seed-demo")
        .args(args)
        .env("DATABASE_URL", &app.settings.database_url)
        .env("AUDIT_KEY", crate::helpers::AUDIT_KEY)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

#[test]
fn a_load_run_writes_the_cases_asked_for_and_refuses_a_second_run() {
    let app = spawn_app();
    let out = seed_demo_command(&app, &["--cases", "2000", "--seed", "5"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("wrote 2000 applications"), "{stdout}");
    let mut conn = app.db();
    let n: i64 = applications::table.count().get_result(&mut conn).unwrap();
    assert_eq!(n, 2000);
    let d = assert_consistent(&mut conn);
    // The mix of a load: about 60 % granted, 10 % rejected or withdrawn, the rest open or in
    // the proof stage; about 10 % joint.
    let share = |f: &dyn Fn(&ApplicationRow) -> bool| {
        d.apps.iter().filter(|a| f(a)).count() * 100 / d.apps.len()
    };
    let status = |a: &ApplicationRow, s: &[&str]| s.contains(&a.status.as_str());
    let granted = share(&|a| status(a, &["approved", "closed", "revoked"]));
    assert!((50..=70).contains(&granted), "granted {granted} %");
    let refused = share(&|a| status(a, &["rejected", "withdrawn"]));
    assert!(
        (5..=15).contains(&refused),
        "rejected or withdrawn {refused} %"
    );
    let open = share(&|a| {
        status(
            a,
            &[
                "draft",
                "submitted",
                "in_review",
                "info_requested",
                "proof_submitted",
            ],
        )
    });
    assert!(
        (20..=40).contains(&open),
        "open or in the proof stage {open} %"
    );
    let joint = share(&|a| a.joint);
    assert!((5..=20).contains(&joint), "joint {joint} %");
    let years: BTreeSet<i32> = d.apps.iter().map(|a| a.case_year).collect();
    assert_eq!(years, (2019..=2026).collect());

    // A second run refuses the filled database and changes nothing.
    let again = seed_demo_command(&app, &[]);
    assert_eq!(again.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already holds 2000 applications"),
        "{stderr}"
    );
    let n: i64 = applications::table.count().get_result(&mut conn).unwrap();
    assert_eq!(n, 2000);
}

#[test]
fn the_api_reads_a_seeded_case_and_new_cases_continue_the_numbering() {
    let app = spawn_app();
    seed_demo(&app, seed::DEFAULT_SEED);
    let mut conn = app.db();
    // A joint case that went all the way: granted, paid, closed.
    let (id, number, lead): (String, String, String) = applications::table
        .filter(applications::status.eq("closed"))
        .filter(applications::joint.eq(true))
        .order(applications::case_number)
        .select((
            applications::id,
            applications::case_number,
            applications::lead_ags,
        ))
        .first(&mut conn)
        .unwrap();
    let cw = app.caseworker();
    let resp = app.get_application(&id, &cw);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let case = resp.json();
    assert_eq!(case["case_number"], number);
    assert_eq!(case["status"], "closed");
    assert_eq!(case["granted_amount"], case["paid_amount"]);
    assert_eq!(case["processing_clock_running"], false);
    let lead_token = app.token(foerderakte::domain::Role::Applicant, "it.leitung", &[&lead]);
    assert_eq!(app.get_application(&id, &lead_token).status, 200);
    let history = app.application_history(&id, &cw);
    assert_eq!(history.status, 200, "{}", history.body);
    let notices = app.list_notices(&id, &cw);
    assert_eq!(notices.status, 200, "{}", notices.body);
    let list: Vec<Value> = notices.json().as_array().cloned().unwrap();
    let grant = list
        .iter()
        .find(|n| n["kind"] == "grant")
        .expect("a grant notice");
    let nid = grant["id"].as_str().unwrap();
    let (status, pdf) = app.get_bytes(&format!("/api/v1/notices/{nid}/document"), &cw);
    assert_eq!(status, 200);
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(app.list_payment_requests(&id, &cw).status, 200);

    // The revoked case: the interest on its reclaim (up to the last day whose base rate the
    // service knows).
    let revoked: String = applications::table
        .filter(applications::status.eq("revoked"))
        .select(applications::id)
        .first(&mut conn)
        .unwrap();
    let interest = app.interest(&revoked, "2026-06-30", &cw);
    assert_eq!(interest.status, 200, "{}", interest.body);

    // A new case gets the next number of its year.
    let year = crate::helpers::today().year();
    let last: i32 = case_counters::table
        .filter(case_counters::prefix.eq("EGOV"))
        .filter(case_counters::year.eq(year))
        .select(case_counters::last_number)
        .first(&mut conn)
        .optional()
        .unwrap()
        .unwrap_or(0);
    let created = app.create_application(&app.applicant(&[LEAD]), &draft_body(LEAD));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        created.json()["case_number"],
        format!("EGOV-{year}-{:04}", last + 1)
    );
    let v = crate::helpers::verify_db(&mut conn);
    assert!(v.ok, "{:?}", v.findings);
}
