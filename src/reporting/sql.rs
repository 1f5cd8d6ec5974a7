//! The report queries' SQL text. Identifiers come from fixed lists; every value is a bound
//! parameter (`$n`: PostgreSQL's numbered parameters, and for SQLite named parameters that get
//! their index at their first appearance, so numbers are handed out in the order of the text
//! and a repeated `$n` is the same value on both).

use chrono::NaiveDateTime;

use super::{Basis, GroupKey, Param, VolumeQuery};
use crate::domain::calendar::german_year_start_utc;
use crate::persistence::Backend;

/// Hands out `$1`, `$2`, … in the order the text is written.
#[derive(Default)]
struct Binder {
    params: Vec<Param>,
}

impl Binder {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("${}", self.params.len())
    }
}

/// The German calendar year of a UTC timestamp column (see `calendar::german_year`).
pub(crate) fn year_of(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Postgres => {
            format!("CAST(EXTRACT(YEAR FROM {column} + INTERVAL '1 hour') AS INTEGER)")
        }
        Backend::Sqlite => format!("CAST(strftime('%Y', {column}, '+1 hour') AS INTEGER)"),
    }
}

/// `AND col >= $a AND col < $b` for the German years `from..=to` of a timestamp column.
fn ts_range(b: &mut Binder, column: &str, from: Option<i32>, to: Option<i32>) -> String {
    let mut s = String::new();
    if let Some(lo) = from.and_then(german_year_start_utc) {
        s += &format!(" AND {column} >= {}", b.bind(Param::Ts(lo)));
    }
    if let Some(hi) = to.and_then(|t| german_year_start_utc(t.saturating_add(1))) {
        s += &format!(" AND {column} < {}", b.bind(Param::Ts(hi)));
    }
    s
}

