//! End-to-end tests: the real binary, a real PostgreSQL, a real OTLP receiver.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is a failed test

mod alerts;
mod api_fuzz;
mod attack_matrix;
mod batch_kill;
mod billing;
mod claims;
mod dashboard;
mod demo;
mod feed;
mod opensearch;
mod opensearch_slos;
mod personal_data;
mod quotes;
mod serve_all;
mod shutdown;
mod telemetry;
mod webhook_kill;
