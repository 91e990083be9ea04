//! The kit's HTTP behaviour, through real actix servers: auth, extractors, problem+json.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is a failed test

mod auth;
mod extractors;