/// The facts of a basis, one row per counted thing: `fid` (what is counted), `case_id`, `yr`,
/// the case's keys and the measures in cents. `{JOINT}` stands for the single/joint predicate.
fn facts(backend: Backend, q: &VolumeQuery, b: &mut Binder, case: Option<&str>) -> String {
    const KEYS: &str = "a.programme_code AS prog, a.funding_object AS fobj, a.joint AS joint";
    const CASE_MONEY: &str = "a.requested_cents AS req, COALESCE(a.granted_cents, 0) AS gra, \
                              a.paid_cents AS pai, a.reclaimed_cents AS rec, \
                              CAST(COALESCE((SELECT SUM(r.amount_cents) FROM repayments r \
                              WHERE r.application_id = a.id), 0) AS BIGINT) AS rep";
    // With `as_of`: only what was recorded before the end of that day, each bound the instant
    // its fact was recorded (a notice's signing, a payout's release, a repayment's recording).
    // The bound is bound where it first appears in the text (see `Binder`).
    let mut end_param: Option<String> = None;
    let mut end = |b: &mut Binder| {
        let day = q.as_of?;
        Some(
            end_param
                .get_or_insert_with(|| b.bind(Param::Ts(super::end_of_day(day))))
                .clone(),
        )
    };
    let before = |end: &Option<String>, column: &str| match end {
        Some(e) => format!(" AND {column} < {e}"),
        None => String::new(),
    };
    let case_money = |end: &Option<String>| match end {
        Some(e) => case_money_as_of(e),
        None => CASE_MONEY.to_owned(),
    };
    // The programme filter, and the one case whose facts a maintained total follows
    // (`contributions`), both at the programme's place in the text.
    let mut prog_param: Option<String> = None;
    let mut case_param: Option<String> = None;
    let mut prog = |b: &mut Binder| {
        let mut s = match &q.programme {
            Some(p) => {
                let ph = prog_param
                    .get_or_insert_with(|| b.bind(Param::Text(p.clone())))
                    .clone();
                format!(" AND a.programme_code = {ph}")
            }
            None => String::new(),
        };
        if let Some(c) = case {
            let ph = case_param
                .get_or_insert_with(|| b.bind(Param::Text(c.to_owned())))
                .clone();
            s += &format!(" AND a.id = {ph}");
        }
        s
    };
    match q.basis {
        Basis::Notice => {
            let end = end(b);
            let case_money = case_money(&end);
            let range = ts_range(b, "n.signed_at", q.from, q.to);
            let prog = prog(b);
            format!(
                "SELECT n.id AS fid, a.id AS case_id, {yr} AS yr, {KEYS}, 1 AS cnt, {case_money} \
                 FROM notices n JOIN applications a ON a.id = n.application_id \
                 WHERE n.kind = 'grant' AND n.status = 'signed'{range}{before}{prog} AND {{JOINT}}",
                yr = year_of(backend, "n.signed_at"),
                before = before(&end, "n.signed_at"),
            )
        }
        Basis::Submission => {
            let end = end(b);
            let case_money = case_money(&end);
            let range = ts_range(b, "a.submitted_at", q.from, q.to);
            let prog = prog(b);
            format!(
                "SELECT a.id AS fid, a.id AS case_id, {yr} AS yr, {KEYS}, 1 AS cnt, {case_money} \
                 FROM applications a \
                 WHERE a.submitted_at IS NOT NULL{range}{before}{prog} AND {{JOINT}}",
                yr = year_of(backend, "a.submitted_at"),
                before = before(&end, "a.submitted_at"),
            )
        }
        Basis::Payment => {
            let mut years = String::new();
            let mut received = String::new();
            if let Some(f) = q.from {
                let ph = b.bind(Param::Int(f));
                years += &format!(" AND p.paid_year >= {ph}");
                received += &format!(" AND r.received_year >= {ph}");
            }
            if let Some(t) = q.to {
                let ph = b.bind(Param::Int(t));
                years += &format!(" AND p.paid_year <= {ph}");
                received += &format!(" AND r.received_year <= {ph}");
            }
            let end = end(b);
            let prog1 = prog(b);
            let range = ts_range(b, "n.signed_at", q.from, q.to);
            let prog2 = prog(b);
            let prog3 = prog(b);
            format!(
                "SELECT p.id AS fid, a.id AS case_id, p.paid_year AS yr, {KEYS}, 1 AS cnt, \
                 CAST(0 AS BIGINT) AS req, CAST(0 AS BIGINT) AS gra, p.amount_cents AS pai, \
                 CAST(0 AS BIGINT) AS rec, CAST(0 AS BIGINT) AS rep \
                 FROM payment_requests p JOIN applications a ON a.id = p.application_id \
                 WHERE p.status = 'paid'{years}{paid_before}{prog1} AND {{JOINT}} \
                 UNION ALL \
                 SELECT n.id AS fid, a.id AS case_id, {yr} AS yr, {KEYS}, 0 AS cnt, \
                 CAST(0 AS BIGINT) AS req, CAST(0 AS BIGINT) AS gra, CAST(0 AS BIGINT) AS pai, \
                 n.reclaim_cents AS rec, CAST(0 AS BIGINT) AS rep \
                 FROM notices n JOIN applications a ON a.id = n.application_id \
                 WHERE n.kind = 'revocation' AND n.status = 'signed' \
                 AND n.reclaim_cents > 0{range}{signed_before}{prog2} AND {{JOINT}} \
                 UNION ALL \
                 SELECT r.id AS fid, a.id AS case_id, r.received_year AS yr, {KEYS}, 0 AS cnt, \
                 CAST(0 AS BIGINT) AS req, CAST(0 AS BIGINT) AS gra, CAST(0 AS BIGINT) AS pai, \
                 CAST(0 AS BIGINT) AS rec, r.amount_cents AS rep \
                 FROM repayments r JOIN applications a ON a.id = r.application_id \
                 WHERE r.amount_cents > 0{received}{recorded_before}{prog3} AND {{JOINT}}",
                yr = year_of(backend, "n.signed_at"),
                paid_before = before(&end, "p.paid_at"),
                signed_before = before(&end, "n.signed_at"),
                recorded_before = before(&end, "r.recorded_at"),
            )
        }
    }
}

