//! Each service's own signals, for the ops service's SLO evaluation in the embedded
//! default: cumulative counts per route (requests, 5xx answers, answers faster than each
//! latency threshold) and business gauges (a feed consumer's lag, say), kept in memory
//! and served at `GET /internal/signals`. Cumulative, so a reader takes differences
//! between two snapshots; a restart starts from zero, which a reader sees as a reset.
//! Routes and gauge names are low-cardinality by construction (route patterns, not paths).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The latency thresholds counted, in milliseconds.
pub const LATENCY_THRESHOLDS_MS: [u32; 5] = [50, 100, 250, 500, 1000];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouteCounts {
    pub requests: u64,
    /// Answered with a 5xx status.
    pub errors: u64,
    /// Threshold in ms -> requests answered within it.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub within_ms: BTreeMap<u32, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub service: String,
    pub at: Option<DateTime<Utc>>,
    /// When this process started counting (a new value means the counters were reset).
    pub since: Option<DateTime<Utc>>,
    /// `METHOD /route` -> counts.
    pub routes: BTreeMap<String, RouteCounts>,
    pub gauges: BTreeMap<String, f64>,
}

pub struct ServiceSignals {
    name: &'static str,
    since: DateTime<Utc>,
    inner: Mutex<(BTreeMap<String, RouteCounts>, BTreeMap<String, f64>)>,
}

impl ServiceSignals {
    pub fn record(&self, method: &str, route: &str, status: u16, secs: f64) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let counts = inner.0.entry(format!("{method} {route}")).or_default();
        counts.requests += 1;
        if status >= 500 {
            counts.errors += 1;
        }
        let ms = secs * 1000.0;
        for t in LATENCY_THRESHOLDS_MS {
            if ms <= f64::from(t) {
                *counts.within_ms.entry(t).or_default() += 1;
            } else {
                counts.within_ms.entry(t).or_default();
            }
        }
    }

    pub fn gauge(&self, name: &str, value: f64) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.1.insert(name.to_owned(), value);
        }
    }

    /// Adds to a cumulative counter kept with the gauges (e.g. `claims.decided`).
    pub fn add(&self, name: &str, delta: f64) {
        if let Ok(mut inner) = self.inner.lock() {
            *inner.1.entry(name.to_owned()).or_default() += delta;
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        let (routes, gauges) = self.inner.lock().map(|i| i.clone()).unwrap_or_default();
        Snapshot { service: self.name.to_owned(), at: Some(Utc::now()), since: Some(self.since), routes, gauges }
    }
}

/// The signals of service `name` in this process (one per service, made on first use).
pub fn of(name: &'static str) -> Arc<ServiceSignals> {
    static ALL: OnceLock<Mutex<BTreeMap<&'static str, Arc<ServiceSignals>>>> = OnceLock::new();
    let all = ALL.get_or_init(Mutex::default);
    let mut all = match all.lock() {
        Ok(a) => a,
        Err(poisoned) => poisoned.into_inner(),
    };
    Arc::clone(
        all.entry(name)
            .or_insert_with(|| Arc::new(ServiceSignals { name, since: Utc::now(), inner: Mutex::default() })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_errors_and_latency_are_counted_per_route() {
        let s = of("signals-test");
        s.record("GET", "/v1/x", 200, 0.030);
        s.record("GET", "/v1/x", 503, 0.300);
        s.gauge("feed.lag.aggregation", 7.0);
        let snap = s.snapshot();
        let r = &snap.routes["GET /v1/x"];
        assert_eq!((r.requests, r.errors), (2, 1));
        assert_eq!((r.within_ms[&50], r.within_ms[&250], r.within_ms[&500]), (1, 1, 2));
        assert_eq!(snap.gauges["feed.lag.aggregation"], 7.0);
        assert!(Arc::ptr_eq(&of("signals-test"), &s));
    }
}
