//! The volumes report against a model: random cases (amounts, partners and shares, partial
//! grants, payments over several years, reclaims, instants next to the turn of the year) are
//! written to the database, and every grouping of the report on every basis must equal the
//! same figures computed in Rust from the cases with `domain::split` — row by row, to the
//! cent — so every grand total is the same and equals the sum over the cases.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::RunQueryDsl;
use foerderakte::domain::Money;
use foerderakte::domain::calendar::german_year;
use foerderakte::domain::split::split_by_shares;
use foerderakte::persistence::{self, AnyConnection};
use foerderakte::reporting::{self, Basis, GroupKey, Measures, VolumeQuery};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::helpers::spawn_app;

const PROGRAMMES: [(&str, &str); 4] = [
    ("THUEREGOVRL-2018", "a"),
    ("THUEREGOVRL-2024", "c"),
    ("THUERFAG-24-KOOP", "koop"),
    ("THUERFAG-24-STUDIE", "studie"),
];

#[derive(Debug, Clone)]
struct CaseSpec {
    programme: usize,
    /// Indexes into the municipality list and share weights, lead first.
    members: Vec<(usize, i32)>,
    requested: i64,
    /// Per mille of the requested amount granted; `None`: no grant notice.
    granted_permille: Option<i64>,
    /// Payouts: per mille of the grant and days after the grant notice.
    payouts: Vec<(i64, i64)>,
    /// Per mille of the paid amount reclaimed by a revocation.
    reclaim_permille: i64,
    submitted_at: NaiveDateTime,
    decision_days: i64,
}

/// An instant in 2019–2026; one in four on 31 December or 1 January around midnight (German
/// and UTC years differ there).
fn instant() -> impl Strategy<Value = NaiveDateTime> {
    (2019i32..=2026, 1u32..=365, 0u32..24, 0u32..60, 0u32..4).prop_map(|(y, d, h, m, edge)| {
        let day = if edge == 0 {
            if d % 2 == 0 {
                NaiveDate::from_ymd_opt(y, 12, 31)
            } else {
                NaiveDate::from_ymd_opt(y, 1, 1)
            }
        } else {
            NaiveDate::from_yo_opt(y, d)
        };
        let hour = if edge == 0 { 22 + h % 2 } else { h };
        day.unwrap().and_hms_opt(hour, m, 0).unwrap()
    })
}

fn case_spec(municipalities: usize) -> impl Strategy<Value = CaseSpec> {
    (
        0..PROGRAMMES.len(),
        proptest::sample::subsequence((0..municipalities).collect::<Vec<_>>(), 1..=5),
        proptest::collection::vec(1i32..=100, 5),
        0i64..=2_000_000_000,
        proptest::option::weighted(0.7, 0i64..=1000),
        proptest::collection::vec((1i64..=600, 0i64..=900), 0..=3),
        prop_oneof![Just(0i64), 1i64..=1000],
        instant(),
        0i64..=500,
    )
        .prop_map(
            |(programme, ags, weights, requested, granted, payouts, reclaim, at, days)| CaseSpec {
                programme,
                members: ags.into_iter().zip(weights).collect(),
                requested,
                granted_permille: granted,
                payouts,
                reclaim_permille: reclaim,
                submitted_at: at,
                decision_days: days,
            },
        )
}

/// A case as written: what the model needs.
#[derive(Debug)]
struct Written {
    programme: &'static str,
    funding_object: &'static str,
    joint: bool,
    /// (ags, kreis, share_bp), lead first.
    members: Vec<(String, String, i32)>,
    requested: i64,
    granted: i64,
    paid: i64,
    reclaimed: i64,
    /// Received back on the reclaim, 40 days after the revocation.
    repaid: i64,
    repaid_at: Option<NaiveDateTime>,
    submitted_at: NaiveDateTime,
    grant_at: Option<NaiveDateTime>,
    /// (year, amount)
    payouts: Vec<(i32, i64)>,
    revocation_at: Option<NaiveDateTime>,
}

fn ts(t: NaiveDateTime) -> String {
    format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
}

