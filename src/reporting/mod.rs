//! Reports for the finance ministry: volumes per year, municipality, Kreis, programme, funding
//! object and single/joint; the pipeline on a date; budget utilisation; processing times.
//!
//! Aggregation happens in SQL on integer cents (`CAST(SUM(..) AS BIGINT)`, exact on both
//! backends); Rust validates the request, binds the parameters and assembles rows and totals.
//! Joint cases are split over their partners by share with the largest-remainder method of
//! `domain::split`, done in SQL with window functions, so that the parts of every case add up
//! to the case exactly and a grand total is the same whichever way the report is grouped.
//!
//! Years are German calendar years: an instant counts for the year it has in Berlin
//! (`domain::calendar::german_year`).

mod sql;
pub mod table;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};

use crate::domain::calendar::{german_day_start_utc, german_year_start_utc};
use crate::persistence::{AnyConnection, Backend, Db};

/// Which date puts money into a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// Cases by the day their grant notice was signed (the Bewilligungsjahr); one count per
    /// grant notice; the case's current requested, granted, paid and reclaimed money.
    Notice,
    /// Cases by the day they were submitted; one count per application.
    Submission,
    /// Money by the year it moved: payouts by the fiscal year of their release (one count per
    /// payout) and reclaims by the day their revocation notice was signed. Requested and
    /// granted money has no payment date and is not reported on this basis.
    Payment,
}

impl Basis {
    pub fn parse(s: &str) -> Result<Basis, String> {
        match s {
            "notice" => Ok(Basis::Notice),
            "submission" => Ok(Basis::Submission),
            "payment" => Ok(Basis::Payment),
            other => Err(format!(
                "unknown basis {other:?}; expected notice, submission or payment"
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Notice => "notice",
            Basis::Submission => "submission",
            Basis::Payment => "payment",
        }
    }
}

/// A dimension the volumes report can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKey {
    Year,
    Municipality,
    Kreis,
    Programme,
    FundingObject,
    Joint,
}

impl GroupKey {
    pub const ALL: [GroupKey; 6] = [
        GroupKey::Year,
        GroupKey::Municipality,
        GroupKey::Kreis,
        GroupKey::Programme,
        GroupKey::FundingObject,
        GroupKey::Joint,
    ];
    pub fn parse(s: &str) -> Result<GroupKey, String> {
        GroupKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown grouping {s:?}; expected year, municipality, kreis, programme, \
                     funding_object or joint"
                )
            })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            GroupKey::Year => "year",
            GroupKey::Municipality => "municipality",
            GroupKey::Kreis => "kreis",
            GroupKey::Programme => "programme",
            GroupKey::FundingObject => "funding_object",
            GroupKey::Joint => "joint",
        }
    }
}

/// A validated volumes request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeQuery {
    pub basis: Basis,
    /// Distinct keys in the order asked for; empty for one grand-total row.
    pub group_by: Vec<GroupKey>,
    /// First and last year, inclusive.
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub programme: Option<String>,
    /// Only the shares of municipalities of this Kreis (a joint case counts with the part of
    /// its partners in the Kreis).
    pub kreis: Option<String>,
    /// The figures as known at the end of this day (German time): only what was recorded by
    /// then counts (`sql::facts_as_of`), and names are those the register had then
    /// (`names_as_of`). `None`: today's knowledge.
    pub as_of: Option<NaiveDate>,
}

impl VolumeQuery {
    /// The whole report on `basis`: one grand-total row, no filter, today's knowledge.
    pub fn all(basis: Basis) -> VolumeQuery {
        VolumeQuery {
            basis,
            group_by: vec![],
            from: None,
            to: None,
            programme: None,
            kreis: None,
            as_of: None,
        }
    }
}

