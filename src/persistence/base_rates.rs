//! Base rates (§ 247 BGB) as data: read by everyone, extended by administrators. A rate once
//! stored is never changed; a new one is appended with an audit entry.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, NewEvent};
use super::programmes::Actor;
use super::schema::base_rates as b;
use super::{AnyConnection, write_tx};
use crate::domain::interest::{BaseRate, percent_string};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
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

/// Appends an announced rate, with its audit entry, in one transaction.
pub fn add(
    conn: &mut AnyConnection,
    valid_from: NaiveDate,
    hundredths: i32,
    actor: &Actor<'_>,
    now: NaiveDateTime,
) -> Result<BaseRateRow, AddError> {
    write_tx(conn, |conn| {
        if let Some(existing) = b::table
            .find(valid_from)
            .select(BaseRateRow::as_select())
            .first(conn)
            .optional()?
        {
            return Err(AddError::Exists(existing));
        }
        let row = BaseRateRow {
            valid_from,
            hundredths,
            added_by: actor.subject.to_owned(),
            added_at: now,
        };
        diesel::insert_into(b::table)
            .values((
                b::valid_from.eq(row.valid_from),
                b::hundredths.eq(row.hundredths),
                b::added_by.eq(&row.added_by),
                b::added_at.eq(row.added_at),
            ))
            .execute(conn)?;
        let key = valid_from.to_string();
        audit::append(
            conn,
            &NewEvent {
                record_type: "base_rate",
                record_key: &key,
                actor: actor.subject,
                role: actor.role,
                action: "add",
                from_status: None,
                to_status: None,
                reason: None,
                changes: json!({"rate_percent": {"before": null, "after": percent_string(hundredths)}}),
            },
        )?;
        Ok(row)
    })
}
