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
    /// A rate for a half-year before the newest stored one: the past is a fact, and interest
    /// may have been computed on it; a wrong rate is corrected (`correct`), not inserted.
    Past(BaseRateRow),
    /// No rate from this day is stored (a correction).
    Missing,
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
        let newest: Option<BaseRateRow> = b::table
            .order(b::valid_from.desc())
            .select(BaseRateRow::as_select())
            .first(conn)
            .optional()?;
        if let Some(newest) = newest.filter(|n| n.valid_from > valid_from) {
            return Err(AddError::Past(newest));
        }
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

/// Corrects a stored rate that was entered wrongly: an explicit administrator's act with a
/// reason, audited with the rate before and after (action `correct`). Interest computed from
/// now on uses the corrected rate; a signed notice's document never changes (it is frozen).
pub fn correct(
    conn: &mut AnyConnection,
    valid_from: NaiveDate,
    hundredths: i32,
    reason: &str,
    actor: &Actor<'_>,
) -> Result<BaseRateRow, AddError> {
    write_tx(conn, |conn| {
        let before: BaseRateRow = b::table
            .find(valid_from)
            .select(BaseRateRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(AddError::Missing)?;
        if before.hundredths == hundredths {
            return Err(AddError::Exists(before));
        }
        diesel::update(
            b::table
                .find(valid_from)
                .filter(b::hundredths.eq(before.hundredths)),
        )
        .set(b::hundredths.eq(hundredths))
        .execute(conn)?;
        let after = BaseRateRow {
            hundredths,
            ..before.clone()
        };
        let changes = json!({"rate_percent": {
            "before": percent_string(before.hundredths),
            "after": percent_string(hundredths),
        }});
        let entry = actor
            .entry(
                ledger::BASE_RATE,
                &valid_from.to_string(),
                "correct",
                Some(reason),
                changes,
            )
            .with_state(ledger::base_rate(&before), ledger::base_rate(&after));
        audit::append(conn, &entry)?;
        Ok(after)
    })
}
