//! SLOs as data: each names a service, what counts as a good event, a target and a window.
//! The defaults (`slos.json`) cover availability and latency per API, enrichment's lag
//! behind aggregation's feed, and claims decided within their SLA; `ops.slos_file`
//! replaces them.
//!
//! Kinds, each read from the service's own signals (`GET /internal/signals`):
//! - `availability`: requests not answered 5xx, of all requests;
//! - `latency`: requests answered within `threshold_ms`, of all requests;
//! - `gauge_at_most`: scrapes where `gauge` was at most `max`, of all scrapes (a time SLI);
//! - `ratio`: the counter `good` of the counter `total`;
//! - `freshness_per_key`: per key (a platform), scrapes where its unix-time gauge was at
//!   most `max_age_secs` old, of all scrapes.

use gigcover_domain::FieldProblem;
use gigcover_kit::signals::LATENCY_THRESHOLDS_MS;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Indicator {
    Availability,
    Latency {
        threshold_ms: u32,
    },
    GaugeAtMost {
        gauge: String,
        max: f64,
    },
    /// One SLO per key: each gauge named `gauge_prefix` + key holds a unix time (say a
    /// platform's latest activity), good when it is at most `max_age_secs` old. Its
    /// instances are named `<slo>/<key>`.
    FreshnessPerKey {
        gauge_prefix: String,
        max_age_secs: f64,
    },
    Ratio {
        good: String,
        total: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Slo {
    pub name: String,
    pub service: String,
    #[serde(flatten)]
    pub indicator: Indicator,
    /// The share of good events aimed for, e.g. 0.999.
    pub target: f64,
    /// The window the error budget covers.
    pub window_days: u32,
    pub description: String,
}

impl Slo {
    /// The instance of a per-key SLO for one key.
    pub fn instance(&self, name: &str) -> Slo {
        Slo { name: name.to_owned(), ..self.clone() }
    }

    /// Whether `name` is this SLO or one of its per-key instances.
    pub fn covers(&self, name: &str) -> bool {
        name == self.name || name.strip_prefix(&self.name).is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Slo {
    /// The anchor of its section in `docs/runbook.md`.
    pub fn runbook_anchor(&self) -> &'static str {
        match self.indicator {
            Indicator::Availability => "availability",
            Indicator::Latency { .. } => "latency",
            Indicator::GaugeAtMost { .. } => "enrichment-lag",
            Indicator::Ratio { .. } => "claims-decision-sla",
            Indicator::FreshnessPerKey { .. } => "ingestion-freshness",
        }
    }
}

pub fn defaults() -> anyhow::Result<Vec<Slo>> {
    parse(include_str!("../slos.json"))
}

/// Parses and checks a list of SLOs; every problem is named.
pub fn parse(text: &str) -> anyhow::Result<Vec<Slo>> {
    let slos: Vec<Slo> = serde_json::from_str(text)?;
    let mut problems = Vec::new();
    for (i, s) in slos.iter().enumerate() {
        let f = |field: &str| format!("[{i}].{field}");
        if s.name.is_empty() || !s.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            problems.push(FieldProblem::new(f("name"), "a-z, 0-9 and -"));
        }
        if slos.iter().filter(|o| o.name == s.name).count() > 1 {
            problems.push(FieldProblem::new(f("name"), "names are unique"));
        }
        if s.service.parse::<gigcover_kit::ServiceName>().is_err() {
            problems.push(FieldProblem::new(f("service"), "one of our services"));
        }
        if !(s.target > 0.0 && s.target < 1.0) {
            problems.push(FieldProblem::new(f("target"), "between 0 and 1, exclusive"));
        }
        if s.window_days == 0 || s.window_days > 90 {
            problems.push(FieldProblem::new(f("window_days"), "1 to 90"));
        }
        if let Indicator::Latency { threshold_ms } = s.indicator
            && !LATENCY_THRESHOLDS_MS.contains(&threshold_ms)
        {
            problems.push(FieldProblem::new(f("threshold_ms"), format!("one of {LATENCY_THRESHOLDS_MS:?}")));
        }
    }
    if problems.is_empty() {
        Ok(slos)
    } else {
        let listed: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
        anyhow::bail!("invalid SLOs: {}", listed.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_cover_every_api_service() {
        let slos = defaults().unwrap();
        for service in ["aggregation", "enrichment", "identity", "pricing", "claims"] {
            assert!(slos.iter().any(|s| s.service == service && s.indicator == Indicator::Availability), "{service}");
        }
        assert!(slos.iter().any(|s| matches!(s.indicator, Indicator::Ratio { .. })));
    }

    #[test]
    fn a_bad_slo_is_refused_naming_each_problem() {
        let err = parse(
            r#"[{"name": "X", "service": "nowhere", "kind": "latency", "threshold_ms": 7,
                             "target": 1.5, "window_days": 0, "description": ""}]"#,
        )
        .unwrap_err()
        .to_string();
        for field in ["[0].name", "[0].service", "[0].target", "[0].window_days", "[0].threshold_ms"] {
            assert!(err.contains(field), "{err}");
        }
    }
}