/// A case's money as recorded before `end` (a bound parameter), each the way the write path
/// builds the case's column (`persistence::steps`): granted is the grant of the latest signed
/// notice that sets one (`steps::notice::sign`: a notice's grant replaces the case's), paid the
/// sum of the payouts released (`steps::payment`), reclaimed the sum of the reclaims of signed
/// notices (`steps::notice::sign` adds each), repaid the repayments recorded. Requested does
/// not change after submission (only a draft is edited). `tests/api/reports_as_of.rs` checks
/// that an `as_of` after the last write gives today's report, byte for byte.
fn case_money_as_of(end: &str) -> String {
    let granted = in_force(end, "a.id", "g.granted_cents");
    format!(
        "a.requested_cents AS req, \
         COALESCE(({granted}), 0) AS gra, \
         CAST(COALESCE((SELECT SUM(pp.amount_cents) FROM payment_requests pp \
         WHERE pp.application_id = a.id AND pp.status = 'paid' AND pp.paid_at < {end}), 0) \
         AS BIGINT) AS pai, \
         CAST(COALESCE((SELECT SUM(v.reclaim_cents) FROM notices v WHERE v.application_id = a.id \
         AND v.status = 'signed' AND v.reclaim_cents IS NOT NULL AND v.signed_at < {end}), 0) \
         AS BIGINT) AS rec, \
         CAST(COALESCE((SELECT SUM(r.amount_cents) FROM repayments r \
         WHERE r.application_id = a.id AND r.recorded_at < {end}), 0) AS BIGINT) AS rep"
    )
}

/// The notice in force for the case `case` before `end` (a bound parameter), selecting
/// `column` of it (`g`): the latest signed notice that sets a grant (`steps::notice::sign`: a
/// notice's grant replaces the case's; its allocations replace the commitment).
fn in_force(end: &str, case: &str, column: &str) -> String {
    format!(
        "SELECT {column} FROM notices g WHERE g.application_id = {case} \
         AND g.status = 'signed' AND g.granted_cents IS NOT NULL AND g.signed_at < {end} \
         ORDER BY g.seq DESC LIMIT 1"
    )
}

/// Per programme and fiscal year, what the notices in force before `end` allocate: each
/// case's latest signed notice that sets a grant (as `case_money_as_of`). A signing changes a
/// budget by the change of the allocation in force (`steps::notice::budget_deltas`), so the
/// changes add up to the allocations of the notices in force.
pub(super) fn committed_as_of(end: NaiveDateTime) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let end = b.bind(Param::Ts(end));
    let in_force = in_force(&end, "n.application_id", "g.id");
    let text = format!(
        "SELECT a.programme_code AS programme, al.fiscal_year AS fiscal_year, \
         CAST(SUM(al.amount_cents) AS BIGINT) AS cents \
         FROM notices n JOIN notice_allocations al ON al.notice_id = n.id \
         JOIN applications a ON a.id = n.application_id \
         WHERE n.id = ({in_force}) \
         GROUP BY a.programme_code, al.fiscal_year"
    );
    (text, b.params)
}

/// Per programme and fiscal year, the payouts released before `end`.
pub(super) fn paid_as_of(end: NaiveDateTime) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let end = b.bind(Param::Ts(end));
    let text = format!(
        "SELECT a.programme_code AS programme, p.paid_year AS fiscal_year, \
         CAST(SUM(p.amount_cents) AS BIGINT) AS cents \
         FROM payment_requests p JOIN applications a ON a.id = p.application_id \
         WHERE p.status = 'paid' AND p.paid_year IS NOT NULL AND p.paid_at < {end} \
         GROUP BY a.programme_code, p.paid_year"
    );
    (text, b.params)
}

