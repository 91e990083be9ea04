//! Decision deadlines: a claim not decided (approved or rejected) by its `decision_due`
//! (the product's SLA from filing) is marked breached once, with `claim.sla_breached` on
//! the feed for the insurer and for ops' alerts.

use std::time::Duration;

use gigcover_kit::auth::RecordScope;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{events, store};

/// Marks the claims whose deadline passed, up to 500 at a time; returns how many.
pub async fn mark_breaches(pool: &PgPool) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE claims SET sla_breached_at = now() WHERE id IN (
             SELECT id FROM claims WHERE sla_breached_at IS NULL AND decision_due < now()
               AND status IN ('submitted', 'verified', 'flagged', 'under_review', 'needs_info')
             ORDER BY decision_due LIMIT 500 FOR UPDATE SKIP LOCKED)
         RETURNING id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(claim) =
            store::load(&mut tx, &RecordScope::everything(), *id, false).await.map_err(|e| anyhow::anyhow!("{e}"))?
        {
            crate::metrics::get().breached(&claim.insurer_id);
            out.push(events::of(&claim, events::SLA_BREACHED).map_err(|e| anyhow::anyhow!("{e}"))?);
        }
    }
    gigcover_feed::publish(tx, &out).await?;
    // The open claims by status, for the claims backlog view.
    let open: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, count(*) FROM claims WHERE status IN ('submitted', 'verified', 'flagged', 'under_review', 'needs_info')
         GROUP BY status",
    )
    .fetch_all(pool)
    .await?;
    for status in ["submitted", "verified", "flagged", "under_review", "needs_info"] {
        let n = open.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
        crate::metrics::get().open(status, u64::try_from(n).unwrap_or(0));
    }
    if !ids.is_empty() {
        tracing::warn!(claims = ids.len(), "claims passed their decision deadline");
    }
    Ok(ids.len())
}

pub async fn run(pool: PgPool, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(e) = mark_breaches(&pool).await {
            tracing::warn!(error = %e, "checking decision deadlines failed; retrying at the next round");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
