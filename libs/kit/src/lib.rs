//! The service kit: what every gigcover service is built from, so that each one gets
//! configuration, errors, auth, health, persistence, telemetry and an HTTP server the
//! same way. A service adds its own routes and domain; everything else is here.

pub mod auth;
pub mod aws;
pub mod client;
pub mod config;
pub mod crypto;
pub mod db;
pub mod drill;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod oauth;
pub mod opensearch;
pub mod retry;
pub mod service;
pub mod signals;
pub mod signature;
pub mod sigv4;
pub mod topology;

pub use config::{Config, ConfigError};
pub use error::{ApiError, ApiResult};
pub use topology::ServiceName;

/// Installs the process-wide TLS crypto provider (ring) used by outbound HTTPS and Postgres TLS.
/// Idempotent; call it early in `main` and in tests that make TLS calls.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