/// The measures, each split by the largest-remainder method of `domain::split`: the part
/// rounded down, then one cent more for as many partners as cents are left, largest
/// remainder first, on a tie the earlier partner.
const MEASURES: [&str; 5] = ["req", "gra", "pai", "rec", "rep"];

/// Where a volumes report reads its member-level rows from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The recorded facts, split by share here (`member_parts`): every basis, any `as_of`.
    Facts,
    /// The maintained totals (`report_totals`, `persistence::totals`): today's knowledge.
    Totals,
}

/// The member-level rows of the facts of `q`'s basis: per fact and partner municipality,
/// `case_id, yr, prog, fobj, joint, ags, kreis` and the measures (`cnt` counted with the lead
/// partner only), a joint case's measures split over its partners by share. `case`: only the
/// facts of that case.
fn member_parts(backend: Backend, q: &VolumeQuery, b: &mut Binder, case: Option<&str>) -> String {
    let facts = facts(backend, q, b, case);
    let single = facts.replace("{JOINT}", "NOT a.joint");
    let joint = facts.replace("{JOINT}", "a.joint");
    let bases: Vec<String> = MEASURES
        .iter()
        .map(|m| {
            format!("s.{m} * s.share_bp / s.tot AS {m}_b, s.{m} * s.share_bp % s.tot AS {m}_r")
        })
        .collect();
    let parts: Vec<String> = MEASURES
        .iter()
        .map(|m| {
            format!(
                "{m}_b + CASE WHEN ROW_NUMBER() OVER (PARTITION BY fid ORDER BY {m}_r DESC, \
                 position) <= {m} - SUM({m}_b) OVER (PARTITION BY fid) THEN 1 ELSE 0 END AS {m}"
            )
        })
        .collect();
    format!(
        "SELECT f.case_id, f.yr, f.prog, f.fobj, f.joint, m.ags, m.kreis, f.cnt, f.req, f.gra, \
         f.pai, f.rec, f.rep \
         FROM ({single}) f JOIN application_members m ON m.application_id = f.case_id \
         UNION ALL \
         SELECT case_id, yr, prog, fobj, joint, ags, kreis, \
         CASE WHEN is_lead THEN cnt ELSE 0 END AS cnt, {parts} \
         FROM (SELECT s.fid, s.case_id, s.yr, s.prog, s.fobj, s.joint, s.ags, s.kreis, \
         s.position, s.is_lead, s.cnt, s.req, s.gra, s.pai, s.rec, s.rep, {bases} \
         FROM (SELECT f.*, m.ags, m.kreis, m.position, m.is_lead, m.share_bp, \
         SUM(m.share_bp) OVER (PARTITION BY f.fid) AS tot \
         FROM ({joint}) f JOIN application_members m ON m.application_id = f.case_id) s) j",
        parts = parts.join(", "),
        bases = bases.join(", "),
    )
}

/// The member-level rows of `q` from the maintained totals: the same columns as
/// `member_parts` summed per key (`case_id` empty), filtered by years and programme.
fn totals_parts(q: &VolumeQuery, b: &mut Binder) -> String {
    let mut s = format!(
        "SELECT '' AS case_id, t.yr, t.prog, NULLIF(t.fobj, '') AS fobj, t.joint, t.ags, \
         t.kreis, t.cnt, t.req, t.gra, t.pai, t.rec, t.rep FROM report_totals t \
         WHERE t.basis = {} AND t.n > 0",
        b.bind(Param::Text(q.basis.as_str().to_owned()))
    );
    if let Some(f) = q.from {
        s += &format!(" AND t.yr >= {}", b.bind(Param::Int(f)));
    }
    if let Some(t) = q.to {
        s += &format!(" AND t.yr <= {}", b.bind(Param::Int(t)));
    }
    if let Some(p) = &q.programme {
        s += &format!(" AND t.prog = {}", b.bind(Param::Text(p.clone())));
    }
    s
}

