//! Telemetry overhead benchmark (issue 8): the same workload on two copies of gigcover
//! side by side, one exporting traces, metrics and logs over OTLP/gRPC (every request
//! sampled) to a real OTLP receiver, one with the SDK disabled; `wrk` alternates between
//! them for `--rounds` rounds; medians and the ratio (goal >= 0.9).
//!
//! The workload: `GET /v1/products` on pricing (token verified, a database read, a JSON
//! answer, a server span, RED metrics), one service so the figure is the telemetry's
//! cost alone. The receiver runs in this process, on the same two cores: its cost is
//! counted against the exporting side, as a collector on the same node would be. It
//! decodes every export and counts the spans, keeping nothing (a collector forwards).
//!
//! Run with `bench/otlp.sh` (release build). Needs `wrk`.

use std::time::Duration;

use clap::Parser;
use gigcover_e2e::load::{have, median, wrk};
use gigcover_e2e::process::cpu_seconds;
use gigcover_e2e::{Gigcover, Scenario};
use gigcover_kit::ServiceName;
use gigcover_testkit::OtlpReceiver;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    connections: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(have("wrk"), "needs wrk (apt-get install wrk)");
    let receiver = OtlpReceiver::start_counting().await;
    let quiet = ("GIGCOVER_LOG__FILTER", "warn".to_owned());
    eprintln!("starting two copies of gigcover (pricing): OTLP on and off ...");
    let mut on = Gigcover::serve(
        "pricing",
        &[
            quiet.clone(),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
            ("OTEL_TRACES_SAMPLER", "always_on".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000".into()),
        ],
    );
    let mut off = Gigcover::serve("pricing", &[quiet, ("OTEL_SDK_DISABLED", "true".into())]);
    for gc in [&mut on, &mut off] {
        gc.wait_for_readyz(&[ServiceName::Pricing], 200, Duration::from_secs(180)).await;
        let s = Scenario::new(gc).await;
        s.product("acme", "accident", json!({"currency": "EUR",
            "basis": {"per_insured_hour": {"rate": "0.40", "definition": "job-plus-15m"}}, "min_premium": "2", "max_premium": "200"}))
        .await;
    }
    // Each round runs `off` then `on` back to back: throughput, and CPU time per request
    // of the server and the receiver (less sensitive than throughput to what else the
    // shared machine runs).
    let run = |gc: &Gigcover| {
        let url = gc.url(ServiceName::Pricing, "/v1/products");
        let header = format!("Authorization: Bearer {}", gc.keys.ops_token());
        let (conns, secs) = (args.connections.to_string(), format!("{}s", args.seconds));
        // This process hosts the receiver: its CPU time is the collector's share.
        let cpu_of = || -> anyhow::Result<f64> {
            let both = gc.cpu_seconds().zip(cpu_seconds(std::process::id()));
            both.map(|(server, receiver)| server + receiver).ok_or_else(|| anyhow::anyhow!("no CPU time in /proc"))
        };
        let cpu = cpu_of()?;
        let (rps, text) = wrk(&["-t2", "-c", &conns, "-d", &secs, "-H", &header, &url])
            .ok_or_else(|| anyhow::anyhow!("wrk failed"))?;
        anyhow::ensure!(!text.contains("Non-2xx"), "errors under load:\n{text}");
        let cpu = cpu_of()? - cpu;
        let micros_per_request = cpu * 1e6 / (rps * args.seconds as f64);
        Ok::<(f64, f64), anyhow::Error>((rps, micros_per_request))
    };
    let (mut with, mut without, mut paired) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cpu_with, mut cpu_without) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let (a, ca) = run(&off)?;
        let (b, cb) = run(&on)?;
        eprintln!(
            "round {}: OTLP off {a:.0} req/s ({ca:.0} us CPU/req), on {b:.0} req/s ({cb:.0} us CPU/req)",
            round + 1
        );
        without.push(a);
        with.push(b);
        paired.push(b / a);
        cpu_without.push(ca);
        cpu_with.push(cb);
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let spans = receiver.span_count();
    let (with, without, paired) = (median(with), median(without), median(paired));
    let (cpu_with, cpu_without) = (median(cpu_with), median(cpu_without));
    println!(
        "\n== telemetry overhead ({} connections, median of {} rounds of {} s) ==",
        args.connections, args.rounds, args.seconds
    );
    println!(
        "anchor  OTLP export off (OTEL_SDK_DISABLED)      : {without:>9.0} req/s   {cpu_without:>6.0} us CPU per request"
    );
    println!(
        "ours    OTLP export on, every request sampled  : {with:>9.0} req/s   {cpu_with:>6.0} us CPU per request, receiver included   ({spans} spans received)"
    );
    println!("ratio   on / off, of the medians               : {:>9.2}   (goal >= 0.9)", with / without);
    println!("ratio   on / off, median of the paired rounds  : {paired:>9.2}");
    println!("ratio   off / on, CPU per request              : {:>9.2}", cpu_without / cpu_with);
    anyhow::ensure!(spans > 0, "the receiver got no spans: the exporting side did not export");
    Ok(())
}