fn exec(conn: &mut AnyConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

fn write(
    conn: &mut AnyConnection,
    n: usize,
    spec: &CaseSpec,
    municipalities: &[(String, String)],
) -> Written {
    let (programme, funding_object) = PROGRAMMES[spec.programme];
    let joint = spec.members.len() > 1;
    let weights: Vec<i32> = spec.members.iter().map(|m| m.1).collect();
    let shares = split_by_shares(Money::from_cents(10_000).unwrap(), &weights).unwrap();
    let members: Vec<(String, String, i32)> = spec
        .members
        .iter()
        .zip(&shares)
        .map(|((i, _), s)| {
            let (ags, kreis) = &municipalities[*i];
            (
                ags.clone(),
                kreis.clone(),
                i32::try_from(s.cents()).unwrap(),
            )
        })
        .collect();
    let grant_at = spec
        .granted_permille
        .map(|_| spec.submitted_at + chrono::TimeDelta::days(spec.decision_days));
    let granted = spec
        .granted_permille
        .map_or(0, |p| spec.requested * p / 1000);
    let mut payouts = Vec::new();
    let mut paid = 0;
    if let Some(g_at) = grant_at {
        for (permille, days) in &spec.payouts {
            let amount = (granted * permille / 1000).min(granted - paid);
            if amount > 0 {
                payouts.push((g_at + chrono::TimeDelta::days(*days), amount));
                paid += amount;
            }
        }
    }
    let reclaimed = paid * spec.reclaim_permille / 1000;
    let revocation_at = (reclaimed > 0).then(|| {
        payouts
            .iter()
            .map(|p| p.0)
            .max()
            .unwrap_or(spec.submitted_at)
            + chrono::TimeDelta::days(30)
    });
    // A part of the reclaim repaid (derived from the spec, so the strategy stays as it was).
    let repaid = reclaimed * ((spec.reclaim_permille * 7) % 1001) / 1000;
    let repaid_at = revocation_at
        .filter(|_| repaid > 0)
        .map(|r| r + chrono::TimeDelta::days(40));
    let id = format!("case-{n}");
    let status = if revocation_at.is_some() {
        "revoked"
    } else if grant_at.is_some() {
        "approved"
    } else {
        "in_review"
    };
    let granted_sql = if grant_at.is_some() {
        granted.to_string()
    } else {
        "NULL".into()
    };
    exec(
        conn,
        &format!(
            "INSERT INTO applications (id, case_number, case_year, programme_code, funding_object, \
             lead_ags, joint, title, description, total_cost_cents, eligible_cents, \
             own_contribution_cents, third_party_cents, requested_cents, granted_cents, paid_cents, \
             status, version, clock_seconds, submitted_at, created_by, created_at, updated_at, \
             reclaimed_cents) VALUES ('{id}', 'T-{n}', 2020, '{programme}', '{funding_object}', \
             '{lead}', {joint}, 't', 'd', {req}, {req}, 0, 0, {req}, {granted_sql}, {paid}, \
             '{status}', 1, 0, {sub}, 'x', {sub}, {sub}, {reclaimed})",
            lead = members[0].0,
            joint = if joint { "TRUE" } else { "FALSE" },
            req = spec.requested,
            sub = ts(spec.submitted_at),
        ),
    );
    for (pos, (ags, kreis, share)) in members.iter().enumerate() {
        exec(
            conn,
            &format!(
                "INSERT INTO application_members (application_id, position, ags, kreis, share_bp, \
                 is_lead) VALUES ('{id}', {pos}, '{ags}', '{kreis}', {share}, {lead})",
                lead = if pos == 0 { "TRUE" } else { "FALSE" },
            ),
        );
    }
    let notice = |conn: &mut AnyConnection,
                  nid: &str,
                  kind: &str,
                  seq: i32,
                  at: NaiveDateTime,
                  granted: &str,
                  reclaim: &str| {
        exec(
            conn,
            &format!(
                "INSERT INTO notices (id, application_id, kind, status, number, seq, case_version, \
                 granted_cents, paid_cents, reclaim_cents, posted_on, delivery_days, prepared_by, \
                 prepared_at, signed_by, signed_at) VALUES ('{nid}', '{id}', '{kind}', 'signed', \
                 '{nid}-B{seq}', {seq}, 1, {granted}, 0, {reclaim}, '2020-01-01', 3, 'a', {at}, \
                 'b', {at})",
                at = ts(at),
            ),
        );
    };
    if let Some(g_at) = grant_at {
        notice(
            conn,
            &format!("{id}-g"),
            "grant",
            1,
            g_at,
            &granted.to_string(),
            "NULL",
        );
    }
    if let Some(r_at) = revocation_at {
        notice(
            conn,
            &format!("{id}-r"),
            "revocation",
            2,
            r_at,
            &(granted - reclaimed).to_string(),
            &reclaimed.to_string(),
        );
    }
    for (i, (at, amount)) in payouts.iter().enumerate() {
        exec(
            conn,
            &format!(
                "INSERT INTO payment_requests (id, application_id, amount_cents, status, \
                 requested_by, requested_at, paid_by, paid_at, paid_year) VALUES \
                 ('{id}-p{i}', '{id}', {amount}, 'paid', 'x', {at}, 'y', {at}, {year})",
                at = ts(*at),
                year = german_year(*at),
            ),
        );
    }
    if let Some(at) = repaid_at {
        let on = foerderakte::domain::calendar::german_date(at);
        exec(
            conn,
            &format!(
                "INSERT INTO repayments (id, application_id, amount_cents, received_on, \
                 received_year, recorded_by, recorded_at) VALUES \
                 ('{id}-rp', '{id}', {repaid}, '{on}', {year}, 'x', {at})",
                year = on.year(),
                at = ts(at),
            ),
        );
    }
    Written {
        repaid,
        repaid_at,
        programme,
        funding_object,
        joint,
        members,
        requested: spec.requested,
        granted,
        paid,
        reclaimed,
        submitted_at: spec.submitted_at,
        grant_at,
        payouts: payouts
            .iter()
            .map(|(at, a)| (german_year(*at), *a))
            .collect(),
        revocation_at,
    }
}

/// The grouping key of a report row, or of a model fact for one member.
type Key = (
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<bool>,
);

fn key_of(q: &VolumeQuery, year: i32, c: &Written, ags: &str, kreis: &str) -> Key {
    let has = |k| q.group_by.contains(&k);
    (
        has(GroupKey::Year).then_some(year),
        has(GroupKey::Municipality).then(|| ags.to_owned()),
        has(GroupKey::Kreis).then(|| kreis.to_owned()),
        has(GroupKey::Programme).then(|| c.programme.to_owned()),
        has(GroupKey::FundingObject).then(|| c.funding_object.to_owned()),
        has(GroupKey::Joint).then_some(c.joint),
    )
}

/// The report computed in Rust from the cases.
fn model(q: &VolumeQuery, cases: &[Written]) -> BTreeMap<Key, Measures> {
    // (year, count, [req, gra, pai, rec]) per fact
    let mut out: BTreeMap<Key, Measures> = BTreeMap::new();
    for c in cases {
        let mut facts: Vec<(i32, i64, [i64; 5])> = Vec::new();
        let case_money = [c.requested, c.granted, c.paid, c.reclaimed, c.repaid];
        match q.basis {
            Basis::Notice => {
                if let Some(at) = c.grant_at {
                    facts.push((german_year(at), 1, case_money));
                }
            }
            Basis::Submission => facts.push((german_year(c.submitted_at), 1, case_money)),
            Basis::Payment => {
                for (y, a) in &c.payouts {
                    facts.push((*y, 1, [0, 0, *a, 0, 0]));
                }
                if let Some(at) = c.revocation_at {
                    facts.push((german_year(at), 0, [0, 0, 0, c.reclaimed, 0]));
                }
                if let Some(at) = c.repaid_at {
                    facts.push((german_year(at), 0, [0, 0, 0, 0, c.repaid]));
                }
            }
        }
        let shares: Vec<i32> = c.members.iter().map(|m| m.2).collect();
        for (year, count, money) in facts {
            if q.from.is_some_and(|f| year < f) || q.to.is_some_and(|t| year > t) {
                continue;
            }
            if q.programme.as_deref().is_some_and(|p| p != c.programme) {
                continue;
            }
            let parts: Vec<Vec<Money>> = money
                .iter()
                .map(|m| split_by_shares(Money::from_cents(*m).unwrap(), &shares).unwrap())
                .collect();
            for (i, (ags, kreis, _)) in c.members.iter().enumerate() {
                if q.kreis.as_deref().is_some_and(|k| k != kreis) {
                    continue;
                }
                let e = out.entry(key_of(q, year, c, ags, kreis)).or_default();
                *e = e
                    .checked_add(Measures {
                        count: if i == 0 { count } else { 0 },
                        requested: parts[0][i].cents(),
                        granted: parts[1][i].cents(),
                        paid: parts[2][i].cents(),
                        reclaimed: parts[3][i].cents(),
                        repaid: parts[4][i].cents(),
                    })
                    .unwrap();
            }
        }
    }
    out
}

/// The report as the API gives it: from the maintained totals without `as_of`. The rows the
/// facts give are the same, row for row (the cases here are written behind the write path's
/// back, so the totals were rebuilt from them).
fn report(conn: &mut AnyConnection, q: &VolumeQuery) -> BTreeMap<Key, Measures> {
    let rows = reporting::volumes(conn, q).unwrap();
    assert_eq!(
        rows,
        reporting::volumes_from_facts(conn, q).unwrap(),
        "{q:?}"
    );
    let n = rows.len();
    let map: BTreeMap<Key, Measures> = rows
        .into_iter()
        .map(|r| {
            let m = r.measures();
            (
                (
                    r.year,
                    r.ags,
                    r.kreis,
                    r.programme,
                    r.funding_object,
                    r.joint,
                ),
                m,
            )
        })
        .collect();
    assert_eq!(map.len(), n, "a key appears twice in {q:?}");
    map
}

fn total(m: &BTreeMap<Key, Measures>) -> Measures {
    m.values()
        .fold(Measures::default(), |a, b| a.checked_add(*b).unwrap())
}

const GROUPINGS: &[&[GroupKey]] = &[
    &[],
    &[GroupKey::Year],
    &[GroupKey::Year, GroupKey::Municipality],
    &[GroupKey::Municipality],
    &[GroupKey::Kreis, GroupKey::Year],
    &[GroupKey::Programme, GroupKey::FundingObject],
    &[GroupKey::Joint],
    &[
        GroupKey::Year,
        GroupKey::Municipality,
        GroupKey::Kreis,
        GroupKey::Programme,
        GroupKey::FundingObject,
        GroupKey::Joint,
    ],
];

#[test]
fn every_grouping_of_the_volumes_report_equals_the_cases_split_by_share_to_the_cent() {
    let app = spawn_app();
    let conn = std::cell::RefCell::new(app.db());
    // Each case of the property empties the tables the last one filled, signed notices
    // included.
    crate::helpers::drop_guards(&mut conn.borrow_mut());
    #[derive(diesel::QueryableByName)]
    struct M {
        #[diesel(sql_type = diesel::sql_types::Text)]
        ags: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kreis: String,
    }
    // Municipalities of three Kreise, so that Kreis groups and filters have several members.
    let municipalities: Vec<(String, String)> = diesel::sql_query(
        "SELECT ags, kreis FROM municipalities WHERE kind <> 'landkreis' \
         AND kreis IN ('16051', '16063', '16066') ORDER BY ags",
    )
    .load::<M>(&mut *conn.borrow_mut())
    .unwrap()
    .into_iter()
    .map(|m| (m.ags, m.kreis))
    .take(30)
    .collect();
    assert!(municipalities.len() >= 10);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(case_spec(municipalities.len()), 1..30);
    runner
        .run(&strategy, |specs| {
            let mut conn = conn.borrow_mut();
            let conn = &mut *conn;
            for t in [
                "repayments",
                "payment_requests",
                "notices",
                "application_members",
                "applications",
            ] {
                exec(conn, &format!("DELETE FROM {t}"));
            }
            let cases: Vec<Written> = specs
                .iter()
                .enumerate()
                .map(|(n, s)| write(conn, n, s, &municipalities))
                .collect();
            persistence::totals::rebuild(conn, persistence::stored_now()).unwrap();
            for basis in [Basis::Notice, Basis::Submission, Basis::Payment] {
                // The whole report, unfiltered: its total is the sum over the cases.
                let all = VolumeQuery::all(basis);
                let grand = total(&model(&all, &cases));
                let sum_over_cases = match basis {
                    Basis::Payment => Measures {
                        count: cases.iter().map(|c| c.payouts.len() as i64).sum(),
                        requested: 0,
                        granted: 0,
                        paid: cases.iter().map(|c| c.paid).sum(),
                        reclaimed: cases.iter().map(|c| c.reclaimed).sum(),
                        repaid: cases.iter().map(|c| c.repaid).sum(),
                    },
                    _ => cases
                        .iter()
                        .filter(|c| basis == Basis::Submission || c.grant_at.is_some())
                        .fold(Measures::default(), |a, c| Measures {
                            count: a.count + 1,
                            requested: a.requested + c.requested,
                            granted: a.granted + c.granted,
                            paid: a.paid + c.paid,
                            reclaimed: a.reclaimed + c.reclaimed,
                            repaid: a.repaid + c.repaid,
                        }),
                };
                prop_assert_eq!(grand, sum_over_cases);
                for g in GROUPINGS {
                    let q = VolumeQuery {
                        group_by: g.to_vec(),
                        ..all.clone()
                    };
                    let got = report(conn, &q);
                    prop_assert_eq!(&got, &model(&q, &cases), "{:?}", q);
                    prop_assert_eq!(total(&got), sum_over_cases, "{:?}", q);
                }
                // Filters: years, programme, Kreis.
                for q in [
                    VolumeQuery {
                        group_by: vec![GroupKey::Year, GroupKey::Municipality],
                        from: Some(2020),
                        to: Some(2022),
                        ..all.clone()
                    },
                    VolumeQuery {
                        group_by: vec![GroupKey::Year],
                        programme: Some("THUERFAG-24-KOOP".into()),
                        to: Some(2024),
                        ..all.clone()
                    },
                    VolumeQuery {
                        group_by: vec![GroupKey::Municipality],
                        kreis: Some("16063".into()),
                        from: Some(2021),
                        ..all.clone()
                    },
                ] {
                    prop_assert_eq!(&report(conn, &q), &model(&q, &cases), "{:?}", q);
                }
            }
            Ok(())
        })
        .unwrap();
}
