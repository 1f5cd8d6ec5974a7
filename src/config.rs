//! Configuration from the environment (and an optional `.env`, loaded by the CLI).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::domain::audit::{AuditKey, Keyring};
use crate::domain::remedy::AuthorityLevel;

use crate::document::Authority;

/// Everything the service reads from its environment. `.env.example` documents each variable.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind_addr: String,
    pub pool_size: u32,
    pub jwt: JwtSettings,
    /// The issuing authority printed on notices.
    pub authority: Authority,
    /// Where the audit log's key comes from (docs/audit.md).
    pub audit: AuditSettings,
    /// How much expensive work runs at once, and how long a body may take to arrive.
    pub limits: LimitSettings,
    /// The bearer token a scrape of `/metrics` must present (`METRICS_TOKEN`); `None`: the
    /// metrics are open, like the health probes.
    pub metrics_token: Option<String>,
    /// `OPEN_DATA=true`: the signed grants (`/api/v1/open-data/grants`, no personal data) are
    /// published without a token; default `false`: they need a token of a role that reads
    /// reports.
    pub open_data: bool,
    /// `CORS_ALLOWED_ORIGINS`: the browser origins (`https://portal.example`) that may call
    /// the API, comma-separated; default none.
    pub cors_allowed_origins: Vec<String>,
    /// `RATE_LIMIT_PER_MINUTE`: requests per caller and minute; default `None`: no limit.
    pub rate_limit_per_minute: Option<u32>,
    /// How webhooks are delivered (docs/webhooks.md).
    pub webhooks: WebhookSettings,
}

/// Webhook deliveries (docs/webhooks.md): `WEBHOOK_RETRY_SCHEDULE` (the waits before each
/// retry, default `5s,5m,30m,2h,5h,10h,10h`), `WEBHOOK_ALLOW_INSECURE` (default `false`;
/// `true` allows `http` and loopback targets, for development and tests),
/// `WEBHOOK_INTERVAL_MS` (how often the worker publishes the feed and sends what is due,
/// default 200; 0: no worker in this process), `WEBHOOK_TIMEOUT_SECS` (per attempt, default
/// 10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// In seconds.
    pub retry_schedule: Vec<u64>,
    pub allow_insecure: bool,
    pub interval_ms: u64,
    pub timeout_secs: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            retry_schedule: crate::domain::webhook::parse_schedule(
                crate::domain::webhook::DEFAULT_SCHEDULE,
            )
            .unwrap_or_default(),
            allow_insecure: false,
            interval_ms: 200,
            timeout_secs: 10,
        }
    }
}

impl WebhookSettings {
    fn from_lookup(non_empty: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = WebhookSettings::default();
        let retry_schedule = match non_empty("WEBHOOK_RETRY_SCHEDULE") {
            None => d.retry_schedule,
            Some(v) => crate::domain::webhook::parse_schedule(&v).map_err(|e| {
                ConfigError(format!(
                    "WEBHOOK_RETRY_SCHEDULE must list the waits before each retry, like \
                     5s,5m,30m,2h: {e}"
                ))
            })?,
        };
        let number = |key: &str, default: u64, range: std::ops::RangeInclusive<u64>| {
            non_empty(key).map_or(Ok(default), |v| {
                v.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "{key} must be a whole number in {}..={}, not {v:?}",
                            range.start(),
                            range.end()
                        ))
                    })
            })
        };
        Ok(WebhookSettings {
            retry_schedule,
            allow_insecure: flag(
                "WEBHOOK_ALLOW_INSECURE",
                non_empty("WEBHOOK_ALLOW_INSECURE"),
            )?,
            interval_ms: number("WEBHOOK_INTERVAL_MS", d.interval_ms, 0..=60_000)?,
            timeout_secs: number("WEBHOOK_TIMEOUT_SECS", d.timeout_secs, 1..=120)?,
        })
    }
}