/// One row of the volumes report: the keys it is grouped by (the others `None`) and its
/// measures in cents.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct VolumeRow {
    #[diesel(sql_type = Nullable<Integer>)]
    pub year: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub ags: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub municipality_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub kreis: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub kreis_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub programme: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub funding_object: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub joint: Option<bool>,
    /// Notices, applications or payouts (see `Basis`); a joint case is counted once, with
    /// its lead municipality.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub count: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub requested: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub granted: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub paid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub reclaimed: Option<i64>,
    /// Received back on reclaims (repayments).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub repaid: Option<i64>,
}

/// The measures of a volumes row or of the grand total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measures {
    pub count: i64,
    pub requested: i64,
    pub granted: i64,
    pub paid: i64,
    pub reclaimed: i64,
    pub repaid: i64,
}

impl VolumeRow {
    pub fn measures(&self) -> Measures {
        Measures {
            count: self.count.unwrap_or(0),
            requested: self.requested.unwrap_or(0),
            granted: self.granted.unwrap_or(0),
            paid: self.paid.unwrap_or(0),
            reclaimed: self.reclaimed.unwrap_or(0),
            repaid: self.repaid.unwrap_or(0),
        }
    }
}

impl Measures {
    /// Adds another row; `None` if a sum leaves the range of i64 cents.
    pub fn checked_add(self, o: Measures) -> Option<Measures> {
        Some(Measures {
            count: self.count.checked_add(o.count)?,
            requested: self.requested.checked_add(o.requested)?,
            granted: self.granted.checked_add(o.granted)?,
            paid: self.paid.checked_add(o.paid)?,
            reclaimed: self.reclaimed.checked_add(o.reclaimed)?,
            repaid: self.repaid.checked_add(o.repaid)?,
        })
    }
}

/// The sum of the rows (the grand total); `None` if a sum leaves the range of i64.
pub fn total(rows: &[VolumeRow]) -> Option<Measures> {
    rows.iter()
        .try_fold(Measures::default(), |t, r| t.checked_add(r.measures()))
}

pub(crate) use crate::persistence::cached::Param;

/// Runs `sql` with `params` bound in order.
fn load<T>(conn: &mut AnyConnection, sql: &str, params: Vec<Param>) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Db> + 'static,
{
    let mut q = diesel::sql_query(sql).into_boxed::<Db>();
    for p in params {
        q = match p {
            Param::Int(v) => q.bind::<Integer, _>(v),
            Param::BigInt(v) => q.bind::<BigInt, _>(v),
            Param::Bool(v) => q.bind::<Bool, _>(v),
            Param::Text(v) => q.bind::<Text, _>(v),
            Param::Ts(v) => q.bind::<Timestamp, _>(v),
        };
    }
    q.load(conn)
}

/// The first instant after the end of `day` in Germany (UTC): what was recorded before it was
/// known at the end of that day.
pub fn end_of_day(day: NaiveDate) -> NaiveDateTime {
    day.succ_opt()
        .map(german_day_start_utc)
        .unwrap_or(NaiveDateTime::MAX)
}

/// The volumes report: one row per combination of the grouping keys, ordered by them.
/// Without `as_of` the rows come from the maintained totals (`persistence::totals`, kept by
/// every write in its transaction); with one, from the facts recorded by then.
pub fn volumes(conn: &mut AnyConnection, q: &VolumeQuery) -> QueryResult<Vec<VolumeRow>> {
    let source = match q.as_of {
        None => sql::Source::Totals,
        Some(_) => sql::Source::Facts,
    };
    volumes_from(conn, q, source)
}

/// The volumes report computed from the recorded facts whatever `as_of` says: what the
/// maintained totals must always equal (the property test, `reports rebuild --check`).
pub fn volumes_from_facts(
    conn: &mut AnyConnection,
    q: &VolumeQuery,
) -> QueryResult<Vec<VolumeRow>> {
    volumes_from(conn, q, sql::Source::Facts)
}

