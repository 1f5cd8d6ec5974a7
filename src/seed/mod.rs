//! `foerderakte seed-demo`: fills an empty database with a grant history that reads like the
//! real one, the same for the same seed.
//!
//! - **Demo mode** (no `--cases`): 2019-01 to 2026-11-20 over real Thuringian
//!   municipalities, with the figures of the programme's reports for 2019 and 2020 (see
//!   `demo.rs`) and ordinary years after them.
//! - **Load mode** (`--cases N`): the same generator for N ordinary cases spread over
//!   2019–2026, written in chunks while the next chunk is generated.
//!
//! Each case is played through the write path's rules in memory (`sim.rs`): the same rows,
//! versions, clock, budget commitments and hash-chained audit entries as cases made through
//! the API. The rows are written with multi-row `INSERT` statements (`sql.rs`). Every
//! instant lies on a German working day between 07:00 and 16:00 UTC (`worktime.rs`).
//!
//! The history's audit entries are written in time order within a chunk (demo mode: one
//! chunk), so the log's ids follow time there; across the chunks of a load they follow the
//! chunks.

mod demo;
mod plan;
mod play;
mod replay;
mod rng;
mod sim;
mod sql;
mod text;
mod worktime;

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{Datelike, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use self::plan::{Spec, World, date};
use self::rng::Rng;
use self::sim::{Env, Op, Sim, Step};
use self::sql::Table;
use self::worktime::{DAY, W};
use crate::domain::application::case_number;
use crate::domain::{Money, Status};
use crate::persistence::applications::Case;
use crate::persistence::audit::Signer;
use crate::persistence::budgets::BudgetRow;
use crate::persistence::notices::Notice;
use crate::persistence::payments::PaymentRow;
use crate::persistence::schema::{
    applications as ap, budgets as b, case_counters as cc, municipalities as mu,
};
use crate::persistence::{self, AnyConnection, BoxError, applications, notices, write_tx};

/// The seed of `seed-demo` without `--seed`.
pub const DEFAULT_SEED: u64 = 2019;

/// The first and the last day of the history.
pub const HISTORY_FROM: (i32, u32, u32) = (2019, 1, 2);
pub const HISTORY_TO: (i32, u32, u32) = (2026, 11, 20);

/// Cases per transaction in load mode.
const CHUNK: u64 = 10_000;

/// Cases opened per year in load mode, relative.
const LOAD_YEAR_WEIGHTS: [(i32, u64); 8] = [
    (2019, 5),
    (2020, 9),
    (2021, 11),
    (2022, 13),
    (2023, 13),
    (2024, 13),
    (2025, 14),
    (2026, 12),
];

#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: the demo history; `Some(n)`: load mode with n cases.
    pub cases: Option<u64>,
    pub seed: u64,
    /// The demo history with batched inserts of what the steps computed in memory, as load
    /// mode writes, instead of through the API's transactions: the same rows (a test
    /// compares them), faster.
    pub bulk: bool,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub applications: u64,
    pub members: u64,
    pub cost_lines: u64,
    pub notices: u64,
    pub notice_lines: u64,
    pub allocations: u64,
    pub payment_requests: u64,
    pub budgets: u64,
    pub audit_events: u64,
    /// Cases per status at the end of the history.
    pub statuses: BTreeMap<String, u64>,
    /// Signed grant notices per (German) year of signing: how many, and their grants.
    pub grants_by_year: BTreeMap<i32, (u64, i64)>,
    /// Applications open at the end of 2019, and what they request.
    pub open_end_2019: (u64, i64),
    /// How long the whole command took, in milliseconds.
    pub millis: u64,
}

impl Report {
    /// The report as printed by the command line.
    pub fn text(&self) -> String {
        let mut out = format!(
            "wrote {} applications ({} members, {} cost lines), {} notices ({} lines, {} \
             allocations), {} payment requests, {} budgets and {} audit events in {:.1} s\n",
            self.applications,
            self.members,
            self.cost_lines,
            self.notices,
            self.notice_lines,
            self.allocations,
            self.payment_requests,
            self.budgets,
            self.audit_events,
            self.millis as f64 / 1000.0
        );
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        out.push_str(&format!("cases by status: {}\n", statuses.join(", ")));
        let years: Vec<String> = self
            .grants_by_year
            .iter()
            .map(|(y, (n, c))| format!("{y}: {n} ({} €)", euros(*c)))
            .collect();
        out.push_str(&format!("grant notices signed: {}\n", years.join(", ")));
        out.push_str(&format!(
            "open at the end of 2019: {} applications requesting {} €\n",
            self.open_end_2019.0,
            euros(self.open_end_2019.1)
        ));
        out
    }
}

fn euros(cents: i64) -> String {
    crate::domain::money::euros_text(cents)
}

