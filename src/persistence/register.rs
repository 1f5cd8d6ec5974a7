//! Loading an edition of the municipality register (converted from Destatis GV100AD by
//! `tools/gv100ad_to_tsv.py`) into the database.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, SubsecRound};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::audit::{self, Entry};
use super::municipalities::Municipality;
use super::programmes::Actor;
use super::schema::{municipalities as m, register_editions as e};
use super::{AnyConnection, BoxError, ledger, write_tx};
use crate::domain::calendar::{business_date_problem, parse_date};
use crate::domain::municipality::{MAX_RETIRED_PERCENT, check_register, retires_too_many};
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

/// Parses the TSV; every malformed line is an error naming the line: a cell that does not
/// parse, a key twice, a Kreis that is not the key's, a kind that contradicts the key
/// (`domain::municipality::check_register`). `edition` stamps the rows when the file names
/// none.
pub fn parse(text: &str, fallback_edition: NaiveDate) -> Result<RegisterFile, String> {
    let mut edition = None;
    let mut header_seen = false;
    let mut rows = Vec::new();
    // Each row's key and line, and the line of each key.
    let mut keys: Vec<(Ags, usize)> = Vec::new();
    let mut seen: HashMap<Ags, usize> = HashMap::new();
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
        kind.check_key(&ags).map_err(|e| format!("line {n}: {e}"))?;
        if let Some(first) = seen.insert(ags.clone(), n) {
            return Err(format!("line {n}: ags {ags} is on line {first} already"));
        }
        keys.push((ags.clone(), n));
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
    let entries: Vec<(&Ags, MunicipalityKind)> = keys
        .iter()
        .zip(&rows)
        .map(|((k, _), r)| (k, r.entry.kind))
        .collect();
    check_register(&entries).map_err(|(i, e)| format!("line {}: {e}", keys[i].1))?;
    Ok(RegisterFile { edition, rows })
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Keys new to the register.
    pub inserted: usize,
    /// Keys of the register the edition lists (each now stamped with the edition).
    pub updated: usize,
    /// Keys missing from the new edition, now ending the day before it.
    pub retired: usize,
    /// Whether `force` let the import retire more than 5 % of the register's current entries
    /// (`MAX_RETIRED_PERCENT`).
    pub forced: bool,
}

/// Why an edition was not loaded. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the edition {0} is already loaded")]
    AlreadyLoaded(NaiveDate),
    #[error(
        "the edition {edition} is older than the loaded edition {latest}; editions load in \
         the order of their dates"
    )]
    Older {
        edition: NaiveDate,
        latest: NaiveDate,
    },
    #[error(
        "the edition {edition} would retire {retiring} of the register's {current} current \
         entries (keys it does not list), more than the {MAX_RETIRED_PERCENT} % an edition may \
         retire; check the file, or load it as it is with force (`\"force\": true`; \
         `import-register --force`)"
    )]
    RetiresTooMany {
        edition: NaiveDate,
        retiring: usize,
        current: usize,
    },
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// Whether an import may retire more than `MAX_RETIRED_PERCENT` of the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// Refuse an edition that would (`ImportError::RetiresTooMany`).
    Limited,
    /// Load it (the administrator's `force`, or the edition shipped with the binary).
    Forced,
}

impl Retirement {
    /// `Forced` when the administrator set `force`.
    pub fn from_force(force: bool) -> Retirement {
        if force {
            Retirement::Forced
        } else {
            Retirement::Limited
        }
    }
}

