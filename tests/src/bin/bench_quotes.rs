//! Quote benchmark (issue 6), anchor and ours side by side in one run:
//!
//! 1. Throughput: `POST /v1/quotes` (HTTP, end to end: the token, the products read, the
//!    worker's 12-week profile from enrichment over HTTP, the premium, the quote stored and
//!    `quote.created` published) under `wrk`, against `pgbench -M prepared` running a
//!    script of the database statements one quote executes (the products read, the
//!    worker's zone, days and interval times reads, the quote insert, the outbox lock with
//!    its notify, and the outbox insert), with the same number of clients on the same
//!    cluster. Medians of `--rounds` alternating rounds and their ratio (goal >= 0.5).
//! 2. Latency at half the measured quote rate, open loop: p50 and p99 (goal p99 < 10 ms).
//!
//! Run with `bench/quotes.sh` (release build). Needs `wrk` and `pgbench`.

use std::io::Write as _;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use gigcover_e2e::load::{constant_rate, have, median, pgbench, quantile_ms, wrk};
use gigcover_e2e::{Gigcover, Scenario, gig};
use gigcover_kit::ServiceName;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Workers with 12 weeks of activity each.
    #[arg(long, default_value_t = 200)]
    workers: usize,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Seconds per throughput run and for the latency run.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Clients: wrk connections and pgbench clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
}

/// The statements one quote executes (`:wid` is a worker id, looked up by the script).
const SCRIPT: &str = r"
\set n random(1, :workers)
SELECT id AS wid FROM public.bench_workers WHERE n = :n \gset
SELECT DISTINCT ON (p.id) p.id, p.insurer_id, p.kind, p.name, t.version, t.document
  FROM pricing.products p JOIN pricing.tariff_versions t ON t.product_id = p.id AND t.effective_from <= now()
  WHERE p.insurer_id = 'acme' AND p.kind = 'accident' ORDER BY p.id, t.version DESC;
SELECT time_zone FROM enrichment.worker_zones WHERE worker_id = :wid;
SELECT day, online_ms, engaged_ms, multi_app_ms, night_engaged_ms, weekend_engaged_ms, online_inferred, jobs,
       distance_km, earnings, platforms
  FROM enrichment.worker_days WHERE worker_id = :wid AND day BETWEEN current_date - 83 AND current_date ORDER BY day;
SELECT platform_id, kind, starts_at, ends_at
  FROM enrichment.intervals
  WHERE worker_id = :wid AND starts_at < now() AND ends_at > now() - interval '85 days'
    AND starts_at > now() - interval '87 days'
  ORDER BY starts_at, platform_id, external_id;
BEGIN;
INSERT INTO pricing.quotes (id, insurer_id, worker_id, product_id, tariff_version, premium, currency, inputs, lines,
                            valid_until, coverage)
  SELECT gen_random_uuid(), 'acme', :wid, p.id, 1, 12.34, 'EUR', '{}', '[]', now() + interval '7 days', '{}'
  FROM pricing.products p WHERE p.insurer_id = 'acme' LIMIT 1;
SELECT pg_advisory_xact_lock(hashtext('pricing.outbox')), pg_notify('pricing_outbox', '');
INSERT INTO pricing.outbox (position, event_id, event_type, payload)
  VALUES (nextval('pricing.outbox_position'), gen_random_uuid(), 'quote.created', '{}');
