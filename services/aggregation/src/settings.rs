//! The `aggregation` configuration section.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregationSettings {
    /// A webhook's timestamp may differ from our clock by at most this much, either way.
    pub signature_tolerance_secs: i64,
    /// An activity may end at most this far in the future (clock skew), no further.
    pub future_tolerance_secs: i64,
    /// A task or shift started but not ended for this long is reported as stale.
    pub stale_open_after_hours: i64,
    /// Largest batch body accepted, in bytes.
    pub batch_limit_bytes: usize,
    /// Largest webhook body accepted, in bytes.
    pub webhook_limit_bytes: usize,
    /// Raw payloads are kept this many days.
    pub raw_retention_days: i64,
    /// Webhook event ids are remembered (for deduplication) this many days.
    pub webhook_dedup_days: i64,
    /// How long a link code stays valid.
    pub link_code_ttl_minutes: i64,
    /// Concurrent writers grouping webhooks into shared commits. Their commits queue on the
    /// platform's status row and the feed's lock, so more writers mean smaller groups and
    /// more Postgres work per webhook, not more throughput: under `wrk -c64`, 2 writers
    /// took about as many webhooks a second as 1 and about a sixth more than 4 (`bench/ingest.sh`
    /// with `GIGCOVER_AGGREGATION__COMMITTERS` set to each); 2 keeps one slow group from
    /// holding up the rest.
    pub committers: usize,
    /// Most webhook requests in one commit.
    pub group_max: usize,
    /// How often the held activity of linked accounts is swept for what a link could not
    /// see (written while the link was being made); see `accounts::late_attribution`.
    pub held_sweep_secs: u64,
}

impl Default for AggregationSettings {
    fn default() -> Self {
        Self {
            signature_tolerance_secs: 300,
            future_tolerance_secs: 300,
            stale_open_after_hours: 24,
            batch_limit_bytes: 512 * 1024 * 1024,
            webhook_limit_bytes: 1024 * 1024,
            raw_retention_days: 400,
            webhook_dedup_days: 30,
            link_code_ttl_minutes: 72 * 60,
            committers: 2,
            group_max: 512,
            held_sweep_secs: 30,
        }
    }
}