/// The bases a maintained total is kept for, in the order `contributions` lists them.
pub(crate) const BASES: [Basis; 3] = [Basis::Notice, Basis::Submission, Basis::Payment];

/// What each case contributes to the totals (`report_totals`), one row per basis, year,
/// partner and the case's keys: `basis, case_id, yr, ags, kreis, prog, fobj` (`''` for none),
/// `joint`, `n` (the member-level rows summed) and the measures. `case`: that case only;
/// `None`: every case (a rebuild).
pub(crate) fn contributions(backend: Backend, case: Option<&str>) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let selects: Vec<String> = BASES
        .iter()
        .map(|&basis| {
            let q = VolumeQuery::all(basis);
            let parts = member_parts(backend, &q, &mut b, case);
            format!(
                "SELECT '{basis}' AS basis, p.case_id, p.yr, p.ags, p.kreis, p.prog, \
                 COALESCE(p.fobj, '') AS fobj, p.joint, CAST(COUNT(*) AS BIGINT) AS n, \
                 CAST(SUM(p.cnt) AS BIGINT) AS cnt, CAST(SUM(p.req) AS BIGINT) AS req, \
                 CAST(SUM(p.gra) AS BIGINT) AS gra, CAST(SUM(p.pai) AS BIGINT) AS pai, \
                 CAST(SUM(p.rec) AS BIGINT) AS rec, CAST(SUM(p.rep) AS BIGINT) AS rep \
                 FROM ({parts}) p \
                 GROUP BY p.case_id, p.yr, p.ags, p.kreis, p.prog, p.fobj, p.joint",
                basis = basis.as_str()
            )
        })
        .collect();
    (selects.join(" UNION ALL "), b.params)
}

pub(super) fn volumes(backend: Backend, q: &VolumeQuery, source: Source) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let parts = match source {
        Source::Facts => member_parts(backend, q, &mut b, None),
        Source::Totals => totals_parts(q, &mut b),
    };
    let kreis = match &q.kreis {
        Some(k) => format!(" WHERE p.kreis = {}", b.bind(Param::Text(k.clone()))),
        None => String::new(),
    };
    let has = |k: GroupKey| q.group_by.contains(&k);
    let key = |k: GroupKey, col: &str, null_type: &str| {
        if has(k) {
            col.to_owned()
        } else {
            format!("CAST(NULL AS {null_type})")
        }
    };
    let group_cols: Vec<&str> = q
        .group_by
        .iter()
        .map(|k| match k {
            GroupKey::Year => "p.yr",
            GroupKey::Municipality => "p.ags",
            GroupKey::Kreis => "p.kreis",
            GroupKey::Programme => "p.prog",
            GroupKey::FundingObject => "p.fobj",
            GroupKey::Joint => "p.joint",
        })
        .collect();
    let group_by = if group_cols.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", group_cols.join(", "))
    };
    let order_cols: Vec<&str> = q
        .group_by
        .iter()
        .map(|k| match k {
            GroupKey::Year => "r.year",
            GroupKey::Municipality => "r.ags",
            GroupKey::Kreis => "r.kreis",
            GroupKey::Programme => "r.programme",
            GroupKey::FundingObject => "r.funding_object",
            GroupKey::Joint => "r.joint",
        })
        .collect();
    let order_by = if order_cols.is_empty() {
        String::new()
    } else {
        format!(" ORDER BY {}", order_cols.join(", "))
    };
    let text = format!(
        "SELECT r.year, r.ags, mu.name AS municipality_name, r.kreis, kr.name AS kreis_name, \
         r.programme, r.funding_object, r.joint, r.count, r.requested, r.granted, r.paid, \
         r.reclaimed, r.repaid FROM (\
         SELECT {year} AS year, {ags} AS ags, {kr} AS kreis, {prog} AS programme, \
         {fobj} AS funding_object, {jt} AS joint, \
         CAST(SUM(p.cnt) AS BIGINT) AS count, CAST(SUM(p.req) AS BIGINT) AS requested, \
         CAST(SUM(p.gra) AS BIGINT) AS granted, CAST(SUM(p.pai) AS BIGINT) AS paid, \
         CAST(SUM(p.rec) AS BIGINT) AS reclaimed, CAST(SUM(p.rep) AS BIGINT) AS repaid \
         FROM ({parts}) p{kreis}{group_by}\
         ) r \
         LEFT JOIN municipalities mu ON mu.ags = r.ags \
         LEFT JOIN municipalities kr ON kr.ags = r.kreis || '000'{order_by}",
        year = key(GroupKey::Year, "p.yr", "INTEGER"),
        ags = key(GroupKey::Municipality, "p.ags", "TEXT"),
        kr = key(GroupKey::Kreis, "p.kreis", "TEXT"),
        prog = key(GroupKey::Programme, "p.prog", "TEXT"),
        fobj = key(GroupKey::FundingObject, "p.fobj", "TEXT"),
        jt = key(GroupKey::Joint, "p.joint", "BOOLEAN"),
    );
    (text, b.params)
}

