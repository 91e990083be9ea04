//! Claim filing benchmark (issue 7): `POST /v1/claims` with its verification (the policy
//! from pricing, the worker's activity at the incident from enrichment, the duplicate
//! check, the claim, its history and events stored) at a steady rate, open loop, for
//! workers with a year of activity each: p50 and p99 latency (goal p99 < 50 ms). The anchor
//! in the same run: `pgbench -M prepared` at the same rate running the database statements
//! one filing executes, its p50 and p99 from its per-transaction log; the ratio of the p99s.
//!
//! Run with `bench/claims.sh` (release build). Needs `pgbench`.

use std::io::Write as _;
use std::time::Duration;

use chrono::Utc;
use clap::Parser;
use gigcover_e2e::load::{constant_rate, have, median, quantile, quantile_ms};
use gigcover_e2e::{Gigcover, Scenario, gig};
use gigcover_kit::ServiceName;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Workers with a year of activity and an accident policy each.
    #[arg(long, default_value_t = 40)]
    workers: usize,
    /// Claims filed per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// The statements one filing executes (`:wid`/`:pid`: a worker and its policy).
const SCRIPT: &str = r"
\set n random(1, :workers)
\set d random(2, 360)
SELECT id AS wid, policy AS pid FROM public.bench_claimants WHERE n = :n \gset
SELECT * FROM pricing.policies WHERE id = :pid;
SELECT time_zone FROM enrichment.worker_zones WHERE worker_id = :wid;
SELECT name, version, description, spec FROM enrichment.insured_time_definitions
  WHERE name = 'job-plus-15m' ORDER BY version DESC LIMIT 1;
SELECT platform_id, kind, starts_at, ends_at
  FROM enrichment.intervals
  WHERE worker_id = :wid AND starts_at < now() - (:d - 2) * interval '1 day'
    AND ends_at > now() - (:d + 1) * interval '1 day' AND starts_at > now() - (:d + 3) * interval '1 day'
  ORDER BY starts_at, platform_id, external_id;
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('idempotency/worker/' || CAST(:wid AS text) || '/' || random()::text));
SELECT request_hash, status, response FROM claims.idempotency_keys WHERE scope = 'worker/' || CAST(:wid AS text) AND key = 'k';
SELECT id FROM claims.claims WHERE worker_id = :wid AND claim_type = 'accident'
   AND status <> 'rejected' AND NOT (status = 'closed' AND paid_amount IS NULL)
   AND COALESCE(period_start, incident_at - interval '12 hours') < now() - (:d - 1) * interval '1 day'
   AND COALESCE(period_end, incident_at + interval '12 hours') > now() - :d * interval '1 day'
 ORDER BY created_at LIMIT 1;
INSERT INTO claims.claims (id, worker_id, insurer_id, policy_id, claim_type, incident_at, description, status,
                           recommendation, reasons, evidence, currency, decision_due)
  VALUES (gen_random_uuid(), :wid, 'acme', :pid, 'accident', now() - :d * interval '1 day', 'bench', 'submitted',
          'approve', '[]', '{}', 'EUR', now() + interval '5 days')
  RETURNING id AS cid \gset
INSERT INTO claims.claim_status_history (claim_id, status, actor, reason) VALUES (:cid, 'submitted', 'worker', 'filed');
UPDATE claims.claims SET status = 'verified' WHERE id = :cid;
INSERT INTO claims.claim_status_history (claim_id, status, actor, reason, evidence) VALUES (:cid, 'verified', 'system', 'x', '{}');
SELECT * FROM claims.claims WHERE id = :cid;
SELECT status, actor, reason, at FROM claims.claim_status_history WHERE claim_id = :cid ORDER BY id;
SELECT id, content_type, size_bytes, sha256, created_at FROM claims.claim_attachments WHERE claim_id = :cid;
SELECT pg_advisory_xact_lock(hashtext('claims.outbox')), pg_notify('claims_outbox', '');
INSERT INTO claims.outbox (position, event_id, event_type, payload)
  VALUES (nextval('claims.outbox_position'), gen_random_uuid(), 'claim.filed', '{}'),
         (nextval('claims.outbox_position'), gen_random_uuid(), 'claim.verified', '{}');
COMMIT;
";

