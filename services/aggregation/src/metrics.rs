//! Ingestion metrics, per platform (a low-cardinality attribute): records received,
//! accepted and rejected (by reason), the lag from an activity's end to its storage, and
//! the time of the latest activity — what freshness SLOs are computed from.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use gigcover_domain::PlatformId;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram};
use tokio::sync::Notify;

use crate::ingest::engine::Counts;

#[derive(Clone)]
pub struct IngestMetrics {
    received: Counter<u64>,
    accepted: Counter<u64>,
    rejected: Counter<u64>,
    lag: Histogram<f64>,
    last_event: Gauge<f64>,
    /// Told of each write that stored an activity: `freshness` publishes the latest again.
    written: Arc<Notify>,
}

impl IngestMetrics {
    pub fn new() -> Self {
        let meter = gigcover_telemetry::meter("aggregation");
        Self {
            received: meter.u64_counter("gigcover.ingest.received").with_description("Records received").build(),
            accepted: meter.u64_counter("gigcover.ingest.accepted").with_description("Records accepted").build(),
            rejected: meter
                .u64_counter("gigcover.ingest.rejected")
                .with_description("Records rejected, by reason")
                .build(),
            lag: meter
                .f64_histogram("gigcover.ingest.lag")
                .with_unit("s")
                .with_description("From an activity's end to its storage")
                .with_boundaries(vec![1.0, 10.0, 60.0, 300.0, 900.0, 3600.0, 6.0 * 3600.0, 86400.0, 7.0 * 86400.0])
                .build(),
            last_event: meter
                .f64_gauge("gigcover.ingest.last_event_time")
                .with_unit("s")
                .with_description("Unix time of the latest activity end stored")
                .build(),
            written: Arc::new(Notify::new()),
        }
    }

    fn platform(id: &str) -> KeyValue {
        KeyValue::new("platform", id.to_owned())
    }

    /// Notified by each write that stored an activity (see `freshness`).
    pub fn written(&self) -> Arc<Notify> {
        Arc::clone(&self.written)
    }

    pub fn received(&self, p: &PlatformId, n: u64, source: &'static str) {
        self.received.add(n, &[Self::platform(p.as_str()), KeyValue::new("source", source)]);
    }

    fn accepted(&self, p: &PlatformId, n: u64) {
        self.accepted.add(n, &[Self::platform(p.as_str())]);
    }

    pub fn rejected(&self, p: &PlatformId, reason: &'static str) {
        self.rejected.add(1, &[Self::platform(p.as_str()), KeyValue::new("reason", reason)]);
    }

    /// The lag of an activity that ended at `end` and is stored at `now`.
    pub fn lag(&self, p: &PlatformId, end: DateTime<Utc>, now: DateTime<Utc>) {
        let seconds = (now - end).num_milliseconds() as f64 / 1000.0;
        self.lag.record(seconds.max(0.0), &[Self::platform(p.as_str())]);
    }

    /// What a committed write took in: its records accepted; whether it stored an activity
    /// (`last_end`), for `freshness` to publish the platform's latest activity end again.
    pub fn stored(&self, p: &PlatformId, counts: &Counts, last_end: Option<DateTime<Utc>>) {
        self.accepted(p, counts.accepted());
        if last_end.is_some() {
            self.written.notify_one();
        }
    }

    /// The platform's latest activity end (unix seconds), as `freshness` read it.
    pub fn last_event(&self, platform: &str, unix_seconds: f64) {
        self.last_event.record(unix_seconds, &[Self::platform(platform)]);
        // The freshness SLO per platform reads it from aggregation's own signals.
        gigcover_kit::signals::of("aggregation").gauge(&format!("ingest.last_event_unix.{platform}"), unix_seconds);
    }
}

impl Default for IngestMetrics {
    fn default() -> Self {
        Self::new()
    }
}