pub(super) fn pipeline(end: NaiveDateTime, programme: Option<&str>) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let end = b.bind(Param::Ts(end));
    let prog = match programme {
        Some(p) => format!(
            " AND a.programme_code = {}",
            b.bind(Param::Text(p.to_owned()))
        ),
        None => String::new(),
    };
    let text = format!(
        "SELECT e.to_status AS status, CAST(COUNT(*) AS BIGINT) AS count, \
         CAST(SUM(a.requested_cents) AS BIGINT) AS requested \
         FROM (SELECT record_key, to_status, \
         ROW_NUMBER() OVER (PARTITION BY record_key ORDER BY seq DESC) AS rn \
         FROM audit_events WHERE record_type = 'application' AND to_status IS NOT NULL \
         AND occurred_at < {end}) e \
         JOIN applications a ON a.id = e.record_key \
         WHERE e.rn = 1 AND e.to_status IN ('submitted', 'in_review', 'info_requested'){prog} \
         GROUP BY e.to_status \
         ORDER BY CASE e.to_status WHEN 'submitted' THEN 1 WHEN 'in_review' THEN 2 ELSE 3 END"
    );
    (text, b.params)
}

pub(super) fn budget(year: Option<i32>) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let (paid_year, keys_year, budget_year) = match year {
        Some(y) => {
            let ph = b.bind(Param::Int(y));
            (
                format!(" AND pr.paid_year = {ph}"),
                format!(" WHERE fiscal_year = {ph}"),
                format!(" AND pr2.paid_year = {ph}"),
            )
        }
        None => Default::default(),
    };
    let text = format!(
        "SELECT k.programme, k.fiscal_year, bu.amount_cents AS amount, \
         bu.committed_cents AS committed, pd.paid \
         FROM (SELECT programme_code AS programme, fiscal_year FROM budgets{keys_year} \
         UNION SELECT a2.programme_code, pr2.paid_year FROM payment_requests pr2 \
         JOIN applications a2 ON a2.id = pr2.application_id \
         WHERE pr2.status = 'paid' AND pr2.paid_year IS NOT NULL{budget_year}) k \
         LEFT JOIN budgets bu ON bu.programme_code = k.programme AND bu.fiscal_year = k.fiscal_year \
         LEFT JOIN (SELECT a.programme_code AS programme, pr.paid_year AS fiscal_year, \
         CAST(SUM(pr.amount_cents) AS BIGINT) AS paid \
         FROM payment_requests pr JOIN applications a ON a.id = pr.application_id \
         WHERE pr.status = 'paid'{paid_year} GROUP BY a.programme_code, pr.paid_year) pd \
         ON pd.programme = k.programme AND pd.fiscal_year = k.fiscal_year \
         ORDER BY k.fiscal_year, k.programme"
    );
    (text, b.params)
}

