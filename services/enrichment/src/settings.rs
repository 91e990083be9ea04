//! The `enrichment` configuration section.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrichmentSettings {
    /// For a platform that sends only engagements, gaps between them shorter than this
    /// count as (inferred) online time. At most 6 hours (a day's figures look a day around it).
    pub infer_gap_secs: u32,
    /// Events per page read from aggregation's feed (and per transaction).
    pub feed_batch: u32,
}

impl Default for EnrichmentSettings {
    fn default() -> Self {
        Self { infer_gap_secs: 15 * 60, feed_batch: 100 }
    }
}

impl EnrichmentSettings {
    pub fn infer_gap_ms(&self) -> i64 {
        i64::from(self.infer_gap_secs.min(6 * 3600)) * 1000
    }
}