/// Seeds the database `conn` names: prepares it (migrations, register), refuses one that
/// holds cases or budgets already, writes, and reports. `progress` receives a line per
/// chunk in load mode.
pub fn run(
    conn: &mut AnyConnection,
    options: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, BoxError> {
    let started = Instant::now();
    persistence::prepare_database(conn)?;
    refuse_unless_empty(conn)?;
    if let AnyConnection::Sqlite(c) = conn {
        // A larger page cache for the load (this connection only), and no bound on SQLite's
        // heap in this process (the server's bound, `persistence::SQLITE_SOFT_HEAP_LIMIT`,
        // would hold the load's cache to a few MiB).
        c.batch_execute("PRAGMA cache_size = -262144; PRAGMA soft_heap_limit = 0")?;
    }
    let world = load_world(conn)?;
    let mut report = match options.cases {
        None if options.bulk => demo_bulk(conn, &world, options.seed)?,
        None => demo_mode(conn, &world, options.seed)?,
        Some(n) => load_mode(conn, &world, options.seed, n, progress)?,
    };
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute("PRAGMA analysis_limit = 1000; ANALYZE;")?,
        AnyConnection::Pg(c) => c.batch_execute("ANALYZE")?,
    }
    report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

fn refuse_unless_empty(conn: &mut AnyConnection) -> Result<(), BoxError> {
    let cases: i64 = ap::table.count().get_result(conn)?;
    if cases > 0 {
        return Err(format!(
            "the database already holds {cases} applications; seed-demo fills an empty \
             database only (a new SQLite file or an empty PostgreSQL database)"
        )
        .into());
    }
    let budgets: i64 = b::table.count().get_result(conn)?;
    let counters: i64 = cc::table.count().get_result(conn)?;
    if budgets > 0 || counters > 0 {
        return Err(format!(
            "the database holds no applications but {budgets} budgets and {counters} case \
             counters; seed-demo fills an empty database only"
        )
        .into());
    }
    Ok(())
}

fn load_world(conn: &mut AnyConnection) -> Result<World, BoxError> {
    type Row = (String, String, String, Option<i64>, Option<String>);
    let rows: Vec<Row> = mu::table
        .filter(mu::kind.ne("landkreis"))
        .filter(mu::valid_to.is_null())
        .order(mu::ags.asc())
        .select((mu::ags, mu::name, mu::kind, mu::population, mu::postcode))
        .load(conn)?;
    if rows.len() < 50 {
        return Err("the municipality register is (nearly) empty".into());
    }
    let munis = rows
        .into_iter()
        .map(|(ags, name, kind, population, postcode)| plan::Muni {
            ags,
            name,
            kind,
            population: population.unwrap_or(1_000),
            postcode,
        })
        .collect();
    let mut terms = Vec::new();
    for code in [plan::EGOV_2018, plan::EGOV_2024, plan::KOOP, plan::STUDIE] {
        terms.push(
            applications::programme_terms(conn, code)?
                .ok_or_else(|| format!("the programme {code} is missing"))?,
        );
    }
    let historical = terms
        .iter()
        .cloned()
        .map(|mut t| {
            for o in &mut t.funding_objects {
                o.1 = true;
            }
            t
        })
        .collect();
    let env = Env {
        terms,
        historical,
        current_from: date(2026, 1, 1),
        delivery: notices::delivery_rules(conn)?,
    };
    let (y, m, d) = HISTORY_FROM;
    let (ty, tm, td) = HISTORY_TO;
    Ok(World::new(env, munis, date(y, m, d), date(ty, tm, td)))
}

/// What signings committed of a programme-year's budget.
#[derive(Debug, Clone)]
struct BudgetUse {
    committed: i64,
    /// Every increase: at least the highest commitment at any moment.
    raised: i64,
    /// How many signings changed it (each counts the budget's version up).
    changes: i32,
    first: NaiveDateTime,
}

#[derive(Debug, Default)]
struct Stats {
    statuses: BTreeMap<String, u64>,
    grants_by_year: BTreeMap<i32, (u64, i64)>,
    open_end_2019: (u64, i64),
}

/// The instant the year 2019 ends in Germany (UTC).
fn end_of_2019() -> NaiveDateTime {
    date(2019, 12, 31).and_hms_opt(23, 0, 0).unwrap_or_default()
}

impl Stats {
    fn add(&mut self, sim: &Sim<'_>) {
        *self
            .statuses
            .entry(sim.case.row.status.as_str().to_owned())
            .or_default() += 1;
        for n in &sim.notices {
            if let (Some(at), "grant") = (n.row.signed_at, n.row.kind.as_str()) {
                // 07:00–16:00 UTC: the UTC year is the German year.
                let e = self.grants_by_year.entry(at.year()).or_default();
                e.0 += 1;
                e.1 += n.row.granted_cents.map_or(0, Money::cents);
            }
        }
        let limit = end_of_2019();
        let last = sim
            .audit
            .iter()
            .filter(|e| e.entry.record_type == applications::RECORD_TYPE)
            .filter(|e| e.entry.to_status.is_some() && e.entry.occurred_at < limit)
            .max_by_key(|e| e.seq);
        if let Some(e) = last
            && let Some(Ok(status)) = e.entry.to_status.as_deref().map(str::parse::<Status>)
            && status.is_open()
        {
            self.open_end_2019.0 += 1;
            self.open_end_2019.1 += sim.case.row.requested_cents.cents();
        }
    }
}

/// Numbers the cases, plays them, and keeps what spans cases: case counters, budgets.
struct Generator<'w> {
    world: &'w World,
    /// Load mode: time-ordered ids (`sim::Style::load`).
    load: bool,
    counters: BTreeMap<(&'static str, i32), i32>,
    budgets: BTreeMap<(String, i32), BudgetUse>,
    stats: Stats,
}

impl<'w> Generator<'w> {
    fn new(world: &'w World, load: bool) -> Generator<'w> {
        Generator {
            world,
            load,
            counters: BTreeMap::new(),
            budgets: BTreeMap::new(),
            stats: Stats::default(),
        }
    }

    /// The next case, in the order of opening.
    fn case(&mut self, spec: &Spec, rng: &mut Rng) -> Result<Sim<'w>, String> {
        let year = self.world.wt.date(spec.created).year();
        let prefix = spec.kind.prefix();
        let n = self.counters.entry((prefix, year)).or_insert(0);
        *n += 1;
        let number = case_number(prefix, year, *n);
        let sim = play::run_case(self.world, spec, rng, number, self.load)?;
        for c in &sim.commits {
            let u = self
                .budgets
                .entry((c.programme.clone(), c.fiscal_year))
                .or_insert_with(|| BudgetUse {
                    committed: 0,
                    raised: 0,
                    changes: 0,
                    first: c.at,
                });
            u.committed += c.delta;
            u.changes += 1;
            u.raised += c.delta.max(0);
            u.first = u.first.min(c.at);
        }
        self.stats.add(&sim);
        Ok(sim)
    }

    /// The budgets: set by an administrator before the first signing that commits them, to
    /// what was committed plus a margin, in whole 100,000 €.
    fn budget_plans(&self) -> Result<Vec<BudgetPlan>, String> {
        let wt = &self.world.wt;
        let mut out = Vec::new();
        for ((programme, year), u) in &self.budgets {
            if u.committed < 0 {
                return Err(format!("{programme} {year}: negative commitment"));
            }
            let step = 10_000_000;
            let amount = ((u.raised * 105 / 100).max(u.committed) + step - 1) / step * step;
            let created: W = wt
                .start_of(date(*year, 1, 2))
                .min(wt.start_of(u.first.date() - chrono::Days::new(10)))
                + 2 * 3600 * 1_000_000;
            let created_at = wt.at(created);
            if created_at >= u.first {
                return Err(format!(
                    "{programme} {year}: no room before the first commitment"
                ));
            }
            out.push(BudgetPlan {
                programme: programme.clone(),
                year: *year,
                amount: Money::from_cents(amount).map_err(|e| e.to_string())?,
                committed: u.committed,
                version: 1 + u.changes,
                created_at,
            });
        }
        Ok(out)
    }

    /// The budgets and case counters as rows, for a bulk load.
    fn finish(&mut self, batch: &mut Batch) -> Result<(), String> {
        let admin = budget_admin();
        for p in self.budget_plans()? {
            // What `budgets::put` stores; signings change only `committed_cents` and the
            // version.
            let row = BudgetRow {
                programme_code: p.programme.clone(),
                fiscal_year: p.year,
                amount_cents: p.amount,
                committed_cents: Money::from_cents(p.committed).map_err(|e| e.to_string())?,
                updated_by: admin.subject.clone(),
                updated_at: p.created_at,
                version: p.version,
            };
            batch
                .budgets
                .row()
                .text(&row.programme_code)
                .int(i64::from(row.fiscal_year))
                .money(row.amount_cents)
                .money(row.committed_cents)
                .text(&row.updated_by)
                .ts(row.updated_at)
                .int(i64::from(row.version))
                .end();
            let entry = persistence::budgets::put_entry(
                None,
                &row,
                Some(&p.reason()),
                &admin.writer(p.created_at, None),
            );
            batch.audit.push(sim::Chains::default().append(&entry));
        }
        for ((prefix, year), n) in &self.counters {
            batch
                .counters
                .row()
                .text(prefix)
                .int(i64::from(*year))
                .int(i64::from(*n))
                .end();
        }
        Ok(())
    }
}

fn budget_admin() -> sim::Actor {
    sim::Actor::new(text::BUDGET_ADMIN, crate::domain::Role::Admin)
}

/// A budget as the history sets it.
#[derive(Debug, Clone)]
struct BudgetPlan {
    programme: String,
    year: i32,
    amount: Money,
    committed: i64,
    /// Created at 1, then one more per signing that committed it.
    version: i32,
    created_at: NaiveDateTime,
}

impl BudgetPlan {
    fn reason(&self) -> String {
        format!("{} {}", text::BUDGET_REASON, self.year)
    }

    /// The administrator's write that sets it.
    fn step(&self) -> Step {
        Step {
            at: self.created_at,
            actor: budget_admin(),
            record: persistence::budgets::key(&self.programme, self.year),
            version: 0,
            new_id: None,
            op: Op::Budget {
                programme: self.programme.clone(),
                year: self.year,
                amount: self.amount,
                reason: self.reason(),
            },
        }
    }
}

// The columns of each table a bulk load writes, in the order `Batch` writes them.
const APPLICATIONS_COLUMNS: &[&str] = &[
    "id",
    "case_number",
    "case_year",
    "programme_code",
    "funding_object",
    "lead_ags",
    "joint",
    "title",
    "description",
    "project_start",
    "project_end",
    "total_cost_cents",
    "eligible_cents",
    "own_contribution_cents",
    "third_party_cents",
    "requested_cents",
    "granted_cents",
    "paid_cents",
    "status",
    "version",
    "info_due",
    "early_start_at",
    "early_start_by",
    "clock_seconds",
    "clock_since",
    "submitted_at",
    "created_by",
    "created_at",
    "updated_at",
    "reclaimed_cents",
    "contact",
    "postal_address",
];

const APPLICATION_MEMBERS_COLUMNS: &[&str] = &[
    "application_id",
    "position",
    "ags",
    "kreis",
    "share_bp",
    "is_lead",
];

const COST_LINES_COLUMNS: &[&str] = &[
    "application_id",
    "line_no",
    "category",
    "description",
    "amount_cents",
    "eligible",
    "actual_cents",
];

const NOTICES_COLUMNS: &[&str] = &[
    "id",
    "application_id",
    "kind",
    "status",
    "number",
    "seq",
    "case_version",
    "refers_to",
    "financing_type",
    "rate_bp",
    "max_cents",
    "fixed_cents",
    "eligible_cents",
    "computed_cents",
    "granted_cents",
    "paid_cents",
    "revoked_cents",
    "reclaim_cents",
    "reclaim_due",
    "interest_from",
    "grant_period_start",
    "grant_period_end",
    "proof_due",
    "purpose",
    "binding_years",
    "reason",
    "posted_on",
    "delivery_days",
    "prepared_by",
    "prepared_at",
    "signed_by",
    "signed_at",
];

const NOTICE_LINES_COLUMNS: &[&str] = &[
    "notice_id",
    "line_no",
    "applied_cents",
    "approved_cents",
    "actual_cents",
    "eligible",
    "reason",
];

const NOTICE_ALLOCATIONS_COLUMNS: &[&str] = &["notice_id", "fiscal_year", "amount_cents"];

const PAYMENT_REQUESTS_COLUMNS: &[&str] = &[
    "id",
    "application_id",
    "amount_cents",
    "reason",
    "status",
    "requested_by",
    "requested_at",
    "prepared_by",
    "prepared_at",
    "paid_by",
    "paid_at",
    "paid_year",
    "rejected_by",
    "rejected_at",
    "rejection_reason",
];

const BUDGETS_COLUMNS: &[&str] = &[
    "programme_code",
    "fiscal_year",
    "amount_cents",
    "committed_cents",
    "updated_by",
    "updated_at",
    "version",
];

const CASE_COUNTERS_COLUMNS: &[&str] = &["prefix", "year", "last_number"];

const CASE_NUMBER_ALLOCATIONS_COLUMNS: &[&str] = &["case_number", "allocated_at", "allocated_by"];

const AUDIT_EVENTS_COLUMNS: &[&str] = &[
    "id",
    "record_type",
    "record_key",
    "seq",
    "occurred_at",
    "actor",
    "role",
    "action",
    "from_status",
    "to_status",
    "reason",
    "changes",
    "prev_mac",
    "mac",
    "state",
    "state_hash",
    "key_id",
];

/// Rows of some cases, to be written together.
struct Batch {
    apps: Table,
    members: Table,
    lines: Table,
    notices: Table,
    notice_lines: Table,
    allocations: Table,
    payments: Table,
    budgets: Table,
    counters: Table,
    numbers: Table,
    audit: Vec<sim::Logged>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            apps: Table::new("applications", APPLICATIONS_COLUMNS),
            members: Table::new("application_members", APPLICATION_MEMBERS_COLUMNS),
            lines: Table::new("cost_lines", COST_LINES_COLUMNS),
            notices: Table::new("notices", NOTICES_COLUMNS),
            notice_lines: Table::new("notice_lines", NOTICE_LINES_COLUMNS),
            allocations: Table::new("notice_allocations", NOTICE_ALLOCATIONS_COLUMNS),
            payments: Table::new("payment_requests", PAYMENT_REQUESTS_COLUMNS),
            budgets: Table::new("budgets", BUDGETS_COLUMNS),
            counters: Table::new("case_counters", CASE_COUNTERS_COLUMNS),
            numbers: Table::new("case_number_allocations", CASE_NUMBER_ALLOCATIONS_COLUMNS),
            audit: Vec::new(),
        }
    }

    fn add(&mut self, sim: Sim<'_>) {
        self.add_case(&sim.case);
        for n in &sim.notices {
            self.add_notice(n);
        }
        for p in &sim.payments {
            self.add_payment(p);
        }
        self.audit.extend(sim.audit);
    }

    fn add_case(&mut self, case: &Case) {
        let r = &case.row;
        self.apps
            .row()
            .text(&r.id)
            .text(&r.case_number)
            .int(i64::from(r.case_year))
            .text(&r.programme_code)
            .text(&r.funding_object)
            .text(&r.lead_ags)
            .boolean(r.joint)
            .text(&r.title)
            .text(&r.description)
            .opt_date(r.project_start)
            .opt_date(r.project_end)
            .money(r.total_cost_cents)
            .money(r.eligible_cents)
            .money(r.own_contribution_cents)
            .money(r.third_party_cents)
            .money(r.requested_cents)
            .opt_money(r.granted_cents)
            .money(r.paid_cents)
            .text(r.status.as_str())
            .int(i64::from(r.version))
            .opt_date(r.info_due)
            .opt_ts(r.early_start_at)
            .opt_text(r.early_start_by.as_deref())
            .int(r.clock_seconds)
            .opt_ts(r.clock_since)
            .opt_ts(r.submitted_at)
            .text(&r.created_by)
            .ts(r.created_at)
            .ts(r.updated_at)
            .money(r.reclaimed_cents)
            .opt_text(r.contact.as_deref())
            .opt_text(r.postal_address.as_deref())
            .end();
        // The allocation of its number, as `case_numbers::allocate` records it when the
        // create takes it.
        self.numbers
            .row()
            .text(&r.case_number)
            .ts(r.created_at)
            .text(&r.created_by)
            .end();
        for m in &case.members {
            self.members
                .row()
                .text(&m.application_id)
                .int(i64::from(m.position))
                .text(&m.ags)
                .text(&m.kreis)
                .int(i64::from(m.share_bp))
                .boolean(m.is_lead)
                .end();
        }
        for l in &case.lines {
            self.lines
                .row()
                .text(&l.application_id)
                .int(i64::from(l.line_no))
                .text(l.category.as_str())
                .text(&l.description)
                .money(l.amount_cents)
                .boolean(l.eligible)
                .opt_money(l.actual_cents)
                .end();
        }
    }

    fn add_notice(&mut self, n: &Notice) {
        let r = &n.row;
        self.notices
            .row()
            .text(&r.id)
            .text(&r.application_id)
            .text(r.kind.as_str())
            .text(r.status.as_str())
            .opt_text(r.number.as_deref())
            .opt_int(r.seq.map(i64::from))
            .int(i64::from(r.case_version))
            .opt_text(r.refers_to.as_deref())
            .opt_text(r.financing_type.map(|t| t.as_str()))
            .opt_int(r.rate_bp.map(i64::from))
            .opt_money(r.max_cents)
            .opt_money(r.fixed_cents)
            .opt_money(r.eligible_cents)
            .opt_money(r.computed_cents)
            .opt_money(r.granted_cents)
            .money(r.paid_cents)
            .opt_money(r.revoked_cents)
            .opt_money(r.reclaim_cents)
            .opt_date(r.reclaim_due)
            .opt_date(r.interest_from)
            .opt_date(r.grant_period_start)
            .opt_date(r.grant_period_end)
            .opt_date(r.proof_due)
            .opt_text(r.purpose.as_deref())
            .opt_int(r.binding_years.map(i64::from))
            .opt_text(r.reason.as_deref())
            .date(r.posted_on)
            .int(i64::from(r.delivery_days))
            .text(&r.prepared_by)
            .ts(r.prepared_at)
            .opt_text(r.signed_by.as_deref())
            .opt_ts(r.signed_at)
            .end();
        for l in &n.lines {
            self.notice_lines
                .row()
                .text(&l.notice_id)
                .int(i64::from(l.line_no))
                .money(l.applied_cents)
                .money(l.approved_cents)
                .opt_money(l.actual_cents)
                .boolean(l.eligible)
                .opt_text(l.reason.as_deref())
                .end();
        }
        for a in &n.allocations {
            self.allocations
                .row()
                .text(&a.notice_id)
                .int(i64::from(a.fiscal_year))
                .money(a.amount_cents)
                .end();
        }
    }

    fn add_payment(&mut self, p: &PaymentRow) {
        let r = p;
        self.payments
            .row()
            .text(&r.id)
            .text(&r.application_id)
            .money(r.amount_cents)
            .opt_text(r.reason.as_deref())
            .text(r.status.as_str())
            .text(&r.requested_by)
            .ts(r.requested_at)
            .opt_text(r.prepared_by.as_deref())
            .opt_ts(r.prepared_at)
            .opt_text(r.paid_by.as_deref())
            .opt_ts(r.paid_at)
            .opt_int(r.paid_year.map(i64::from))
            .opt_text(r.rejected_by.as_deref())
            .opt_ts(r.rejected_at)
            .opt_text(r.rejection_reason.as_deref())
            .end();
    }

    /// The statements, parents before children; the audit entries in time order (a stable
    /// sort: entries of one instant keep the order in which the write path appends them).
    fn statements(mut self, log: &mut BulkLog, counts: &mut Report) -> Result<Vec<String>, String> {
        let mut order: Vec<usize> = (0..self.audit.len()).collect();
        order.sort_by_key(|i| self.audit[*i].entry.occurred_at);
        let mut columns = AUDIT_EVENTS_COLUMNS.to_vec();
        if log.sqlite {
            columns.push("txid");
        }
        let mut audit = Table::new("audit_events", &columns);
        for l in order.iter().map(|i| &self.audit[*i]) {
            log.last += 1;
            let e = log
                .signer
                .sign(&l.entry, log.last, l.seq)
                .map_err(|e| e.to_string())?;
            let row = audit
                .row()
                .int(e.id)
                .text(&e.record_type)
                .text(&e.record_key)
                .int(e.seq)
                .ts(e.occurred_at)
                .text(&e.actor)
                .text(&e.role)
                .text(&e.action)
                .opt_text(e.from_status.as_deref())
                .opt_text(e.to_status.as_deref())
                .opt_text(e.reason.as_deref())
                .text(&e.changes)
                .text(&e.prev_mac)
                .text(&e.mac)
                .text(&e.state)
                .text(&e.state_hash)
                .text(&e.key_id);
            match log.sqlite {
                true => row.int(e.id).end(),
                false => row.end(),
            }
        }
        counts.applications += self.apps.total;
        counts.members += self.members.total;
        counts.cost_lines += self.lines.total;
        counts.notices += self.notices.total;
        counts.notice_lines += self.notice_lines.total;
        counts.allocations += self.allocations.total;
        counts.payment_requests += self.payments.total;
        counts.budgets += self.budgets.total;
        counts.audit_events += audit.total;
        let mut out = Vec::new();
        for t in [
            &mut self.apps,
            &mut self.members,
            &mut self.lines,
            &mut self.notices,
            &mut self.notice_lines,
            &mut self.allocations,
            &mut self.payments,
            &mut self.budgets,
            &mut self.counters,
            &mut self.numbers,
            &mut audit,
        ] {
            out.extend(t.take());
        }
        Ok(out)
    }
}