/// Loads an edition in one transaction, audited as `by`'s write: an entry per municipality
/// it inserted or changed, and one for the edition with what the import did. Keys never
/// disappear: a key missing from the edition keeps its row and gets `valid_to` = the day
/// before the edition (if it had none). Refused, writing nothing: an edition loaded already
/// or older than the latest one, and one that would retire more than
/// `MAX_RETIRED_PERCENT` of the current entries unless `Retirement::Forced`. Imports are
/// serialised (`lock_editions`), so of two imports of one edition at once one loads it and
/// the other finds it loaded.
pub fn import(
    conn: &mut AnyConnection,
    edition: NaiveDate,
    rows: &[RegisterRow],
    by: &Actor<'_>,
    retirement: Retirement,
) -> Result<ImportReport, ImportError> {
    write_tx(conn, |conn| {
        lock_editions(conn)?;
        let latest: Option<NaiveDate> =
            e::table.select(diesel::dsl::max(e::edition)).first(conn)?;
        let done: i64 = e::table
            .filter(e::edition.eq(edition))
            .count()
            .get_result(conn)?;
        if done > 0 {
            return Err(ImportError::AlreadyLoaded(edition));
        }
        if let Some(latest) = latest.filter(|l| *l > edition) {
            return Err(ImportError::Older { edition, latest });
        }
        let before: HashMap<String, Municipality> = all(conn)?;
        let in_edition: HashSet<&str> = rows.iter().map(|r| r.entry.ags.as_str()).collect();
        let current: Vec<&String> = before
            .iter()
            .filter(|(_, m)| m.valid_to.is_none())
            .map(|(k, _)| k)
            .collect();
        let retire: Vec<&String> = current
            .iter()
            .copied()
            .filter(|k| !in_edition.contains(k.as_str()))
            .collect();
        let too_many = retires_too_many(retire.len(), current.len());
        if too_many && retirement == Retirement::Limited {
            return Err(ImportError::RetiresTooMany {
                edition,
                retiring: retire.len(),
                current: current.len(),
            });
        }
        let mut report = ImportReport {
            forced: too_many,
            ..ImportReport::default()
        };
        for row in rows {
            if before.contains_key(&row.entry.ags) {
                diesel::update(m::table.find(&row.entry.ags))
                    .set(row)
                    .execute(conn)?;
                report.updated += 1;
            } else {
                diesel::insert_into(m::table).values(row).execute(conn)?;
                report.inserted += 1;
            }
        }
        let day_before = edition.pred_opt().unwrap_or(edition);
        for key in retire {
            report.retired += diesel::update(m::table.find(key).filter(m::valid_to.is_null()))
                .set(m::valid_to.eq(day_before))
                .execute(conn)?;
        }
        let records = i32::try_from(rows.len()).map_err(|_| {
            diesel::result::Error::QueryBuilderError("too many rows for one edition".into())
        })?;
        let row = Edition {
            edition,
            imported_at: by.now.trunc_subsecs(6),
            records,
            imported_by: by.subject.to_owned(),
        };
        diesel::insert_into(e::table)
            .values((
                e::edition.eq(row.edition),
                e::imported_at.eq(row.imported_at),
                e::records.eq(row.records),
                e::imported_by.eq(&row.imported_by),
            ))
            .execute(conn)?;
        let entries = import_entries(&before, &all(conn)?, &row, by, &report);
        audit::append_all(conn, &entries.iter().collect::<Vec<_>>())?;
        Ok(report)
    })
}

/// Makes concurrent imports wait for each other. SQLite's `BEGIN IMMEDIATE` (`write_tx`)
/// serialises every write already; on PostgreSQL two imports would otherwise both find the
/// edition missing and the second fail on the key of `register_editions`. The lock
/// (`SHARE ROW EXCLUSIVE` conflicts with itself, not with reads) is held to the end of the
/// transaction; the waiting import then sees the first one's edition.
fn lock_editions(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Pg(_) = conn {
        diesel::sql_query("LOCK TABLE register_editions IN SHARE ROW EXCLUSIVE MODE")
            .execute(conn)?;
    }
    Ok(())
}

/// The register as stored, by key.
fn all(conn: &mut AnyConnection) -> QueryResult<HashMap<String, Municipality>> {
    let rows: Vec<Municipality> = m::table.select(Municipality::as_select()).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.ags.clone(), r)).collect())
}