pub(super) fn processing(lo: NaiveDateTime, hi: NaiveDateTime) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let lo = b.bind(Param::Ts(lo));
    let hi = b.bind(Param::Ts(hi));
    // One scan of the decisions (a CTE used twice), ranked per programme and over all.
    let aggregates = "CAST(COUNT(*) AS BIGINT) AS decided, \
         CAST(SUM(CASE WHEN kind = 'grant' THEN 1 ELSE 0 END) AS BIGINT) AS granted, \
         CAST(SUM(CASE WHEN kind = 'rejection' THEN 1 ELSE 0 END) AS BIGINT) AS rejected, \
         CAST(MAX(CASE WHEN rn = (cnt + 1) / 2 THEN secs END) AS BIGINT) AS median_seconds, \
         CAST(MAX(CASE WHEN rn = (9 * cnt + 9) / 10 THEN secs END) AS BIGINT) AS p90_seconds, \
         CAST(MAX(secs) AS BIGINT) AS max_seconds";
    let text = format!(
        "WITH d AS (SELECT a.programme_code AS prog, n.kind AS kind, a.clock_seconds AS secs \
         FROM notices n JOIN applications a ON a.id = n.application_id \
         WHERE n.kind IN ('grant', 'rejection') AND n.status = 'signed' \
         AND n.signed_at >= {lo} AND n.signed_at < {hi}) \
         SELECT programme, decided, granted, rejected, median_seconds, p90_seconds, max_seconds \
         FROM (SELECT prog AS programme, 0 AS overall, {aggregates} \
         FROM (SELECT d.*, ROW_NUMBER() OVER (PARTITION BY prog ORDER BY secs) AS rn, \
         COUNT(*) OVER (PARTITION BY prog) AS cnt FROM d) x GROUP BY prog \
         UNION ALL \
         SELECT CAST(NULL AS TEXT) AS programme, 1 AS overall, {aggregates} \
         FROM (SELECT d.*, ROW_NUMBER() OVER (ORDER BY secs) AS rn, COUNT(*) OVER () AS cnt \
         FROM d) y HAVING COUNT(*) > 0) r \
         ORDER BY overall, programme"
    );
    (text, b.params)
}

/// The grant notices signed in `[lo, hi)` with their lead municipality and the other partners'
/// keys (`open_grants`).
pub(super) fn open_grants(
    backend: Backend,
    lo: NaiveDateTime,
    hi: NaiveDateTime,
) -> (String, Vec<Param>) {
    let mut b = Binder::default();
    let lo = b.bind(Param::Ts(lo));
    let hi = b.bind(Param::Ts(hi));
    let partners = match backend {
        Backend::Postgres => "STRING_AGG(o.ags, ',' ORDER BY o.position)",
        Backend::Sqlite => "GROUP_CONCAT(o.ags, ',')",
    };
    let text = format!(
        "SELECT n.number AS notice_number, n.signed_at AS signed_at, m.ags AS ags, \
         mu.name AS municipality_name, m.kreis AS kreis, kr.name AS kreis_name, \
         a.programme_code AS programme, a.funding_object AS funding_object, a.joint AS joint, \
         (SELECT {partners} FROM (SELECT o.ags, o.position FROM application_members o \
         WHERE o.application_id = a.id AND NOT o.is_lead ORDER BY o.position) o) AS partners, \
         n.purpose AS purpose, n.granted_cents AS amount \
         FROM notices n JOIN applications a ON a.id = n.application_id \
         JOIN application_members m ON m.application_id = a.id AND m.is_lead \
         LEFT JOIN municipalities mu ON mu.ags = m.ags \
         LEFT JOIN municipalities kr ON kr.ags = m.kreis || '000' \
         WHERE n.kind = 'grant' AND n.status = 'signed' AND n.granted_cents IS NOT NULL \
         AND n.signed_at >= {lo} AND n.signed_at < {hi} \
         ORDER BY n.signed_at, n.number"
    );
    (text, b.params)
}