fn execute(conn: &mut AnyConnection, statements: &[String]) -> QueryResult<()> {
    write_tx(conn, |c| {
        for s in statements {
            c.batch_execute(s)?;
        }
        Ok(())
    })
}

/// The whole demo history, in one transaction, through the API's transactions.
fn demo_mode(conn: &mut AnyConnection, world: &World, seed: u64) -> Result<Report, BoxError> {
    let (steps, mut report) = demo_steps(world, seed)?;
    write_tx(conn, |c| replay::run(c, steps))?;
    for (table, n) in [
        ("applications", &mut report.applications),
        ("application_members", &mut report.members),
        ("cost_lines", &mut report.cost_lines),
        ("notices", &mut report.notices),
        ("notice_lines", &mut report.notice_lines),
        ("notice_allocations", &mut report.allocations),
        ("payment_requests", &mut report.payment_requests),
        ("budgets", &mut report.budgets),
        ("audit_events", &mut report.audit_events),
    ] {
        *n = persistence::row_count(conn, table)?;
    }
    Ok(report)
}

/// The demo history as batched inserts, in one transaction (the programme changes, which
/// only the transactions write, aside).
fn demo_bulk(conn: &mut AnyConnection, world: &World, seed: u64) -> Result<Report, BoxError> {
    let mut generator = Generator::new(world, false);
    let mut batch = Batch::new();
    for (i, spec) in demo_specs(world, seed)?.iter().enumerate() {
        let mut rng = Rng::stream(seed ^ 0xDE30_0000, i as u64);
        batch.add(generator.case(spec, &mut rng)?);
    }
    generator.finish(&mut batch)?;
    let mut report = Report::default();
    let mut log = bulk_log(conn)?;
    let mut statements = batch.statements(&mut log, &mut report)?;
    statements.push(log_statement(&log));
    persistence::totals::forget(conn)?;
    execute(conn, &statements)?;
    finish_log(conn)?;
    // The log as the transactions' run counts it: with the system's entries at start-up.
    report.audit_events = persistence::row_count(conn, "audit_events")?;
    let stats = std::mem::take(&mut generator.stats);
    report.statuses = stats.statuses;
    report.grants_by_year = stats.grants_by_year;
    report.open_end_2019 = stats.open_end_2019;
    Ok(report)
}