/// The bounds that keep a few requests from starving the others (docs/operations.md):
/// expensive operations (notice documents, reports, audit verify) run at most `heavy` at a
/// time, each waiting at most `heavy_wait_ms` for its turn before a 503 with Retry-After, so
/// that at least `pool_size − heavy` connections stay for everything else; a request body must
/// arrive within `body_timeout_secs` of the request head (408 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    pub heavy: usize,
    pub heavy_wait_ms: u64,
    pub body_timeout_secs: u64,
}

impl LimitSettings {
    /// The defaults for a pool of `pool_size`: a quarter of it for expensive work (at least
    /// one), half a second's wait, 30 s for a body.
    pub fn for_pool(pool_size: u32) -> LimitSettings {
        LimitSettings {
            heavy: usize::try_from(pool_size / 4).unwrap_or(1).max(1),
            heavy_wait_ms: 500,
            body_timeout_secs: 30,
        }
    }

    fn from_lookup(
        non_empty: &impl Fn(&str) -> Option<String>,
        pool_size: u32,
    ) -> Result<LimitSettings, ConfigError> {
        let d = LimitSettings::for_pool(pool_size);
        let number =
            |key: &str, default: u64, range: std::ops::RangeInclusive<u64>| match non_empty(key) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "{key} must be a whole number in {}..={}",
                            range.start(),
                            range.end()
                        ))
                    }),
            };
        let heavy = number("HEAVY_REQUESTS", d.heavy as u64, 1..=u64::from(pool_size))?;
        Ok(LimitSettings {
            heavy: usize::try_from(heavy).unwrap_or(d.heavy),
            heavy_wait_ms: number("HEAVY_WAIT_MS", d.heavy_wait_ms, 0..=60_000)?,
            body_timeout_secs: number("BODY_TIMEOUT_SECS", d.body_timeout_secs, 1..=3600)?,
        })
    }
}

/// Where the audit key comes from: `AUDIT_KEY` (hex), `AUDIT_KEY_FILE` (a file holding the
/// hex), or, for a SQLite database without either, a key generated into the file beside it
/// (`<database>.audit-key`, development). The key is never stored in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKeySource {
    Hex(String),
    File(PathBuf),
    /// Read from this file, generated there first if it does not exist.
    Generated(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub source: AuditKeySource,
    /// Earlier keys (hex, `AUDIT_PREVIOUS_KEYS`, comma-separated) that still verify the
    /// entries they signed: rotation without re-signing.
    pub previous: Vec<String>,
    /// How often the server seals the entries of finished transactions
    /// (`SEAL_INTERVAL_MS`, default 100; 0: never by itself, only when verify or a checkpoint
    /// runs). An entry is protected against removal from its seal on (docs/audit.md).
    pub seal_interval_ms: u64,
}

/// The default of `SEAL_INTERVAL_MS`.
pub const SEAL_INTERVAL_MS: u64 = 100;

