//! Pure domain rules: no actix, no diesel, no I/O.

pub mod application;
pub mod audit;
pub mod calendar;
pub mod clock;
pub mod courts;
pub mod decimal;
pub mod event;
pub mod grant;
pub mod interest;
pub mod lifecycle;
pub mod money;
pub mod municipality;
mod names;
pub mod notice;
pub mod payment;
pub mod programme;
pub mod rate;
pub mod reclaim;
pub mod remedy;
pub mod role;
pub mod split;
pub mod webhook;

pub use clock::Clock;
pub use grant::FinancingType;
pub use lifecycle::{Action, Refusal, Status, transition};
pub use money::Money;
pub use municipality::{Ags, KreisKey, MunicipalityKind};
pub use role::Role;