/// The cases of the demo history, in the order of opening.
fn demo_specs(world: &World, seed: u64) -> Result<Vec<Spec>, String> {
    let mut specs = demo::specs(world, seed)?;
    specs.sort_by_key(|s| s.created);
    Ok(specs)
}

/// The writes of the demo history (cases, budgets, programme changes) and what its cases
/// come to.
fn demo_steps(world: &World, seed: u64) -> Result<(Vec<Step>, Report), BoxError> {
    let mut generator = Generator::new(world, false);
    let mut steps = programme_steps(world);
    for (i, spec) in demo_specs(world, seed)?.iter().enumerate() {
        let mut rng = Rng::stream(seed ^ 0xDE30_0000, i as u64);
        let sim = generator.case(spec, &mut rng)?;
        steps.extend(sim.steps.unwrap_or_default());
    }
    steps.extend(generator.budget_plans()?.iter().map(BudgetPlan::step));
    let stats = std::mem::take(&mut generator.stats);
    let report = Report {
        statuses: stats.statuses,
        grants_by_year: stats.grants_by_year,
        open_end_2019: stats.open_end_2019,
        ..Report::default()
    };
    Ok((steps, report))
}

/// The funding objects closed today were open during the history: an administrator opens
/// them before its first case and closes them on `Env::current_from`.
fn programme_steps(world: &World) -> Vec<Step> {
    let admin = budget_admin();
    // At the opening of the first working day, before every case of the history (the steps
    // of one instant keep their order), and of the first working day from `current_from`.
    let wt = &world.wt;
    let opened = wt.at(0);
    let closed = wt.at(wt.start_of(world.env.current_from));
    let mut out = Vec::new();
    for t in &world.env.terms {
        let closed_objects: Vec<String> = t
            .funding_objects
            .iter()
            .filter(|(_, fundable)| !fundable)
            .map(|(code, _)| code.clone())
            .collect();
        if closed_objects.is_empty() {
            continue;
        }
        for (at, fundable, reason) in [
            (opened, true, text::OBJECTS_OPENED),
            (closed, false, text::OBJECTS_CLOSED),
        ] {
            out.push(Step {
                at,
                actor: admin.clone(),
                record: t.code.clone(),
                version: 0,
                new_id: None,
                op: Op::Programme {
                    code: t.code.clone(),
                    objects: closed_objects
                        .iter()
                        .map(|c| (c.clone(), fundable))
                        .collect(),
                    reason: reason.to_owned(),
                },
            });
        }
    }
    out
}