impl AuditSettings {
    /// From `AUDIT_KEY`, `AUDIT_KEY_FILE`, `AUDIT_PREVIOUS_KEYS`, for the database
    /// `database_url`.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        database_url: &str,
    ) -> Result<AuditSettings, ConfigError> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let source = match (non_empty("AUDIT_KEY"), non_empty("AUDIT_KEY_FILE")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError(
                    "set AUDIT_KEY or AUDIT_KEY_FILE, not both".into(),
                ));
            }
            (Some(hex), None) => AuditKeySource::Hex(hex),
            (None, Some(file)) => AuditKeySource::File(PathBuf::from(file)),
            (None, None)
                if crate::persistence::Backend::of_url(database_url)
                    == crate::persistence::Backend::Postgres =>
            {
                return Err(ConfigError(
                    "AUDIT_KEY or AUDIT_KEY_FILE is required with PostgreSQL: the audit key \
                     must not live with the database (docs/audit.md)"
                        .into(),
                ));
            }
            (None, None) => {
                AuditKeySource::Generated(PathBuf::from(format!("{database_url}.audit-key")))
            }
        };
        let previous = non_empty("AUDIT_PREVIOUS_KEYS")
            .map(|v| {
                v.split(',')
                    .map(|k| k.trim().to_owned())
                    .filter(|k| !k.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let seal_interval_ms = match non_empty("SEAL_INTERVAL_MS") {
            None => SEAL_INTERVAL_MS,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 60_000)
                .ok_or_else(|| {
                    ConfigError("SEAL_INTERVAL_MS must be 0..=60000 (milliseconds)".into())
                })?,
        };
        Ok(AuditSettings {
            source,
            previous,
            seal_interval_ms,
        })
    }

    /// The keys, reading (or, for `Generated`, first writing) the key file.
    pub fn load(&self) -> Result<Keyring, ConfigError> {
        let hex = match &self.source {
            AuditKeySource::Hex(h) => h.clone(),
            AuditKeySource::File(f) => read_key_file(f)?,
            AuditKeySource::Generated(f) if f.exists() => read_key_file(f)?,
            AuditKeySource::Generated(f) => generate_key_file(f)?,
        };
        let bad = |e: String| ConfigError(format!("audit key: {e}"));
        let current = AuditKey::from_hex(&hex).map_err(bad)?;
        let previous = self
            .previous
            .iter()
            .map(|h| AuditKey::from_hex(h).map_err(bad))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring { current, previous })
    }
}

fn read_key_file(f: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(f)
        .map_err(|e| ConfigError(format!("audit key file {}: {e}", f.display())))
}

/// A new random 256-bit key in `f` (hex, readable by its owner only), with a warning: fine
/// for development, not for production.
fn generate_key_file(f: &std::path::Path) -> Result<String, ConfigError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| ConfigError(format!("no randomness: {e}")))?;
    let hex = crate::domain::audit::hex(&secret);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(f)
        .map_err(|e| ConfigError(format!("audit key file {}: {e}", f.display())))?;
    std::io::Write::write_all(&mut file, format!("{hex}\n").as_bytes())
        .map_err(|e| ConfigError(format!("audit key file {}: {e}", f.display())))?;
    log::warn!(
        "no AUDIT_KEY: generated a development audit key in {} (keep it apart from the \
         database in production; docs/audit.md)",
        f.display()
    );
    Ok(hex)
}

/// The letterhead of the notices. Defaults: the competence centre; override with
/// `AUTHORITY_NAME`, `AUTHORITY_UNIT`, `AUTHORITY_ADDRESS` (lines separated by `;`) and
/// `AUTHORITY_PLACE`. `AUTHORITY_LEVEL` (`oberste_landesbehoerde`, the default: the finance
/// ministry is one; or `landesbehoerde`) decides whether the instructions name the Klage at
/// the administrative court or the Widerspruch to this authority (`domain::remedy`).
pub fn default_authority() -> Authority {
    Authority {
        name: "Thüringer Finanzministerium".into(),
        unit: "Kompetenzzentrum Verwaltung 4.0".into(),
        address: vec!["Ludwig-Erhard-Ring 7".into(), "99099 Erfurt".into()],
        place: "Erfurt".into(),
        level: AuthorityLevel::ObersteLandesbehoerde,
    }
}

/// The one algorithm tokens are signed with (`JWT_ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    Rs256,
    Es256,
}

impl FromStr for JwtAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "HS256" => Ok(JwtAlgorithm::Hs256),
            "RS256" => Ok(JwtAlgorithm::Rs256),
            "ES256" => Ok(JwtAlgorithm::Es256),
            other => Err(format!(
                "JWT_ALGORITHM must be one of HS256, RS256, ES256, not {other:?}"
            )),
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Rs256 => "RS256",
            JwtAlgorithm::Es256 => "ES256",
        })
    }
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub algorithm: JwtAlgorithm,
    /// HS256 key; required for HS256.
    pub secret: Option<String>,
    /// PEM public key file; required for RS256 and ES256.
    pub public_key: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
    /// The longest lifetime a token may have, in seconds (`JWT_MAX_TTL`, default 24 h): both
    /// `exp − iat` and `exp − now` (docs/operations.md).
    pub max_ttl_secs: u64,
}

