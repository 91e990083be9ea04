//! Held activity that its account's link could not see. A write reads each account's link
//! when it starts; when a link commits while a write of that account (read unlinked) is
//! still running, the link attributes the held activity it can see, and the write then
//! commits its own activity held, of an account now linked. Nothing else would ever
//! attribute it. So every `held_sweep_secs` this sweep attributes the held activity of the
//! accounts linked in the last day (far longer than any write runs) and announces it, as
//! the link does. A link and a sweep never announce one activity twice: each attributes
//! only rows still held, and the later one waits for the earlier one's row locks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use gigcover_domain::{Interval, PlatformId, WorkerId};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::ingest::events::activity_changed;
use crate::platforms::directory::Directory;

/// How far back links are swept: longer than any write runs.
const RECENT_LINKS_HOURS: i32 = 24;

pub async fn run(pool: PgPool, directory: Arc<Directory>, every: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        match sweep(&pool, &directory).await {
            Ok(0) => {}
            Ok(attributed) => tracing::info!(attributed, "held activity of recently linked accounts attributed"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "sweep of held activity failed; will retry"),
        }
    }
}

/// An activity the sweep attributed: worker, platform, start, end, retracted.
type AttributedRow = (Uuid, String, DateTime<Utc>, DateTime<Utc>, bool);

/// Attributes the held activity of accounts linked in the last day and publishes
/// `activity.changed` for it, in one transaction; returns how many activities it attributed.
pub async fn sweep(pool: &PgPool, directory: &Directory) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let rows: Vec<AttributedRow> = sqlx::query_as(
        "UPDATE activities a SET worker_id = pa.worker_id
         FROM platform_accounts pa
         WHERE (pa.platform_id, pa.worker_ref) IN
                   (SELECT platform_id, worker_ref FROM account_links WHERE linked_at > now() - make_interval(hours => $1))
           AND pa.worker_id IS NOT NULL
           AND a.platform_id = pa.platform_id AND a.worker_ref = pa.worker_ref AND a.worker_id IS NULL
         RETURNING a.worker_id, a.platform_id, a.starts_at, a.ends_at, a.retracted",
    )
    .bind(RECENT_LINKS_HOURS)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // A retracted activity is attributed but, as at the link, announces nothing.
    let mut intervals: BTreeMap<(Uuid, String), Vec<Interval>> = BTreeMap::new();
    for (worker, platform, starts, ends, retracted) in &rows {
        let entry = intervals.entry((*worker, platform.clone())).or_default();
        if !retracted {
            entry.push(Interval::new(*starts, *ends)?);
        }
    }
    let mut events = Vec::new();
    for ((worker, platform), intervals) in intervals.into_iter().filter(|(_, i)| !i.is_empty()) {
        let info = directory.get(&platform).await?.ok_or_else(|| anyhow::anyhow!("platform {platform} is gone"))?;
        let days: BTreeSet<NaiveDate> =
            intervals.iter().flat_map(|i| i.split_at_local_midnight(info.time_zone)).map(|p| p.date).collect();
        let platform = PlatformId::parse(&platform)?;
        events.push(activity_changed(WorkerId::from_uuid(worker), &platform, info.time_zone.name(), &days, None)?);
    }
    gigcover_feed::publish(tx, &events).await?;
    Ok(rows.len())
}