fn volumes_from(
    conn: &mut AnyConnection,
    q: &VolumeQuery,
    source: sql::Source,
) -> QueryResult<Vec<VolumeRow>> {
    let (text, params) = sql::volumes(conn.backend(), q, source);
    let mut rows: Vec<VolumeRow> = load(conn, &text, params)?;
    if let Some(day) = q.as_of {
        let names = names_as_of(conn, end_of_day(day))?;
        for r in &mut rows {
            if let Some(name) = r.ags.as_ref().and_then(|a| names.get(a)) {
                r.municipality_name = Some(name.clone());
            }
            if let Some(name) = r.kreis.as_ref().and_then(|k| names.get(&format!("{k}000"))) {
                r.kreis_name = Some(name.clone());
            }
        }
    }
    // Without grouping keys an aggregate over nothing still gives one row of NULLs.
    Ok(rows
        .into_iter()
        .filter(|r| !(r.count.is_none() && r.requested.is_none() && r.paid.is_none()))
        .collect())
}

/// The register's names as they were before `end`, from the audit log (every import writes an
/// entry per municipality it inserts or renames, `persistence::register`): per key the last
/// name recorded before `end`, or, for a key the register did not yet have then, the first
/// name it ever had (a report's rows for such a key come from history entered before the
/// register was loaded; the first name keeps that report the same after later renames).
pub fn names_as_of(
    conn: &mut AnyConnection,
    end: NaiveDateTime,
) -> QueryResult<std::collections::HashMap<String, String>> {
    use crate::persistence::schema::audit_events as e;
    let entries: Vec<(String, NaiveDateTime, String)> = e::table
        .filter(e::record_type.eq(crate::persistence::ledger::MUNICIPALITY))
        .order(e::seq)
        .select((e::record_key, e::occurred_at, e::state))
        .load(conn)?;
    let mut names = std::collections::HashMap::new();
    for (ags, at, state) in entries {
        let patch: serde_json::Value = serde_json::from_str(&state).unwrap_or_default();
        let Some(name) = patch["municipalities"]["name"].as_str() else {
            continue;
        };
        if at < end || !names.contains_key(&ags) {
            names.insert(ags, name.to_owned());
        }
    }
    Ok(names)
}

/// The SQL text of a volumes query from the facts and its parameters, for the benchmark and
/// for plans.
pub fn volumes_sql(backend: Backend, q: &VolumeQuery) -> (String, usize) {
    let (text, params) = sql::volumes(backend, q, sql::Source::Facts);
    (text, params.len())
}

/// What a case contributes to the maintained report totals under one basis, year, partner
/// municipality and the case's keys (`sql::contributions`).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Contribution {
    #[diesel(sql_type = Text)]
    pub basis: String,
    #[diesel(sql_type = Text)]
    pub case_id: String,
    #[diesel(sql_type = Integer)]
    pub yr: i32,
    #[diesel(sql_type = Text)]
    pub ags: String,
    #[diesel(sql_type = Text)]
    pub kreis: String,
    #[diesel(sql_type = Text)]
    pub prog: String,
    /// `""` for a case without a funding object.
    #[diesel(sql_type = Text)]
    pub fobj: String,
    #[diesel(sql_type = Bool)]
    pub joint: bool,
    /// The member-level rows summed (a row of the totals is kept while some fact counts in it).
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    #[diesel(sql_type = BigInt)]
    pub cnt: i64,
    #[diesel(sql_type = BigInt)]
    pub req: i64,
    #[diesel(sql_type = BigInt)]
    pub gra: i64,
    #[diesel(sql_type = BigInt)]
    pub pai: i64,
    #[diesel(sql_type = BigInt)]
    pub rec: i64,
    #[diesel(sql_type = BigInt)]
    pub rep: i64,
}

/// What case `case` contributes to the totals now, from its recorded facts (`None`: every
/// case).
pub fn contributions(
    conn: &mut AnyConnection,
    case: Option<&str>,
) -> QueryResult<Vec<Contribution>> {
    let (text, params) = sql::contributions(conn.backend(), case);
    match case {
        // Run on every write that touches a case: its prepared statement is kept.
        Some(_) => crate::persistence::cached::Cached::new(&text, &params)?.load(conn),
        None => load(conn, &text, params),
    }
}