COMMIT;
";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(have("wrk") && have("pgbench"), "needs wrk and pgbench (apt-get install wrk postgresql-client)");
    eprintln!("starting gigcover (all services) on a private PostgreSQL cluster ...");
    let mut gc = Gigcover::serve("all", &[("GIGCOVER_LOG__FILTER", "warn".into())]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(180)).await;
    let s = Scenario::new(&gc).await;

    eprintln!("loading {} workers with 12 weeks of activity ...", args.workers);
    s.platform("bench").await;
    let workers: Vec<String> = (0..args.workers).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let today = Utc::now().date_naive();
    let mut records = Vec::new();
    for (i, w) in workers.iter().enumerate() {
        let reference = format!("w{i}");
        s.link("bench", &reference, w).await;
        for d in 1..=84 {
            if (d + i) % 7 == 0 {
                continue; // a day off a week
            }
            let day = today - chrono::Duration::days(d as i64);
            for hour in [11, 18] {
                let start = day.and_hms_opt(hour, (i % 50) as u32, 0).unwrap_or_default().and_utc();
                records.push(gig(&format!("{reference}-{day}-{hour}"), &reference, start, 35, "6.50", "1.00"));
            }
        }
    }
    for chunk in records.chunks(20_000) {
        s.records("bench", chunk, None).await;
    }
    let tariff = |rate: &str| {
        json!({"currency": "EUR", "basis": {"per_insured_hour": {"rate": rate, "definition": "job-plus-15m"}},
               "factors": [{"input": "night_share", "bands": [{"from": "0", "factor": "1"}, {"from": "0.2", "factor": "1.2"}]}],
               "min_premium": "2", "max_premium": "200"})
    };
    s.product("acme", "accident", tariff("0.40")).await;
    s.product("zurich", "accident", tariff("0.35")).await;
    sqlx::query("CREATE TABLE IF NOT EXISTS public.bench_workers (n integer PRIMARY KEY, id uuid NOT NULL)")
        .execute(&s.pool)
        .await?;
    for (n, w) in workers.iter().enumerate() {
        sqlx::query("INSERT INTO public.bench_workers VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(n as i32 + 1)
            .bind(uuid::Uuid::parse_str(w)?)
            .execute(&s.pool)
            .await?;
    }

    let script = tempfile::NamedTempFile::new()?;
    script.as_file().write_all(SCRIPT.as_bytes())?;
    let ops = gc.keys.ops_token();
    let bodies = tempfile::NamedTempFile::new()?;
    {
        let mut out = std::io::BufWriter::new(bodies.as_file());
        for w in &workers {
            writeln!(out, "Bearer {ops}\t{}", json!({"worker_id": w, "kind": "accident", "insurer_id": "acme"}))?;
        }
    }
    let lua = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/post_json.lua");
    let (pg, _) = gigcover_localpg::LocalPostgres::ensure_running(&gc.data_dir())?;
    let url = s.url(ServiceName::Pricing, "/v1/quotes");
    let (clients, secs, var) =
        (args.clients.to_string(), args.seconds.to_string(), format!("workers={}", args.workers));
    let threads = args.clients.min(2).to_string();
    let (mut anchor, mut ours) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let (tps, _) = pgbench(
            &pg.url(),
            &[
                "-n",
                "-M",
                "prepared",
                "-c",
                &clients,
                "-j",
                &threads,
                "-T",
                &secs,
                "-D",
                &var,
                "-f",
                &script.path().display().to_string(),
            ],
        )
        .ok_or_else(|| anyhow::anyhow!("pgbench failed"))?;
        let (rps, text) = wrk(&[
            "-t",
            &threads,
            "-c",
            &clients,
            "-d",
            &format!("{secs}s"),
            "-s",
            &lua.display().to_string(),
            &url,
            "--",
            &bodies.path().display().to_string(),
            &threads,
            "Authorization",
        ])
        .ok_or_else(|| anyhow::anyhow!("wrk failed"))?;
        anyhow::ensure!(!text.contains("Non-2xx"), "quotes failed under load:\n{text}\n{}", gc.logs());
        eprintln!("round {}: pgbench {tps:.0} tx/s, quotes {rps:.0}/s", round + 1);
        anchor.push(tps);
        ours.push(rps);
    }
    let (anchor, ours) = (median(anchor), median(ours));

    // Latency at half the measured rate, open loop.
    let rate = ours / 2.0;
    let http = gigcover_kit::client::http_builder().pool_max_idle_per_host(64).build()?;
    let (latencies, failed) = constant_rate(rate, Duration::from_secs(args.seconds), {
        let (http, url, ops, workers) = (http.clone(), url.clone(), ops.clone(), workers.clone());
        move |i| {
            let req = http
                .post(&url)
                .bearer_auth(&ops)
                .json(&json!({"worker_id": workers[i % workers.len()], "kind": "accident", "insurer_id": "acme"}))
                .send();
            async move { req.await.is_ok_and(|r| r.status().as_u16() == 201) }
        }
    })
    .await;

    println!(
        "\n== quote benchmark ({} workers, 12 weeks of activity each; {} clients; median of {} rounds of {} s) ==",
        args.workers, args.clients, args.rounds, args.seconds
    );
    println!("anchor  pgbench -M prepared, a quote's statements : {anchor:>8.0} tx/s");
    println!("ours    POST /v1/quotes (HTTP, end to end)        : {ours:>8.0} quotes/s");
    println!("ratio   quotes / pgbench                          : {:>8.2}   (goal >= 0.5)", ours / anchor);
    println!(
        "latency at {rate:.0} quotes/s (half the measured rate), open loop: p50 {:.2} ms, p99 {:.2} ms over {} requests, {failed} failed   (goal p99 < 10 ms)",
        quantile_ms(&latencies, 0.5),
        quantile_ms(&latencies, 0.99),
        latencies.len()
    );
    drop(gc);
    Ok(())
}
