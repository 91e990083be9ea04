//! Ingestion benchmark (issue 3), anchors and ours side by side in one run:
//!
//! 1. The same generated activities loaded by a plain `COPY` into an equivalent table
//!    (same columns, keys, constraints and indexes) and through `POST /v1/platforms/{id}/batches`
//!    (HTTP, NDJSON, validation, versions, attribution, archive, events): rates and ratio.
//! 2. Single signed webhooks under `wrk` against an actix-web hello-world that returns a
//!    small JSON body, twice: under plain `wrk` (GET, one static request, the cheapest
//!    client) and under the very `wrk` run the webhooks get (the same script POSTing the
//!    same signed bodies, so both sides pay the same client). Webhooks are answered once
//!    stored and applied moments later, so their rate counts the time until the last one
//!    is applied, and their CPU time the applying: what is sustained, not what is queued.
//!    Rates and both ratios.
//! 3. The webhooks' work in its two halves, for where the time goes: the same `wrk` run
//!    with the applier held back (the bench holds the applier's lock, as another
//!    instance's applier would), so only storing and answering are measured; then that
//!    backlog applied alone. Storing alone over the hello-world is the webhook ratio's
//!    ceiling (answering once stored, with applying free), printed as a ratio too.
//!
//! Each comparison runs `--rounds` times, alternating; medians are reported. Run with
//! `bench/ingest.sh` (release build). Needs `wrk` for part 2 (skipped, with a message, without it).

use std::collections::HashMap;
use std::io::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use gigcover_aggregation::webhooks::apply::APPLIER_LOCK;
use gigcover_e2e::load::{median, wrk};
use gigcover_e2e::process::{children_cpu_seconds, cluster_cpu_between, cluster_cpu_seconds, cpu_seconds};
use gigcover_e2e::{Gigcover, free_port};
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;
use gigcover_localpg::LocalPostgres;
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Parser)]
struct Args {
    /// Activities per load.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Distinct workers (each linked, so loads announce changes).
    #[arg(long, default_value_t = 1000)]
    workers: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Concurrent connections per wrk run.
    #[arg(long, default_value_t = 64)]
    connections: usize,
}

struct Load {
    ndjson: Vec<u8>,
    copy_text: Vec<u8>,
}

/// The same activities as NDJSON (gig records) and as COPY text rows.
fn generate(records: usize, workers: &[String]) -> anyhow::Result<Load> {
    let mut ndjson = Vec::with_capacity(records * 260);
    let mut copy_text = Vec::with_capacity(records * 260);
    let base = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")?.with_timezone(&chrono::Utc);
    for i in 0..records {
        let w = i % workers.len();
        let start = base + chrono::Duration::minutes(((i / workers.len()) * 37 % (30 * 24 * 60)) as i64);
        let end = start + chrono::Duration::minutes(12 + (i % 40) as i64);
        let (s, e) = (
            start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        let line = json!({"id": format!("g{i}"), "worker": format!("w{w}"), "start_datetime": s, "end_datetime": e,
                          "distance": "3.4", "income": {"pay": "5.20", "tips": "1.00", "fees": "0.40"}});
        ndjson.extend_from_slice(line.to_string().as_bytes());
        ndjson.push(b'\n');
        let hash = hex::encode(Sha256::digest(format!("g{i}|{s}|{e}").as_bytes()));
        writeln!(
            copy_text,
            "bench\tg{i}\tw{w}\t{}\tengagement\tcompleted\t{s}\t{e}\t3.4\tEUR\t5.20\t1.00\t0\t0.40\t\\\\x{hash}",
            workers[w]
        )?;
    }
    Ok(Load { ndjson, copy_text })
}

async fn exec(pool: &sqlx::PgPool, sql: &str) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(pool).await?;
    Ok(())
}

async fn copy_anchor(pool: &sqlx::PgPool, text: &[u8]) -> anyhow::Result<f64> {
    exec(pool, "TRUNCATE bench_copy").await?;
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let mut copy = conn
        .copy_in_raw(
            "COPY bench_copy (platform_id, external_id, worker_ref, worker_id, kind, status, starts_at, ends_at,
                              distance_km, currency, pay, tips, bonus, fees, content_hash) FROM STDIN",
        )
        .await?;
    for chunk in text.chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    copy.finish().await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn reset_ours(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    exec(pool, "TRUNCATE aggregation.activities, aggregation.activity_history, aggregation.raw_archive, aggregation.idempotency_keys").await
}

