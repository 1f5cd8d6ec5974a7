//! Authentication (JWT bearer tokens) and authorization policy.

mod jwt;
pub mod policy;
mod principal;

pub use jwt::{Claims, JwtAlgorithm, JwtError, JwtVerifier, mint_hs256};
pub use principal::Principal;