/// The SQL text of every case's contributions and its parameters (none): for a rebuild as one
/// `INSERT … SELECT`.
pub fn contributions_sql(backend: Backend) -> String {
    sql::contributions(backend, None).0
}

/// Open applications on a day by their status then.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PipelineRow {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub requested: Option<i64>,
}

/// The statuses in which an application is open: submitted and not yet decided or withdrawn.
pub const OPEN_STATUSES: [&str; 3] = ["submitted", "in_review", "info_requested"];

/// What was on the table at the end of `as_of` (German time): every case's status is the one
/// its history had reached by then, not today's.
pub fn pipeline(
    conn: &mut AnyConnection,
    as_of: NaiveDate,
    programme: Option<&str>,
) -> QueryResult<Vec<PipelineRow>> {
    let (text, params) = sql::pipeline(end_of_day(as_of), programme);
    load(conn, &text, params)
}

/// Budget utilisation of one programme-year.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct BudgetUse {
    #[diesel(sql_type = Text)]
    pub programme: String,
    #[diesel(sql_type = Integer)]
    pub fiscal_year: i32,
    /// `None`: no budget set for the year, but money was paid in it.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub amount: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub committed: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub paid: Option<i64>,
}

/// Budget utilisation per programme and fiscal year; with `as_of`, as known at the end of that
/// day (`budget_as_of`).
pub fn budget(
    conn: &mut AnyConnection,
    year: Option<i32>,
    as_of: Option<NaiveDate>,
) -> QueryResult<Vec<BudgetUse>> {
    match as_of {
        None => {
            let (text, params) = sql::budget(year);
            load(conn, &text, params)
        }
        Some(day) => budget_as_of(conn, year, end_of_day(day)),
    }
}

/// A programme-year and a sum in cents.
#[derive(QueryableByName)]
struct YearSum {
    #[diesel(sql_type = Text)]
    programme: String,
    #[diesel(sql_type = Integer)]
    fiscal_year: i32,
    #[diesel(sql_type = BigInt)]
    cents: i64,
}

/// The budget report as known before `end`: each budget's amount as last set before `end`
/// (its audit entries: a budget exists only through `budgets::put`, which logs every amount),
/// committed as the allocations of each case's notice in force then (`sql::committed_as_of`:
/// what the signings' budget changes add up to), paid as the payouts released before `end`.
fn budget_as_of(
    conn: &mut AnyConnection,
    year: Option<i32>,
    end: NaiveDateTime,
) -> QueryResult<Vec<BudgetUse>> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<(i32, String), BudgetUse> = BTreeMap::new();
    let amounts = budget_amounts_as_of(conn, end)?;
    let (text, params) = sql::committed_as_of(end);
    let committed: Vec<YearSum> = load(conn, &text, params)?;
    let (text, params) = sql::paid_as_of(end);
    let paid: Vec<YearSum> = load(conn, &text, params)?;
    let wanted = |y: i32| year.is_none_or(|w| w == y);
    for ((programme, fy), cents) in amounts {
        if wanted(fy) {
            entry(&mut rows, &programme, fy).amount = Some(cents);
        }
    }
    for c in committed.iter().filter(|c| wanted(c.fiscal_year)) {
        if let Some(r) = rows.get_mut(&(c.fiscal_year, c.programme.clone())) {
            r.committed = Some(c.cents);
        }
    }
    for r in rows.values_mut().filter(|r| r.amount.is_some()) {
        r.committed.get_or_insert(0);
    }
    for p in paid.iter().filter(|p| wanted(p.fiscal_year)) {
        entry(&mut rows, &p.programme, p.fiscal_year).paid = Some(p.cents);
    }
    Ok(rows.into_values().collect())
}

fn entry<'a>(
    rows: &'a mut std::collections::BTreeMap<(i32, String), BudgetUse>,
    programme: &str,
    fiscal_year: i32,
) -> &'a mut BudgetUse {
    rows.entry((fiscal_year, programme.to_owned()))
        .or_insert_with(|| BudgetUse {
            programme: programme.to_owned(),
            fiscal_year,
            amount: None,
            committed: None,
            paid: None,
        })
}

