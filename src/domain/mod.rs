//! Pure domain rules: no actix, no diesel, no I/O.

pub mod municipality;
pub mod role;

pub use municipality::{Ags, KreisKey, MunicipalityKind};
pub use role::Role;
