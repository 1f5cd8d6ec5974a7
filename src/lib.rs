//! foerderakte: system of record for Thuringian municipal e-government grants.
//!
//! Layers (arrows point down only): `http` → `auth`, `domain`, `persistence`, `reporting`;
//! `reporting` → `persistence`, `domain`;
//! `persistence` → `domain`; `domain` depends on nothing of ours. See `docs/architecture.md`.

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
