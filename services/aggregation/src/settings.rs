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
    /// Concurrent writers storing webhooks in the inbox, each request group in one commit.
    /// One writer makes the largest groups (requests gather while its commit syncs): under
    /// `wrk -c64` it stored and applied about a tenth more webhooks a second than two
    /// (`bench/ingest.sh` with `GIGCOVER_AGGREGATION__COMMITTERS` set to each).
    pub committers: usize,
    /// Most webhook requests in one commit into the inbox.
    pub group_max: usize,
    /// Most stored webhooks applied in one transaction. Larger groups cost less per webhook
    /// (one `activity.changed` per worker and group, fewer statements): 6,000 against 2,000
    /// applied a backlog with about a fifth less CPU per webhook (`bench/ingest.sh`, its
    /// "applying alone"), and hold a linger's worth of webhooks at 25k a second. A group
    /// that fails is applied again one webhook per transaction, so as many of those.
    pub apply_max_webhooks: i64,
    /// Most stored webhook bytes applied in one transaction (one webhook is always taken).
    pub apply_max_bytes: i64,
    /// How long the applier, woken by a stored webhook, waits for more before applying: a
    /// webhook's records reach the worker's activities this much later, and under load
    /// each applying transaction is larger (cheaper per webhook).
    pub apply_linger_ms: u64,
    /// How often the held activity of linked accounts is swept for what a link could not
    /// see (written while the link was being made); see `accounts::late_attribution`.
    pub held_sweep_secs: u64,
    /// How often each platform's latest activity end (the freshness SLO's gauge) is read
    /// again from the database without a write of this instance to prompt it: another
    /// instance's writes show this much later. See `freshness`.
    pub freshness_refresh_secs: u64,
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
            committers: 1,
            group_max: 512,
            apply_max_webhooks: 6000,
            apply_max_bytes: 16 * 1024 * 1024,
            apply_linger_ms: 200,
            held_sweep_secs: 30,
            freshness_refresh_secs: 30,
        }
    }
}
