//! Base rates (§ 247 BGB) as data: read by everyone, extended by administrators. A rate once
//! stored is never changed; a new one is appended with an audit entry.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Text, Timestamp};
use serde_json::json;

use super::audit;
use super::programmes::Actor;
use super::schema::base_rates as b;
use super::{AnyConnection, ledger, write_tx};
use crate::domain::interest::{BaseRate, percent_string};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = b)]
pub struct BaseRateRow {
    pub valid_from: NaiveDate,
    pub hundredths: i32,
    pub added_by: String,
    pub added_at: NaiveDateTime,
}

impl BaseRateRow {
    pub fn rate(&self) -> BaseRate {
        BaseRate {
            valid_from: self.valid_from,
            hundredths: self.hundredths,
        }
    }
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<BaseRateRow>> {
    b::table
        .order(b::valid_from.asc())
        .select(BaseRateRow::as_select())
        .load(conn)
}

#[derive(Debug)]
pub enum AddError {
    /// A rate for this day is stored already (rates are never changed).
    Exists(BaseRateRow),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for AddError {
    fn from(e: diesel::result::Error) -> Self {
        AddError::Db(e)
    }
}

/// Appends an announced rate, with its audit entry, in one transaction. A rate of a day that
/// is stored already is `Exists`, also when two admins add it at once (on any instance): the
/// insert does nothing on the key, after waiting for a concurrent one to commit.
pub fn add(
    conn: &mut AnyConnection,
    valid_from: NaiveDate,
    hundredths: i32,
    actor: &Actor<'_>,
    now: NaiveDateTime,
) -> Result<BaseRateRow, AddError> {
    write_tx(conn, |conn| {
        let row = BaseRateRow {
            valid_from,
            hundredths,
            added_by: actor.subject.to_owned(),
            added_at: now,
        };
        // The `on_conflict` DSL does not compile for MultiConnection; this SQL is valid on both.
        let inserted = diesel::sql_query(
            "INSERT INTO base_rates (valid_from, hundredths, added_by, added_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (valid_from) DO NOTHING",
        )
        .bind::<Date, _>(row.valid_from)
        .bind::<Integer, _>(row.hundredths)
        .bind::<Text, _>(&row.added_by)
        .bind::<Timestamp, _>(row.added_at)
        .execute(conn)?;
        if inserted == 0 {
            let existing = b::table
                .find(valid_from)
                .select(BaseRateRow::as_select())
                .first(conn)?;
            return Err(AddError::Exists(existing));
        }
        let changes =
            json!({"rate_percent": {"before": null, "after": percent_string(hundredths)}});
        let by = Actor {
            now,
            ..actor.clone()
        };
        let entry = by
            .entry(
                ledger::BASE_RATE,
                &valid_from.to_string(),
                "add",
                None,
                changes,
            )
            .with_state(serde_json::Value::Null, ledger::base_rate(&row));
        audit::append(conn, &entry)?;
        Ok(row)
    })
}
