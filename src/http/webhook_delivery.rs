//! The webhook delivery worker (docs/webhooks.md): a thread that every `WEBHOOK_INTERVAL_MS`
//! places the finished events in the feed (`events::publish`, which queues their deliveries)
//! and then claims, sends and records what is due, one delivery at a time, in the order the
//! claims hand them out (`persistence::webhooks`).
//!
//! A message is the event as the feed shows it (`events::EventDto`), signed as the Standard
//! Webhooks specification says. The target's host is resolved before every attempt and every
//! address it resolves to is checked (`domain::webhook::address_allowed`); the connection
//! goes to one of the checked addresses, never to a second lookup's answer, so that DNS
//! rebinding cannot reach an internal address. No proxy, no redirects.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::config::WebhookSettings;
use crate::domain::webhook::{Target, address_allowed, refused_address, secret_key, signature};
use crate::persistence::webhooks::{self as repo, Claim, FAILED, Outcome};
use crate::persistence::{self, AnyConnection, BoxError, Pool};

/// What targets this process accepts: shared by the API (subscription time) and the worker
/// (delivery time). The worker runs while the server holds this (app data).
#[derive(Debug, Clone, Copy)]
pub struct Targets {
    pub allow_insecure: bool,
}

/// The addresses `target` resolves to, each one allowed; else why not (for a 422 or an
/// attempt's error). Blocking (DNS).
pub fn resolve(target: &Target, insecure: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = match target.ip() {
        Some(ip) => vec![SocketAddr::new(ip, target.port)],
        None => (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| format!("the host {} does not resolve: {e}", target.host))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("the host {} has no address", target.host));
    }
    if let Some(bad) = addrs.iter().find(|a| !address_allowed(a.ip(), insecure)) {
        return Err(format!(
            "the host {} resolves to {}",
            target.host,
            refused_address(bad.ip())
        ));
    }
    Ok(addrs)
}

/// ureq's resolver with every answer checked: the connection is made to these addresses
/// only.
#[derive(Debug)]
struct CheckedResolver {
    insecure: bool,
    inner: DefaultResolver,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Some(bad) = addrs
            .iter()
            .find(|a| !address_allowed(a.ip(), self.insecure))
        {
            return Err(ureq::Error::Other(refused_address(bad.ip()).into()));
        }
        Ok(addrs)
    }
}

/// The HTTP client of the deliveries: the checked resolver, no proxy, no redirects, statuses
/// as answers, the attempt's timeout over everything.
fn agent(settings: &WebhookSettings) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .https_only(!settings.allow_insecure)
        .user_agent("foerderakte-webhooks/1")
        .timeout_global(Some(Duration::from_secs(settings.timeout_secs)))
        .build();
    ureq::Agent::with_parts(
        config,
        DefaultConnector::new(),
        CheckedResolver {
            insecure: settings.allow_insecure,
            inner: DefaultResolver::default(),
        },
    )
}

/// The body of a delivery: the event as the feed shows it.
pub fn body(event: &persistence::events::Event) -> Result<String, String> {
    let dto = super::events::dto(event.clone()).map_err(|e| e.to_string())?;
    serde_json::to_string(&dto).map_err(|e| e.to_string())
}

/// The most deliveries one round sends before it publishes again.
const PER_ROUND: usize = 100;

/// The worker of one process.
struct Worker {
    pool: Pool,
    settings: WebhookSettings,
    agent: ureq::Agent,
    /// Names this worker's claims (`claimed_by`).
    name: String,
    alive: Weak<Targets>,
}

/// Starts the worker: it runs while `alive` can be upgraded (the server holds it) and stops
/// within an interval after. An error is logged and the next round tries again; what a
/// round did not finish stays pending, or leased until its lease runs out.
pub fn start(pool: Pool, settings: WebhookSettings, alive: &Arc<Targets>) -> Result<(), BoxError> {
    let worker = Worker {
        pool,
        agent: agent(&settings),
        name: format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ),
        settings,
        alive: Arc::downgrade(alive),
    };
    std::thread::Builder::new()
        .name("webhook-worker".into())
        .spawn(move || worker.run())?;
    Ok(())
}

