//! The services that make up gigcover, their default ports, and where to reach each one.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// One gigcover service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceName {
    Ops,
    Aggregation,
    Enrichment,
    Pricing,
    Claims,
    Identity,
}

impl ServiceName {
    pub const ALL: [ServiceName; 6] = [
        ServiceName::Ops,
        ServiceName::Aggregation,
        ServiceName::Enrichment,
        ServiceName::Pricing,
        ServiceName::Claims,
        ServiceName::Identity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Ops => "ops",
            ServiceName::Aggregation => "aggregation",
            ServiceName::Enrichment => "enrichment",
            ServiceName::Pricing => "pricing",
            ServiceName::Claims => "claims",
            ServiceName::Identity => "identity",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            ServiceName::Ops => 8080,
            ServiceName::Aggregation => 8081,
            ServiceName::Enrichment => 8082,
            ServiceName::Pricing => 8083,
            ServiceName::Claims => 8084,
            ServiceName::Identity => 8085,
        }
    }

    /// The Postgres schema this service owns.
    pub fn schema(self) -> &'static str {
        self.as_str()
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL.into_iter().find(|n| n.as_str() == s).ok_or_else(|| {
            format!("unknown service {s:?}: expected one of ops, aggregation, enrichment, pricing, claims, identity")
        })
    }
}

/// Where one service listens and where the others reach it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceEndpoint {
    /// Port to listen on; the service's default port when absent, 0 for any free port.
    pub port: Option<u16>,
    /// Base URL other services call, e.g. `http://gigcover-pricing:8083` in Kubernetes;
    /// `http://127.0.0.1:<port>` when absent.
    pub url: Option<String>,
}

/// The `services` section: one entry per service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Topology {
    pub ops: ServiceEndpoint,
    pub aggregation: ServiceEndpoint,
    pub enrichment: ServiceEndpoint,
    pub pricing: ServiceEndpoint,
    pub claims: ServiceEndpoint,
    pub identity: ServiceEndpoint,
}

impl Topology {
    pub fn endpoint(&self, service: ServiceName) -> &ServiceEndpoint {
        match service {
            ServiceName::Ops => &self.ops,
            ServiceName::Aggregation => &self.aggregation,
            ServiceName::Enrichment => &self.enrichment,
            ServiceName::Pricing => &self.pricing,
            ServiceName::Claims => &self.claims,
            ServiceName::Identity => &self.identity,
        }
    }

    pub fn endpoint_mut(&mut self, service: ServiceName) -> &mut ServiceEndpoint {
        match service {
            ServiceName::Ops => &mut self.ops,
            ServiceName::Aggregation => &mut self.aggregation,
            ServiceName::Enrichment => &mut self.enrichment,
            ServiceName::Pricing => &mut self.pricing,
            ServiceName::Claims => &mut self.claims,
            ServiceName::Identity => &mut self.identity,
        }
    }

    pub fn port(&self, service: ServiceName) -> u16 {
        self.endpoint(service).port.unwrap_or(service.default_port())
    }

    /// The base URL to call `service` at, without a trailing slash.
    pub fn url(&self, service: ServiceName) -> String {
        match &self.endpoint(service).url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://127.0.0.1:{}", self.port(service)),
        }
    }
}
