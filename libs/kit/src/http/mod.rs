//! HTTP for every service: the server (`Application`), the request middleware (trace span,
//! RED metrics, request id, problem+json for every error), body-size limits, the `Json` and
//! `Query` extractors that name the offending field, health endpoints and OpenAPI.

mod application;
mod extract;
mod health;
mod in_flight;
mod internal;
mod metrics;
mod no_route;
mod observe;
mod openapi;

use serde::Deserialize;

pub use application::{Application, ServiceContext, ServiceRoutes, StopHandle};
pub use extract::{BodyLimit, Json, Query, deserialize_tracked, parse_json, without_position};
pub use health::Readiness;
pub use metrics::HttpMetrics;
pub use observe::RequestId;
pub use openapi::{ApiDocs, SecurityAddon};

/// The `http` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to listen on: 127.0.0.1 locally, 0.0.0.0 in a container.
    pub host: String,
    /// Largest JSON body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Worker threads per service (actix); defaults to the number of CPUs.
    pub workers: Option<usize>,
    /// How long SIGTERM waits, in all, for in-flight requests before closing connections.
    pub shutdown_timeout_secs: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self { host: "127.0.0.1".into(), json_limit_bytes: 256 * 1024, workers: None, shutdown_timeout_secs: 30 }
    }
}