/// The opening instant of case `k` of `n` in load mode: the cases of each year spread
/// evenly over its working days, in order.
fn load_created(world: &World, n: u64, k: u64, rng: &mut Rng) -> W {
    let total: u64 = LOAD_YEAR_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut before = 0u64;
    let mut cumulative = 0u64;
    let end_date = world.wt.date(world.end);
    for (year, w) in LOAD_YEAR_WEIGHTS {
        cumulative += w;
        let upto = n * cumulative / total;
        if k < upto {
            let count = upto - before;
            let j = k - before;
            let from = world.wt.start_of(date(year, 1, 2));
            let to = world.wt.end_of(date(year, 12, 20).min(end_date)) - 3 * DAY;
            let frac = rng.below(1 << 16);
            let span = i128::from(to - from);
            let pos = span * i128::from(j * (1 << 16) + frac) / i128::from(count * (1 << 16));
            return from + i64::try_from(pos).unwrap_or(0);
        }
        before = upto;
    }
    world.end - 3 * DAY
}

/// How a bulk load writes the log: each entry signed with an id after the largest (nothing
/// else writes while it runs); on SQLite an entry's txid is its id, on PostgreSQL the
/// column's default sets it. The seals follow (`finish_log`).
struct BulkLog {
    signer: Signer,
    last: i64,
    sqlite: bool,
}

