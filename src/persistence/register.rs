//! Loading an edition of the municipality register (converted from Destatis GV100AD by
//! `tools/gv100ad_to_tsv.py`) into the database.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, SubsecRound, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::audit::{self, Entry};
use super::municipalities::Municipality;
use super::programmes::Actor;
use super::schema::{municipalities as m, register_editions as e};
use super::{AnyConnection, BoxError, ledger, write_tx};
use crate::domain::calendar::{business_date_problem, parse_date};
use crate::domain::{Ags, MunicipalityKind};

/// The edition shipped with the binary.
pub const BUNDLED: &str = include_str!("../../data/municipalities-2023-11-30.tsv");
/// Keys that have left the register but that older cases may name.
pub const BUNDLED_HISTORICAL: &str = include_str!("../../data/municipalities-historical.tsv");

/// A row of an edition as written: the entry as it is read back, and its name folded for the
/// search by part of the name.
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = m, treat_none_as_null = true)]
pub struct RegisterRow {
    #[diesel(embed)]
    pub entry: Municipality,
    pub name_folded: String,
}

/// A parsed register file: its edition (from a `# edition<TAB>YYYY-MM-DD` line, if any) and
/// its rows.
#[derive(Debug)]
pub struct RegisterFile {
    pub edition: Option<NaiveDate>,
    pub rows: Vec<RegisterRow>,
}

const COLUMNS: [&str; 10] = [
    "ags",
    "name",
    "kind",
    "kreis",
    "verband",
    "population",
    "area_ha",
    "postcode",
    "valid_from",
    "valid_to",
];

/// Parses the TSV; every malformed line is an error naming the line. `edition` stamps the rows
/// when the file names none.
pub fn parse(text: &str, fallback_edition: NaiveDate) -> Result<RegisterFile, String> {
    let mut edition = None;
    let mut header_seen = false;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(date) = comment.trim().strip_prefix("edition") {
                let d =
                    parse_date(date.trim()).map_err(|e| format!("line {n}: edition date: {e}"))?;
                if let Some(problem) = business_date_problem(d) {
                    return Err(format!("line {n}: edition date: {problem}"));
                }
                edition = Some(d);
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split('\t').collect();
        if !header_seen {
            if cells != COLUMNS {
                return Err(format!("line {n}: expected header {}", COLUMNS.join(" ")));
            }
            header_seen = true;
            continue;
        }
        if cells.len() != COLUMNS.len() {
            return Err(format!("line {n}: expected {} columns", COLUMNS.len()));
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let num = |s: &str, what: &str| -> Result<Option<i64>, String> {
            opt(s)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|e| format!("line {n}: {what}: {e}"))
                })
                .transpose()
        };
        let date = |s: &str, what: &str| -> Result<Option<NaiveDate>, String> {
            opt(s)
                .map(|v| parse_date(&v).map_err(|e| format!("line {n}: {what}: {e}")))
                .transpose()
        };
        let ags = Ags::parse(cells[0]).map_err(|e| format!("line {n}: ags {e}"))?;
        let kind: MunicipalityKind = cells[2].parse().map_err(|e| format!("line {n}: {e}"))?;
        if cells[3] != ags.kreis().as_str() {
            return Err(format!("line {n}: kreis does not match the AGS"));
        }
        rows.push(RegisterRow {
            entry: Municipality {
                ags: ags.as_str().to_owned(),
                name: cells[1].to_owned(),
                kind,
                kreis: cells[3].to_owned(),
                verband: opt(cells[4]),
                population: num(cells[5], "population")?,
                area_ha: num(cells[6], "area_ha")?,
                postcode: opt(cells[7]),
                valid_from: date(cells[8], "valid_from")?,
                valid_to: date(cells[9], "valid_to")?,
                edition: edition.unwrap_or(fallback_edition),
            },
            name_folded: cells[1].to_lowercase(),
        });
    }
    if !header_seen {
        return Err("no header line".into());
    }
    Ok(RegisterFile { edition, rows })
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub inserted: usize,
    pub updated: usize,
    /// Keys missing from the new edition, now ending the day before it.
    pub retired: usize,
    pub skipped_already_imported: bool,
}

