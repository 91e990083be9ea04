//! Pricing's business metrics, per insurer (a low-cardinality attribute): quotes made,
//! policies bound and cancelled, statements finalised.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

pub struct PricingMetrics {
    quotes: Counter<u64>,
    bound: Counter<u64>,
    cancelled: Counter<u64>,
    statements: Counter<u64>,
}

pub fn get() -> &'static PricingMetrics {
    static METRICS: OnceLock<PricingMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = gigcover_telemetry::meter("pricing");
        PricingMetrics {
            quotes: meter.u64_counter("gigcover.pricing.quotes").with_description("Quotes made, per insurer").build(),
            bound: meter
                .u64_counter("gigcover.pricing.policies_bound")
                .with_description("Policies bound, per insurer")
                .build(),
            cancelled: meter
                .u64_counter("gigcover.pricing.policies_cancelled")
                .with_description("Policies cancelled, per insurer")
                .build(),
            statements: meter
                .u64_counter("gigcover.pricing.statements_finalized")
                .with_description("Monthly statements finalised, per insurer")
                .build(),
        }
    })
}

fn insurer(i: &str) -> [KeyValue; 1] {
    [KeyValue::new("insurer", i.to_owned())]
}

impl PricingMetrics {
    pub fn quoted(&self, i: &str) {
        self.quotes.add(1, &insurer(i));
    }
    pub fn bound(&self, i: &str) {
        self.bound.add(1, &insurer(i));
    }
    pub fn cancelled(&self, i: &str) {
        self.cancelled.add(1, &insurer(i));
    }
    pub fn finalized(&self, i: &str) {
        self.statements.add(1, &insurer(i));
    }
}
