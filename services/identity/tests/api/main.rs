//! The identity service over HTTP, against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is a failed test

mod clients;
mod kms;
