//! Programmes and their funding objects.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::audit::{self, Entry, diff};
use super::schema::{funding_objects as f, programmes as p};
use super::{AnyConnection, Expected, ledger, write_tx};
use crate::domain::application::Violation;
use crate::domain::programme::{self, FundingObjectEdit, ProgrammeState};
use crate::domain::{FinancingType, Money};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = p)]
pub struct Programme {
    pub code: String,
    pub name: String,
    pub legal_basis: String,
    pub financing_type: FinancingType,
    pub max_rate_bp: Option<i32>,
    pub min_grant_cents: Option<Money>,
    pub max_grant_cents: Option<Money>,
    pub min_partners: Option<i32>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub call_opens: Option<NaiveDate>,
    pub call_closes: Option<NaiveDate>,
    pub version: i32,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = f)]
pub struct FundingObject {
    pub programme_code: String,
    pub code: String,
    pub description: String,
    pub fundable_now: bool,
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<(Programme, Vec<FundingObject>)>> {
    let programmes: Vec<Programme> = p::table
        .select(Programme::as_select())
        .order(p::code.asc())
        .load(conn)?;
    let objects: Vec<FundingObject> = f::table
        .select(FundingObject::as_select())
        .order((f::programme_code.asc(), f::code.asc()))
        .load(conn)?;
    Ok(programmes
        .into_iter()
        .map(|prog| {
            let own = objects
                .iter()
                .filter(|o| o.programme_code == prog.code)
                .cloned()
                .collect();
            (prog, own)
        })
        .collect())
}

/// The programme `code` with its funding objects in order of their codes, in one statement
/// (it is read twice by every create and by every submission's checks).
pub fn find(
    conn: &mut AnyConnection,
    code: &str,
) -> QueryResult<Option<(Programme, Vec<FundingObject>)>> {
    let rows: Vec<(Programme, Option<FundingObject>)> = p::table
        .left_join(f::table)
        .filter(p::code.eq(code))
        .select((Programme::as_select(), Option::<FundingObject>::as_select()))
        .order(f::code.asc())
        .load(conn)?;
    let mut rows = rows.into_iter();
    let Some((prog, first)) = rows.next() else {
        return Ok(None);
    };
    let objects = first
        .into_iter()
        .chain(rows.filter_map(|(_, o)| o))
        .collect();
    Ok(Some((prog, objects)))
}

/// What an admin may change. `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = p)]
pub struct ProgrammeChanges {
    pub name: Option<String>,
    pub legal_basis: Option<String>,
    pub max_rate_bp: Option<Option<i32>>,
    pub min_grant_cents: Option<Option<i64>>,
    pub max_grant_cents: Option<Option<i64>>,
    pub min_partners: Option<Option<i32>>,
    pub valid_to: Option<Option<NaiveDate>>,
    pub call_opens: Option<Option<NaiveDate>>,
    pub call_closes: Option<Option<NaiveDate>>,
}

/// An admin's change of a programme.
#[derive(Debug, Clone, Default)]
pub struct ProgrammeEdit {
    pub fields: ProgrammeChanges,
    pub objects: Vec<FundingObjectChange>,
    /// What the caller could not read (a malformed rate), reported with what the rules find.
    pub rejected: Vec<Violation>,
}

/// A funding object to add or change.
#[derive(Debug, Clone)]
pub struct FundingObjectChange {
    pub code: String,
    pub description: Option<String>,
    pub fundable_now: bool,
}

#[derive(Debug)]
pub enum UpdateOutcome {
    Updated(Programme, Vec<FundingObject>),
    NotFound,
    /// The version the caller read is not the current one.
    Stale,
    /// What the programme would be after the change breaks these rules; nothing was written.
    Invalid(Vec<Violation>),
}

/// The programme `before` as `changes` would leave it.
fn after_change(before: &Programme, c: &ProgrammeChanges) -> ProgrammeState {
    fn pick<T: Clone>(change: &Option<T>, stored: &T) -> T {
        change.clone().unwrap_or_else(|| stored.clone())
    }
    // The cents of a `Money` the request held: always in range.
    let cents = |v: Option<i64>| v.map(|c| Money::from_cents(c).unwrap_or(Money::ZERO));
    ProgrammeState {
        name: pick(&c.name, &before.name),
        legal_basis: pick(&c.legal_basis, &before.legal_basis),
        financing_type: before.financing_type,
        max_rate_bp: pick(&c.max_rate_bp, &before.max_rate_bp),
        min_grant: c.min_grant_cents.map_or(before.min_grant_cents, cents),
        max_grant: c.max_grant_cents.map_or(before.max_grant_cents, cents),
        min_partners: pick(&c.min_partners, &before.min_partners),
        valid_from: before.valid_from,
        valid_to: pick(&c.valid_to, &before.valid_to),
        call_opens: pick(&c.call_opens, &before.call_opens),
        call_closes: pick(&c.call_closes, &before.call_closes),
    }
}

/// Every violation of the edit: its `rejected` (what the caller could not even read), then the
/// rules of the programme as it would be (`domain::programme`) on fields not named already.
fn change_violations(
    before: &Programme,
    before_objects: &[FundingObject],
    edit: &ProgrammeEdit,
) -> Vec<Violation> {
    let mut out = edit.rejected.clone();
    let edits: Vec<FundingObjectEdit<'_>> = edit
        .objects
        .iter()
        .map(|o| FundingObjectEdit {
            code: &o.code,
            description: o.description.as_deref(),
            exists: before_objects.iter().any(|b| b.code == o.code),
        })
        .collect();
    let found = programme::violations(&after_change(before, &edit.fields))
        .into_iter()
        .chain(programme::funding_object_violations(&edits));
    for v in found {
        if edit.rejected.iter().all(|r| r.field != v.field) {
            out.push(v);
        }
    }
    out
}

/// Who changes something, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub subject: &'a str,
    pub role: &'a str,
    /// The instant of the write (the request's clock; the seed's history).
    pub now: NaiveDateTime,
}

