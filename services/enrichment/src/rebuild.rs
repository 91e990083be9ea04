//! Every worker-day recomputed from the stored intervals, from scratch, into a new table
//! that takes the old one's place at commit.

use std::collections::HashMap;

use chrono_tz::Tz;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::copy_in::CopyRowsIn;
use crate::copy_out::{self, CopyRows, Fields};
use crate::engine::Ms;
use crate::recompute::{WorkerDay, json_text, worker_days};
use crate::store::StoredInterval;

/// Recomputes every worker-day in one transaction and returns the number of workers. All
/// intervals stream in worker order (binary `COPY` out), each worker's days are computed
/// as soon as its rows are in, and the days go with `COPY` into a new table, which replaces
/// `worker_days` at commit: readers see the old days until then, and no old row is deleted
/// one by one. The result is byte for byte what the incremental path stored.
///
/// The new table is `LIKE worker_days INCLUDING ALL` (columns, defaults, constraints,
/// indexes); its primary key index takes the old one's name. What that does not carry
/// over is listed in `migrations/enrichment/README.md`.
pub async fn recompute_all(pool: &PgPool, infer_gap: Ms) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    // Writers (the feed consumer) and another full recompute wait until this one is
    // done; the read below sees a still table.
    sqlx::query("LOCK TABLE intervals IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
    let zones = zones(&mut tx).await?;
    sqlx::query("CREATE TABLE worker_days_next (LIKE worker_days INCLUDING ALL)").execute(&mut *tx).await?;
    let mut copy = tx
        .copy_in_raw(
            "COPY worker_days_next (worker_id, day, time_zone, online_ms, engaged_ms, multi_app_ms, night_engaged_ms,
                                    weekend_engaged_ms, online_inferred, jobs, distance_km, earnings, platforms)
             FROM STDIN (FORMAT binary, FREEZE)",
        )
        .await?;
    let mut read = pool.acquire().await?;
    // Closed when done rather than given back: a read that failed half-way leaves the rest
    // of its answer on the connection (sqlx's ping on release would catch it too, with a
    // warning). A full recompute is rare; one new connection costs nothing here.
    read.close_on_drop();
    // The order of the index on (worker_id, starts_at), which Postgres reads without a
    // sort; `worker_days` orders each worker's rows fully.
    let mut rows = CopyRows::start(
        &mut read,
        "SELECT worker_id, platform_id, external_id, kind, starts_at, ends_at, distance_km, currency, pay, tips,
                bonus, fees, version
         FROM intervals ORDER BY worker_id, starts_at",
    )
    .await?;
    let mut out = CopyRowsIn::new();
    let mut current: Option<Uuid> = None;
    let mut batch: Vec<StoredInterval> = Vec::new();
    let mut workers = 0u64;
    loop {
        let next = rows.next(interval).await?;
        if let Some(worker) = current
            && next.as_ref().is_none_or(|(w, _)| *w != worker)
        {
            let intervals = std::mem::take(&mut batch);
            // A worker's zone is stored with its first intervals.
            if let Some(zone) = zones.get(&worker) {
                let tz: Tz =
                    zone.parse().map_err(|_| anyhow::anyhow!("worker {worker} has an unknown time zone {zone}"))?;
                for day in worker_days(intervals, tz, infer_gap) {
                    day_row(&mut out, worker, tz, &day)?;
                }
                workers += 1;
            }
            if out.len() > (1 << 20) {
                copy.send(out.take()).await?;
            }
        }
        let Some((worker, interval)) = next else { break };
        current = Some(worker);
        batch.push(interval);
    }
    drop(rows);
    copy.send(out.finish()).await?;
    copy.finish().await?;
    // Statistics for the planner at once rather than at autovacuum's next round. The swap
    // waits for readers of the old table and makes new ones wait behind it: if it cannot
    // have the table within a few seconds, the recompute fails and changes nothing.
    sqlx::raw_sql(
        "ANALYZE worker_days_next;
         SET LOCAL lock_timeout = '5s';
         DROP TABLE worker_days;
         ALTER TABLE worker_days_next RENAME TO worker_days;
         ALTER INDEX worker_days_next_pkey RENAME TO worker_days_pkey;",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(workers)
}

/// Every worker's time zone.
async fn zones(conn: &mut PgConnection) -> sqlx::Result<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT worker_id, time_zone FROM worker_zones").fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

/// One row of the intervals query.
fn interval(f: &mut Fields<'_>) -> anyhow::Result<(Uuid, StoredInterval)> {
    Ok((
        f.required(copy_out::uuid)?,
        StoredInterval {
            platform: f.required(copy_out::text)?,
            external_id: f.required(copy_out::text)?,
            kind: f.required(copy_out::text)?,
            start: f.required(copy_out::timestamptz)?,
            end: f.required(copy_out::timestamptz)?,
            distance_km: f.optional(copy_out::numeric)?,
            currency: f.optional(copy_out::text)?,
            pay: f.optional(copy_out::numeric)?,
            tips: f.optional(copy_out::numeric)?,
            bonus: f.optional(copy_out::numeric)?,
            fees: f.optional(copy_out::numeric)?,
            version: f.required(copy_out::int4)?,
        },
    ))
}

/// One `worker_days` row.
fn day_row(out: &mut CopyRowsIn, worker: Uuid, tz: Tz, d: &WorkerDay) -> anyhow::Result<()> {
    let f = &d.figures;
    out.row(13);
    out.field(&worker)?;
    out.field(&d.date)?;
    out.field(&tz.name())?;
    for ms in [f.online_ms, f.engaged_ms, f.multi_app_ms, f.night_engaged_ms, f.weekend_engaged_ms] {
        out.field(&ms)?;
    }
    out.field(&f.online_inferred)?;
    out.field(&d.jobs)?;
    out.field(&d.distance_km)?;
    out.field(&json_text(&d.earnings))?;
    out.field(&json_text(&d.platforms))?;
    Ok(())
}
