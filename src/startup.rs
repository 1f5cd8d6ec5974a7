//! Building and running the server; shared by `main` and the integration tests.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Logger, from_fn};
use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::JwtVerifier;
use crate::config::Settings;
use crate::document::Authority;
use crate::http::{self, caller::RequestClock, errors, metrics::Metrics, middleware};
use crate::openapi;
use crate::persistence::{self, BoxError, Pool};

pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
    clock: RequestClock,
}

impl Application {
    /// Connects, migrates, loads the register, binds the listener. Blocking: call it before the
    /// async runtime or from a blocking context.
    pub fn build(settings: &Settings) -> Result<Self, BoxError> {
        let verifier = JwtVerifier::from_settings(&settings.jwt)?;
        persistence::audit::install_keys(settings.audit.load()?);
        http::representation::install();
        let pool_stats = std::sync::Arc::new(persistence::PoolStats::default());
        let pool = persistence::build_pool(
            &settings.database_url,
            settings.pool_size,
            pool_stats.clone(),
        )?;
        {
            let mut conn = pool.get()?;
            persistence::prepare_database(&mut conn)?;
        }
        if settings.audit.seal_interval_ms > 0 {
            start_sealer(
                pool.clone(),
                std::time::Duration::from_millis(settings.audit.seal_interval_ms),
            )?;
        }
        let listener = TcpListener::bind(&settings.bind_addr)
            .map_err(|e| format!("cannot listen on {}: {e}", settings.bind_addr))?;
        let port = listener.local_addr()?.port();
        let clock = RequestClock::system();
        let health = http::limits::HealthPool(persistence::build_pool(
            &settings.database_url,
            1,
            std::sync::Arc::new(persistence::PoolStats::default()),
        )?);
        let metrics = Metrics::new(pool.clone(), pool_stats, settings.metrics_token.as_deref());
        // The webhook worker runs while the server holds `targets` (its app data).
        let targets = std::sync::Arc::new(http::webhook_delivery::Targets {
            allow_insecure: settings.webhooks.allow_insecure,
        });
        let server = run(
            listener,
            Shared {
                pool: pool.clone(),
                health,
                limits: http::limits::Limits::new(&settings.limits),
                verifier,
                authority: settings.authority.clone(),
                clock: clock.clone(),
                metrics,
                open_data: http::open_data::OpenData(settings.open_data),
                cors_allowed_origins: settings.cors_allowed_origins.clone(),
                rate_limit: http::conventions::RateLimit::new(settings.rate_limit_per_minute),
                targets: web::Data::from(targets.clone()),
            },
        )?;
        if settings.webhooks.interval_ms > 0 {
            http::webhook_delivery::start(pool.clone(), settings.webhooks.clone(), &targets)?;
        }
        Ok(Application {
            port,
            server,
            pool,
            clock,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The clock every request reads its instant from (the system clock until a test fixes or
    /// shifts it; the server sees the change at once).
    pub fn clock(&self) -> RequestClock {
        self.clock.clone()
    }

    pub fn server(self) -> Server {
        self.server
    }
}

/// The sealer (`persistence::seal`): every `interval`, the entries of the transactions that
/// finished since go into a seal. Runs for the life of the process; an error is logged and
/// the next round tries again (what it did not seal stays in the log, unsealed).
fn start_sealer(pool: Pool, interval: std::time::Duration) -> Result<(), BoxError> {
    std::thread::Builder::new()
        .name("audit-sealer".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let sealed = persistence::checkout::run(&pool, |c| -> Result<_, BoxError> {
                    Ok(persistence::seal::seal_all(c, persistence::stored_now())?)
                });
                if let Err(e) = sealed {
                    log::warn!("audit seal: {e}");
                }
            }
        })?;
    Ok(())
}

/// What every worker of the server shares.
struct Shared {
    pool: Pool,
    health: http::limits::HealthPool,
    limits: http::limits::Limits,
    verifier: JwtVerifier,
    authority: Authority,
    clock: RequestClock,
    metrics: Metrics,
    open_data: http::open_data::OpenData,
    cors_allowed_origins: Vec<String>,
    rate_limit: http::conventions::RateLimit,
    targets: web::Data<http::webhook_delivery::Targets>,
}

fn run(listener: TcpListener, shared: Shared) -> Result<Server, BoxError> {
    let api = openapi::document();
    let routes = web::Data::new(errors::RouteTable::from_openapi(&api));
    let pool = web::Data::new(shared.pool);
    let health = web::Data::new(shared.health);
    let limits = web::Data::new(shared.limits);
    let verifier = web::Data::new(shared.verifier);
    let metrics = web::Data::new(shared.metrics);
    let authority = web::Data::new(shared.authority);
    let clock = web::Data::new(shared.clock);
    let verify_runs = web::Data::new(crate::http::audit::VerifyRuns::default());
    let open_data = web::Data::new(shared.open_data);
    let rate_limit = web::Data::new(shared.rate_limit);
    let targets = shared.targets;
    let origins = shared.cors_allowed_origins;
    // Database work runs on each worker's blocking threads and waits there for a pooled
    // connection: more threads than connections only wait, each with its own allocator arena
    // (docs/operations.md, "Memory").
    let blocking_threads = pool.max_size() as usize + 2;
    let server = HttpServer::new(move || {
        // The docs and the document come first: the `/api/v1` scope would otherwise claim
        // `/api/v1/openapi.json`.
        let (app, _) = App::new()
            .service(web::redirect("/docs", "/docs/"))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", api.clone()))
            .into_utoipa_app()
            .configure(http::routes)
            .split_for_parts();
        app.configure(http::dashboard::routes)
            .app_data(pool.clone())
            .app_data(health.clone())
            .app_data(limits.clone())
            .app_data(verifier.clone())
            .app_data(metrics.clone())
            .app_data(authority.clone())
            .app_data(clock.clone())
            .app_data(verify_runs.clone())
            .app_data(open_data.clone())
            .app_data(rate_limit.clone())
            .app_data(targets.clone())
            .app_data(routes.clone())
            .app_data(errors::json_config())
            .app_data(errors::query_config())
            .app_data(errors::path_config())
            .default_service(web::to(errors::fallback))
            .wrap(from_fn(middleware::refuse_nul))
            .wrap(from_fn(http::limits::body_deadline))
            // Order (the last `wrap` runs first): `observe` sees every answer; HEAD becomes GET
            // before CORS and routing; CORS answers preflights before the rate limit counts;
            // `Compress` encodes what the inner layers answer, a 304 of `conditional_get`
            // included (it has no body to encode).
            .wrap(from_fn(http::conventions::conditional_get))
            .wrap(from_fn(http::conventions::rate_limit))
            .wrap(actix_web::middleware::Compress::default())
            .wrap(http::conventions::cors(&origins))
            .wrap(from_fn(http::conventions::head_as_get))
            .wrap(from_fn(middleware::observe))
            .wrap(Logger::new(
                "%a \"%r\" %s %b %Dms request_id=%{x-request-id}o",
            ))
    })
    .worker_max_blocking_threads(blocking_threads)
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}