/// One `wrk` run: its rate of answers, its rate counted until the server had done all
/// the work the requests left (the same where nothing is left), and the CPU time each side
/// spent per request (µs), that work included: the client (`wrk`, without its script's
/// start-up), the server, the database cluster.
struct Run {
    rps: f64,
    done_rps: f64,
    micros: [f64; 3],
}

impl Run {
    /// The median of each figure over `runs` (each on its own).
    fn median(runs: Vec<Run>) -> Run {
        let of = |f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
        Run { rps: of(&|r| r.rps), done_rps: of(&|r| r.done_rps), micros: [0, 1, 2].map(|i| of(&|r| r.micros[i])) }
    }
}

/// CPU time used so far by the finished `wrk` runs (this process's waited-for children),
/// the server and each process of the database cluster.
struct Cpu {
    client: f64,
    server: f64,
    cluster: HashMap<String, f64>,
}

impl Cpu {
    fn now(server: u32, data_dir: &std::path::Path) -> anyhow::Result<Cpu> {
        let missing = || anyhow::anyhow!("no CPU time in /proc");
        Ok(Cpu {
            client: children_cpu_seconds().ok_or_else(missing)?,
            server: cpu_seconds(server).ok_or_else(missing)?,
            cluster: cluster_cpu_seconds(data_dir).ok_or_else(missing)?,
        })
    }

    /// Microseconds each side (client, server, cluster) used since `before`, per one of `count`.
    fn micros_since(&self, before: &Cpu, count: f64) -> [f64; 3] {
        let database = cluster_cpu_between(&before.cluster, &self.cluster);
        [self.client - before.client, self.server - before.server, database].map(|s| s * 1e6 / count)
    }
}

/// Runs `wrk` with `args` (every answer must be 2xx, for `seconds`) against `server`,
/// whose database cluster lives in `data_dir`, then waits for `settled` (the work the
/// requests left is done); `startup` seconds of the client's CPU time are its start-up,
/// not its requests (see [`script_startup`]).
async fn measured(
    args: &[&str],
    seconds: u64,
    startup: f64,
    server: u32,
    data_dir: &std::path::Path,
    settled: impl AsyncFnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<Run> {
    let mut before = Cpu::now(server, data_dir)?;
    before.client += startup;
    let (rps, text) = wrk(args).ok_or_else(|| anyhow::anyhow!("wrk failed"))?;
    let answered = Instant::now();
    anyhow::ensure!(!text.contains("Non-2xx"), "errors under load ({args:?}):\n{text}");
    settled().await?;
    let settling = answered.elapsed().as_secs_f64();
    // "  123456 requests in 8.00s, ...": the count; the rate times the duration without it.
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ")?.0.parse::<f64>().ok())
        .unwrap_or(rps * seconds as f64);
    let micros = Cpu::now(server, data_dir)?.micros_since(&before, requests);
    Ok(Run { rps, done_rps: requests / (requests / rps + settling), micros })
}

/// Nothing left to do after the answers.
async fn answered() -> anyhow::Result<()> {
    Ok(())
}

/// `count` unique webhooks, each one gig record signed with `secret` now, one per line as
/// `post_json.lua` reads them; `prefix` keeps their ids apart from other runs'.
fn signed_events(prefix: &str, count: usize, workers: usize, secret: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    let file = tempfile::NamedTempFile::new()?;
    let mut w = std::io::BufWriter::new(file.as_file());
    let t = chrono::Utc::now().timestamp();
    for i in 0..count {
        let minute = i % 1400;
        let body = json!({"id": format!("wh{prefix}-{i}"), "event_id": format!("ev{prefix}-{i}"), "worker": format!("w{}", i % workers),
            "start_datetime": format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i % 20, minute / 60, minute % 60),
            "end_datetime": format!("2026-11-{:02}T{:02}:{:02}:40Z", 1 + i % 20, minute / 60, minute % 60),
            "income": {"pay": "4.00"}})
        .to_string();
        let sig = gigcover_kit::signature::sign(secret.as_bytes(), t, body.as_bytes());
        writeln!(w, "{sig}\t{body}")?;
    }
    w.flush()?;
    drop(w);
    Ok(file)
}

