//! Which services a command acts on.

use std::str::FromStr;

use gigcover_kit::ServiceName;
use gigcover_kit::service::ServiceSpec;

/// Every service this binary can run.
pub fn spec(name: ServiceName) -> &'static ServiceSpec {
    match name {
        ServiceName::Ops => &gigcover_ops::SPEC,
        ServiceName::Aggregation => &gigcover_aggregation::SPEC,
        ServiceName::Enrichment => &gigcover_enrichment::SPEC,
        ServiceName::Pricing => &gigcover_pricing::SPEC,
        ServiceName::Claims => &gigcover_claims::SPEC,
        ServiceName::Identity => &gigcover_identity::SPEC,
    }
}

/// `all`, or a comma-separated list of service names.
#[derive(Debug, Clone)]
pub struct Targets(pub Vec<ServiceName>);

impl FromStr for Targets {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            // Identity first: the others fetch its signing keys.
            let mut all = ServiceName::ALL.to_vec();
            all.sort_by_key(|n| *n != ServiceName::Identity);
            return Ok(Self(all));
        }
        let mut names = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let name: ServiceName = part.parse()?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() { Err("name at least one service, or all".into()) } else { Ok(Self(names)) }
    }
}
