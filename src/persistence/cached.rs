//! A statement in SQL text whose prepared form the connection keeps (reports, and the write
//! path's statements that diesel's query builder cannot express for both backends).
//!
//! `diesel::sql_query` never lets a connection cache its statement, so a statement run on every
//! write (a case's contributions to the totals, `contributions`) would be parsed and planned
//! anew each time: about 10 ms of planning on PostgreSQL for that statement, about 1 ms of
//! `sqlite3_prepare` on SQLite. `Cached` hands diesel the same text with its parameters bound at
//! their places; diesel then keeps the prepared statement per connection, keyed by the text
//! (PostgreSQL reuses its plan, SQLite its compiled program).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Integer, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A value bound to a statement in SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Param {
    Int(i32),
    BigInt(i64),
    Bool(bool),
    Text(String),
    Ts(chrono::NaiveDateTime),
}

/// SQL text in pieces with a parameter between each two (`$n` of the text, in order).
#[derive(Debug, Clone)]
pub(crate) struct Cached {
    pieces: Vec<String>,
    binds: Vec<Param>,
}

impl Cached {
    /// `text` with `$n` placeholders (numbered as `Binder` numbers them, a number used again
    /// for the same value) and the values of `$1`, `$2`, …
    pub(crate) fn new(text: &str, params: &[Param]) -> QueryResult<Cached> {
        let mut pieces = vec![String::new()];
        let mut binds = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                let mut n = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    n.push(d);
                }
                let value = n
                    .parse::<usize>()
                    .ok()
                    .and_then(|k| params.get(k.checked_sub(1)?))
                    .ok_or_else(|| {
                        diesel::result::Error::QueryBuilderError(
                            format!("${n} has no parameter").into(),
                        )
                    })?;
                binds.push(value.clone());
                pieces.push(String::new());
            } else if let Some(last) = pieces.last_mut() {
                last.push(c);
            }
        }
        Ok(Cached { pieces, binds })
    }
}

impl Query for Cached {
    type SqlType = Untyped;
}

impl QueryId for Cached {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Cached
where
    DB: Backend
        + HasSqlType<Text>
        + HasSqlType<Integer>
        + HasSqlType<BigInt>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    chrono::NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for (i, piece) in self.pieces.iter().enumerate() {
            out.push_sql(piece);
            match self.binds.get(i) {
                Some(Param::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Some(Param::Int(v)) => out.push_bind_param::<Integer, _>(v)?,
                Some(Param::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Some(Param::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                Some(Param::Ts(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                None => {}
            }
        }
        Ok(())
    }
}

impl<Conn> RunQueryDsl<Conn> for Cached {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_placeholder_gets_its_value_in_order_and_a_missing_one_is_an_error() {
        let c = Cached::new(
            "a = $1 AND b = $2 OR a = $1",
            &[Param::Text("x".into()), Param::Int(7)],
        )
        .unwrap();
        assert_eq!(c.pieces, ["a = ", " AND b = ", " OR a = ", ""]);
        assert_eq!(
            c.binds,
            [
                Param::Text("x".into()),
                Param::Int(7),
                Param::Text("x".into())
            ]
        );
        assert!(Cached::new("a = $3", &[Param::Int(1)]).is_err());
    }
}