/// Holds the applier's lock on a connection of `pool`, as another instance's applier
/// would, once the applier waits for it: it then took its horizon before any webhook of the
/// run was stored, so its first group after [`drained`] lets it go is empty and the webhooks
/// stored meanwhile are applied in full groups from the start.
async fn hold_the_applier(pool: &sqlx::PgPool) -> anyhow::Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let mut held = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))").bind(APPLIER_LOCK).execute(&mut *held).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if gigcover_testkit::db::advisory_lock_awaited(&mut held).await? {
            return Ok(held);
        }
        anyhow::ensure!(Instant::now() < deadline, "the applier never waited for its lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Applying alone: with the applier held back (`held`, a connection holding its lock) and
/// a backlog stored, lets it go and measures from its first applied group (so not its
/// wake-up) until the inbox is empty: the rate and the CPU per webhook of applying.
async fn drained(
    pool: &sqlx::PgPool,
    mut held: sqlx::pool::PoolConnection<sqlx::Postgres>,
    server: u32,
    data_dir: &std::path::Path,
) -> anyhow::Result<Run> {
    let first = oldest_pending(pool).await?;
    anyhow::ensure!(first.is_some(), "no backlog to apply");
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(APPLIER_LOCK).execute(&mut *held).await?;
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(600);
    while oldest_pending(pool).await? == first {
        anyhow::ensure!(Instant::now() < deadline, "the applier did not start on the backlog");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = Cpu::now(server, data_dir)?;
    let started = Instant::now();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM aggregation.webhook_inbox WHERE failed_at IS NULL")
        .fetch_one(pool)
        .await?;
    inbox_applied(pool).await?;
    let rate = left as f64 / started.elapsed().as_secs_f64();
    Ok(Run { rps: rate, done_rps: rate, micros: Cpu::now(server, data_dir)?.micros_since(&before, left as f64) })
}

/// Every stored webhook applied (none kept as failed). Waits by looking at the oldest
/// pending webhook only: counting a large inbox every few milliseconds would cost the
/// cluster more CPU than the applying it waits for.
async fn inbox_applied(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while oldest_pending(pool).await?.is_some() {
        anyhow::ensure!(Instant::now() < deadline, "webhooks still not applied after 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM aggregation.webhook_inbox WHERE failed_at IS NOT NULL")
        .fetch_one(pool)
        .await?;
    anyhow::ensure!(failed == 0, "{failed} webhooks could not be applied");
    Ok(())
}

/// The number of the oldest webhook stored and not yet applied.
async fn oldest_pending(pool: &sqlx::PgPool) -> anyhow::Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT seq FROM aggregation.webhook_inbox WHERE failed_at IS NULL ORDER BY seq LIMIT 1")
        .fetch_optional(pool)
        .await?)
}

/// The CPU time a scripted `wrk` spends loading its requests before it sends any: `wrk`
/// with the script arguments `script_args` for one second against a socket that accepts
/// connections (the kernel does) and never answers, so no request is served and all the
/// client does is start.
fn script_startup(script: &str, script_args: &[&str]) -> anyhow::Result<f64> {
    let silent = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/", silent.local_addr()?);
    let missing = || anyhow::anyhow!("no CPU time in /proc");
    let before = children_cpu_seconds().ok_or_else(missing)?;
    let run: Vec<&str> =
        ["-t2", "-c2", "-d1s", "-s", script, &url, "--"].into_iter().chain(script_args.iter().copied()).collect();
    let (rps, text) = wrk(&run).ok_or_else(|| anyhow::anyhow!("wrk failed to start"))?;
    anyhow::ensure!(rps == 0.0, "the silent socket answered:\n{text}");
    Ok(children_cpu_seconds().ok_or_else(missing)? - before)
}

/// Reads the request's body (actix-web closes a connection whose body was left unread).
async fn hello(_body: actix_web::web::Bytes) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(json!({"status": "ok", "service": "hello"}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    eprintln!("starting gigcover (aggregation) on a private PostgreSQL cluster ...");
    let mut gc = Gigcover::serve("aggregation", &[("GIGCOVER_LOG__FILTER", "warn".into())]);
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(120)).await;
    let (pg, _) = LocalPostgres::ensure_running(&gc.data_dir())?;
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect(&pg.url()).await?;
    let http = gigcover_kit::client::http();
    let ops = gc.keys.ops_token();
    let platform_token = gc.keys.token(Role::Platform, "bench-client", Some("bench"));
    let agg = |path: &str| gc.url(ServiceName::Aggregation, path);

    let registered: serde_json::Value = http
        .post(agg("/v1/platforms"))
        .bearer_auth(&ops)
        .json(&json!({"id": "bench", "name": "Bench", "market": {"country": "DE", "time_zone": "Europe/Berlin", "currency": "EUR"},
                      "category": "food_delivery", "adapter": "gig_records"}))
        .send()
        .await?
        .json()
        .await?;
    let secret = registered["webhook_secret"]["secret"].as_str().unwrap_or_default().to_owned();

    eprintln!("linking {} workers ...", args.workers);
    let mut workers = Vec::with_capacity(args.workers);
    for w in 0..args.workers {
        let worker = uuid::Uuid::now_v7().to_string();
        http.post(agg("/v1/platforms/bench/workers"))
            .bearer_auth(&platform_token)
            .json(&json!({"worker_ref": format!("w{w}")}))
            .send()
            .await?;
        let code: serde_json::Value = http
            .post(agg(&format!("/v1/platforms/bench/workers/w{w}/link-codes")))
            .bearer_auth(&platform_token)
            .send()
            .await?
            .json()
            .await?;
        let worker_token = gc.keys.token(Role::Worker, &worker, None);
        http.post(agg(&format!("/v1/workers/{worker}/platform-accounts")))
            .bearer_auth(&worker_token)
            .json(&json!({"code": code["code"]}))
            .send()
            .await?;
        workers.push(worker);
    }

    eprintln!("generating {} activities ...", args.records);
    let load = generate(args.records, &workers)?;
    exec(&pool, "CREATE TABLE bench_copy (LIKE aggregation.activities INCLUDING ALL)").await?;

    let data_dir = gc.data_dir();
    let gigcover = gc.pid().as_raw().unsigned_abs();
    // The CPU time gigcover and the cluster spend per record (the client side is this process).
    let per_record = |before: &Cpu| -> anyhow::Result<[f64; 2]> {
        let [_, server, database] = Cpu::now(gigcover, &data_dir)?.micros_since(before, args.records as f64);
        Ok([server, database])
    };
    let (mut copy_secs, mut batch_secs, mut copy_cpu, mut batch_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let before = Cpu::now(gigcover, &data_dir)?;
        copy_secs.push(copy_anchor(&pool, &load.copy_text).await?);
        copy_cpu.push(per_record(&before)?[1]);
        reset_ours(&pool).await?;
        let before = Cpu::now(gigcover, &data_dir)?;
        let started = Instant::now();
        let res = http
            .post(agg("/v1/platforms/bench/batches"))
            .bearer_auth(&platform_token)
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", format!("round-{round}"))
            .body(load.ndjson.clone())
            .timeout(Duration::from_secs(3600))
            .send()
            .await?;
        let status = res.status();
        let body: serde_json::Value = res.json().await?;
        batch_secs.push(started.elapsed().as_secs_f64());
        batch_cpu.push(per_record(&before)?);
        anyhow::ensure!(status == 200 && body["inserted"] == args.records, "batch failed: {status} {body}");
        eprintln!("round {}: COPY {:.2} s, batch {:.2} s", round + 1, copy_secs[round], batch_secs[round]);
    }
    let n = args.records as f64;
    let (copy_rate, batch_rate) = (n / median(copy_secs), n / median(batch_secs));
    let copy_cpu = median(copy_cpu);
    let batch_cpu = [0, 1].map(|i| median(batch_cpu.iter().map(|c| c[i]).collect()));

    // Webhooks under wrk, against a hello-world.
    let webhook = if Command::new("wrk").arg("--version").output().is_ok() {
        let port = free_port();
        let server = actix_web::HttpServer::new(|| actix_web::App::new().route("/", actix_web::web::to(hello)))
            .workers(2)
            .bind(("127.0.0.1", port))?
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        let duration = format!("{}s", args.seconds);
        let conns = args.connections.to_string();
        let hello_url = format!("http://127.0.0.1:{port}/");
        let hook_url = agg("/v1/platforms/bench/events");
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/post_json.lua").display().to_string();
        // This process hosts the hello-world; gigcover serves the webhooks.
        let this = std::process::id();
        let (mut hello_runs, mut same_runs, mut hook_runs) = (Vec::new(), Vec::new(), Vec::new());
        let (mut stored_runs, mut drain_runs) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            hello_runs.push(
                measured(
                    &["-t2", "-c", &conns, "-d", &duration, &hello_url],
                    args.seconds,
                    0.0,
                    this,
                    &data_dir,
                    answered,
                )
                .await?,
            );
            // Enough unique, freshly signed events for a run at 60k/s.
            let events = 60_000 * args.seconds as usize;
            let file = signed_events(&round.to_string(), events, workers.len(), &secret)?;
            let path = file.path().display().to_string();
            let startup = script_startup(&script, &[&path, "2", "Gigcover-Signature"])?;
            let run = |url: &str, events: &tempfile::NamedTempFile| -> Vec<String> {
                let path = events.path().display().to_string();
                ["-t2", "-c", &conns, "-d", &duration, "-s", &script, url, "--", &path, "2", "Gigcover-Signature"]
                    .map(str::to_owned)
                    .into()
            };
            let (same, hooks) = (run(&hello_url, &file), run(&hook_url, &file));
            let [same, hooks] = [&same, &hooks].map(|a| a.iter().map(String::as_str).collect::<Vec<_>>());
            same_runs.push(measured(&same, args.seconds, startup, this, &data_dir, answered).await?);
            let hooks =
                measured(&hooks, args.seconds, startup, gigcover, &data_dir, async || inbox_applied(&pool).await)
                    .await?;
            // The halves: storing with the applier held back, then applying that backlog
            // (events signed now: the run is within the signature tolerance).
            let halves = signed_events(&format!("halves{round}"), events, workers.len(), &secret)?;
            let stored = run(&hook_url, &halves);
            let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
            let held = hold_the_applier(&pool).await?;
            let stored = measured(&stored, args.seconds, startup, gigcover, &data_dir, answered).await?;
            drain_runs.push(drained(&pool, held, gigcover, &data_dir).await?);
            // The hello-world may cycle through the events; the webhooks must not (a replay is cheaper).
            anyhow::ensure!(
                hooks.rps.max(stored.rps) * (args.seconds as f64) < events as f64,
                "ran out of unique events; raise the pool"
            );
            hook_runs.push(hooks);
            stored_runs.push(stored);
            eprintln!(
                "round {}: hello-world {:.0}/s, hello-world same requests {:.0}/s, webhooks {:.0}/s answered, {:.0}/s applied; \
                 stored alone {:.0}/s, applied alone {:.0}/s",
                round + 1,
                hello_runs[round].rps,
                same_runs[round].rps,
                hook_runs[round].rps,
                hook_runs[round].done_rps,
                stored_runs[round].rps,
                drain_runs[round].rps
            );
        }
        handle.stop(true).await;
        Some([hello_runs, same_runs, hook_runs, stored_runs, drain_runs].map(Run::median))
    } else {
        eprintln!("wrk is not installed (apt-get install wrk): webhook comparison skipped");
        None
    };

    println!(
        "\n== ingestion benchmark ({} activities, {} workers, median of {} rounds) ==",
        args.records, args.workers, args.rounds
    );
    println!("anchor  COPY into an equivalent table : {copy_rate:>10.0} rows/s");
    println!("ours    POST batches (NDJSON, HTTP)   : {batch_rate:>10.0} rows/s");
    println!("ratio   batch / COPY                  : {:>10.2}   (goal >= 0.5)", batch_rate / copy_rate);
    println!(
        "CPU per record, µs (medians)         COPY: postgres {copy_cpu:.1}; batch: gigcover {:.1}, postgres {:.1}",
        batch_cpu[0], batch_cpu[1]
    );
    if let Some([hello, same, hooks, stored, drained]) = webhook {
        println!("anchor  actix-web hello-world, GET    : {:>10.0} req/s", hello.rps);
        println!(
            "anchor  hello-world, same requests    : {:>10.0} req/s   (the webhooks' wrk script and bodies)",
            same.rps
        );
        println!(
            "ours    signed webhooks (wrk)         : {:>10.0} req/s   (counted until the last is applied; {:.0} answered/s)",
            hooks.done_rps, hooks.rps
        );
        println!("ratio   webhooks / hello-world GET    : {:>10.2}   (goal >= 0.3)", hooks.done_rps / hello.rps);
        println!("ratio   webhooks / same requests      : {:>10.2}", hooks.done_rps / same.rps);
        println!(
            "halves  webhooks stored alone         : {:>10.0} req/s   (answered; the applier held back)",
            stored.rps
        );
        println!("halves  that backlog applied alone    : {:>10.0} webhooks/s", drained.rps);
        // Storing alone is what answering 2xx only once stored requires, before any
        // activity is written: the ceiling of the webhook ratio with applying free.
        println!(
            "ratio   stored alone / hello-world GET: {:>10.2}   (the ceiling: receiving and storing durably, nothing applied)",
            stored.rps / hello.rps
        );
        println!(
            "CPU per request, µs (medians)        wrk   server  postgres      sum   (webhooks: applying included)"
        );
        for (name, run) in [
            ("hello-world, GET", &hello),
            ("hello-world, same requests", &same),
            ("signed webhooks", &hooks),
            ("  storing alone", &stored),
            ("  applying alone", &drained),
        ] {
            let [client, server, database] = run.micros;
            println!("  {name:<30} {client:>8.1} {server:>8.1} {database:>8.1} {:>8.1}", client + server + database);
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        println!(
            "budget  0.3 of the hello-world GET, with all {cores} cores busy, leaves {:.1} µs of CPU per webhook, all sides",
            cores as f64 * 1e6 / (0.3 * hello.rps)
        );
    }
    pool.close().await;
    drop(gc);
    Ok(())
}
