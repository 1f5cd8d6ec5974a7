//! HTTP handlers and their request/response types: extract → authorize → call → respond.

pub mod applications;
pub mod audit;
pub mod base_rates;
pub mod budgets;
pub mod caller;
pub mod conventions;
pub mod dashboard;
pub mod delivery_rules;
pub mod dto;
pub mod errors;
pub mod etag;
pub mod events;
pub mod health;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod municipalities;
pub mod notices;
pub mod open_data;
pub mod pagination;
pub mod payments;
pub mod programmes;
pub mod register;
pub mod repayments;
pub mod reports;
pub mod representation;
pub mod strict;
pub mod webhook_delivery;
pub mod webhooks;

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
                .service(base_rates::correct)
                .service(delivery_rules::list)
                .service(delivery_rules::add)
                .service(applications::create)
                .service(applications::list)
                .service(applications::get)
                .service(applications::update)
                .service(applications::transition)
                .service(applications::history)
                .service(budgets::list)
                .service(budgets::get)
                .service(budgets::put)
                .service(notices::prepare)
                .service(notices::list)
                .service(notices::get)
                .service(notices::sign)
                .service(notices::document)
                .service(repayments::interest)
                .service(payments::request)
                .service(payments::list)
                .service(payments::payout)
                .service(payments::reject)
                .service(repayments::record)
                .service(repayments::list)
                .service(open_data::grants)
                .service(reports::volumes)
                .service(reports::pipeline)
                .service(reports::budget)
                .service(reports::processing_times)
                .service(audit::list)
                .service(audit::verify)
                .service(audit::checkpoint)
                .service(events::list)
                .service(webhooks::create)
                .service(webhooks::list)
                .service(webhooks::get)
                .service(webhooks::update)
                .service(webhooks::remove)
                .service(webhooks::deliveries)
                .service(webhooks::redeliver),
        );
}

/// Runs blocking database work on the thread pool with a pooled connection (again on another
/// connection if the database had closed the first before answering anything on it:
/// `persistence::checkout`). The request waits its turn for a connection in the pool's fair
/// queue (`Pool::gate`) first, on the async side: no blocking thread sleeps waiting for one.
pub async fn db<T, F>(pool: &web::Data<Pool>, f: F) -> Result<T, ApiError>
where
    F: Fn(&mut AnyConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let since = std::time::Instant::now();
    let permit = tokio::time::timeout(
        crate::persistence::CHECKOUT_TIMEOUT,
        pool.gate().clone().acquire_owned(),
    )
    .await;
    pool.waited(since.elapsed(), permit.is_err());
    let permit = match permit {
        Ok(Ok(p)) => p,
        Ok(Err(closed)) => return Err(ApiError::internal(format!("connection queue: {closed}"))),
        Err(_) => {
            log::error!(
                "database pool: no connection within {:?}",
                crate::persistence::CHECKOUT_TIMEOUT
            );
            return Err(ApiError::ServiceUnavailable(
                "the database is not reachable right now".into(),
            ));
        }
    };
    let pool = pool.clone();
    web::block(move || {
        let out = crate::persistence::checkout::run(&pool, f);
        drop(permit);
        out
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

/// JSON has one kind of number: `3.0` is the integer 3, and JSON Schema counts it as an
/// `integer` too. Accepts a whole number in range, written with or without a zero fraction;
/// refuses any other fraction.
pub(crate) fn whole_i32<'de, D>(d: D) -> Result<i32, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let n = <serde_json::Number as serde::Deserialize>::deserialize(d)?;
    number_to_i32(&n).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a whole number (32 bits), got {n}"))
    })
}

/// `whole_i32` for an optional field (`null` or absent: `None`).
pub(crate) fn whole_i32_option<'de, D>(d: D) -> Result<Option<i32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    match <Option<serde_json::Number> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(n) => number_to_i32(&n).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("expected a whole number (32 bits), got {n}"))
        }),
    }
}

/// `whole_i32` with `double_option`: absent → `None`, `null` → `Some(None)`.
pub(crate) fn whole_i32_double_option<'de, D>(d: D) -> Result<Option<Option<i32>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    whole_i32_option(d).map(Some)
}

fn number_to_i32(n: &serde_json::Number) -> Option<i32> {
    if let Some(i) = n.as_i64() {
        return i32::try_from(i).ok();
    }
    if n.as_u64().is_some() {
        return None;
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX)).then_some(f as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(deserialize_with = "whole_i32")]
        n: i32,
        #[serde(default, deserialize_with = "whole_i32_option")]
        o: Option<i32>,
    }

    #[test]
    fn whole_numbers_are_accepted_with_a_zero_fraction_and_nothing_else() {
        let parse = |s: &str| serde_json::from_str::<Body>(s);
        assert_eq!(parse(r#"{"n": 3}"#).unwrap().n, 3);
        assert_eq!(parse(r#"{"n": 3.0, "o": -2.0}"#).unwrap().o, Some(-2));
        assert_eq!(parse(r#"{"n": 3, "o": null}"#).unwrap().o, None);
        assert!(parse(r#"{"n": 3.5}"#).is_err());
        assert!(parse(r#"{"n": 3e10}"#).is_err());
        assert!(parse(r#"{"n": 2147483648}"#).is_err());
        assert!(parse(r#"{"n": "3"}"#).is_err());
    }
}
