//! Enrichment benchmark (issue 4), anchor and ours side by side in one run, on generated
//! activities (default 10,000,000 for 100,000 workers over 30 days, about 10% of jobs
//! overlapping a job on another platform):
//!
//! 1. full recompute end to end (read every interval from enrichment's store, compute every
//!    per-day figure, store the days) against an in-database
//!    `INSERT INTO totals SELECT ... range_agg(...) GROUP BY worker, day` (union totals only);
//! 2. the engine alone on intervals already in memory against the same anchor;
//! 3. one late activity, from the batch answered by aggregation to its worker-day stored by
//!    enrichment: p50 and p99.
//!
//! Medians of `--rounds`; run with `bench/enrichment.sh` (release build).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Parser;
use gigcover_e2e::Gigcover;
use gigcover_e2e::load::{median, quantile};
use gigcover_enrichment::intervals::{self, WorkerIntervals};
use gigcover_enrichment::rebuild::recompute_all;
use gigcover_enrichment::recompute::{Loaded, worker_days};
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use gigcover_localpg::LocalPostgres;
use serde_json::json;

/// The allocator the `gigcover` binary uses: the engine and the full recompute run in this
/// process for their figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000_000)]
    activities: usize,
    #[arg(long, default_value_t = 100_000)]
    workers: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Late events timed for the latency figures.
    #[arg(long, default_value_t = 200)]
    late_events: usize,
}

const INFER_GAP_MS: i64 = 15 * 60 * 1000;

/// COPY text of the generated intervals: per worker, jobs of 10-40 minutes with gaps of
/// 2-30 minutes across the 30 days' working hours, one in ten started on another platform
/// before the previous job ended.
fn generate(activities: usize, workers: usize) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let per_worker = activities / workers;
    let base = chrono::DateTime::parse_from_rfc3339("2026-10-01T06:00:00Z")?.timestamp();
    let mut intervals = Vec::with_capacity(activities * 150);
    let mut zones = Vec::with_capacity(workers * 60);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let per_day = per_worker.div_ceil(30).max(1);
    for w in 0..workers {
        let worker = uuid::Uuid::from_u128(0xb0_0000_0000 + w as u128);
        writeln!(zones, "{worker}\tEurope/Berlin")?;
        let mut t = base;
        let mut prev_end = base;
        for i in 0..per_worker {
            if i % per_day == 0 {
                t = base + (i / per_day) as i64 * 86_400 + rand(3600) as i64;
            }
            let overlap = rand(10) == 0 && i % per_day != 0;
            let start = if overlap { prev_end - 60 * (1 + rand(10) as i64) } else { t + 60 * (2 + rand(28) as i64) };
            let end = start + 60 * (10 + rand(30) as i64);
            let platform = if overlap { "rides" } else { "eats" };
            let (s, e) = (
                chrono::DateTime::from_timestamp(start, 0).unwrap_or_default().to_rfc3339(),
                chrono::DateTime::from_timestamp(end, 0).unwrap_or_default().to_rfc3339(),
            );
            writeln!(intervals, "{worker}\t{platform}\tj{i}\tengagement\t{s}\t{e}\tEUR 3.5 6.00 1.00 0 0.50\t1")?;
            t = t.max(end);
            prev_end = end;
        }
    }
    Ok((intervals, zones))
}

async fn exec(pool: &sqlx::PgPool, sql: &str) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await?;
    Ok(())
}

async fn copy(pool: &sqlx::PgPool, statement: &str, data: &[u8]) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let mut copy = conn.copy_in_raw(statement).await?;
    for chunk in data.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    Ok(())
}

const ANCHOR: &str = "INSERT INTO bench_totals
    SELECT worker_id, day, sum(upper(r) - lower(r))
    FROM (SELECT worker_id, (starts_at AT TIME ZONE 'Europe/Berlin')::date AS day,
                 unnest(range_agg(tstzrange(starts_at, ends_at))) AS r
          FROM intervals GROUP BY 1, 2) u
    GROUP BY 1, 2";