/// The default of `JWT_MAX_TTL`: a working day and its night; identity providers issue
/// access tokens for minutes to hours.
pub const JWT_MAX_TTL_SECS: u64 = 24 * 3600;

/// The bounds of `JWT_MAX_TTL`: a minute to 30 days.
pub const TTL_BOUNDS_SECS: std::ops::RangeInclusive<u64> = 60..=30 * 86_400;

/// A duration as whole seconds (`86400`) or a number with a unit: `90s`, `30m`, `8h`, `2d`.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{s:?}: expected seconds or a number and s, m, h or d"
            ));
        }
    };
    num.parse::<u64>()
        .ok()
        .filter(|_| !num.is_empty())
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("{s:?}: expected seconds or a number and s, m, h or d"))
}

/// A configuration the service must refuse to start with.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Scrape tokens shorter than this are refused: a short one can be guessed.
pub const MIN_METRICS_TOKEN_LEN: usize = 16;

/// `METRICS_TOKEN`: unset or empty → `None`; else 16 to 512 visible ASCII characters (it
/// travels in an `Authorization` header).
fn metrics_token(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(token) = value.map(|v| v.trim().to_owned()) else {
        return Ok(None);
    };
    if token.len() < MIN_METRICS_TOKEN_LEN || token.len() > 512 {
        return Err(ConfigError(format!(
            "METRICS_TOKEN must be {MIN_METRICS_TOKEN_LEN} to 512 characters long"
        )));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError(
            "METRICS_TOKEN must consist of visible ASCII characters (no spaces)".into(),
        ));
    }
    Ok(Some(token))
}

/// HS256 keys shorter than this are refused: a short secret can be brute-forced offline
/// from any token.
pub const MIN_SECRET_LEN: usize = 32;

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the settings through `get`, so that tests can pass their own environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let algorithm: JwtAlgorithm = non_empty("JWT_ALGORITHM")
            .unwrap_or_else(|| "HS256".into())
            .parse()
            .map_err(ConfigError)?;
        let jwt = JwtSettings {
            algorithm,
            secret: non_empty("JWT_SECRET"),
            public_key: non_empty("JWT_PUBLIC_KEY").map(PathBuf::from),
            issuer: non_empty("JWT_ISSUER").unwrap_or_else(|| "foerderakte".into()),
            audience: non_empty("JWT_AUDIENCE").unwrap_or_else(|| "foerderakte-api".into()),
            max_ttl_secs: match non_empty("JWT_MAX_TTL") {
                None => JWT_MAX_TTL_SECS,
                Some(v) => parse_duration(&v)
                    .ok()
                    .filter(|s| TTL_BOUNDS_SECS.contains(s))
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "JWT_MAX_TTL must be a duration from 60s to 30d (seconds, or with \
                             s, m, h or d), not {v:?}"
                        ))
                    })?,
            },
        };
        match jwt.algorithm {
            JwtAlgorithm::Hs256 => match &jwt.secret {
                None => {
                    return Err(ConfigError(
                        "JWT_SECRET is required for HS256 (see .env.example)".into(),
                    ));
                }
                Some(s) if s.len() < MIN_SECRET_LEN => {
                    return Err(ConfigError(format!(
                        "JWT_SECRET is too short: at least {MIN_SECRET_LEN} bytes"
                    )));
                }
                Some(_) => {}
            },
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                if jwt.public_key.is_none() {
                    return Err(ConfigError(format!(
                        "JWT_PUBLIC_KEY (a PEM file) is required for {}",
                        jwt.algorithm
                    )));
                }
            }
        }
        let pool_size = match non_empty("DATABASE_POOL_SIZE") {
            None => 10,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=200).contains(n))
                .ok_or_else(|| ConfigError("DATABASE_POOL_SIZE must be 1..=200".into()))?,
        };
        let d = default_authority();
        let level = match non_empty("AUTHORITY_LEVEL") {
            None => d.level,
            Some(v) => v.trim().parse::<AuthorityLevel>().map_err(|_| {
                ConfigError(format!(
                    "AUTHORITY_LEVEL must be oberste_landesbehoerde or landesbehoerde, not {v:?}"
                ))
            })?,
        };
        let authority = Authority {
            name: non_empty("AUTHORITY_NAME").unwrap_or(d.name),
            unit: non_empty("AUTHORITY_UNIT").unwrap_or(d.unit),
            address: non_empty("AUTHORITY_ADDRESS").map_or(d.address, |a| {
                a.split(';').map(|l| l.trim().to_owned()).collect()
            }),
            place: non_empty("AUTHORITY_PLACE").unwrap_or(d.place),
            level,
        };
        let database_url =
            non_empty("DATABASE_URL").unwrap_or_else(|| "foerderakte.sqlite3".into());
        let audit = AuditSettings::from_lookup(&get, &database_url)?;
        let limits = LimitSettings::from_lookup(&non_empty, pool_size)?;
        let metrics_token = metrics_token(non_empty("METRICS_TOKEN"))?;
        let open_data = flag("OPEN_DATA", non_empty("OPEN_DATA"))?;
        let cors_allowed_origins = origins(non_empty("CORS_ALLOWED_ORIGINS"))?;
        let rate_limit_per_minute = non_empty("RATE_LIMIT_PER_MINUTE")
            .map(|v| match v.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(ConfigError(format!(
                    "RATE_LIMIT_PER_MINUTE must be a whole number above 0, not {v:?}"
                ))),
            })
            .transpose()?;
        let webhooks = WebhookSettings::from_lookup(&non_empty)?;
        Ok(Settings {
            database_url,
            bind_addr: non_empty("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            pool_size,
            jwt,
            authority,
            audit,
            limits,
            metrics_token,
            open_data,
            cors_allowed_origins,
            rate_limit_per_minute,
            webhooks,
        })
    }
}

