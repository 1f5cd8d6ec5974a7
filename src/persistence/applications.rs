//! Applications (cases): rows, scoped queries, and the transactions that change them. Every
//! write is one transaction: a conditional `UPDATE … WHERE id AND status AND version`, the
//! content rows, and the audit entry. Zero rows updated is a conflict, never a silent success.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use serde_json::{Value, json};

use super::audit::{self, AuditEvent, Entry};
use super::cached::prepared;
use super::programmes;
use super::schema::{
    application_members as am, applications as ap, cost_lines as cl, municipalities as mu,
};
use super::steps::case::{self as step, member_keys};
use super::{AnyConnection, Db, Expected, write_tx};
use crate::domain::application::{
    Content, CostCategory, CostLine, Member, ProgrammeTerms, Tracking, Violation,
    case_number_prefix,
};
use crate::domain::{Action, Ags, Clock, Money, Refusal, Role, Status};

pub const RECORD_TYPE: &str = "application";

/// The version of a new case (its first `ETag`).
pub const FIRST_VERSION: i32 = 1;

#[derive(
    Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable, serde::Serialize,
)]
#[diesel(table_name = ap)]
pub struct ApplicationRow {
    pub id: String,
    pub case_number: String,
    pub case_year: i32,
    pub programme_code: String,
    pub funding_object: String,
    pub lead_ags: String,
    pub joint: bool,
    pub title: String,
    pub description: String,
    pub project_start: Option<NaiveDate>,
    pub project_end: Option<NaiveDate>,
    pub total_cost_cents: Money,
    pub eligible_cents: Money,
    pub own_contribution_cents: Money,
    pub third_party_cents: Money,
    pub requested_cents: Money,
    pub granted_cents: Option<Money>,
    pub paid_cents: Money,
    pub status: Status,
    pub version: i32,
    pub info_due: Option<NaiveDate>,
    pub early_start_at: Option<NaiveDateTime>,
    pub early_start_by: Option<String>,
    pub clock_seconds: i64,
    pub clock_since: Option<NaiveDateTime>,
    pub submitted_at: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub reclaimed_cents: Money,
    /// Who to write to, by name and function.
    pub contact: Option<String>,
    /// Where notices are sent, lines separated by line breaks.
    pub postal_address: Option<String>,
}

impl ApplicationRow {
    pub fn clock(&self) -> Clock {
        Clock {
            accumulated_secs: self.clock_seconds,
            running_since: self.clock_since,
        }
    }

    pub fn tracking(&self) -> Tracking {
        Tracking {
            info_due: self.info_due,
            early_start: self.early_start_at.zip(self.early_start_by.clone()),
            submitted_at: self.submitted_at,
            clock: self.clock(),
        }
    }
}

/// `None` is inserted as NULL, not as the column's default: the same statement text for
/// every row, which a batch insert on SQLite needs (it has no `DEFAULT` among values).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = cl, treat_none_as_null = true)]
pub struct CostLineRow {
    pub application_id: String,
    pub line_no: i32,
    pub category: CostCategory,
    pub description: String,
    pub amount_cents: Money,
    pub eligible: bool,
    /// The actual expenditure from the proof of use.
    pub actual_cents: Option<Money>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = am)]
pub struct MemberRow {
    pub application_id: String,
    pub position: i32,
    pub ags: String,
    pub kreis: String,
    pub share_bp: i32,
    pub is_lead: bool,
}

/// A case with its cost lines and members, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub row: ApplicationRow,
    pub lines: Vec<CostLineRow>,
    pub members: Vec<MemberRow>,
}

/// Stored data that does not parse: a bug or a change behind the service's back.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> DieselError {
    DieselError::DeserializationError(format!("stored application data: {what}").into())
}

