//! What the benchmark programs share: numeric settings from the environment and a fresh
//! database per run, removed afterwards (also after a panic).

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use diesel::RunQueryDsl;
use foerderakte::persistence::{self, Backend};

pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        _ => default,
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// On PostgreSQL, `VACUUM (ANALYZE)` once the data is loaded, as `pgbench -i` does for its
/// tables: no autovacuum worker catching up on the load runs (and counts as PostgreSQL's CPU)
/// beside the rounds measured. SQLite: nothing (the load ends with its own `ANALYZE`).
pub fn vacuum_after_load(conn: &mut persistence::AnyConnection) {
    if conn.backend() != Backend::Postgres {
        return;
    }
    let t = std::time::Instant::now();
    diesel::sql_query("VACUUM (ANALYZE)")
        .execute(conn)
        .expect("VACUUM (ANALYZE) after the load");
    eprintln!(
        "vacuumed and analysed in {:.0} s",
        t.elapsed().as_secs_f64()
    );
}

/// The database of one run: `DATABASE_URL` names a PostgreSQL server (a database
/// `<prefix>_<uuid>` is created there) or a new SQLite file; unset, a temp SQLite file.
/// `BENCH_KEEP_DB=1` keeps it.
pub enum BenchDb {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl BenchDb {
    /// The URL of a fresh database and the guard that removes it.
    pub fn create(prefix: &str) -> (String, BenchDb) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var("DATABASE_URL") {
            Ok(admin_url) if Backend::of_url(&admin_url) == Backend::Postgres => {
                let name = format!("{prefix}_{id}");
                let mut conn = persistence::establish(&admin_url).expect("DATABASE_URL connects");
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("create the bench database");
                let url = persistence::url_with_database(&admin_url, &name);
                (url, BenchDb::Postgres { admin_url, name })
            }
            Ok(path) if !path.trim().is_empty() => {
                assert!(
                    !std::path::Path::new(&path).exists(),
                    "DATABASE_URL {path} exists; the bench needs a fresh SQLite file (and deletes it)"
                );
                (path.clone(), BenchDb::Sqlite(PathBuf::from(path)))
            }
            _ => {
                let path = std::env::temp_dir().join(format!("{prefix}-{id}.sqlite3"));
                (path.display().to_string(), BenchDb::Sqlite(path))
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if std::env::var("BENCH_KEEP_DB").is_ok_and(|v| v == "1") {
            match self {
                BenchDb::Sqlite(path) => eprintln!("kept database {}", path.display()),
                BenchDb::Postgres { name, .. } => eprintln!("kept database {name}"),
            }
            return;
        }
        match self {
            BenchDb::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            BenchDb::Postgres { admin_url, name } => {
                if let Ok(mut conn) = persistence::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            }
        }
    }
}

/// SplitMix64: small, fast, good enough for test data, and the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// `0..n` (the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// `lo..=hi`
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + i64::try_from(self.below(u64::try_from(hi - lo + 1).unwrap())).unwrap()
    }
    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}
