//! Every worker-day recomputed from the stored intervals, from scratch, into a new table
//! that takes the old one's place at commit.

use std::collections::HashMap;

use chrono_tz::Tz;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::copy_in::CopyRowsIn;
use crate::copy_out::{self, CopyRows, Fields};
use crate::engine::Ms;
use crate::intervals::{self, WorkerIntervals};
use crate::recompute::{Loaded, WorkerDay, worker_days};

/// Recomputes every worker-day in one transaction and returns the number of workers. All
/// intervals stream in worker order (binary `COPY` out), each worker's days are computed
/// as soon as its rows are in, and the days go with `COPY` into a new table, which replaces
/// `worker_days` at commit: readers see the old days until then, and no old row is deleted
/// one by one. The result is byte for byte what the incremental path stored.
///
/// The new table is `LIKE worker_days INCLUDING ALL` (columns, defaults, constraints,
/// indexes), its primary key added after the COPY; the key's index takes the old one's
/// name. What that does not carry over is listed in `migrations/enrichment/README.md`.
pub async fn recompute_all(pool: &PgPool, infer_gap: Ms) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    // Writers (the feed consumer) and another full recompute wait until this one is
    // done; the read below sees a still table.
    sqlx::query("LOCK TABLE intervals IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
    let zones = zones(&mut tx).await?;
    // The new table's primary key is added once all rows are in (its definition read from
    // the old table's): building the index from one sort costs less than inserting every
    // row into it during the COPY.
    let primary_key: String = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'worker_days'::regclass AND contype = 'p'",
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::raw_sql(
        "CREATE TABLE worker_days_next (LIKE worker_days INCLUDING ALL);
         ALTER TABLE worker_days_next DROP CONSTRAINT worker_days_next_pkey;",
    )
    .execute(&mut *tx)
    .await?;
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
    // sort: each worker's rows together, by start (the order the engine reads).
    let mut rows = CopyRows::start(
        &mut read,
        "SELECT worker_id, platform_id, kind, starts_at, ends_at, job FROM intervals ORDER BY worker_id, starts_at",
    )
    .await?;
    let mut rebuilt = Rebuilt { zones, infer_gap, ..Rebuilt::default() };
    while rows.next(|f| rebuilt.row(f)).await?.is_some() {
        if rebuilt.out.len() > (1 << 20) {
            copy.send(rebuilt.out.take()).await?;
        }
    }
    drop(rows);
    rebuilt.finish_worker()?;
    copy.send(rebuilt.out.finish()).await?;
    copy.finish().await?;
    // The key's index from one sort of every row (with at least 256 MB to sort them in;
    // a larger setting is kept), statistics for the planner at once rather than at
    // autovacuum's next round, then the swap. The swap waits for readers of the old table
    // and makes new ones wait behind it: if it cannot have the table within a few
    // seconds, the recompute fails and changes nothing.
    let finish = format!(
        "SELECT set_config('maintenance_work_mem', '256MB', true)
         FROM pg_settings WHERE name = 'maintenance_work_mem' AND setting::bigint < 256 * 1024;
         ALTER TABLE worker_days_next ADD CONSTRAINT worker_days_next_pkey {primary_key};
         ANALYZE worker_days_next;
         SET LOCAL lock_timeout = '5s';
         DROP TABLE worker_days;
         ALTER TABLE worker_days_next RENAME TO worker_days;
         ALTER INDEX worker_days_next_pkey RENAME TO worker_days_pkey;"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(finish)).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(rebuilt.workers)
}

/// Every worker's time zone.
async fn zones(conn: &mut PgConnection) -> sqlx::Result<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT worker_id, time_zone FROM worker_zones").fetch_all(conn).await?;
    Ok(rows.into_iter().collect())
}

/// The days of the workers read so far, as `COPY` rows.
#[derive(Default)]
struct Rebuilt {
    zones: HashMap<Uuid, String>,
    infer_gap: Ms,
    /// The worker whose intervals are being read, and those read.
    worker: Option<Uuid>,
    intervals: WorkerIntervals,
    out: CopyRowsIn,
    workers: u64,
}

impl Rebuilt {
    /// Takes one row of the intervals query; the first of a worker completes the days of
    /// the worker before.
    fn row(&mut self, f: &mut Fields<'_>) -> anyhow::Result<()> {
        let worker = f.required(copy_out::uuid)?;
        if self.worker != Some(worker) {
            self.finish_worker()?;
            self.worker = Some(worker);
        }
        let platform = f.required(copy_out::text)?;
        let kind = intervals::kind(f.required(copy_out::text)?);
        let start = f.required(copy_out::timestamptz)?.timestamp_millis();
        let end = f.required(copy_out::timestamptz)?.timestamp_millis();
        let job = self.intervals.stored_job(f.optional(copy_out::text)?)?;
        self.intervals.push(platform, kind, (start, end), job);
        Ok(())
    }

    /// Computes and writes the days of the worker read last.
    fn finish_worker(&mut self) -> anyhow::Result<()> {
        let intervals = std::mem::take(&mut self.intervals);
        let Some(worker) = self.worker.take() else { return Ok(()) };
        // A worker's zone is stored with its first intervals.
        let Some(zone) = self.zones.get(&worker) else { return Ok(()) };
        let tz: Tz = zone.parse().map_err(|_| anyhow::anyhow!("worker {worker} has an unknown time zone {zone}"))?;
        let loaded = Loaded::new(intervals, self.infer_gap);
        for day in worker_days(&loaded, tz) {
            day_row(&mut self.out, worker, tz, &day)?;
        }
        self.workers += 1;
        Ok(())
    }
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
    out.field(&d.earnings_json())?;
    out.field(&d.platforms_json())?;
    Ok(())
}