/// Loads an edition in one transaction. Keys never disappear: a key missing from the edition
/// keeps its row and gets `valid_to` = the day before the edition (if it had none).
pub fn import(
    conn: &mut AnyConnection,
    edition: NaiveDate,
    rows: &[RegisterRow],
    imported_by: &str,
) -> Result<ImportReport, BoxError> {
    write_tx(conn, |conn| {
        let done: i64 = e::table
            .filter(e::edition.eq(edition))
            .count()
            .get_result(conn)?;
        if done > 0 {
            return Ok(ImportReport {
                skipped_already_imported: true,
                ..Default::default()
            });
        }
        let before: HashMap<String, Municipality> = all(conn)?;
        let existing: HashSet<String> = before.keys().cloned().collect();
        let mut report = ImportReport::default();
        for row in rows {
            if existing.contains(&row.entry.ags) {
                diesel::update(m::table.find(&row.entry.ags))
                    .set(row)
                    .execute(conn)?;
                report.updated += 1;
            } else {
                diesel::insert_into(m::table).values(row).execute(conn)?;
                report.inserted += 1;
            }
        }
        let in_edition: HashSet<&str> = rows.iter().map(|r| r.entry.ags.as_str()).collect();
        let retire: Vec<&String> = existing
            .iter()
            .filter(|k| !in_edition.contains(k.as_str()))
            .collect();
        let day_before = edition.pred_opt().unwrap_or(edition);
        for key in retire {
            report.retired += diesel::update(m::table.find(key).filter(m::valid_to.is_null()))
                .set(m::valid_to.eq(day_before))
                .execute(conn)?;
        }
        let records = i32::try_from(rows.len()).map_err(|_| "too many rows")?;
        let row = Edition {
            edition,
            imported_at: Utc::now().naive_utc().trunc_subsecs(6),
            records,
            imported_by: imported_by.to_owned(),
        };
        diesel::insert_into(e::table)
            .values((
                e::edition.eq(row.edition),
                e::imported_at.eq(row.imported_at),
                e::records.eq(row.records),
                e::imported_by.eq(&row.imported_by),
            ))
            .execute(conn)?;
        let entries = import_entries(&before, &all(conn)?, &row);
        audit::append_all(conn, &entries.iter().collect::<Vec<_>>())?;
        Ok(report)
    })
}

/// The register as stored, by key.
fn all(conn: &mut AnyConnection) -> QueryResult<HashMap<String, Municipality>> {
    let rows: Vec<Municipality> = m::table.select(Municipality::as_select()).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.ags.clone(), r)).collect())
}

/// The audit entries of an import: one per municipality it inserted or changed, and the
/// edition's. `system` and `cli` import as the system, anyone else as an administrator.
fn import_entries(
    before: &HashMap<String, Municipality>,
    after: &HashMap<String, Municipality>,
    edition: &Edition,
) -> Vec<Entry> {
    let by = Actor {
        subject: &edition.imported_by,
        role: match edition.imported_by.as_str() {
            "system" | "cli" => "system",
            _ => "admin",
        },
        now: edition.imported_at,
    };
    let reason = format!("register edition {}", edition.edition);
    let entry = |record_type, key: &str, action: &str, changes| {
        by.entry(record_type, key, action, Some(&reason), changes)
    };
    let mut keys: Vec<&String> = after.keys().collect();
    keys.sort();
    let mut out = Vec::new();
    for k in keys {
        let now = &after[k];
        let old = before.get(k);
        if old == Some(now) {
            continue;
        }
        let (b, a) = (
            old.map_or(Value::Null, ledger::municipality),
            ledger::municipality(now),
        );
        let action = if old.is_some() { "update" } else { "create" };
        let changes = audit::diff(&b["municipalities"], &a["municipalities"]);
        out.push(entry(ledger::MUNICIPALITY, k, action, changes).with_state(b, a));
    }
    let e = ledger::edition(edition);
    let changes = json!({"records": {"before": null, "after": edition.records}});
    out.push(
        entry(
            ledger::REGISTER_EDITION,
            &edition.edition.to_string(),
            "import",
            changes,
        )
        .with_state(Value::Null, e),
    );
    out
}

/// Imports the edition shipped with the binary unless it is in the database already.
pub fn import_bundled_if_missing(conn: &mut AnyConnection) -> Result<(), BoxError> {
    let file = parse(BUNDLED, NaiveDate::MIN)?;
    let edition = file
        .edition
        .ok_or("the bundled register names no edition")?;
    let mut rows = file.rows;
    rows.extend(parse(BUNDLED_HISTORICAL, edition)?.rows);
    let report = import(conn, edition, &rows, "system")?;
    if !report.skipped_already_imported {
        log::info!(
            "municipality register {edition}: {} inserted, {} updated, {} retired",
            report.inserted,
            report.updated,
            report.retired
        );
    }
    Ok(())
}

/// An imported edition.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct Edition {
    pub edition: NaiveDate,
    pub imported_at: chrono::NaiveDateTime,
    pub records: i32,
    pub imported_by: String,
}

pub fn editions(conn: &mut AnyConnection) -> QueryResult<Vec<Edition>> {
    e::table
        .select((e::edition, e::imported_at, e::records, e::imported_by))
        .order(e::edition.asc())
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_register_has_624_gemeinden_and_22_kreise() {
        let file = parse(BUNDLED, NaiveDate::MIN).unwrap();
        let kinds: Vec<MunicipalityKind> = file.rows.iter().map(|r| r.entry.kind).collect();
        assert_eq!(kinds.iter().filter(|k| k.is_gemeinde()).count(), 624);
        assert_eq!(kinds.iter().filter(|k| k.is_kreis()).count(), 22);
        assert_eq!(
            file.edition,
            Some(NaiveDate::from_ymd_opt(2023, 11, 30).unwrap())
        );
    }

    #[test]
    fn a_malformed_line_is_refused_with_its_number() {
        let text = "ags\tname\tkind\tkreis\tverband\tpopulation\tarea_ha\tpostcode\tvalid_from\tvalid_to\n\
                    1606310\tX\tgemeinde\t16063\t\t\t\t\t\t\n";
        let err = parse(text, NaiveDate::MIN).unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
    }
}
