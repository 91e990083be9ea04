//! The enrichment service over HTTP, consuming a real aggregation service, against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is a failed test

mod copy_out;
mod doordash;
mod harness;
mod hours;
mod migrations;
