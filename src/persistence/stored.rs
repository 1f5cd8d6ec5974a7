//! Typed columns: money columns load into `Money`, status and kind columns into their enums,
//! at the boundary. A stored value that does not convert (cents beyond `MAX_CENTS`, a status
//! no version of the service writes) is a deserialisation error: the request fails with a 500
//! and the log names the column's value (`error.rs`), never a silent 0.00 or a default status.
//!
//! The domain types stay free of diesel (the layering test); the impls live here, one macro
//! for all of them, and work through `MultiConnection`: `FromSql` for every backend (through
//! the raw `i64` or `String`), `ToSql` for SQLite, PostgreSQL and the `MultiBackend` that
//! dispatches to them, `Queryable`, and `AsExpression` by way of the raw type (only diesel's
//! public API).

use std::io::Write;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::sqlite::Sqlite;

use super::MultiBackend;
use crate::domain::application::CostCategory;
use crate::domain::notice::{NoticeKind, NoticeStatus};
use crate::domain::payment::PaymentStatus;
use crate::domain::{FinancingType, Money, MunicipalityKind, Status};

/// A stored value that no version of the service writes.
fn corrupt(column_type: &str, raw: impl std::fmt::Debug, why: impl std::fmt::Display) -> String {
    format!("corrupt stored {column_type} {raw:?}: {why}")
}

/// The diesel impls of a domain type stored as `$st` through the raw Rust type `$raw`: `load`
/// converts a raw value (or says why not), `bind` gives the primitive a value binds as in a
/// query; `sqlite` and `pg` serialise it where diesel asks the type itself (an `Option` of it,
/// through diesel's `Option` impls).
macro_rules! stored {
    ($ty:ty as $st:ty, $what:literal, raw: $raw:ty,
     load: |$r:ident| $load:expr,
     bind: $bty:ty = |$bv:ident| $bind:expr,
     sqlite: |$sv:ident, $so:ident| $sqlite:expr,
     pg: |$pv:ident, $po:ident| $pg:expr) => {
        impl<DB: Backend> FromSql<$st, DB> for $ty
        where
            $raw: FromSql<$st, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let raw = <$raw as FromSql<$st, DB>>::from_sql(bytes)?;
                let $r = &raw;
                let loaded: Result<$ty, _> = $load;
                loaded.map_err(|why| corrupt($what, &raw, why).into())
            }
        }

        impl<DB: Backend> Queryable<$st, DB> for $ty
        where
            $ty: FromSql<$st, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl ToSql<$st, Sqlite> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                let ($sv, $so) = (self, out);
                $sqlite;
                Ok(IsNull::No)
            }
        }

        impl ToSql<$st, Pg> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                let ($pv, $po) = (self, out);
                $pg?;
                Ok(IsNull::No)
            }
        }

        impl ToSql<$st, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((<$st>::default(), self));
                Ok(IsNull::No)
            }
        }

        // Values in queries and inserts bind as their raw type (`$bty`), so these use only
        // diesel's public impls of the primitive types.
        impl AsExpression<$st> for $ty {
            type Expression = <$bty as AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let $bv = self;
                AsExpression::<$st>::as_expression($bind)
            }
        }

        impl<'a> AsExpression<$st> for &'a $ty {
            type Expression = <$bty as AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let $bv = *self;
                AsExpression::<$st>::as_expression($bind)
            }
        }

        impl AsExpression<Nullable<$st>> for $ty {
            type Expression = <$bty as AsExpression<Nullable<$st>>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let $bv = self;
                AsExpression::<Nullable<$st>>::as_expression($bind)
            }
        }

        impl<'a> AsExpression<Nullable<$st>> for &'a $ty {
            type Expression = <$bty as AsExpression<Nullable<$st>>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let $bv = *self;
                AsExpression::<Nullable<$st>>::as_expression($bind)
            }
        }

        impl<'a, 'b> AsExpression<$st> for &'b &'a $ty {
            type Expression = <$bty as AsExpression<$st>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let $bv = **self;
                AsExpression::<$st>::as_expression($bind)
            }
        }
    };
}

/// A string enum stored as its `as_str()` text.
macro_rules! stored_text {
    ($($ty:ty => $what:literal),+ $(,)?) => {$(
        stored!($ty as Text, $what, raw: String,
            load: |s| s.parse::<$ty>(),
            bind: &'static str = |v| v.as_str(),
            sqlite: |v, out| out.set_value(v.as_str()),
            pg: |v, out| out.write_all(v.as_str().as_bytes()));
    )+};
}

stored!(Money as BigInt, "amount of cents", raw: i64,
    load: |c| Money::from_cents(*c).map_err(|e| e.to_string()),
    bind: i64 = |m| m.cents(),
    sqlite: |m, out| out.set_value(m.cents()),
    pg: |m, out| out.write_all(&m.cents().to_be_bytes()));

stored_text!(
    Status => "case status",
    NoticeKind => "notice kind",
    NoticeStatus => "notice status",
    PaymentStatus => "payment status",
    FinancingType => "financing type",
    CostCategory => "cost category",
    MunicipalityKind => "municipality kind",
);
