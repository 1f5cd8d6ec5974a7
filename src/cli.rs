//! The command line: `serve` (default), `migrate`, `token`, `openapi`, `audit`, `reports`,
//! `import-register`, `seed-demo`.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::auth::mint_hs256_named;
use crate::config::{AuditSettings, Settings};
use crate::domain::{Ags, Role};
use crate::persistence::{self, BoxError};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "foerderakte",
    version,
    about = "Grant-funding case management for Thuringian municipalities"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, load the register, serve the API (the default).
    Serve,
    /// Apply migrations and load the register, then exit.
    Migrate,
    /// Mint a development token (HS256 with JWT_SECRET); prints the token alone.
    Token {
        /// applicant, caseworker, approver, ministry or admin
        #[arg(long)]
        role: String,
        /// The subject (user name) the token is for.
        #[arg(long)]
        sub: String,
        /// The person's name (the `name` claim), printed under the notices they sign.
        #[arg(long)]
        name: Option<String>,
        /// A municipality (8-digit AGS) the applicant acts for; repeat for several.
        #[arg(long)]
        ags: Vec<String>,
        /// Lifetime: e.g. 30m, 8h, 2d.
        #[arg(long, default_value = "8h")]
        ttl: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// The audit log: verify it offline, sign and print a checkpoint (docs/audit.md).
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// The maintained report totals: rebuild them from the recorded facts (after a restore),
    /// or check them against a recomputation (docs/operations.md).
    Reports {
        #[command(subcommand)]
        action: ReportsCommand,
    },
    /// Load a newer register edition (TSV from tools/gv100ad_to_tsv.py).
    ImportRegister {
        file: std::path::PathBuf,
        /// Load it even if it retires more than 5 % of the register's current entries
        /// (docs/operations.md).
        #[arg(long)]
        force: bool,
    },
    /// Fill an empty database with a reproducible demo grant history (2019 to 2026-11-20),
    /// or with --cases N generated cases (load mode). Refuses a database that holds cases.
    SeedDemo {
        /// Load mode: this many generated cases spread over 2019–2026 instead of the demo
        /// history.
        #[arg(long)]
        cases: Option<u64>,
        /// The generator's seed; the same seed gives the same data.
        #[arg(long, default_value_t = crate::seed::DEFAULT_SEED)]
        seed: u64,
        /// The demo history as batched inserts of the same rows instead of through the API's
        /// transactions (faster; load mode always writes so).
        #[arg(long)]
        bulk: bool,
        /// The database: a SQLite file or a postgres:// URL.
        #[arg(long, env = "DATABASE_URL", default_value = "foerderakte.sqlite3")]
        database_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the whole log, its checkpoints, the stored documents and every audited row;
    /// exits 1 on any finding.
    Verify {
        /// A published checkpoint (the JSON `audit checkpoint` printed); repeatable.
        #[arg(long)]
        checkpoint: Vec<std::path::PathBuf>,
        /// Start from the last checkpoint a full run verified: the entries since, and the
        /// records they wrote (a full run if there is none).
        #[arg(long)]
        incremental: bool,
    },
    /// Sign the chain's current head as a checkpoint, store it, and print it for
    /// publication.
    Checkpoint,
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Compute every case's contribution and the totals anew, in one transaction.
    Rebuild,
    /// Compare the kept totals with a recomputation; exits 1 if they differ.
    Check,
}

pub fn main() -> ExitCode {
    let arenas_bounded = std::env::var_os(ARENA_VARIABLE).is_some();
    let _ = dotenvy::dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if matches!(command, Command::Serve) && !arenas_bounded && database_in_process() {
        bound_arenas();
    }
    crate::http::representation::install();
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("foerderakte: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc's allocator reads its arena limit from the environment once, when the process
/// starts.
const ARENA_VARIABLE: &str = "MALLOC_ARENA_MAX";

/// Whether the database runs inside this process (SQLite, also when `DATABASE_URL` is unset:
/// the default), so that its caches grow the process's memory.
fn database_in_process() -> bool {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .is_none_or(|url| {
            crate::persistence::Backend::of_url(&url) == crate::persistence::Backend::Sqlite
        })
}

/// With SQLite, the server's threads (actix's workers and their blocking threads, where the database
/// work runs) each get an allocator arena of their own from glibc, up to eight per core, and
/// each arena keeps what its thread freed: about 10 MB more resident memory under load
/// (docs/benchmarks.md). The limit can only be set before the process starts (`mallopt`
/// would need `unsafe`, which the crate forbids), so `serve` executes itself again, the
/// same process, with `MALLOC_ARENA_MAX=2`, unless the environment (or `.env`) names a
/// limit already. If that fails, the server runs on with glibc's default and says so. With
/// PostgreSQL the server stays well below its memory target without the bound, so it keeps
/// glibc's default there (fewer arenas can make threads wait for an arena's lock; measured,
/// the difference per read was within the benchmark's noise).
fn bound_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let limit = std::env::var(ARENA_VARIABLE).unwrap_or_else(|_| "2".to_owned());
        let failed = match std::env::current_exe() {
            Ok(exe) => std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env(ARENA_VARIABLE, limit)
                .exec()
                .to_string(),
            Err(e) => e.to_string(),
        };
        log::warn!("{ARENA_VARIABLE} is not set and the server could not set it: {failed}");
    }
}

fn run(command: Command) -> Result<(), BoxError> {
    match command {
        Command::Openapi => {
            print!("{}", crate::openapi::document_json());
            Ok(())
        }
        Command::Token {
            role,
            sub,
            name,
            ags,
            ttl,
        } => {
            let settings = Settings::from_env()?;
            let role: Role = role.parse()?;
            let ags = ags
                .iter()
                .map(|a| Ags::parse(a).map_err(|e| format!("--ags {a}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            if role == Role::Applicant && ags.is_empty() {
                return Err("an applicant token needs at least one --ags".into());
            }
            let ttl = parse_ttl(&ttl, settings.jwt.max_ttl_secs)?;
            let token = mint_hs256_named(&settings.jwt, &sub, name.as_deref(), role, &ags, ttl)?;
            println!("{token}");
            Ok(())
        }
        Command::Migrate => {
            let settings = Settings::from_env()?;
            persistence::audit::install_keys(settings.audit.load()?);
            let mut conn = persistence::establish(&settings.database_url)?;
            persistence::prepare_database(&mut conn)?;
            log::info!("database is current");
            Ok(())
        }
        Command::ImportRegister { file, force } => {
            let settings = Settings::from_env()?;
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let parsed = persistence::register::parse(&text, NaiveDate::MIN)?;
            let edition = parsed
                .edition
                .ok_or("the file names no edition (`# edition<TAB>YYYY-MM-DD`)")?;
            persistence::audit::install_keys(settings.audit.load()?);
            let mut conn = persistence::establish(&settings.database_url)?;
            persistence::prepare_database(&mut conn)?;
            let cli = persistence::programmes::Actor {
                subject: "cli",
                role: "system",
                now: persistence::stored_now(),
            };
            let retirement = persistence::register::Retirement::from_force(force);
            let report =
                persistence::register::import(&mut conn, edition, &parsed.rows, &cli, retirement)?;
            println!("{report:?}");
            Ok(())
        }
        Command::SeedDemo {
            cases,
            seed,
            bulk,
            database_url,
        } => {
            if cases == Some(0) {
                return Err("--cases: at least 1".into());
            }
            let audit = AuditSettings::from_lookup(|k| std::env::var(k).ok(), &database_url)?;
            persistence::audit::install_keys(audit.load()?);
            let mut conn = persistence::establish(&database_url)?;
            let options = crate::seed::Options { cases, seed, bulk };
            let report = crate::seed::run(&mut conn, &options, &mut |line| {
                eprintln!("seed-demo: {line}");
            })?;
            print!("{}", report.text());
            Ok(())
        }
        Command::Audit { action } => audit(action),
        Command::Reports { action } => reports(action),
        Command::Serve => {
            let settings = Settings::from_env()?;
            let app = Application::build(&settings)?;
            log::info!("serving on http://{} (docs at /docs)", settings.bind_addr);
            actix_web::rt::System::new().block_on(app.server())?;
            Ok(())
        }
    }
}

fn reports(action: ReportsCommand) -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    persistence::audit::install_keys(settings.audit.load()?);
    let mut conn = persistence::establish(&settings.database_url)?;
    if !persistence::migrations_current(&mut conn)? {
        return Err("the database's schema is not current; run `foerderakte migrate` first".into());
    }
    let started = std::time::Instant::now();
    match action {
        ReportsCommand::Rebuild => {
            let built = persistence::totals::rebuild(&mut conn, persistence::stored_now())?;
            println!(
                "reports rebuild: {} case parts, {} totals in {:.1} s",
                built.parts,
                built.totals,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        ReportsCommand::Check => {
            let drift = persistence::totals::check(&mut conn)?;
            println!(
                "reports check: {} case parts and {} totals differ from the facts ({:.1} s)",
                drift.parts,
                drift.totals,
                started.elapsed().as_secs_f64()
            );
            match drift.is_none() {
                true => Ok(()),
                false => Err("the report totals differ; run `foerderakte reports rebuild`".into()),
            }
        }
    }
}

fn audit(action: AuditCommand) -> Result<(), BoxError> {
    let settings = Settings::from_env()?;
    let keys = settings.audit.load()?;
    persistence::audit::install_keys(keys.clone());
    let mut conn = persistence::establish(&settings.database_url)?;
    if !persistence::migrations_current(&mut conn)? {
        return Err("the database's schema is not current; run `foerderakte migrate` first".into());
    }
    match action {
        AuditCommand::Checkpoint => {
            let cp = persistence::checkpoints::create(&mut conn, chrono::Utc::now().naive_utc())?;
            println!("{}", cp.to_text());
            Ok(())
        }
        AuditCommand::Verify {
            checkpoint,
            incremental,
        } => {
            let published = checkpoint
                .iter()
                .map(|f| {
                    let text =
                        std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
                    persistence::checkpoints::Checkpoint::from_text(&text)
                        .map_err(|e| format!("{}: {e}", f.display()))
                })
                .collect::<Result<Vec<_>, String>>()?;
            let started = std::time::Instant::now();
            let extent = match incremental {
                true => persistence::verify::Extent::SinceVerified,
                false => persistence::verify::Extent::Full,
            };
            let report = persistence::verify::verify_and_record(
                &mut conn,
                &keys,
                &published,
                extent,
                &|n| {
                    if n % 1_000_000 < 5_000 && n >= 1_000_000 {
                        eprintln!("audit verify: {n} entries");
                    }
                },
            )?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!(
                "audit verify: {} entries, {} records, {} checkpoints, {} documents in {:.1} s: {}",
                report.entries_checked,
                report.records_checked,
                report.checkpoints_checked,
                report.documents_checked,
                started.elapsed().as_secs_f64(),
                if report.ok {
                    "ok".to_owned()
                } else {
                    format!("{} finding(s)", report.findings_total)
                }
            );
            if report.ok {
                Ok(())
            } else {
                Err("the audit log or the rows do not verify".into())
            }
        }
    }
}

/// `30m`, `8h`, `2d`, `90s` → seconds, at most `max` (the service's `JWT_MAX_TTL`: a longer
/// token would be refused).
pub fn parse_ttl(s: &str, max: u64) -> Result<u64, String> {
    let secs = crate::config::parse_duration(s).map_err(|e| format!("--ttl {e}"))?;
    if secs == 0 {
        return Err(format!("--ttl {s:?}: must be at least 1s"));
    }
    if secs > max {
        return Err(format!(
            "--ttl {s:?}: longer than JWT_MAX_TTL ({max} s); the service would refuse the token"
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;

    #[test]
    fn ttls_are_parsed_with_their_unit() {
        let day = 86_400;
        assert_eq!(parse_ttl("8h", day), Ok(28_800));
        assert_eq!(parse_ttl("30m", day), Ok(1_800));
        assert_eq!(parse_ttl("3600", day), Ok(3_600));
        assert!(parse_ttl("0h", day).is_err());
        assert!(parse_ttl("99d", day).is_err());
        assert!(parse_ttl("2d", day).is_err());
        assert_eq!(parse_ttl("2d", 30 * day), Ok(2 * day));
    }
}