impl Case {
    /// The case's content as the domain rules see it.
    pub fn content(&self) -> QueryResult<Content> {
        let r = &self.row;
        let lines = self
            .lines
            .iter()
            .map(|l| CostLine {
                category: l.category,
                description: l.description.clone(),
                amount: l.amount_cents,
                eligible: l.eligible,
            })
            .collect();
        let members = self
            .members
            .iter()
            .map(|m| {
                Ok(Member {
                    ags: Ags::parse(&m.ags).map_err(corrupt)?,
                    share_bp: m.share_bp,
                })
            })
            .collect::<QueryResult<Vec<_>>>()?;
        Ok(Content {
            lead: Ags::parse(&r.lead_ags).map_err(corrupt)?,
            joint: r.joint,
            members,
            funding_object: r.funding_object.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            project_start: r.project_start,
            project_end: r.project_end,
            cost_lines: lines,
            own_contribution: r.own_contribution_cents,
            third_party_funds: r.third_party_cents,
            requested_grant: r.requested_cents,
            contact: r.contact.clone(),
            postal_address: r.postal_address.clone(),
        })
    }

    /// What the audit log records of a case: everything a person can change, money as strings
    /// (`Money`'s serialisation).
    pub(crate) fn snapshot(&self) -> Value {
        let r = &self.row;
        json!({
            "status": r.status.as_str(),
            "programme": r.programme_code,
            "funding_object": r.funding_object,
            "title": r.title,
            "description": r.description,
            "project_start": r.project_start,
            "project_end": r.project_end,
            "cost_lines": self.lines.iter().map(|l| json!({
                "line": l.line_no, "category": l.category, "description": l.description,
                "amount": l.amount_cents, "eligible": l.eligible,
                "actual": l.actual_cents,
            })).collect::<Vec<_>>(),
            "own_contribution": r.own_contribution_cents,
            "third_party_funds": r.third_party_cents,
            "requested_grant": r.requested_cents,
            "contact": r.contact,
            "postal_address": r.postal_address,
            "joint": r.joint,
            "partners": self.members.iter().map(|m| json!({
                "ags": m.ags, "share_bp": m.share_bp,
            })).collect::<Vec<_>>(),
            "info_due": r.info_due,
            "early_start_at": r.early_start_at,
            "early_start_by": r.early_start_by,
            "granted_amount": r.granted_cents,
            "paid_amount": r.paid_cents,
            "reclaim_amount": r.reclaimed_cents,
        })
    }
}

/// Whose cases a caller may see.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Staff of the competence centre: every case.
    All,
    /// An applicant: cases in which one of these municipalities takes part (lead or partner).
    Municipalities(&'a [String]),
}

impl<'a> Scope<'a> {
    /// Applicants see their municipalities' cases; every other role that may read cases
    /// sees all of them.
    pub fn for_role(role: Role, municipalities: &'a [String]) -> Scope<'a> {
        if role == Role::Applicant {
            Scope::Municipalities(municipalities)
        } else {
            Scope::All
        }
    }
}

type BoxedCases<'a> = ap::BoxedQuery<'a, Db>;

fn scoped<'a>(mut q: BoxedCases<'a>, scope: Scope<'a>) -> BoxedCases<'a> {
    if let Scope::Municipalities(keys) = scope {
        q = q.filter(
            ap::id.eq_any(
                am::table
                    .filter(am::ags.eq_any(keys))
                    .select(am::application_id),
            ),
        );
    }
    q
}

/// One case, if it exists and the scope may see it (one statement: `case_load`).
pub fn find(conn: &mut AnyConnection, id: &str, scope: Scope<'_>) -> QueryResult<Option<Case>> {
    match scope {
        Scope::All => super::case_load::load(conn, id, None),
        Scope::Municipalities(keys) => super::case_load::load(conn, id, Some(keys)),
    }
}

/// Whether the scope may see the case (one statement).
pub fn visible(conn: &mut AnyConnection, id: &str, scope: Scope<'_>) -> QueryResult<bool> {
    let q = scoped(ap::table.filter(ap::id.eq(id)).into_boxed(), scope);
    Ok(q.select(ap::id).first::<String>(conn).optional()?.is_some())
}

/// Filters of the case list; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub statuses: Vec<String>,
    pub programme: Option<String>,
    /// Cases in which this municipality takes part (lead or partner).
    pub ags: Option<String>,
    /// Cases in which a municipality of this Kreis takes part.
    pub kreis: Option<String>,
    /// The year of the case number (the year the case was opened).
    pub year: Option<i32>,
    pub updated_since: Option<NaiveDateTime>,
    /// Keyset position: cases after this `(created_at, id)` in list order.
    pub after: Option<(NaiveDateTime, String)>,
    pub limit: i64,
}

