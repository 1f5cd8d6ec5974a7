//! Queries on the municipality register.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::municipalities as m;
use super::{AnyConnection, Db};
use crate::domain::MunicipalityKind;

/// An entry of the register, as read (and, inside a `register::RegisterRow`, as written).
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, serde::Serialize,
)]
#[diesel(table_name = m, treat_none_as_null = true)]
pub struct Municipality {
    pub ags: String,
    pub name: String,
    pub kind: MunicipalityKind,
    pub kreis: String,
    pub verband: Option<String>,
    pub population: Option<i64>,
    pub area_ha: Option<i64>,
    pub postcode: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub edition: NaiveDate,
}

/// Which register entries a list shows.
#[derive(Debug, Clone, Default)]
pub struct MunicipalityFilter {
    pub kreis: Option<String>,
    /// Part of the name, any case.
    pub name_contains: Option<String>,
    /// Only kinds in this list (empty: all).
    pub kinds: Vec<MunicipalityKind>,
    /// Only entries valid on this day; `None` includes historical keys.
    pub valid_on: Option<NaiveDate>,
    /// Keyset pagination: entries with a key after this one.
    pub after: Option<String>,
    pub limit: i64,
}

/// Escapes LIKE wildcards so that user input matches literally.
fn like_pattern(s: &str) -> String {
    let mut out = String::from("%");
    for ch in s.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

pub fn list(conn: &mut AnyConnection, f: &MunicipalityFilter) -> QueryResult<Vec<Municipality>> {
    let mut q = m::table.select(Municipality::as_select()).into_boxed();
    if let Some(k) = &f.kreis {
        q = q.filter(m::kreis.eq(k.clone()));
    }
    if let Some(text) = &f.name_contains {
        q = q.filter(m::name_folded.like(like_pattern(text)).escape('\\'));
    }
    if !f.kinds.is_empty() {
        q = q.filter(m::kind.eq_any(f.kinds.clone()));
    }
    if let Some(day) = f.valid_on {
        q = q
            .filter(m::valid_from.is_null().or(m::valid_from.le(day)))
            .filter(m::valid_to.is_null().or(m::valid_to.ge(day)));
    }
    if let Some(after) = &f.after {
        q = q.filter(m::ags.gt(after.clone()));
    }
    q.order(m::ags.asc()).limit(f.limit).load(conn)
}

pub fn find(conn: &mut AnyConnection, ags: &str) -> QueryResult<Option<Municipality>> {
    m::table
        .find(ags)
        .select(Municipality::as_select())
        .first(conn)
        .optional()
}

/// Counts of current Gemeinden and Kreise on a day (a kreisfreie Stadt counts as both).
pub fn count_current(conn: &mut AnyConnection, day: NaiveDate) -> QueryResult<(i64, i64)> {
    let current_on = |day: NaiveDate| {
        m::table
            .filter(m::valid_from.is_null().or(m::valid_from.le(day)))
            .filter(m::valid_to.is_null().or(m::valid_to.ge(day)))
            .into_boxed::<Db>()
    };
    let gemeinden = current_on(day)
        .filter(m::kind.ne(MunicipalityKind::Landkreis))
        .count()
        .get_result(conn)?;
    let kreise = current_on(day)
        .filter(m::kind.eq_any([
            MunicipalityKind::Landkreis,
            MunicipalityKind::KreisfreieStadt,
        ]))
        .count()
        .get_result(conn)?;
    Ok((gemeinden, kreise))
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_in_user_input_match_literally() {
        assert_eq!(like_pattern("Bad_%"), "%bad\\_\\%%");
        assert_eq!(like_pattern("ÖHR"), "%öhr%");
    }
}
