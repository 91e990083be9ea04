//! Where an SLO's good and total events over a window come from. One evaluator reads
//! through this trait, from one of two sources:
//! - `Embedded` (the default): the samples ops scrapes from the services themselves
//!   (`scrape`), in its own schema;
//! - `opensearch::OpenSearchSource` (when `ops.opensearch` is configured): the spans and
//!   metric points the telemetry pipeline indexed.

pub mod opensearch;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::PgPool;

use crate::burn::Counts;
use crate::slo::Slo;

pub trait SignalSource: Send + Sync + 'static {
    fn counts<'a>(
        &'a self,
        slo: &'a Slo,
        window: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Counts>>;

    /// The keys a per-key SLO had within `window` before `now` (each an instance,
    /// `<slo>/<key>`), in order.
    fn keys<'a>(
        &'a self,
        slo: &'a Slo,
        window: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Vec<String>>>;
}

/// The samples ops scraped into its own schema.
pub struct Embedded {
    pub pool: PgPool,
}

impl SignalSource for Embedded {
    fn counts<'a>(
        &'a self,
        slo: &'a Slo,
        window: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Counts>> {
        Box::pin(async move {
            let from = now - chrono::Duration::from_std(window)?;
            let (good, total): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE(sum(good), 0)::bigint, COALESCE(sum(total), 0)::bigint FROM slo_samples
                 WHERE slo = $1 AND at > $2 AND at <= $3",
            )
            .bind(&slo.name)
            .bind(from)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
            Ok(Counts { good: good.max(0) as u64, total: total.max(0) as u64 })
        })
    }

    fn keys<'a>(
        &'a self,
        slo: &'a Slo,
        window: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Vec<String>>> {
        Box::pin(async move {
            let from = now - chrono::Duration::from_std(window)?;
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT slo FROM slo_samples WHERE slo LIKE $1 || '/%' AND at > $2 AND at <= $3 ORDER BY slo",
            )
            .bind(&slo.name)
            .bind(from)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
            Ok(names.iter().filter_map(|n| n.split_once('/').map(|(_, k)| k.to_owned())).collect())
        })
    }
}