/// Cases newest first (`created_at DESC, id DESC`: stable, as the creation time never
/// changes), at most `limit`.
pub fn list(
    conn: &mut AnyConnection,
    scope: Scope<'_>,
    f: &ListFilter,
) -> QueryResult<Vec<ApplicationRow>> {
    let mut q = scoped(ap::table.into_boxed(), scope);
    if !f.statuses.is_empty() {
        q = q.filter(ap::status.eq_any(f.statuses.clone()));
    }
    if let Some(p) = &f.programme {
        q = q.filter(ap::programme_code.eq(p.clone()));
    }
    if let Some(a) = &f.ags {
        q = q.filter(
            ap::id.eq_any(
                am::table
                    .filter(am::ags.eq(a.clone()))
                    .select(am::application_id),
            ),
        );
    }
    if let Some(k) = &f.kreis {
        // EXISTS, not IN: a Kreis has thousands of cases, and SQLite would otherwise load and
        // sort all of them before the LIMIT (docs/benchmarks.md: 23.6 → 1.5 ms at 100,000).
        q = q.filter(diesel::dsl::exists(
            am::table
                .filter(am::application_id.eq(ap::id))
                .filter(am::kreis.eq(k.clone())),
        ));
    }
    if let Some(y) = f.year {
        q = q.filter(ap::case_year.eq(y));
    }
    if let Some(t) = f.updated_since {
        q = q.filter(ap::updated_at.ge(t));
    }
    if let Some((t, id)) = &f.after {
        // The first condition is implied by the second; it lets both databases use the
        // created_at index as a range instead of walking every earlier page.
        q = q.filter(ap::created_at.le(*t)).filter(
            ap::created_at
                .lt(*t)
                .or(ap::created_at.eq(*t).and(ap::id.lt(id.clone()))),
        );
    }
    q.order((ap::created_at.desc(), ap::id.desc()))
        .limit(f.limit)
        .select(ApplicationRow::as_select())
        .load(conn)
}

/// Why a write did not happen. The transaction is rolled back in every case.
#[derive(Debug)]
pub enum WriteError {
    /// Says what is missing (`no application {id}`), as the 404 names it.
    NotFound(String),
    /// The caller may see the case but not change it.
    Forbidden(String),
    /// `If-Match` names an older version.
    Stale,
    /// A precondition of a record other than a case does not hold (412), saying which.
    Precondition(String),
    Refused(Refusal),
    Conflict(String),
    Invalid(Vec<Violation>),
    /// The `Idempotency-Key` was used before with another request body.
    KeyReused,
    Db(DieselError),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::NotFound(m)
            | WriteError::Forbidden(m)
            | WriteError::Precondition(m)
            | WriteError::Conflict(m) => f.write_str(m),
            WriteError::Stale => f.write_str("If-Match names an older version"),
            WriteError::Refused(r) => write!(f, "{r}"),
            WriteError::Invalid(v) => {
                let fields: Vec<String> = v
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.message))
                    .collect();
                write!(f, "invalid: {}", fields.join("; "))
            }
            WriteError::KeyReused => f.write_str("the Idempotency-Key was used with another body"),
            WriteError::Db(e) => write!(f, "database: {e}"),
        }
    }
}

impl From<DieselError> for WriteError {
    fn from(e: DieselError) -> Self {
        WriteError::Db(e)
    }
}

