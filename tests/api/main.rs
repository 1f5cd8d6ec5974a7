//! The one integration-test binary. Every test spawns its own server on port 0 with a fresh
//! database: a temporary SQLite file, or, when `TEST_DATABASE_URL` is set to a PostgreSQL
//! server, a database created for the test and dropped after it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod applications;
mod applications_access;
mod applications_lifecycle;
mod applications_lists;
mod applications_submit;
mod architecture;
mod attacks;
mod audit_trust;
mod auth;
mod authz_matrix;
mod base_rates;
mod bounds;
mod budgets;
mod case_numbers;
mod closing;
mod conventions;
mod crash;
mod dashboard;
mod delivery;
mod equivalence;
mod errors;
mod events;
mod idempotency;
mod instances;
mod layering;
mod migrations;
mod money_over_time;
mod municipalities;
mod notices;
mod open_data;
mod operations;
mod payments;
mod programmes;
mod register;
mod reports;
mod reports_as_of;
mod reports_demo;
mod reports_property;
mod reports_totals;
mod seed;
mod stored;
mod strict_input;
mod webhooks;
