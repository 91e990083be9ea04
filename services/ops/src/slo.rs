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
//!   most `max_age_secs` old (or the key's own age in `max_age_secs_by_key`), of all scrapes.
//!
//! The kinds read from gauges and counters also name the OpenTelemetry instrument
//! (`metric`) that carries the same signal, for the OpenSearch source (`source`), which
//! reads requests from the server spans and the rest from the indexed metric points.

use std::collections::BTreeMap;

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
        metric: MetricRef,
    },
    /// One SLO per key: each gauge named `gauge_prefix` + key holds a unix time (say a
    /// platform's latest activity), good when it is at most `max_age_secs` old, or the
    /// key's own age in `max_age_secs_by_key`. Its instances are named `<slo>/<key>`. A key
    /// named in `max_age_secs_by_key` is expected: when no gauge reports it at all (a
    /// platform that never sent, or a misspelt id), it is not fresh.
    FreshnessPerKey {
        gauge_prefix: String,
        max_age_secs: f64,
        /// Keys due less often than `max_age_secs` says (a platform that sends nightly
        /// batches, or monthly exports), with their own age.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        max_age_secs_by_key: BTreeMap<String, f64>,
        metric: MetricRef,
        /// The metric attribute holding the key.
        key: String,
    },
    Ratio {
        good: String,
        total: String,
        /// A counter of the total; the good are its points with `good_when` attributes.
        metric: MetricRef,
        good_when: BTreeMap<String, String>,
    },
}

/// An OpenTelemetry instrument and the attributes its points must carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    pub name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
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

    /// The key of a per-key SLO's instance (`ingestion-freshness/eats`: `eats`).
    pub fn key(&self) -> Option<&str> {
        self.name.split_once('/').map(|(_, key)| key)
    }

    /// The keys of a per-key SLO's instances: those the signals reported (`seen`) and
    /// those given their own age, which are evaluated also when nothing reports them.
    pub fn instance_keys(&self, mut seen: Vec<String>) -> Vec<String> {
        seen.extend(self.indicator.named_keys().map(str::to_owned));
        seen.sort_unstable();
        seen.dedup();
        seen
    }

    /// Whether `name` is this SLO or one of its per-key instances.
    pub fn covers(&self, name: &str) -> bool {
        name == self.name || name.strip_prefix(&self.name).is_some_and(|rest| rest.starts_with('/'))
    }
}

impl Indicator {
    /// The keys given their own age in `max_age_secs_by_key`: expected to report.
    pub fn named_keys(&self) -> impl Iterator<Item = &str> {
        let named = match self {
            Indicator::FreshnessPerKey { max_age_secs_by_key, .. } => Some(max_age_secs_by_key),
            _ => None,
        };
        named.into_iter().flat_map(|ages| ages.keys().map(String::as_str))
    }

