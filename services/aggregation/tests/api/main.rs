//! The aggregation service over HTTP, against a real PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is a failed test

mod accounts;
mod batches;
mod freshness;
mod gig_events;
mod harness;
mod platforms;
mod shifts;
mod webhooks;
