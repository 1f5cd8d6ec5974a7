//! Authentication (JWT bearer tokens) and authorization policy.

mod jwt;
pub mod policy;
mod principal;
mod subject;

pub use crate::config::JwtAlgorithm;
pub use jwt::{Claims, JwtError, JwtVerifier, mint_hs256, mint_hs256_named};
pub use principal::Principal;