impl Actor<'_> {
    /// An audit entry by this actor at its instant, on a record without a status.
    pub(crate) fn entry(
        &self,
        record_type: &'static str,
        key: &str,
        action: &str,
        reason: Option<&str>,
        changes: Value,
    ) -> Entry {
        Entry {
            record_type,
            record_key: key.to_owned(),
            occurred_at: self.now,
            actor: self.subject.to_owned(),
            role: self.role.to_owned(),
            action: action.to_owned(),
            from_status: None,
            to_status: None,
            reason: reason.map(str::to_owned),
            changes,
            state: None,
        }
    }
}

fn snapshot(prog: &Programme, objects: &[FundingObject]) -> Value {
    json!({
        "name": prog.name,
        "legal_basis": prog.legal_basis,
        "max_rate_bp": prog.max_rate_bp,
        "min_grant_cents": prog.min_grant_cents.map(Money::cents),
        "max_grant_cents": prog.max_grant_cents.map(Money::cents),
        "min_partners": prog.min_partners,
        "valid_to": prog.valid_to,
        "call_opens": prog.call_opens,
        "call_closes": prog.call_closes,
        "funding_objects": objects.iter().map(|o| json!({
            "code": o.code, "description": o.description, "fundable_now": o.fundable_now
        })).collect::<Vec<_>>(),
    })
}

/// Applies an admin's change if the current version is one `expected` accepts and the programme as the change
/// would leave it is valid (`domain::programme`; the edit's `rejected` are the caller's own
/// findings, reported with them): a conditional update, the funding objects, and the audit entry, in
/// one transaction. Answers in this order: not found, stale, invalid.
pub fn update(
    conn: &mut AnyConnection,
    code: &str,
    expected: Expected<'_>,
    edit: &ProgrammeEdit,
    actor: &Actor<'_>,
    reason: Option<&str>,
) -> QueryResult<UpdateOutcome> {
    let changes = &edit.fields;
    let objects = &edit.objects;
    /// Ends the transaction with a rollback and this outcome.
    enum Stop {
        Db(diesel::result::Error),
        With(Box<UpdateOutcome>),
    }
    impl From<diesel::result::Error> for Stop {
        fn from(e: diesel::result::Error) -> Self {
            Stop::Db(e)
        }
    }
    let result = write_tx(conn, |conn| {
        if expected == Expected::Any {
            // `*` accepts the version read below: no one changes it before our update.
            diesel::update(p::table.find(code))
                .set(p::version.eq(p::version))
                .execute(conn)?;
        }
        let Some((before, before_objects)) = find(conn, code)? else {
            return Err(Stop::With(Box::new(UpdateOutcome::NotFound)));
        };
        if !expected.admits(before.version) {
            return Err(Stop::With(Box::new(UpdateOutcome::Stale)));
        }
        let invalid = change_violations(&before, &before_objects, edit);
        if !invalid.is_empty() {
            return Err(Stop::With(Box::new(UpdateOutcome::Invalid(invalid))));
        }
        let now = actor.now;
        let updated = diesel::update(
            p::table
                .filter(p::code.eq(code))
                .filter(p::version.eq(before.version)),
        )
        .set((p::version.eq(before.version + 1), p::updated_at.eq(now)))
        .execute(conn)?;
        if updated == 0 {
            return Err(Stop::With(Box::new(UpdateOutcome::Stale)));
        }
        let has_field_changes = changes.name.is_some()
            || changes.legal_basis.is_some()
            || changes.max_rate_bp.is_some()
            || changes.min_grant_cents.is_some()
            || changes.max_grant_cents.is_some()
            || changes.min_partners.is_some()
            || changes.valid_to.is_some()
            || changes.call_opens.is_some()
            || changes.call_closes.is_some();
        if has_field_changes {
            diesel::update(p::table.find(code))
                .set(changes)
                .execute(conn)?;
        }
        for o in objects {
            let exists = before_objects.iter().any(|b| b.code == o.code);
            if exists {
                diesel::update(f::table.find((code, &o.code)))
                    .set(f::fundable_now.eq(o.fundable_now))
                    .execute(conn)?;
                if let Some(d) = &o.description {
                    diesel::update(f::table.find((code, &o.code)))
                        .set(f::description.eq(d))
                        .execute(conn)?;
                }
            } else {
                // `change_violations` refused a new object without a description.
                let d = o.description.as_deref().unwrap_or_default();
                diesel::insert_into(f::table)
                    .values((
                        f::programme_code.eq(code),
                        f::code.eq(&o.code),
                        f::description.eq(d),
                        f::fundable_now.eq(o.fundable_now),
                    ))
                    .execute(conn)?;
            }
        }
        let Some((after, after_objects)) = find(conn, code)? else {
            return Err(Stop::With(Box::new(UpdateOutcome::NotFound)));
        };
        let changes = diff(
            &snapshot(&before, &before_objects),
            &snapshot(&after, &after_objects),
        );
        let entry = actor
            .entry(ledger::PROGRAMME, code, "update", reason, changes)
            .with_state(
                ledger::programme(&before, &before_objects),
                ledger::programme(&after, &after_objects),
            );
        audit::append(conn, &entry)?;
        Ok(UpdateOutcome::Updated(after, after_objects))
    });
    match result {
        Ok(outcome) => Ok(outcome),
        Err(Stop::With(outcome)) => Ok(*outcome),
        Err(Stop::Db(e)) => Err(e),
    }
}
