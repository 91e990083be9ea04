//! Load tools for the benchmarks: medians, `wrk` runs, `pgbench` runs, and an open-loop
//! constant-rate generator that measures latency (requests leave on schedule whether or not
//! earlier ones have answered, so a slow server shows as latency, not as a lower rate).

use std::future::Future;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `q` quantile (0 to 1) of `v` (nearest rank).
pub fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[(((v.len() as f64 - 1.0) * q).round() as usize).min(v.len() - 1)]
}

/// The `q` quantile of durations, in milliseconds.
pub fn quantile_ms(latencies: &[Duration], q: f64) -> f64 {
    quantile(latencies.iter().map(|d| d.as_secs_f64() * 1000.0).collect(), q)
}

/// Runs `wrk` with `args`; its requests per second and its report.
pub fn wrk(args: &[&str]) -> Option<(f64, String)> {
    let out = Command::new("wrk").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rps = text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok())?;
    Some((rps, text))
}

/// Whether `tool` can be run here (`wrk --version` exits with 1, so only spawning counts).
pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

/// Runs `pgbench` with `args` against `url`; its transactions per second (without the
/// initial connection time) and its report.
pub fn pgbench(url: &str, args: &[&str]) -> Option<(f64, String)> {
    let out = Command::new("pgbench").args(args).arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let tps = text.lines().find_map(|l| {
        let rest = l.strip_prefix("tps = ")?;
        rest.split_whitespace().next()?.parse().ok()
    });
    match tps {
        Some(tps) if out.status.success() => Some((tps, text)),
        _ => {
            eprintln!("pgbench failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
            None
        }
    }
}

/// Sends `rate` requests a second for `duration`, each made by `send(i)`, open loop;
/// answers every latency and how many failed.
pub async fn constant_rate<F, Fut>(rate: f64, duration: Duration, send: F) -> (Vec<Duration>, usize)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let send = Arc::new(send);
    let total = (rate * duration.as_secs_f64()).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let send = Arc::clone(&send);
        tasks.push(tokio::spawn(async move {
            let ok = send(i).await;
            (due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok((latency, ok)) => {
                latencies.push(latency);
                if !ok {
                    failed += 1;
                }
            }
            Err(_) => failed += 1,
        }
    }
    (latencies, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_medians_read_the_sorted_values() {
        let d: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(quantile_ms(&d, 0.5), 51.0);
        assert_eq!(quantile_ms(&d, 0.99), 99.0);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
