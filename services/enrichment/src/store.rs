//! Enrichment's own copy of a worker's intervals.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

/// One activity as enrichment keeps it (the fields of aggregation's activity view it needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct StoredInterval {
    #[sqlx(rename = "platform_id")]
    pub platform: String,
    pub external_id: String,
    pub kind: String,
    #[sqlx(rename = "starts_at")]
    pub start: DateTime<Utc>,
    #[sqlx(rename = "ends_at")]
    pub end: DateTime<Utc>,
    pub distance_km: Option<Decimal>,
    pub currency: Option<String>,
    pub pay: Option<Decimal>,
    pub tips: Option<Decimal>,
    pub bonus: Option<Decimal>,
    pub fees: Option<Decimal>,
    pub version: i32,
}

/// The rows of worker `$1` overlapping `[$2, $3)`, in a stable order. (Activities last at
/// most 24 hours, which aggregation enforces; the lower bound on the start uses the index.)
macro_rules! overlapping {
    () => {
        " FROM intervals
         WHERE worker_id = $1 AND starts_at < $3 AND ends_at > $2 AND starts_at > $2 - interval '2 days'
         ORDER BY starts_at, platform_id, external_id"
    };
}

/// The worker's intervals overlapping `[from, to)`, in a stable order.
pub async fn load(
    conn: &mut PgConnection,
    worker: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<StoredInterval>> {
    sqlx::query_as(concat!(
        "SELECT platform_id, external_id, kind, starts_at, ends_at, distance_km, currency, pay, tips, bonus, fees, version",
        overlapping!()
    ))
    .bind(worker)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// Makes the worker's intervals overlapping `[from, to)` exactly `fresh` (which the
/// producer returned for that range).
pub async fn replace(
    conn: &mut PgConnection,
    worker: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    fresh: &[StoredInterval],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM intervals WHERE worker_id = $1 AND starts_at < $3 AND ends_at > $2")
        .bind(worker)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    if fresh.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&StoredInterval) -> Option<Decimal>| fresh.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO intervals (worker_id, platform_id, external_id, kind, starts_at, ends_at, distance_km,
                                currency, pay, tips, bonus, fees, version)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[],
                                  $7::numeric[], $8::text[], $9::numeric[], $10::numeric[], $11::numeric[],
                                  $12::numeric[], $13::int[])
         ON CONFLICT (worker_id, platform_id, external_id) DO UPDATE SET
             kind = EXCLUDED.kind, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
             distance_km = EXCLUDED.distance_km, currency = EXCLUDED.currency, pay = EXCLUDED.pay,
             tips = EXCLUDED.tips, bonus = EXCLUDED.bonus, fees = EXCLUDED.fees, version = EXCLUDED.version",
    )
    .bind(worker)
    .bind(fresh.iter().map(|i| i.platform.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.external_id.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.kind.as_str()).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.start).collect::<Vec<_>>())
    .bind(fresh.iter().map(|i| i.end).collect::<Vec<_>>())
    .bind(col(|i| i.distance_km))
    .bind(fresh.iter().map(|i| i.currency.as_deref()).collect::<Vec<_>>())
    .bind(col(|i| i.pay))
    .bind(col(|i| i.tips))
    .bind(col(|i| i.bonus))
    .bind(col(|i| i.fees))
    .bind(fresh.iter().map(|i| i.version).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// The time zone a worker's days are counted in.
pub async fn set_zone(conn: &mut PgConnection, worker: Uuid, time_zone: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO worker_zones (worker_id, time_zone) VALUES ($1, $2)
         ON CONFLICT (worker_id) DO UPDATE SET time_zone = EXCLUDED.time_zone",
    )
    .bind(worker)
    .bind(time_zone)
    .execute(conn)
    .await?;
    Ok(())
}

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

/// The times of the worker's intervals overlapping `[from, to)`, in [`load`]'s order.
pub async fn load_times(
    conn: &mut PgConnection,
    worker: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<IntervalTime>> {
    let rows: Vec<(String, String, DateTime<Utc>, DateTime<Utc>)> =
        sqlx::query_as(concat!("SELECT platform_id, kind, starts_at, ends_at", overlapping!()))
            .bind(worker)
            .bind(from)
            .bind(to)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|(platform, kind, start, end)| IntervalTime { platform, kind, start, end }).collect())
}