fn bulk_log(conn: &mut AnyConnection) -> Result<BulkLog, BoxError> {
    Ok(BulkLog {
        signer: Signer {
            keys: persistence::audit::keys()?,
        },
        last: persistence::audit::last_id(conn)?,
        sqlite: matches!(conn, AnyConnection::Sqlite(_)),
    })
}

/// After the bulk load's entries: PostgreSQL's id sequence moved past them.
fn log_statement(log: &BulkLog) -> String {
    match log.sqlite {
        true => "SELECT 1".into(),
        false => format!("SELECT setval('audit_event_ids', {})", log.last.max(1)),
    }
}

/// Seals the bulk load's entries and builds the report totals of its cases (a bulk load
/// writes rows, not through the writes that keep the totals).
fn finish_log(conn: &mut AnyConnection) -> Result<(), BoxError> {
    persistence::seal::seal_all(conn, persistence::stored_now())?;
    persistence::totals::rebuild(conn, persistence::stored_now())?;
    Ok(())
}

/// What the generator hands the writer.
struct Chunk {
    statements: Vec<String>,
    counts: Report,
    cases: u64,
}

fn load_mode(
    conn: &mut AnyConnection,
    world: &World,
    seed: u64,
    n: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, BoxError> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut log = bulk_log(conn)?;
    persistence::totals::forget(conn)?;
    let stats = std::thread::scope(|s| -> Result<Stats, BoxError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk, String>>(2);
        let generator = s.spawn(move || {
            let mut g = Generator::new(world, true);
            let mut from = 0u64;
            while from < n {
                let upto = (from + CHUNK).min(n);
                let mut batch = Batch::new();
                let made = (from..upto).try_for_each(|k| {
                    let mut rng = Rng::stream(seed, k);
                    let created = load_created(world, n, k, &mut rng);
                    let spec = plan::generic_spec(world, &mut rng, created, true);
                    batch.add(g.case(&spec, &mut rng)?);
                    Ok::<(), String>(())
                });
                let chunk = made.and_then(|()| {
                    let mut counts = Report::default();
                    let statements = batch.statements(&mut log, &mut counts)?;
                    Ok(Chunk {
                        statements,
                        counts,
                        cases: upto - from,
                    })
                });
                let failed = chunk.is_err();
                if tx.send(chunk).is_err() || failed {
                    return g.stats;
                }
                from = upto;
            }
            let mut batch = Batch::new();
            let last = g.finish(&mut batch).and_then(|()| {
                let mut counts = Report::default();
                let mut statements = batch.statements(&mut log, &mut counts)?;
                statements.push(log_statement(&log));
                Ok(Chunk {
                    statements,
                    counts,
                    cases: 0,
                })
            });
            let _ = tx.send(last);
            g.stats
        });
        let mut done = 0u64;
        for chunk in rx {
            let chunk = chunk?;
            execute(conn, &chunk.statements)?;
            // A round per chunk: what the sealer holds in memory stays one chunk's entries.
            // The totals are built once, after the last chunk (a rebuild reads every case:
            // one per chunk made the load quadratic, 10x slower at 1,000,000 cases).
            persistence::seal::seal_all(conn, persistence::stored_now())?;
            done += chunk.cases;
            let c = chunk.counts;
            report.applications += c.applications;
            report.members += c.members;
            report.cost_lines += c.cost_lines;
            report.notices += c.notices;
            report.notice_lines += c.notice_lines;
            report.allocations += c.allocations;
            report.payment_requests += c.payment_requests;
            report.budgets += c.budgets;
            report.audit_events += c.audit_events;
            if chunk.cases > 0 {
                progress(&format!(
                    "{done} of {n} cases ({} %) after {:.1} s",
                    done * 100 / n.max(1),
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        generator
            .join()
            .map_err(|_| BoxError::from("the generator thread panicked"))
    })?;
    finish_log(conn)?;
    report.statuses = stats.statuses;
    report.grants_by_year = stats.grants_by_year;
    report.open_end_2019 = stats.open_end_2019;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_spreads_cases_in_order_over_the_years() {
        let env = Env {
            terms: Vec::new(),
            historical: Vec::new(),
            current_from: date(2026, 1, 1),
            delivery: Vec::new(),
        };
        let world = World::new(env, Vec::new(), date(2019, 1, 2), date(2026, 11, 20));
        let n = 1_000;
        let mut last = 0;
        for k in 0..n {
            let mut rng = Rng::stream(1, k);
            let w = load_created(&world, n, k, &mut rng);
            assert!(w >= last, "case {k}");
            assert!(w <= world.end);
            last = w;
        }
        let first = load_created(&world, n, 0, &mut Rng::new(0));
        assert_eq!(world.wt.date(first).year(), 2019);
        assert_eq!(world.wt.date(last).year(), 2026);
    }
}