/// `CORS_ALLOWED_ORIGINS`: comma-separated origins, each `http(s)://host[:port]` without a
/// path (what a browser sends as `Origin`); `*` is refused: the API takes bearer tokens and
/// names the origins it trusts.
fn origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(v) = value else {
        return Ok(Vec::new());
    };
    v.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains('/') && !host.contains('*') => {
                    Ok(o.to_owned())
                }
                _ => Err(ConfigError(format!(
                    "CORS_ALLOWED_ORIGINS: {o:?} is not an origin like https://portal.example"
                ))),
            }
        })
        .collect()
}

/// A yes/no setting: unset or empty → `false`; else exactly `true` or `false`.
fn flag(name: &str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ConfigError(format!(
            "{name} must be true or false, not {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_sqlite_and_localhost() {
        let s = settings(&[("JWT_SECRET", &"x".repeat(32))]).unwrap();
        assert_eq!(s.database_url, "foerderakte.sqlite3");
        assert_eq!(s.bind_addr, "127.0.0.1:8080");
        assert_eq!(s.jwt.issuer, "foerderakte");
        assert_eq!(s.jwt.audience, "foerderakte-api");
    }

    #[test]
    fn the_maximum_token_lifetime_is_a_day_unless_set_within_bounds() {
        let secret = "x".repeat(32);
        let ttl = |v: &str| {
            settings(&[("JWT_SECRET", &secret), ("JWT_MAX_TTL", v)]).map(|s| s.jwt.max_ttl_secs)
        };
        assert_eq!(
            settings(&[("JWT_SECRET", &secret)])
                .unwrap()
                .jwt
                .max_ttl_secs,
            86_400
        );
        assert_eq!(ttl("3600").unwrap(), 3600);
        assert_eq!(ttl("8h").unwrap(), 28_800);
        assert_eq!(ttl("30d").unwrap(), 30 * 86_400);
        for bad in [
            "0",
            "59s",
            "31d",
            "8x",
            "h",
            "-1h",
            "1.5h",
            "18446744073709551615d",
        ] {
            assert!(ttl(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_metrics_are_open_without_a_token_and_a_short_or_spaced_token_is_refused() {
        let secret = "x".repeat(32);
        let token = |v: &str| {
            settings(&[("JWT_SECRET", &secret), ("METRICS_TOKEN", v)]).map(|s| s.metrics_token)
        };
        assert_eq!(
            settings(&[("JWT_SECRET", &secret)]).unwrap().metrics_token,
            None
        );
        assert_eq!(token("  ").unwrap(), None);
        assert_eq!(
            token(" scrape-0123456789abcdef ").unwrap().as_deref(),
            Some("scrape-0123456789abcdef")
        );
        assert!(token("short").is_err());
        assert!(token("scrape 0123456789abcdef").is_err());
        assert!(token(&"x".repeat(513)).is_err());
    }

    #[test]
    fn a_missing_or_short_hs256_secret_is_refused() {
        assert!(settings(&[]).is_err());
        assert!(settings(&[("JWT_SECRET", "short")]).is_err());
    }

    #[test]
    fn the_authority_level_is_a_ministry_unless_set_and_anything_else_is_refused() {
        let secret = "x".repeat(32);
        let level = |v: &str| {
            settings(&[("JWT_SECRET", &secret), ("AUTHORITY_LEVEL", v)]).map(|s| s.authority.level)
        };
        assert_eq!(
            settings(&[("JWT_SECRET", &secret)])
                .unwrap()
                .authority
                .level,
            AuthorityLevel::ObersteLandesbehoerde
        );
        assert_eq!(
            level("landesbehoerde").unwrap(),
            AuthorityLevel::Landesbehoerde
        );
        assert_eq!(
            level(" oberste_landesbehoerde ").unwrap(),
            AuthorityLevel::ObersteLandesbehoerde
        );
        let refused = level("ministerium").unwrap_err().to_string();
        assert!(refused.contains("AUTHORITY_LEVEL"), "{refused}");
        assert!(level("Landesbehoerde").is_err());
    }

    #[test]
    fn rs256_needs_a_public_key_and_unknown_algorithms_are_refused() {
        assert!(settings(&[("JWT_ALGORITHM", "RS256")]).is_err());
        assert!(settings(&[("JWT_ALGORITHM", "RS256"), ("JWT_PUBLIC_KEY", "k.pem")]).is_ok());
        assert!(settings(&[("JWT_ALGORITHM", "none"), ("JWT_SECRET", &"x".repeat(40))]).is_err());
    }

    #[test]
    fn webhook_settings() {
        let secret = "x".repeat(32);
        let s = settings(&[("JWT_SECRET", &secret)]).unwrap().webhooks;
        assert_eq!(s, WebhookSettings::default());
        assert_eq!(s.retry_schedule.len(), 7);
        assert!(!s.allow_insecure);
        let s = settings(&[
            ("JWT_SECRET", &secret),
            ("WEBHOOK_RETRY_SCHEDULE", "1s,2m,3h"),
            ("WEBHOOK_ALLOW_INSECURE", "true"),
            ("WEBHOOK_INTERVAL_MS", "0"),
        ])
        .unwrap()
        .webhooks;
        assert_eq!(s.retry_schedule, vec![1, 120, 10_800]);
        assert!(s.allow_insecure && s.interval_ms == 0);
        for (k, v) in [
            ("WEBHOOK_RETRY_SCHEDULE", "5s,soon"),
            ("WEBHOOK_RETRY_SCHEDULE", "0s"),
            ("WEBHOOK_ALLOW_INSECURE", "yes"),
            ("WEBHOOK_INTERVAL_MS", "-1"),
            ("WEBHOOK_TIMEOUT_SECS", "0"),
        ] {
            assert!(
                settings(&[("JWT_SECRET", &secret), (k, v)]).is_err(),
                "{k}={v}"
            );
        }
    }
}
