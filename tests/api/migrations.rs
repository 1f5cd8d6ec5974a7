//! `migrations/sqlite/` and `migrations/postgres/` are one schema in two dialects: the same
//! migration directories with the same files, and the same SQL once the known dialect
//! differences below are set aside. Any other difference fails, with the lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The dialect differences the two folders may have: (SQLite spelling, PostgreSQL spelling).
/// Both sides are rewritten from the SQLite spelling to the PostgreSQL one, in this order (so
/// a pair that contains another comes first); on the PostgreSQL side that only drops the
/// redundant `NOT NULL` of a primary-key column, which later migrations write on both sides.
const DIALECT: [(&str, &str); 4] = [
    // Bytes: SQLite's BLOB, PostgreSQL's BYTEA.
    ("BLOB NOT NULL", "BYTEA NOT NULL"),
    // An identity key: SQLite's rowid alias, a PostgreSQL identity column.
    (
        "INTEGER PRIMARY KEY NOT NULL",
        "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    ),
    // SQLite lets a primary-key column be NULL unless it says NOT NULL (checked on its own
    // by `nullable_sqlite_keys`); in PostgreSQL a primary key is NOT NULL anyway.
    ("PRIMARY KEY NOT NULL", "PRIMARY KEY"),
    // The shape of a municipality key: GLOB (and a length) in SQLite, a regex in PostgreSQL.
    (
        "length(ags) = 8 AND ags GLOB '16[0-9][0-9][0-9][0-9][0-9][0-9]'",
        "ags ~ '^16[0-9]{6}$'",
    ),
];

/// Migrations written in each backend's own language (triggers: SQLite's `RAISE`,
/// PostgreSQL's PL/pgSQL, compared by behaviour instead: tests/api/audit_trust.rs), or that only
/// one backend needs (the storage of stored documents on PostgreSQL), or whose columns take
/// PostgreSQL's transaction id (the seals' and the event outbox's `txid`).
const PER_BACKEND: [&str; 4] = [
    "2026-12-02-000008_audit_guards",
    "2026-12-02-000009_document_storage",
    "2026-12-02-000011_audit_seals",
    "2026-12-06-000015_events",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")
}

/// The entries of a directory, by name.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The text in the PostgreSQL spelling of every dialect pair.
fn normalised(text: &str) -> String {
    DIALECT
        .iter()
        .fold(text.to_owned(), |t, (sqlite, postgres)| {
            t.replace(sqlite, postgres)
        })
}

/// The lines of a SQLite migration with a primary-key column that may be NULL (the
/// normalisation would hide a missing `NOT NULL` there).
fn nullable_sqlite_keys(text: &str) -> Vec<String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.split("--").next().unwrap_or("");
            l.contains("PRIMARY KEY")
                && !l.contains("PRIMARY KEY (")
                && !l.contains("PRIMARY KEY NOT NULL")
        })
        .map(|(n, l)| format!("  sqlite   {:>4}: {l}", n + 1))
        .collect()
}

/// The lines that differ, as a line diff (longest common subsequence), each with its line
/// number on its side.
fn line_diff(a: &str, b: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("  sqlite   {:>4}: {}", i + 1, a[i]));
            i += 1;
        } else {
            out.push(format!("  postgres {:>4}: {}", j + 1, b[j]));
            j += 1;
        }
    }
    out
}

/// Every difference between the two folders beyond the dialect table.
fn drift(root: &Path) -> Vec<String> {
    let (sqlite, postgres) = (root.join("sqlite"), root.join("postgres"));
    let mut out = Vec::new();
    let (ms, mp) = (names(&sqlite), names(&postgres));
    for m in ms.symmetric_difference(&mp) {
        let side = if ms.contains(m) { "sqlite" } else { "postgres" };
        out.push(format!("migration {m} is only in migrations/{side}/"));
    }
    for m in ms
        .intersection(&mp)
        .filter(|m| !PER_BACKEND.contains(&m.as_str()))
    {
        let (fs, fp) = (names(&sqlite.join(m)), names(&postgres.join(m)));
        for f in fs.symmetric_difference(&fp) {
            let side = if fs.contains(f) { "sqlite" } else { "postgres" };
            out.push(format!("{m}/{f} is only in migrations/{side}/"));
        }
        for f in fs.intersection(&fp) {
            let read = |dir: &Path| std::fs::read_to_string(dir.join(m).join(f)).unwrap();
            let (s, p) = (read(&sqlite), read(&postgres));
            let diff = line_diff(&normalised(&s), &normalised(&p));
            if !diff.is_empty() {
                out.push(format!("{m}/{f} differs beyond the dialect table:"));
                out.extend(diff);
            }
            let nullable = nullable_sqlite_keys(&s);
            if !nullable.is_empty() {
                out.push(format!(
                    "{m}/{f}: a SQLite primary-key column without NOT NULL:"
                ));
                out.extend(nullable);
            }
        }
    }
    out
}

#[test]
fn the_sqlite_and_postgres_migrations_differ_only_in_dialect() {
    let root = root();
    assert!(
        names(&root.join("sqlite")).len() >= 6,
        "no migrations found under {}",
        root.display()
    );
    let drift = drift(&root);
    assert!(
        drift.is_empty(),
        "migrations/sqlite/ and migrations/postgres/ drift apart (add a real dialect \
         difference to DIALECT in tests/api/migrations.rs):\n{}",
        drift.join("\n")
    );
}

#[test]
fn every_dialect_pair_is_still_in_use() {
    // A pair that no migration needs any more hides nothing, but is stale: remove it.
    let root = root();
    let all = |side: &str| -> String {
        let dir = root.join(side);
        names(&dir)
            .into_iter()
            .flat_map(|m| {
                names(&dir.join(&m))
                    .into_iter()
                    .map(move |f| (m.clone(), f))
            })
            .map(|(m, f)| std::fs::read_to_string(dir.join(m).join(f)).unwrap())
            .collect()
    };
    let (sqlite, postgres) = (all("sqlite"), all("postgres"));
    for (i, (s, p)) in DIALECT.iter().enumerate() {
        // Earlier pairs are replaced first, so look for a pair in the text they leave.
        let (s_left, p_left) = DIALECT[..i]
            .iter()
            .fold((sqlite.clone(), postgres.clone()), |(a, b), (x, y)| {
                (a.replace(x, ""), b.replace(y, ""))
            });
        assert!(
            s_left.contains(s) && p_left.contains(p),
            "dialect pair {i} ({s:?}, {p:?}) occurs in no migration"
        );
    }
}

#[test]
fn the_drift_check_reports_a_line_changed_on_one_side() {
    let a = "CREATE TABLE t (\n    id INTEGER PRIMARY KEY NOT NULL,\n    x TEXT\n);\n";
    let b = "CREATE TABLE t (\n    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    x TEXT\n);\n";
    assert!(line_diff(&normalised(a), &normalised(b)).is_empty());
    let b = b.replace("x TEXT", "x TEXT NOT NULL");
    assert_eq!(
        line_diff(&normalised(a), &normalised(&b)),
        [
            "  sqlite      3:     x TEXT",
            "  postgres    3:     x TEXT NOT NULL"
        ]
    );
    assert_eq!(
        nullable_sqlite_keys(
            "CREATE TABLE t (\n    id TEXT PRIMARY KEY,\n    PRIMARY KEY (a, b)\n);"
        ),
        ["  sqlite      2:     id TEXT PRIMARY KEY,"]
    );
}
