//! Enrichment's own copy of a worker's intervals.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::job_column;

/// One activity as enrichment keeps it (the fields of aggregation's activity view it needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInterval {
    pub platform: String,
    pub external_id: String,
    pub kind: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub distance_km: Option<Decimal>,
    pub currency: Option<String>,
    pub pay: Option<Decimal>,
    pub tips: Option<Decimal>,
    pub bonus: Option<Decimal>,
    pub fees: Option<Decimal>,
    pub version: i32,
}

/// Makes enrichment's copy of the worker's intervals overlapping `[from, to)` exactly
/// `fresh` (what aggregation returned for that range), and the worker's time zone `zone`,
/// in one statement: intervals no longer there go, the others are written where they
/// changed (whole rows compared as text, so a figure's changed scale is a change). As in
/// [`load_times`], the lower bound on the start keeps the delete's index scan to the range
/// rather than every earlier interval of the worker. The job's figures are stored as
/// [`job_column`] has them.
pub async fn replace(
    conn: &mut PgConnection,
    worker: Uuid,
    zone: &str,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    fresh: &[StoredInterval],
) -> sqlx::Result<()> {
    sqlx::query(
        "WITH fresh AS (
             SELECT * FROM unnest($5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::timestamptz[],
                                  $10::text[], $11::int[])
                 AS f(platform_id, external_id, kind, starts_at, ends_at, job, version)),
         zone AS (
             INSERT INTO worker_zones (worker_id, time_zone) VALUES ($1, $2)
             ON CONFLICT (worker_id) DO UPDATE SET time_zone = EXCLUDED.time_zone
             WHERE worker_zones.time_zone <> EXCLUDED.time_zone),
         gone AS (
             DELETE FROM intervals i
             WHERE i.worker_id = $1 AND i.starts_at < $4 AND i.ends_at > $3 AND i.starts_at > $3 - interval '2 days'
               AND NOT EXISTS (SELECT FROM fresh f WHERE f.platform_id = i.platform_id AND f.external_id = i.external_id))
         INSERT INTO intervals (worker_id, platform_id, external_id, kind, starts_at, ends_at, job, version)
         SELECT $1, * FROM fresh
         ON CONFLICT (worker_id, platform_id, external_id) DO UPDATE SET
             kind = EXCLUDED.kind, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at, job = EXCLUDED.job,
             version = EXCLUDED.version
         WHERE intervals::text <> EXCLUDED::text",
    )
    .bind(worker)
    .bind(zone)
    .bind(from)
    .bind(to)
    .bind(fresh.iter().map(|i| i.platform.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.external_id.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.start).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.end).collect::<Vec<_>>())
    .bind(fresh.iter().map(job_column::format).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.version).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The time zone a worker's days are counted in.
pub async fn zone(conn: &mut PgConnection, worker: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT time_zone FROM worker_zones WHERE worker_id = $1")
        .bind(worker)
        .fetch_optional(conn)
        .await
}

/// When and where a worker was online or engaged: what insured-time definitions and
/// `activity-at` read (no money or distance to decode).
#[derive(Debug, Clone, PartialEq)]
pub struct IntervalTime {
    pub platform: String,
    pub kind: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The times of the worker's intervals overlapping `[from, to)`, in a stable order.
/// (Activities last at most 24 hours, which aggregation enforces; the lower bound on the
/// start uses the index.)
pub async fn load_times(
    conn: &mut PgConnection,
    worker: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<IntervalTime>> {
    let rows: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT platform_id, kind, starts_at, ends_at FROM intervals
         WHERE worker_id = $1 AND starts_at < $3 AND ends_at > $2 AND starts_at > $2 - interval '2 days'
         ORDER BY starts_at, platform_id, external_id",
    )
    .bind(worker)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(platform, kind, start, end)| IntervalTime { platform, kind, start, end }).collect())
}
