//! Claims' business metrics, per insurer (low-cardinality attributes only): claims filed
//! (by type and recommendation), decided (by outcome) and how long the decision took,
//! paid, SLA breaches, and the open claims by status (refreshed by the deadline check).

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram};

pub struct ClaimsMetrics {
    filed: Counter<u64>,
    decided: Counter<u64>,
    decision_time: Histogram<f64>,
    paid: Counter<u64>,
    breaches: Counter<u64>,
    open: Gauge<u64>,
}

pub fn get() -> &'static ClaimsMetrics {
    static METRICS: OnceLock<ClaimsMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = gigcover_telemetry::meter("claims");
        ClaimsMetrics {
            filed: meter.u64_counter("gigcover.claims.filed").with_description("Claims filed").build(),
            decided: meter
                .u64_counter("gigcover.claims.decided")
                .with_description("Claims approved or rejected")
                .build(),
            decision_time: meter
                .f64_histogram("gigcover.claims.time_to_decision")
                .with_unit("s")
                .with_description("From filing to the insurer's decision")
                .with_boundaries(vec![
                    3600.0,
                    4.0 * 3600.0,
                    86400.0,
                    2.0 * 86400.0,
                    5.0 * 86400.0,
                    10.0 * 86400.0,
                    30.0 * 86400.0,
                ])
                .build(),
            paid: meter.u64_counter("gigcover.claims.paid").with_description("Claims reported paid").build(),
            breaches: meter
                .u64_counter("gigcover.claims.sla_breaches")
                .with_description("Decision deadlines missed")
                .build(),
            open: meter
                .u64_gauge("gigcover.claims.open")
                .with_description("Claims awaiting a decision, by status")
                .build(),
        }
    })
}

impl ClaimsMetrics {
    pub fn filed(&self, insurer: &str, claim_type: &str, recommendation: &str) {
        let attrs = [
            KeyValue::new("insurer", insurer.to_owned()),
            KeyValue::new("claim_type", claim_type.to_owned()),
            KeyValue::new("recommendation", recommendation.to_owned()),
        ];
        self.filed.add(1, &attrs);
    }

    /// A decision, and whether it came by the deadline (the decision SLO's good events).
    pub fn decided(&self, insurer: &str, outcome: &str, seconds: f64, within_sla: bool) {
        let attrs = [
            KeyValue::new("insurer", insurer.to_owned()),
            KeyValue::new("outcome", outcome.to_owned()),
            KeyValue::new("within_sla", within_sla.to_string()),
        ];
        self.decided.add(1, &attrs);
        self.decision_time.record(seconds, &attrs[..1]);
    }

    pub fn paid(&self, insurer: &str) {
        self.paid.add(1, &[KeyValue::new("insurer", insurer.to_owned())]);
    }

    pub fn breached(&self, insurer: &str) {
        self.breaches.add(1, &[KeyValue::new("insurer", insurer.to_owned())]);
    }

    pub fn open(&self, status: &str, count: u64) {
        self.open.record(count, &[KeyValue::new("status", status.to_owned())]);
    }
}