impl Worker {
    fn running(&self) -> bool {
        self.alive.strong_count() > 0
    }

    fn run(self) {
        let interval = Duration::from_millis(self.settings.interval_ms.max(1));
        while self.running() {
            std::thread::sleep(interval);
            if !self.running() {
                break;
            }
            if let Err(e) = self.round() {
                log::warn!("webhooks: {e}");
            }
        }
    }

    /// The lease of a claim: long enough for an attempt (its timeout covers the lookup, the
    /// connection and the answer) and for recording it.
    fn lease(&self) -> chrono::Duration {
        let secs = i64::try_from(self.settings.timeout_secs).unwrap_or(60);
        chrono::Duration::seconds(2 * secs + 10)
    }

    fn round(&self) -> Result<(), BoxError> {
        persistence::checkout::run(&self.pool, |conn| self.round_on(conn))
    }

    fn round_on(&self, conn: &mut AnyConnection) -> Result<(), BoxError> {
        let (unpublished, due) = repo::work_waiting(conn, persistence::stored_now())?;
        if unpublished {
            persistence::events::publish(conn)?;
        } else if !due {
            return Ok(());
        }
        for _ in 0..PER_ROUND {
            if !self.running() {
                break;
            }
            let now = persistence::stored_now();
            let Some(claim) = repo::claim(conn, &self.name, now, now + self.lease())? else {
                break;
            };
            let outcome = self.send(&claim);
            self.record(conn, &claim, &outcome)?;
        }
        Ok(())
    }

    fn record(
        &self,
        conn: &mut AnyConnection,
        claim: &Claim,
        outcome: &Outcome,
    ) -> Result<(), BoxError> {
        let d = &claim.delivery;
        let schedule = &self.settings.retry_schedule;
        match repo::record_attempt(conn, d, &self.name, outcome, schedule, jitter())? {
            None => log::warn!(
                "webhooks: delivery {} (attempt {}) was taken over before its attempt was \
                 recorded (its lease ran out or its subscription was removed); it is retried \
                 or listed as failed",
                d.id,
                d.attempts + 1
            ),
            Some(after) if after.status == FAILED => log::warn!(
                "webhooks: delivery {} of {} to subscription {} failed {} times and is parked \
                 ({}); an admin can redeliver it",
                after.id,
                after.event_type,
                after.subscription_id,
                after.failures,
                after.last_error.as_deref().unwrap_or("no answer")
            ),
            Some(_) => {}
        }
        Ok(())
    }

    /// One attempt: resolve and check, sign, POST; any 2xx answer delivers.
    fn send(&self, claim: &Claim) -> Outcome {
        let started = Instant::now();
        let result = self.post(claim);
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let at = persistence::stored_now();
        match result {
            Ok(status) => Outcome {
                at,
                status_code: Some(i32::from(status)),
                error: (!(200..300).contains(&status)).then(|| format!("answered HTTP {status}")),
                duration_ms,
                delivered: (200..300).contains(&status),
            },
            Err(error) => Outcome {
                at,
                status_code: None,
                error: Some(error),
                duration_ms,
                delivered: false,
            },
        }
    }

    fn post(&self, claim: &Claim) -> Result<u16, String> {
        let insecure = self.settings.allow_insecure;
        // The rule again: the settings may have changed since the subscription was made.
        crate::domain::webhook::parse_target(&claim.url, insecure)
            .map_err(|e| format!("the target URL {e}"))?;
        let body = body(&claim.event)?;
        let key = secret_key(&claim.secret)?;
        let id = &claim.delivery.id;
        let timestamp = chrono::Utc::now().timestamp();
        let mut resp = self
            .agent
            .post(&claim.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature(&key, id, timestamp, body.as_bytes()),
            )
            .send(body.as_bytes())
            .map_err(|e| e.to_string())?;
        // The answer's body is not used; read a little of it so that the connection can be
        // reused, and never more.
        let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(resp.status().as_u16())
    }
}

/// A number in [0, 1) for the retry's jitter.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(b)) / 4_294_967_296.0
}
