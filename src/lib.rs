//! foerderakte: system of record for Thuringian municipal e-government grants.
//!
//! Layers (arrows point down only): `http` → `auth`, `domain`, `persistence`, `reporting`;
//! `reporting` → `persistence`, `domain`;
//! `persistence` → `domain`; `domain` depends on nothing of ours. One exception, on purpose:
//! `persistence::totals` (the report totals every write keeps) computes a case's contribution
//! with `reporting::contributions`, so that what a report counts is defined once, in
//! `reporting::sql`. See `docs/architecture.md` and `docs/reports.md`.

pub mod auth;
pub mod cli;
pub mod config;
pub mod document;
pub mod domain;
pub mod error;
pub mod http;
pub mod openapi;
pub mod persistence;
pub mod reporting;
pub mod schemas;
pub mod seed;
pub mod startup;