/// p50 and p99 (ms) of pgbench's per-transaction log: latency plus schedule lag, so it
/// is open loop like ours.
fn pgbench_latencies(dir: &std::path::Path) -> anyhow::Result<(f64, f64, usize)> {
    let mut ms = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        for line in std::fs::read_to_string(entry?.path())?.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let (Some(us), Some(lag)) =
                (f.get(2).and_then(|v| v.parse::<f64>().ok()), f.get(6).and_then(|v| v.parse::<f64>().ok()))
            {
                ms.push((us + lag) / 1000.0);
            }
        }
    }
    anyhow::ensure!(!ms.is_empty(), "pgbench logged no transactions");
    Ok((quantile(ms.clone(), 0.5), quantile(ms.clone(), 0.99), ms.len()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(have("pgbench"), "needs pgbench (apt-get install postgresql-client)");
    eprintln!("starting gigcover (all services) on a private PostgreSQL cluster ...");
    let mut gc = Gigcover::serve("all", &[("GIGCOVER_LOG__FILTER", "warn".into())]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(180)).await;
    let s = Scenario::new(&gc).await;

    eprintln!("loading {} workers with a year of activity and an accident policy each ...", args.workers);
    s.platform("bench").await;
    s.product("acme", "accident", json!({"currency": "EUR",
        "basis": {"per_insured_hour": {"rate": "0.40", "definition": "job-plus-15m"}}, "min_premium": "2", "max_premium": "200"}))
    .await;
    let today = Utc::now().date_naive();
    let workers: Vec<String> = (0..args.workers).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut records = Vec::new();
    for (i, w) in workers.iter().enumerate() {
        s.link("bench", &format!("w{i}"), w).await;
        for d in 1..=365 {
            let day = today - chrono::Duration::days(d);
            for hour in [11, 18] {
                let start = day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc();
                records.push(gig(&format!("w{i}-{day}-{hour}"), &format!("w{i}"), start, 35, "6.50", "1.00"));
            }
        }
    }
    for chunk in records.chunks(20_000) {
        s.records("bench", chunk, None).await;
    }
    sqlx::query("CREATE TABLE IF NOT EXISTS public.bench_claimants (n integer PRIMARY KEY, id uuid NOT NULL, policy uuid NOT NULL)")
        .execute(&s.pool)
        .await?;
    let mut policies = Vec::new();
    for (n, w) in workers.iter().enumerate() {
        let policy = s.bind(w, &s.quotes(w, "accident", Some("acme")).await[0]).await;
        s.backdate_policy(&policy, Utc::now() - chrono::Duration::days(370)).await;
        let pid = uuid::Uuid::parse_str(policy["id"].as_str().unwrap_or_default())?;
        sqlx::query("INSERT INTO public.bench_claimants VALUES ($1, $2, $3)")
            .bind(n as i32 + 1)
            .bind(uuid::Uuid::parse_str(w)?)
            .bind(pid)
            .execute(&s.pool)
            .await?;
        policies.push(pid);
    }

    let script = tempfile::NamedTempFile::new()?;
    script.as_file().write_all(SCRIPT.as_bytes())?;
    let (pg, _) = gigcover_localpg::LocalPostgres::ensure_running(&gc.data_dir())?;
    let url = s.url(ServiceName::Claims, "/v1/claims");
    let tokens: Vec<String> = workers.iter().map(|w| s.worker_token(w)).collect();
    let http = gigcover_kit::client::http_builder().pool_max_idle_per_host(64).build()?;
    let (mut anchor, mut ours) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let logs = tempfile::tempdir()?;
        let prefix = logs.path().join("pgbench").display().to_string();
        let (rate, secs, var) =
            (format!("{}", args.rate), args.seconds.to_string(), format!("workers={}", args.workers));
        gigcover_e2e::load::pgbench(
            &pg.url(),
            &[
                "-n",
                "-M",
                "prepared",
                "-c",
                "8",
                "-j",
                "2",
                "-R",
                &rate,
                "-T",
                &secs,
                "-D",
                &var,
                "-l",
                &format!("--log-prefix={prefix}"),
                "-f",
                &script.path().display().to_string(),
            ],
        )
        .ok_or_else(|| anyhow::anyhow!("pgbench failed"))?;
        let (a50, a99, an) = pgbench_latencies(logs.path())?;
        let (latencies, failed) = constant_rate(args.rate, Duration::from_secs(args.seconds), {
            let (http, url, tokens, policies) = (http.clone(), url.clone(), tokens.clone(), policies.clone());
            move |i| {
                let w = i % tokens.len();
                let day = today - chrono::Duration::days(2 + (i / tokens.len()) as i64 % 360);
                let incident = day.and_hms_opt(11, 10, 0).unwrap_or_default().and_utc();
                let req = http
                    .post(&url)
                    .bearer_auth(&tokens[w])
                    .header("idempotency-key", format!("bench-{round}-{i}"))
                    .json(&json!({"policy_id": policies[w], "claim_type": "accident", "incident_at": incident,
                                  "description": "Slipped on a wet floor during a delivery"}))
                    .send();
                async move { req.await.is_ok_and(|r| r.status().as_u16() == 201) }
            }
        })
        .await;
        anyhow::ensure!(failed == 0, "{failed} filings failed\n{}", gc.logs());
        let (o50, o99) = (quantile_ms(&latencies, 0.5), quantile_ms(&latencies, 0.99));
        eprintln!(
            "round {}: pgbench p50 {a50:.2} / p99 {a99:.2} ms ({an} tx), filing p50 {o50:.2} / p99 {o99:.2} ms ({} claims)",
            round + 1,
            latencies.len()
        );
        anchor.push((a50, a99));
        ours.push((o50, o99));
    }
    let (a50, a99) = (median(anchor.iter().map(|a| a.0).collect()), median(anchor.iter().map(|a| a.1).collect()));
    let (o50, o99) = (median(ours.iter().map(|o| o.0).collect()), median(ours.iter().map(|o| o.1).collect()));
    println!(
        "\n== claim filing benchmark ({} workers, a year of activity each; {}/s for {} s; median of {} rounds) ==",
        args.workers, args.rate, args.seconds, args.rounds
    );
    println!("anchor  pgbench -M prepared -R, a filing's statements : p50 {a50:>7.2} ms, p99 {a99:>7.2} ms");
    println!(
        "ours    POST /v1/claims with verification (HTTP)      : p50 {o50:>7.2} ms, p99 {o99:>7.2} ms   (goal p99 < 50 ms)"
    );
    println!("ratio   p99 ours / anchor                             : {:>7.2}", o99 / a99);
    drop(gc);
    Ok(())
}
