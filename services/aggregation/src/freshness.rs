//! The freshness SLO's raw material: each platform's latest activity end, as the database
//! holds it (`ingestion_status.last_event_end_at`, the greatest end of every write by every
//! instance), published as the `gigcover.ingest.last_event_time` gauge and the
//! `ingest.last_event_unix.<platform>` signal. Read from the database, not taken from
//! each write as it commits:
//! - a write of late data (days late is normal) would set the time back, and page;
//! - an instance just started would know no platform until it sent again, so a platform
//!   that went quiet before a deploy would never page;
//! - each instance would report the platforms it happened to serve, and the oldest report
//!   wins where OpenSearch judges the time.
//!
//! Published at start, soon after each write that stored an activity (writes gather for
//! [`GATHER`] first), and every `every` in any case (another instance's writes).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::metrics::IngestMetrics;

/// How long a write's wake-up waits for more writes before the times are read again: under
/// load, one read a second, not one per write.
const GATHER: Duration = Duration::from_secs(1);

/// Publishes the platforms' latest activity ends until `shutdown`; `written` is notified by
/// each write that stored an activity (`IngestMetrics::stored`).
pub async fn run(pool: PgPool, metrics: IngestMetrics, every: Duration, shutdown: CancellationToken) {
    let written = metrics.written();
    loop {
        if let Err(error) = publish(&pool, &metrics).await {
            tracing::warn!(error = format!("{error:#}"), "could not read the platforms' latest activity; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = written.notified() => {
                tokio::select! {
                    _ = tokio::time::sleep(GATHER) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Reads every platform's latest activity end and publishes it.
async fn publish(pool: &PgPool, metrics: &IngestMetrics) -> anyhow::Result<()> {
    let latest: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT platform_id, last_event_end_at FROM ingestion_status WHERE last_event_end_at IS NOT NULL",
    )
    .fetch_all(pool)
    .await?;
    for (platform, end) in latest {
        metrics.last_event(&platform, end.timestamp() as f64);
    }
    Ok(())
}
