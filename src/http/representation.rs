//! The public representation of every record type, for its events
//! (`persistence::events::Represent`): what the resource's own GET answers. Like `routes`,
//! this composes the resource modules; none of them uses another.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::domain::event::record_kind;
use crate::persistence::AnyConnection;
use crate::persistence::events::{Represent, Represented};

/// Renders records through their resource modules.
pub struct Representations;

impl Represent for Representations {
    fn represent(
        &self,
        conn: &mut AnyConnection,
        record_type: &str,
        key: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Represented> {
        let feed_name = record_kind(record_type).map(|k| k.feed_name);
        match feed_name {
            Some("application") => super::applications::represent(conn, key, at),
            Some("notice") => super::notices::represent(conn, key),
            Some("payment") => super::payments::represent(conn, key),
            Some("repayment") => super::repayments::represent(conn, key),
            Some("budget") => super::budgets::represent(conn, key),
            Some("programme") => super::programmes::represent(conn, key),
            Some("base_rate") => super::base_rates::represent(conn, key),
            Some("delivery_rule") => super::delivery_rules::represent(conn, key),
            Some("municipality") => super::municipalities::represent(conn, key),
            Some("register_edition") => super::register::represent(conn, key),
            Some("webhook") => super::webhooks::represent(conn, key),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("the record type {record_type} has no representation for its events")
                    .into(),
            )),
        }
    }

    fn represent_case(
        &self,
        case: &crate::persistence::applications::Case,
        at: NaiveDateTime,
    ) -> QueryResult<Represented> {
        super::applications::represent_written(case, at)
    }
}

/// Makes these representations the ones every write of this process records its events
/// with (start-up, the CLI, tests and benchmarks call it once, before the first write).
pub fn install() {
    crate::persistence::events::install(std::sync::Arc::new(Representations));
}
