//! OpenAPI schemas of the HTTP types that are not derived: `Amount`, the schema of a `Money`
//! field in a request, and `CostCategory`'s (the domain has no utoipa). Used by `http`;
//! `openapi` collects them from there, so neither imports the other's way back.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::application::CostCategory;

/// The JSON schema of an amount in a request: euros as a string with exactly two decimals, not
/// negative, at most 100,000,000,000.00 (`Money`'s parser, which answers 400 to anything else,
/// and `Money::non_negative`). Fields use it with `#[schema(value_type = Amount)]`.
pub struct Amount;

/// `Money::from_str` accepts at most 15 digits before the point (leading zeros included) and at
/// most `MAX_CENTS`.
pub const AMOUNT_PATTERN: &str = r"^0*([0-9]{1,11}\.[0-9]{2}|100000000000\.00)$";

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An amount in euros: a string with exactly two decimals, not negative, at most \
                 `100000000000.00`.",
            ))
            .pattern(Some(AMOUNT_PATTERN))
            .max_length(Some(18))
            .examples(["1234.50"])
            .into()
    }
}

impl ToSchema for Amount {}

impl PartialSchema for CostCategory {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("What a cost line is for."))
            .enum_values(Some(CostCategory::ALL.map(CostCategory::as_str)))
            .into()
    }
}

impl ToSchema for CostCategory {}