    /// The age at which `key`'s time stops being fresh (`None` but for freshness).
    pub fn max_age_secs(&self, key: &str) -> Option<f64> {
        match self {
            Indicator::FreshnessPerKey { max_age_secs, max_age_secs_by_key, .. } => {
                Some(max_age_secs_by_key.get(key).copied().unwrap_or(*max_age_secs))
            }
            _ => None,
        }
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

/// Requests that are not the API's work, as `METHOD /route` patterns (`*`: any text, at
/// either end): health, internal routes, and paths no route matched.
pub const NOT_API: [&str; 4] = ["* /internal/*", "* /livez", "* /readyz", "* default"];
/// Not counted for latency either: the feed's long-poll, slow by design.
pub const NOT_LATENCY: [&str; 1] = ["* /v1/events"];

/// Whether `route` matches `pattern` (a `*` at its start or end stands for any text).
pub fn route_matches(pattern: &str, route: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') => route.contains(&rest[..rest.len() - 1]),
        (Some(rest), _) => route.ends_with(rest),
        (None, Some(rest)) => route.starts_with(rest),
        (None, None) => route == pattern,
    }
}

/// Whether an SLO of `indicator` counts requests to `route`.
pub fn counts_route(indicator: &Indicator, route: &str) -> bool {
    let latency = matches!(indicator, Indicator::Latency { .. });
    let excluded = |p: &&str| route_matches(p, route);
    !(NOT_API.iter().any(excluded) || (latency && NOT_LATENCY.iter().any(excluded)))
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
        if let Indicator::FreshnessPerKey { max_age_secs, max_age_secs_by_key, .. } = &s.indicator {
            let age = |secs: f64| secs.is_finite() && secs > 0.0;
            if !age(*max_age_secs) {
                problems.push(FieldProblem::new(f("max_age_secs"), "a number of seconds above 0"));
            }
            for (key, secs) in max_age_secs_by_key {
                if key.is_empty() || !age(*secs) {
                    problems.push(FieldProblem::new(
                        f(&format!("max_age_secs_by_key.{key}")),
                        "a key, with a number of seconds above 0",
                    ));
                }
            }
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
    fn health_internal_and_unmatched_requests_are_not_the_apis_work() {
        let availability = Indicator::Availability;
        let latency = Indicator::Latency { threshold_ms: 250 };
        for route in ["GET /internal/signals", "GET /livez", "GET /readyz", "GET default"] {
            assert!(!counts_route(&availability, route) && !counts_route(&latency, route), "{route}");
        }
        assert!(counts_route(&availability, "GET /v1/events") && !counts_route(&latency, "GET /v1/events"));
        assert!(counts_route(&latency, "POST /v1/quotes") && counts_route(&latency, "GET /v1/workers/{id}/livezz"));
        assert!(route_matches("GET /v1/*", "GET /v1/quotes") && !route_matches("GET /v1/*", "POST /v1/quotes"));
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

    fn freshness(ages: &str) -> anyhow::Result<Vec<Slo>> {
        parse(&format!(
            r#"[{{"name": "ingestion-freshness", "service": "aggregation", "kind": "freshness_per_key",
                 "gauge_prefix": "ingest.last_event_unix.", {ages}, "metric": {{"name": "gigcover.ingest.last_event_time"}},
                 "key": "platform", "target": 0.99, "window_days": 30, "description": ""}}]"#
        ))
    }

    #[test]
    fn a_freshness_slo_judges_a_key_by_its_own_age_where_it_has_one() {
        let slos = freshness(r#""max_age_secs": 86400, "max_age_secs_by_key": {"nightly": 129600}"#).unwrap();
        let indicator = &slos[0].indicator;
        assert_eq!(indicator.max_age_secs("nightly"), Some(129_600.0));
        assert_eq!(indicator.max_age_secs("eats"), Some(86_400.0));
        assert_eq!(Indicator::Availability.max_age_secs("eats"), None);
        // Its instances: the keys reported, and the keys named, reported or not.
        let seen = vec!["eats".to_owned(), "nightly".to_owned()];
        assert_eq!(slos[0].instance_keys(seen.clone()), seen);
        assert_eq!(slos[0].instance_keys(vec!["eats".to_owned()]), seen, "named, silent");
        assert_eq!(slos[0].instance_keys(Vec::new()), ["nightly"]);
        let defaults = defaults().unwrap();
        let listed = serde_json::to_value(&defaults).unwrap();
        let own_ages = |s: &serde_json::Value| s.get("max_age_secs_by_key").is_some();
        assert!(!listed.as_array().unwrap().iter().any(own_ages), "no keys of their own by default: {listed}");

        let err =
            freshness(r#""max_age_secs": 0, "max_age_secs_by_key": {"nightly": -1, "": 60}"#).unwrap_err().to_string();
        for field in ["[0].max_age_secs:", "[0].max_age_secs_by_key.nightly", "[0].max_age_secs_by_key.:"] {
            assert!(err.contains(field), "{field}: {err}");
        }
    }
}