/// Who writes, and when.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    /// The token's subject.
    pub subject: &'a str,
    pub role: Role,
    /// The applicant's municipalities (empty for staff).
    pub municipalities: &'a [String],
    /// The instant of the write (the request's clock; the seed's history), in microseconds: what
    /// both databases store, and so what the audit entry's state of the record says.
    pub now: NaiveDateTime,
    /// The id of the record this write creates; `None`: a random UUID v4, as the API makes
    /// them. The seed names its own, so that a history is the same for the same seed.
    pub new_id: Option<&'a str>,
    /// The person's name (the token's `name` claim): printed under a notice the writer signs.
    pub name: Option<&'a str>,
}

impl Writer<'_> {
    /// The German civil date of the write (Europe/Berlin): the day every calendar decision
    /// of the write uses (today, the case number's year, the date of a notice).
    pub fn today(&self) -> chrono::NaiveDate {
        crate::domain::calendar::german_date(self.now)
    }

    pub(crate) fn scope(&self) -> Scope<'_> {
        Scope::for_role(self.role, self.municipalities)
    }

    /// The id of the record this write creates.
    pub(crate) fn make_id(&self) -> String {
        self.new_id
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
    }

    /// Only the lead applicant changes a case; partners read it.
    pub(crate) fn check_lead(&self, case: &Case) -> Result<(), WriteError> {
        if self.role == Role::Applicant && !self.municipalities.contains(&case.row.lead_ags) {
            return Err(WriteError::Forbidden(format!(
                "only the lead applicant {} changes this case",
                case.row.lead_ags
            )));
        }
        Ok(())
    }

    /// An audit entry by this writer, at its instant, on any record.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entry(
        &self,
        record_type: &'static str,
        key: &str,
        action: &str,
        from: Option<&str>,
        to: Option<&str>,
        reason: Option<&str>,
        changes: Value,
    ) -> Entry {
        Entry {
            record_type,
            record_key: key.to_owned(),
            occurred_at: self.now,
            actor: self.subject.to_owned(),
            role: self.role.as_str().to_owned(),
            action: action.to_owned(),
            from_status: from.map(str::to_owned),
            to_status: to.map(str::to_owned),
            reason: reason.map(str::to_owned),
            changes,
            state: None,
        }
    }
}

/// The programme's terms for the submit rules.
pub(crate) fn programme_terms(
    conn: &mut AnyConnection,
    code: &str,
) -> QueryResult<Option<ProgrammeTerms>> {
    let Some((p, objects)) = programmes::find(conn, code)? else {
        return Ok(None);
    };
    Ok(Some(ProgrammeTerms {
        financing_type: p.financing_type,
        max_rate_bp: p.max_rate_bp,
        min_grant: p.min_grant_cents,
        max_grant: p.max_grant_cents,
        min_partners: p.min_partners,
        valid_from: p.valid_from,
        valid_to: p.valid_to,
        call_opens: p.call_opens,
        call_closes: p.call_closes,
        funding_objects: objects
            .into_iter()
            .map(|o| (o.code, o.fundable_now))
            .collect(),
        code: p.code,
    }))
}

/// The draft rules (`steps::case::draft_check`) with the programme and the register as
/// stored.
fn draft_check(
    conn: &mut AnyConnection,
    programme_code: &str,
    c: &Content,
) -> QueryResult<Vec<Violation>> {
    let terms = programme_terms(conn, programme_code)?;
    let known: HashSet<String> = mu::table
        .filter(mu::ags.eq_any(member_keys(c)))
        .select(mu::ags)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    Ok(step::draft_check(programme_code, terms.as_ref(), &known, c))
}