/// The audit entries of an import, by `by`: one per municipality it inserted or changed
/// (retired ones included), and the edition's, which names what the import did (`report`).
fn import_entries(
    before: &HashMap<String, Municipality>,
    after: &HashMap<String, Municipality>,
    edition: &Edition,
    by: &Actor<'_>,
    report: &ImportReport,
) -> Vec<Entry> {
    let reason = format!("register edition {}", edition.edition);
    let entry = |record_type, key: &str, action: &str, reason: &str, changes| {
        by.entry(record_type, key, action, Some(reason), changes)
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
        out.push(entry(ledger::MUNICIPALITY, k, action, &reason, changes).with_state(b, a));
    }
    let e = ledger::edition(edition);
    let summary = format!(
        "{reason}: {} inserted, {} updated, {} retired{}",
        report.inserted,
        report.updated,
        report.retired,
        if report.forced {
            format!(" (forced past the {MAX_RETIRED_PERCENT} % limit)")
        } else {
            String::new()
        }
    );
    let new = |v: Value| json!({"before": null, "after": v});
    let changes = json!({
        "records": new(json!(edition.records)),
        "inserted": new(json!(report.inserted)),
        "updated": new(json!(report.updated)),
        "retired": new(json!(report.retired)),
        "forced": new(json!(report.forced)),
    });
    out.push(
        entry(
            ledger::REGISTER_EDITION,
            &edition.edition.to_string(),
            "import",
            &summary,
            changes,
        )
        .with_state(Value::Null, e),
    );
    out
}

/// Imports the edition shipped with the binary unless it or a later one is in the database
/// already. As the system, and not limited in what it retires: the shipped edition is part of
/// the release, reviewed with the code.
pub fn import_bundled_if_missing(conn: &mut AnyConnection) -> Result<(), BoxError> {
    let file = parse(BUNDLED, NaiveDate::MIN)?;
    let edition = file
        .edition
        .ok_or("the bundled register names no edition")?;
    let mut rows = file.rows;
    rows.extend(parse(BUNDLED_HISTORICAL, edition)?.rows);
    let system = Actor {
        subject: "system",
        role: "system",
        now: super::stored_now(),
    };
    match import(conn, edition, &rows, &system, Retirement::Forced) {
        Ok(report) => {
            log::info!(
                "municipality register {edition}: {} inserted, {} updated, {} retired",
                report.inserted,
                report.updated,
                report.retired
            );
            Ok(())
        }
        Err(ImportError::AlreadyLoaded(_)) => Ok(()),
        Err(ImportError::Older { latest, .. }) => {
            log::info!(
                "municipality register: the database holds the edition {latest}, later than \
                 the shipped {edition}"
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
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

    #[test]
    fn a_kind_against_its_key_and_a_key_twice_are_refused_with_their_line() {
        let head = "# edition\t2025-01-01\n\
                    ags\tname\tkind\tkreis\tverband\tpopulation\tarea_ha\tpostcode\tvalid_from\tvalid_to\n";
        let eisenach = "16063105\tEisenach, Stadt\tstadt\t16063\t0105\t1\t1\t99817\t\t\n";
        let parsed = parse(&format!("{head}{eisenach}"), NaiveDate::MIN).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        let as_landkreis = eisenach.replace("stadt", "landkreis");
        let err = parse(&format!("{head}{as_landkreis}"), NaiveDate::MIN).unwrap_err();
        assert!(
            err.starts_with("line 3: kind landkreis needs a Kreis key"),
            "{err}"
        );
        let err = parse(&format!("{head}{eisenach}{eisenach}"), NaiveDate::MIN).unwrap_err();
        assert_eq!(err, "line 4: ags 16063105 is on line 3 already");
        let erfurt = "16051000\tErfurt, Stadt\tkreisfreie_stadt\t16051\t0000\t1\t1\t99084\t\t\n";
        let in_erfurt = "16051001\tX\tgemeinde\t16051\t0000\t1\t1\t99084\t\t\n";
        let err = parse(&format!("{head}{in_erfurt}{erfurt}"), NaiveDate::MIN).unwrap_err();
        assert!(
            err.starts_with("line 3: 16051001 is in the Kreis 16051"),
            "{err}"
        );
    }
}
