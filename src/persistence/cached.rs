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

/// A statement of diesel's query builder that the connection keeps prepared, keyed by its
/// text (`prepared(q)`).
///
/// diesel prepares and plans every `UPDATE`, and every `INSERT` with an optional column, anew
/// at each execution: it marks them unsafe to cache because their text can vary with the
/// values (a `None` in a changeset leaves its column out, an absent optional value becomes
/// `DEFAULT`). The cache is keyed by the text and the bind types, so a statement whose text
/// varies is still cached correctly, once per variant; what diesel guards against is a cache
/// that grows without bound. `prepared` is for statements with a bounded number of texts
/// (one row, a fixed set of columns): the write path's updates and single-row inserts, each
/// of which PostgreSQL otherwise parsed and planned on every request (docs/benchmarks.md,
/// issue 19). Not for a batch or an `IN` list whose length has no bound: each length is a
/// text of its own (the log's entries of one write, a handful, are kept this way).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared<Q>(Q);

/// `q`, kept prepared by the connection (`Prepared`).
pub(crate) fn prepared<Q>(q: Q) -> Prepared<Q> {
    Prepared(q)
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB: Backend, Q: QueryFragment<DB>> QueryFragment<DB> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

impl<Q> Prepared<Q> {
    /// Runs the statement on `conn` and returns the number of rows it changed; on PostgreSQL
    /// kept prepared.
    ///
    /// diesel's `execute` hands the connection a reference to the statement, and
    /// `QueryFragment for &T` answers whether it may be cached by walking the statement (where
    /// diesel's `UPDATE` says no) instead of asking `Prepared`; a query that is loaded is handed
    /// over by value and asked directly. So on PostgreSQL the statement is loaded, as
    /// `WITH changed AS (<statement> RETURNING 1) SELECT count(*) FROM changed`: the same rows
    /// changed, their number returned as a row. SQLite runs it as diesel does (its statements
    /// are compiled in process, and an `INSERT` with an absent optional value takes diesel's
    /// SQLite-specific path there).
    pub(crate) fn execute(self, conn: &mut super::AnyConnection) -> QueryResult<usize>
    where
        Q: QueryFragment<diesel::pg::Pg>
            + diesel::query_dsl::methods::ExecuteDsl<diesel::SqliteConnection>,
    {
        match conn {
            super::AnyConnection::Pg(c) => {
                let n: i64 = RunQueryDsl::get_result(Counted(self.0), c)?;
                usize::try_from(n).map_err(|e| {
                    diesel::result::Error::DeserializationError(
                        format!("a count of changed rows: {e}").into(),
                    )
                })
            }
            super::AnyConnection::Sqlite(c) => {
                diesel::query_dsl::methods::ExecuteDsl::execute(self.0, c)
            }
        }
    }
}

/// A data-changing statement whose changed rows are counted in a row (`Prepared::execute`).
struct Counted<Q>(Q);

impl<Q> Query for Counted<Q> {
    type SqlType = BigInt;
}

impl<Q> QueryId for Counted<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: QueryFragment<diesel::pg::Pg>> QueryFragment<diesel::pg::Pg> for Counted<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        out.push_sql("WITH changed AS (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" RETURNING 1) SELECT CAST(count(*) AS BIGINT) FROM changed");
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, _backend: &diesel::pg::Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Conn> RunQueryDsl<Conn> for Counted<Q> {}

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

    #[test]
    fn an_update_is_cached_only_when_prepared_and_its_text_is_unchanged() {
        use crate::persistence::schema::budgets as b;
        use diesel::pg::Pg;
        use diesel::prelude::*;
        let update =
            || diesel::update(b::table.find(("P", 2026))).set(b::version.eq(b::version + 1));
        assert!(!QueryFragment::<Pg>::is_safe_to_cache_prepared(&update(), &Pg).unwrap());
        let kept = prepared(update());
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&kept, &Pg).unwrap());
        let plain = diesel::debug_query::<Pg, _>(&update()).to_string();
        let wrapped = diesel::debug_query::<Pg, _>(&kept).to_string();
        assert_eq!(plain, wrapped);
        assert!(wrapped.starts_with("UPDATE \"budgets\" SET"), "{wrapped}");
        // On PostgreSQL it runs as a query whose one row counts the rows changed.
        let counted = diesel::debug_query::<Pg, _>(&Counted(update())).to_string();
        assert!(
            counted.starts_with(&format!(
                "WITH changed AS ({}",
                plain.split(" -- binds").next().unwrap()
            )),
            "{counted}"
        );
        assert!(counted.contains(" RETURNING 1) SELECT CAST(count(*) AS BIGINT) FROM changed"));
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&Counted(update()), &Pg).unwrap());
    }
}