/// Each budget's amount as last set before `end`, from its audit entries (the record key is
/// `<programme>/<fiscal year>`, the state patch names `amount_cents` whenever it changes).
fn budget_amounts_as_of(
    conn: &mut AnyConnection,
    end: NaiveDateTime,
) -> QueryResult<std::collections::BTreeMap<(String, i32), i64>> {
    use crate::persistence::schema::audit_events as e;
    let entries: Vec<(String, String)> = e::table
        .filter(e::record_type.eq(crate::persistence::ledger::BUDGET))
        .filter(e::occurred_at.lt(end))
        .order(e::seq)
        .select((e::record_key, e::state))
        .load(conn)?;
    let mut amounts = std::collections::BTreeMap::new();
    for (key, state) in entries {
        let patch: serde_json::Value = serde_json::from_str(&state).map_err(corrupt)?;
        let Some(amount) = patch["budgets"]["amount_cents"].as_str() else {
            continue;
        };
        let (programme, year) = key
            .rsplit_once('/')
            .and_then(|(p, y)| Some((p, y.parse::<i32>().ok()?)))
            .ok_or_else(|| corrupt(format!("a budget entry with the key {key:?}")))?;
        let cents = amount
            .parse::<crate::domain::Money>()
            .map_err(corrupt)?
            .cents();
        amounts.insert((programme.to_owned(), year), cents);
    }
    Ok(amounts)
}

fn corrupt(e: impl std::fmt::Display) -> diesel::result::Error {
    crate::persistence::applications::corrupt(format!("audit log: {e}"))
}

/// Processing times (submission to decision, without the time waiting for the applicant) of
/// the cases decided in a year, per programme; `programme` `None` is the row over all.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ProcessingRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub programme: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub decided: i64,
    #[diesel(sql_type = BigInt)]
    pub granted: i64,
    #[diesel(sql_type = BigInt)]
    pub rejected: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub median_seconds: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub p90_seconds: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub max_seconds: Option<i64>,
}

/// Cases whose grant or rejection notice was signed in `year`; median and 90th percentile by
/// the nearest-rank method (the value at rank ⌈p·n⌉ of the sorted times: a real case's time,
/// never an interpolation).
pub fn processing_times(conn: &mut AnyConnection, year: i32) -> QueryResult<Vec<ProcessingRow>> {
    let (Some(lo), Some(hi)) = (german_year_start_utc(year), german_year_start_utc(year + 1))
    else {
        return Ok(Vec::new());
    };
    let (text, params) = sql::processing(lo, hi);
    load(conn, &text, params)
}

/// A signed grant as open data: what was granted to which municipality for what, without
/// personal data (no names of people, no contact, no case id).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct OpenGrant {
    #[diesel(sql_type = Nullable<Text>)]
    pub notice_number: Option<String>,
    #[diesel(sql_type = Timestamp)]
    pub signed_at: NaiveDateTime,
    /// The lead municipality (a joint case's other partners are in `partners`).
    #[diesel(sql_type = Text)]
    pub ags: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub municipality_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub kreis: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub kreis_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub programme: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub funding_object: Option<String>,
    #[diesel(sql_type = Bool)]
    pub joint: bool,
    /// The other partners' keys, comma-separated, in their order (empty for a single case).
    #[diesel(sql_type = Nullable<Text>)]
    pub partners: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub purpose: Option<String>,
    /// The grant as the notice set it, in cents.
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
}

/// The grant notices signed in the German calendar year `year`, in the order of signing.
pub fn open_grants(conn: &mut AnyConnection, year: i32) -> QueryResult<Vec<OpenGrant>> {
    let (Some(lo), Some(hi)) = (german_year_start_utc(year), german_year_start_utc(year + 1))
    else {
        return Ok(Vec::new());
    };
    let (text, params) = sql::open_grants(conn.backend(), lo, hi);
    load(conn, &text, params)
}

#[cfg(test)]
mod tests;