async fn anchor(pool: &sqlx::PgPool) -> anyhow::Result<f64> {
    exec(pool, "TRUNCATE bench_totals").await?;
    let started = Instant::now();
    exec(pool, ANCHOR).await?;
    Ok(started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    eprintln!("starting gigcover (identity, aggregation, enrichment) on a private PostgreSQL cluster ...");
    let mut gc = Gigcover::serve("identity,aggregation,enrichment", &[("GIGCOVER_LOG__FILTER", "warn".into())]);
    gc.wait_for_readyz(&[ServiceName::Aggregation, ServiceName::Enrichment], 200, Duration::from_secs(120)).await;
    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir())?;
    let url = secrecy::SecretString::from(pg.url());
    let settings = gigcover_kit::db::DatabaseSettings { max_connections: 4, ..Default::default() };
    let pool = gigcover_kit::db::pool(&settings, &url, "enrichment")?;

    // 3. Late events first, on an otherwise empty store.
    let late = late_event_latencies(&gc, &pool, args.late_events).await?;

    eprintln!("generating {} activities for {} workers ...", args.activities, args.workers);
    let (intervals, zones) = generate(args.activities, args.workers)?;
    exec(&pool, "TRUNCATE intervals, worker_zones, worker_days").await?;
    copy(&pool, "COPY worker_zones (worker_id, time_zone) FROM STDIN", &zones).await?;
    copy(
        &pool,
        "COPY intervals (worker_id, platform_id, external_id, kind, starts_at, ends_at, job, version) FROM STDIN",
        &intervals,
    )
    .await?;
    drop(intervals);
    exec(&pool, "ANALYZE intervals").await?;
    exec(&pool, "CREATE TABLE IF NOT EXISTS bench_totals (worker_id uuid, day date, engaged interval, PRIMARY KEY (worker_id, day))")
        .await?;

    // 1. Full recompute against the anchor, alternating.
    let (mut anchor_secs, mut full_secs) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        anchor_secs.push(anchor(&pool).await?);
        let started = Instant::now();
        recompute_all(&pool, INFER_GAP_MS).await?;
        full_secs.push(started.elapsed().as_secs_f64());
        eprintln!(
            "round {}: range_agg {:.2} s, full recompute {:.2} s",
            round + 1,
            anchor_secs[round],
            full_secs[round]
        );
    }
    let days: i64 = sqlx::query_scalar("SELECT count(*) FROM worker_days").fetch_one(&pool).await?;

    // 2. The engine alone, on intervals already in memory.
    eprintln!("loading every interval into memory ...");
    type Row = (uuid::Uuid, String, String, DateTime<Utc>, DateTime<Utc>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT worker_id, platform_id, kind, starts_at, ends_at, job
         FROM intervals ORDER BY worker_id, starts_at, platform_id, external_id",
    )
    .fetch_all(&pool)
    .await?;
    // In the form the engine reads (what the full recompute decodes the rows into).
    let mut by_worker: BTreeMap<uuid::Uuid, WorkerIntervals> = BTreeMap::new();
    for (worker, platform, kind, start, end, job) in rows {
        let w = by_worker.entry(worker).or_default();
        let job = w.stored_job(job.as_deref())?;
        w.push(&platform, intervals::kind(&kind), (start.timestamp_millis(), end.timestamp_millis()), job);
    }
    let by_worker: Vec<WorkerIntervals> = by_worker.into_values().collect();
    let tz: chrono_tz::Tz = chrono_tz::Europe::Berlin;
    let mut engine_secs = Vec::new();
    eprintln!("timing the engine on {} workers in memory ...", by_worker.len());
    for _ in 0..args.rounds {
        let rows = by_worker.clone();
        let started = Instant::now();
        let computed: usize =
            rows.into_iter().map(|intervals| worker_days(&Loaded::new(intervals, INFER_GAP_MS), tz).count()).sum();
        engine_secs.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(computed as i64 == days, "the engine computed {computed} days, the store holds {days}");
    }

    let (a, f, e) = (median(anchor_secs), median(full_secs), median(engine_secs));
    println!(
        "\n== enrichment benchmark ({} activities, {} workers, {days} worker-days, median of {} rounds) ==",
        args.activities, args.workers, args.rounds
    );
    println!("anchor  range_agg union totals (SQL)     : {a:>9.2} s");
    println!("ours    full recompute, store to store   : {f:>9.2} s   anchor/ours = {:.2}  (goal >= 1.5)", a / f);
    println!("ours    engine alone, in memory          : {e:>9.2} s   anchor/ours = {:.2}  (goal >= 10)", a / e);
    if let Some((p50, p99, n)) = late {
        println!(
            "ours    late event to worker-day stored  : p50 {p50:.2} ms, p99 {p99:.2} ms over {n} events  (goal p50 < 5 ms)"
        );
    }
    pool.close().await;
    drop(gc);
    Ok(())
}