/// The keys among the case's municipalities that are current on `day`.
fn current_keys(
    conn: &mut AnyConnection,
    c: &Content,
    day: NaiveDate,
) -> QueryResult<HashSet<String>> {
    Ok(mu::table
        .filter(mu::ags.eq_any(member_keys(c)))
        .filter(mu::valid_to.is_null().or(mu::valid_to.ge(day)))
        .select(mu::ags)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// Replaces the content columns and rows of a case with those of `case` (inside the
/// caller's transaction).
fn write_content(conn: &mut AnyConnection, case: &Case) -> QueryResult<()> {
    let r = &case.row;
    let id = &r.id;
    prepared(diesel::update(ap::table.find(id)).set((
        ap::programme_code.eq(&r.programme_code),
        ap::funding_object.eq(&r.funding_object),
        ap::joint.eq(r.joint),
        ap::title.eq(&r.title),
        ap::description.eq(&r.description),
        ap::project_start.eq(r.project_start),
        ap::project_end.eq(r.project_end),
        ap::total_cost_cents.eq(r.total_cost_cents),
        ap::eligible_cents.eq(r.eligible_cents),
        ap::own_contribution_cents.eq(r.own_contribution_cents),
        ap::third_party_cents.eq(r.third_party_cents),
        ap::requested_cents.eq(r.requested_cents),
    )))
    .execute(conn)?;
    diesel::delete(cl::table.filter(cl::application_id.eq(id))).execute(conn)?;
    diesel::delete(am::table.filter(am::application_id.eq(id))).execute(conn)?;
    insert_children(conn, case)
}

/// The cost lines and members of a case.
fn insert_children(conn: &mut AnyConnection, case: &Case) -> QueryResult<()> {
    for rows in case.lines.chunks(ROWS_PER_INSERT) {
        prepared(diesel::insert_into(cl::table).values(rows)).execute(conn)?;
    }
    for rows in case.members.chunks(ROWS_PER_INSERT) {
        prepared(diesel::insert_into(am::table).values(rows)).execute(conn)?;
    }
    Ok(())
}

/// Rows per statement when a case's cost lines and members are inserted: a case of a few
/// lines takes one round trip per table instead of one per row, and each table has at most
/// this many statement texts (a full batch and each shorter remainder), each kept prepared
/// per connection (`cached::prepared`), however long the cases are (up to `MAX_COST_LINES`).
const ROWS_PER_INSERT: usize = 8;

pub use super::idempotency::{Created, Idempotency};

/// Creates a draft (and records the idempotency key with the response `render` gives, in the
/// same transaction: `idempotency::once`). The case number is allocated before that
/// transaction (`case_numbers`), once the draft passed its checks and unless the request
/// repeats one already answered; a number the transaction then does not use gets its reason
/// recorded.
pub fn create(
    conn: &mut AnyConnection,
    programme_code: &str,
    content: &Content,
    w: &Writer<'_>,
    idem: Option<Idempotency<'_>>,
    render: &dyn Fn(&Case) -> String,
) -> Result<Created<Case>, WriteError> {
    let year = crate::domain::calendar::german_year(w.now);
    let prefix = case_number_prefix(programme_code);
    let retry = match &idem {
        Some(i) => super::idempotency::answered(conn, w.subject, i.key)?,
        None => false,
    };
    let number = match retry {
        // `once` replays (or refuses) it without a number.
        true => None,
        false => {
            // A draft refused now takes no number (checked again in the transaction, which
            // decides).
            let violations = draft_check(conn, programme_code, content)?;
            if !violations.is_empty() {
                return Err(WriteError::Invalid(violations));
            }
            Some(super::case_numbers::allocate(
                conn, prefix, year, w.subject, w.now,
            )?)
        }
    };
    let created = super::idempotency::once(conn, w.subject, w.now, idem, 201, &mut |conn| {
        let violations = draft_check(conn, programme_code, content)?;
        if !violations.is_empty() {
            return Err(WriteError::Invalid(violations));
        }
        let number = match &number {
            Some(n) => n.clone(),
            // The stored answer of the retry went away meanwhile: a number in this
            // transaction (a savepoint of it).
            None => super::case_numbers::allocate(conn, prefix, year, w.subject, w.now)?,
        };
        let (case, entry) = step::create(w.make_id(), number, programme_code, content, w)?;
        prepared(diesel::insert_into(ap::table).values(&case.row)).execute(conn)?;
        insert_children(conn, &case)?;
        audit::append_written(conn, &entry, &case)?;
        let id = case.row.id.clone();
        let body = render(&case);
        Ok((case, id, body))
    });
    if let Some(number) = &number {
        let why = match &created {
            Ok(Created::New { .. }) => None,
            Ok(Created::Replay { id, .. }) => Some(format!(
                "the request repeated one sent at the same time with its Idempotency-Key, \
                 which created {id}"
            )),
            Err(e) => Some(format!("the create failed: {e}")),
        };
        if let Some(why) = why {
            super::case_numbers::unused(conn, number, &why);
        }
    }
    created
}

/// Loads a case for a write: visible to the writer (else 404), changed only by its lead
/// applicant (else 403), at a version `If-Match` names (else 412).
fn load_for_write(
    conn: &mut AnyConnection,
    id: &str,
    w: &Writer<'_>,
    expected: Expected<'_>,
) -> Result<Case, WriteError> {
    lock_for(conn, id, expected)?;
    let case = find(conn, id, w.scope())?
        .ok_or_else(|| WriteError::NotFound(format!("no application {id}")))?;
    w.check_lead(&case)?;
    if !expected.admits(case.row.version) {
        return Err(WriteError::Stale);
    }
    Ok(case)
}

/// `If-Match: *` accepts whatever version the write reads: the row's lock first, so that no
/// concurrent writer changes it between the read and the conditional update (which would
/// fail the write although any version was fine). A listed version needs no lock: a
/// concurrent change fails the conditional update, as it should.
fn lock_for(conn: &mut AnyConnection, id: &str, expected: Expected<'_>) -> QueryResult<()> {
    match expected {
        Expected::Any => lock_case(conn, id),
        Expected::Version(_) | Expected::OneOf(_) => Ok(()),
    }
}

/// Takes the case row's lock until the transaction ends (a no-op update): a concurrent writer
/// that locks or updates the row waits for our commit, and what this transaction reads after
/// it is current. For checks that read the case and other rows and then insert (PostgreSQL;
/// on SQLite the write transaction is exclusive anyway).
pub(crate) fn lock_case(conn: &mut AnyConnection, id: &str) -> QueryResult<()> {
    prepared(diesel::update(ap::table.find(id)).set(ap::version.eq(ap::version)))
        .execute(conn)
        .map(|_| ())
}

/// Bumps the version if it is still `expected` and the status still `status`: the guard
/// against a concurrent writer that committed between our read and this write.
pub(crate) fn bump_version(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    expected: i32,
    now: NaiveDateTime,
) -> Result<(), WriteError> {
    let n = prepared(
        diesel::update(
            ap::table
                .filter(ap::id.eq(id))
                .filter(ap::status.eq(status))
                .filter(ap::version.eq(expected)),
        )
        .set((ap::version.eq(expected + 1), ap::updated_at.eq(now))),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(WriteError::Stale);
    }
    Ok(())
}

/// Edits a draft: `edit` changes the content (and may change the programme) and reports
/// input it refuses.
pub fn update_draft(
    conn: &mut AnyConnection,
    id: &str,
    expected: Expected<'_>,
    w: &Writer<'_>,
    edit: &dyn Fn(&mut Content, &mut String) -> Vec<Violation>,
    reason: Option<&str>,
) -> Result<Case, WriteError> {
    write_tx(conn, |conn| {
        let before = load_for_write(conn, id, w, expected)?;
        step::editable(&before)?;
        let mut content = before.content()?;
        let mut programme = before.row.programme_code.clone();
        let mut violations = edit(&mut content, &mut programme);
        if violations.is_empty()
            && content == before.content()?
            && programme == before.row.programme_code
        {
            // Nothing changes: no new version, no history entry.
            return Ok(before);
        }
        if violations.is_empty() {
            violations = draft_check(conn, &programme, &content)?;
        }
        if !violations.is_empty() {
            return Err(WriteError::Invalid(violations));
        }
        let Some((after, entry)) = step::edit(&before, &programme, &content, reason, w)? else {
            return Ok(before);
        };
        bump_version(conn, id, Status::Draft.as_str(), before.row.version, w.now)?;
        write_content(conn, &after)?;
        audit::append_written(conn, &entry, &after)?;
        Ok(after)
    })
}

/// A lifecycle action posted to `/transitions`.
#[derive(Debug, Clone, Copy)]
pub struct TransitionRequest<'a> {
    pub action: Action,
    pub reason: Option<&'a str>,
    pub response_due: Option<NaiveDate>,
    /// The versions `If-Match` names.
    pub expected: Expected<'a>,
    /// `submit_proof`: the actual eligible expenditure per cost line (line, amount).
    pub actual_costs: Option<&'a [(i32, Money)]>,
}

/// Applies a lifecycle action: the transition function decides, the submit rules check the
/// content, and one conditional update, the clock and the audit entry persist it.
pub fn apply_transition(
    conn: &mut AnyConnection,
    id: &str,
    w: &Writer<'_>,
    t: &TransitionRequest<'_>,
) -> Result<Case, WriteError> {
    write_tx(conn, |conn| {
        lock_for(conn, id, t.expected)?;
        let before = find(conn, id, w.scope())?
            .ok_or_else(|| WriteError::NotFound(format!("no application {id}")))?;
        let facts = match t.action {
            Action::Submit => {
                let terms = programme_terms(conn, &before.row.programme_code)?
                    .ok_or_else(|| corrupt("programme missing"))?;
                let current = current_keys(conn, &before.content()?, w.today())?;
                Some((terms, current))
            }
            _ => None,
        };
        let submit = facts
            .as_ref()
            .map(|(terms, current)| step::SubmitFacts { terms, current });
        let grant_start = match t.action {
            Action::SubmitProof => {
                super::notices::in_force(conn, id)?.and_then(|n| n.row.grant_period_start)
            }
            _ => None,
        };
        let (after, entry) = step::transition_case(&before, t, submit, grant_start, w)?;
        // One conditional UPDATE, as `bump_version` does it: zero rows means someone else
        // changed the case first.
        let r = &after.row;
        let updated = prepared(
            diesel::update(
                ap::table
                    .filter(ap::id.eq(id))
                    .filter(ap::status.eq(&before.row.status))
                    .filter(ap::version.eq(before.row.version)),
            )
            .set((
                ap::version.eq(r.version),
                ap::updated_at.eq(r.updated_at),
                ap::status.eq(&r.status),
                ap::info_due.eq(r.info_due),
                ap::early_start_at.eq(r.early_start_at),
                ap::early_start_by.eq(&r.early_start_by),
                ap::clock_seconds.eq(r.clock_seconds),
                ap::clock_since.eq(r.clock_since),
                ap::submitted_at.eq(r.submitted_at),
            )),
        )
        .execute(conn)?;
        if updated == 0 {
            return Err(WriteError::Stale);
        }
        for (line, amount) in t.actual_costs.unwrap_or_default() {
            let n = prepared(
                diesel::update(cl::table.find((id, *line)))
                    .set(cl::actual_cents.eq(amount.cents())),
            )
            .execute(conn)?;
            if n != 1 {
                return Err(corrupt(format!("cost line {line} of {id} is not stored")).into());
            }
        }
        audit::append_written(conn, &entry, &after)?;
        Ok(after)
    })
}

/// The case's audit events, if the scope may see the case.
pub fn history(
    conn: &mut AnyConnection,
    id: &str,
    scope: Scope<'_>,
) -> QueryResult<Option<Vec<AuditEvent>>> {
    let visible = scoped(ap::table.filter(ap::id.eq(id)).into_boxed(), scope)
        .select(ap::id)
        .first::<String>(conn)
        .optional()?;
    match visible {
        None => Ok(None),
        Some(_) => audit::for_record(conn, RECORD_TYPE, id).map(Some),
    }
}
