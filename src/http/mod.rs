//! HTTP handlers and their request/response types: extract → authorize → call → respond.

pub mod applications;
pub mod audit;
pub mod base_rates;
pub mod budgets;
pub mod errors;
pub mod etag;
pub mod health;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod municipalities;
pub mod notices;
pub mod pagination;
pub mod payments;
pub mod programmes;
pub mod register;
pub mod reports;

use actix_web::web;
use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::error::ApiError;
use crate::persistence::{AnyConnection, Pool};

/// Every documented route. The OpenAPI document is collected from exactly these.
pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::live)
        .service(health::ready)
        .service(metrics::metrics)
        .service(
            scope::scope("/api/v1")
                .service(municipalities::list)
                .service(municipalities::get)
                .service(register::list_editions)
                .service(register::import_edition)
                .service(programmes::list)
                .service(programmes::get)
                .service(programmes::update)
                .service(base_rates::list)
                .service(base_rates::add)
                .service(applications::create)
                .service(applications::list)
                .service(applications::get)
                .service(applications::update)
                .service(applications::transition)
                .service(applications::history)
                .service(budgets::list)
                .service(budgets::put)
                .service(notices::prepare)
                .service(notices::list)
                .service(notices::get)
                .service(notices::sign)
                .service(notices::document)
                .service(notices::interest)
                .service(payments::request)
                .service(payments::list)
                .service(payments::payout)
                .service(payments::reject)
                .service(reports::volumes)
                .service(reports::pipeline)
                .service(reports::budget)
                .service(reports::processing_times)
                .service(audit::list)
                .service(audit::verify),
        );
}

/// Runs blocking database work on the thread pool with a pooled connection.
pub async fn db<T, F>(pool: &web::Data<Pool>, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