/// Posts single late activities for one linked worker, each on its own past day, and
/// times from aggregation's answer to enrichment's stored day.
async fn late_event_latencies(
    gc: &Gigcover,
    pool: &sqlx::PgPool,
    n: usize,
) -> anyhow::Result<Option<(f64, f64, usize)>> {
    if n == 0 {
        return Ok(None);
    }
    let http = gigcover_kit::client::http();
    let agg = |path: &str| gc.url(ServiceName::Aggregation, path);
    let ops = gc.keys.ops_token();
    let platform = gc.keys.token(Role::Platform, "bench-client", Some("late"));
    http.post(agg("/v1/platforms"))
        .bearer_auth(&ops)
        .json(&json!({"id": "late", "name": "Late", "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"},
                      "category": "food_delivery", "adapter": "gig_records"}))
        .send()
        .await?
        .error_for_status()?;
    http.post(agg("/v1/platforms/late/workers"))
        .bearer_auth(&platform)
        .json(&json!({"worker_ref": "w"}))
        .send()
        .await?
        .error_for_status()?;
    let code: serde_json::Value =
        http.post(agg("/v1/platforms/late/workers/w/link-codes")).bearer_auth(&platform).send().await?.json().await?;
    let worker = uuid::Uuid::now_v7();
    http.post(agg(&format!("/v1/workers/{worker}/platform-accounts")))
        .bearer_auth(gc.keys.token(Role::Worker, &worker.to_string(), None))
        .json(&json!({"code": code["code"]}))
        .send()
        .await?
        .error_for_status()?;
    // Enrichment's consumer stores the day and publishes `hours.changed` in one transaction,
    // whose commit notifies the schema's outbox channel: woken by that, the check below
    // runs once per commit instead of polling (which on two cores takes CPU from the path
    // being timed).
    let schema: String = sqlx::query_scalar("SELECT current_schema()").fetch_one(pool).await?;
    let mut commits = sqlx::postgres::PgListener::connect_with(pool).await?;
    commits.listen(&format!("{schema}_outbox")).await?;
    let mut latencies = Vec::with_capacity(n);
    // Each event on its own day, counting back from yesterday (a day in the future would
    // be refused).
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    for i in 0..n {
        let day = yesterday - chrono::Duration::days(i as i64);
        let line = json!({"id": format!("late-{i}"), "worker": "w", "start_datetime": format!("{day}T10:00:00Z"),
                          "end_datetime": format!("{day}T10:30:00Z"), "income": {"pay": "5.00"}});
        let res = http
            .post(agg("/v1/platforms/late/batches"))
            .bearer_auth(&platform)
            .header("content-type", "application/x-ndjson")
            .body(format!("{line}\n"))
            .send()
            .await?
            .error_for_status()?;
        let answered = Instant::now();
        let answer: serde_json::Value = res.json().await?;
        anyhow::ensure!(answer["inserted"] == 1, "late event {i} was not inserted: {answer}");
        loop {
            let stored: Option<i32> =
                sqlx::query_scalar("SELECT jobs FROM worker_days WHERE worker_id = $1 AND day = $2")
                    .bind(worker)
                    .bind(day)
                    .fetch_optional(pool)
                    .await?;
            if stored == Some(1) {
                break;
            }
            let left = Duration::from_secs(30).saturating_sub(answered.elapsed());
            if tokio::time::timeout(left, commits.recv()).await.is_err() {
                let logs = gc.logs();
                let tail: Vec<&str> = logs.lines().rev().take(20).collect();
                anyhow::bail!("late event {i} never reached enrichment; gigcover's log ends:\n{}", tail.join("\n"));
            }
        }
        latencies.push(answered.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Some((quantile(latencies.clone(), 0.5), quantile(latencies, 0.99), n)))
}
