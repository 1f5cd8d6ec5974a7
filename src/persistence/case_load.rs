//! A case with its cost lines and members in one statement: the row, and the lines and members
//! as JSON arrays built by the database in the same statement (`json_agg` on PostgreSQL,
//! `json_group_array` on SQLite). Every read and write of a case loads it this way; three
//! statements (the row, then its lines, then its members) were three round trips and three
//! plans per request (docs/benchmarks.md). The statement is kept prepared per connection
//! (`persistence::cached::Cached`).

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::applications::{ApplicationRow, Case, CostLineRow, MemberRow, corrupt};
use super::cached::{Cached, Param};
use super::{AnyConnection, Backend};
use crate::domain::Money;
use crate::domain::application::CostCategory;

/// The row and its children as the statement returns them.
#[derive(QueryableByName)]
struct Loaded {
    #[diesel(embed)]
    case_row: ApplicationRow,
    #[diesel(sql_type = Text)]
    lines_json: String,
    #[diesel(sql_type = Text)]
    members_json: String,
}

/// A cost line as its JSON array: line, category, description, amount, eligible (0 or 1),
/// actual amount.
#[derive(serde::Deserialize)]
struct LineJson(i32, String, String, i64, i64, Option<i64>);

/// A member as its JSON array: position, municipality, Kreis, share, lead (0 or 1).
#[derive(serde::Deserialize)]
struct MemberJson(i32, String, String, i32, i64);

/// The statement's text for a backend; `members`: how many municipality keys limit it to the
/// cases they take part in (none: every case).
fn text(backend: Backend, members: usize) -> String {
    let (lines, parts) = match backend {
        Backend::Postgres => (
            "CAST(COALESCE((SELECT json_agg(json_build_array(l.line_no, l.category, \
             l.description, l.amount_cents, CASE WHEN l.eligible THEN 1 ELSE 0 END, \
             l.actual_cents) ORDER BY l.line_no) FROM cost_lines l \
             WHERE l.application_id = a.id), '[]') AS TEXT)",
            "CAST(COALESCE((SELECT json_agg(json_build_array(m.position, m.ags, m.kreis, \
             m.share_bp, CASE WHEN m.is_lead THEN 1 ELSE 0 END) ORDER BY m.position) \
             FROM application_members m WHERE m.application_id = a.id), '[]') AS TEXT)",
        ),
        Backend::Sqlite => (
            "COALESCE((SELECT json_group_array(json_array(l.line_no, l.category, \
             l.description, l.amount_cents, CASE WHEN l.eligible THEN 1 ELSE 0 END, \
             l.actual_cents) ORDER BY l.line_no) FROM cost_lines l \
             WHERE l.application_id = a.id), '[]')",
            "COALESCE((SELECT json_group_array(json_array(m.position, m.ags, m.kreis, \
             m.share_bp, CASE WHEN m.is_lead THEN 1 ELSE 0 END) ORDER BY m.position) \
             FROM application_members m WHERE m.application_id = a.id), '[]')",
        ),
    };
    let mut sql = format!(
        "SELECT a.*, {lines} AS lines_json, {parts} AS members_json \
         FROM applications a WHERE a.id = $1"
    );
    if members > 0 {
        let keys: Vec<String> = (2..members + 2).map(|i| format!("${i}")).collect();
        sql.push_str(&format!(
            " AND a.id IN (SELECT s.application_id FROM application_members s \
             WHERE s.ags IN ({}))",
            keys.join(", ")
        ));
    }
    sql
}

/// The case `id` with its cost lines and members, if it exists and (with `members`) one of
/// those municipalities takes part in it.
pub(crate) fn load(
    conn: &mut AnyConnection,
    id: &str,
    members: Option<&[String]>,
) -> QueryResult<Option<Case>> {
    let keys = members.unwrap_or_default();
    let mut params = vec![Param::Text(id.to_owned())];
    params.extend(keys.iter().map(|k| Param::Text(k.clone())));
    let loaded: Option<Loaded> = Cached::new(&text(conn.backend(), keys.len()), &params)?
        .get_result(conn)
        .optional()?;
    loaded.map(into_case).transpose()
}

fn into_case(l: Loaded) -> QueryResult<Case> {
    let id = &l.case_row.id;
    let bad = |what: &str, e: &dyn std::fmt::Display| corrupt(format!("{what} of {id}: {e}"));
    let lines: Vec<LineJson> =
        serde_json::from_str(&l.lines_json).map_err(|e| bad("the cost lines", &e))?;
    let members: Vec<MemberJson> =
        serde_json::from_str(&l.members_json).map_err(|e| bad("the members", &e))?;
    let money = |cents: i64| Money::from_cents(cents).map_err(|e| bad("an amount", &e));
    let lines = lines
        .into_iter()
        .map(
            |LineJson(line_no, category, description, amount, eligible, actual)| {
                Ok(CostLineRow {
                    application_id: id.clone(),
                    line_no,
                    category: CostCategory::parse(&category)
                        .ok_or_else(|| bad("a cost category", &category))?,
                    description,
                    amount_cents: money(amount)?,
                    eligible: eligible != 0,
                    actual_cents: actual.map(money).transpose()?,
                })
            },
        )
        .collect::<QueryResult<Vec<_>>>()?;
    let members = members
        .into_iter()
        .map(
            |MemberJson(position, ags, kreis, share_bp, lead)| MemberRow {
                application_id: id.clone(),
                position,
                ags,
                kreis,
                share_bp,
                is_lead: lead != 0,
            },
        )
        .collect();
    Ok(Case {
        row: l.case_row,
        lines,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bench/load.rs` runs `bench/sql`'s scripts with pgbench as the baseline "the database
    /// doing the same statements": they must send the case read as the server does. Fails when
    /// the statement changes and the scripts were not copied again.
    #[test]
    fn the_bench_scripts_read_a_case_with_the_server_s_statement() {
        let statement = text(Backend::Postgres, 0);
        let select = statement
            .strip_suffix("WHERE a.id = $1")
            .expect("the read ends in its key");
        for (script, sql) in [
            ("read.sql", include_str!("../../bench/sql/read.sql")),
            (
                "transition.sql",
                include_str!("../../bench/sql/transition.sql"),
            ),
        ] {
            assert!(
                sql.contains(select),
                "bench/sql/{script} does not send the server's case read:\n{select}"
            );
        }
        // The applicant's read (a transition's `provide_info`) limits it to their cases.
        let limited = text(Backend::Postgres, 1);
        let limit = limited
            .split_once("$1")
            .map(|(_, rest)| rest.split_once("IN ($2)").expect("one key").0)
            .expect("the key's place");
        assert!(
            include_str!("../../bench/sql/transition.sql").contains(limit),
            "bench/sql/transition.sql does not limit the read as the server does:\n{limit}"
        );
    }
}
