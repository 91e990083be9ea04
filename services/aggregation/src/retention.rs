//! Forgets what is kept only for a while: raw payloads and webhooks that could not be
//! applied past their retention, webhook event ids past the replay window, idempotency
//! keys after a week. Runs hourly.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::settings::AggregationSettings;

pub async fn run(pool: PgPool, settings: AggregationSettings, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.cancelled() => return,
        }
        if let Err(error) = sweep(&pool, &settings).await {
            tracing::warn!(error = format!("{error:#}"), "retention sweep failed; will retry");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

pub async fn sweep(pool: &PgPool, settings: &AggregationSettings) -> anyhow::Result<()> {
    let raw = sqlx::query("DELETE FROM raw_archive WHERE received_at < now() - make_interval(days => $1)")
        .bind(i32::try_from(settings.raw_retention_days).unwrap_or(i32::MAX))
        .execute(pool)
        .await?
        .rows_affected();
    let seen = sqlx::query("DELETE FROM webhook_events WHERE received_at < now() - make_interval(days => $1)")
        .bind(i32::try_from(settings.webhook_dedup_days).unwrap_or(i32::MAX))
        .execute(pool)
        .await?
        .rows_affected();
    // Webhooks kept because they could not be applied hold records as read: kept no longer.
    let unapplied = sqlx::query(
        "DELETE FROM webhook_inbox WHERE failed_at IS NOT NULL AND received_at < now() - make_interval(days => $1)",
    )
    .bind(i32::try_from(settings.raw_retention_days).unwrap_or(i32::MAX))
    .execute(pool)
    .await?
    .rows_affected();
    let keys = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - interval '7 days'")
        .execute(pool)
        .await?
        .rows_affected();
    tracing::info!(raw, seen, unapplied, keys, "retention sweep");
    Ok(())
}
