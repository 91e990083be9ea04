//! Telemetry overhead benchmark (issue 8): the same workload on two copies of gigcover
//! side by side, one exporting traces, metrics and logs over OTLP/gRPC (every request
//! sampled) to a real OTLP receiver, one with the SDK disabled; `wrk` alternates between
//! them for `--rounds` rounds; medians and the ratio (goal >= 0.9).
//!
//! The workload: `GET /v1/products` on pricing (token verified, a database read, a JSON
//! answer, a server span, RED metrics), one service so the figure is the telemetry's
//! cost alone. The receiver runs in this process, on the same two cores: its cost is
//! counted against the exporting side, as a collector on the same node would be.
//!
//! Run with `bench/otlp.sh` (release build). Needs `wrk`.

use std::time::Duration;

use clap::Parser;
use gigcover_e2e::load::{have, median, wrk};
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
    let receiver = OtlpReceiver::start().await;
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
    let run = |gc: &Gigcover| {
        let url = gc.url(ServiceName::Pricing, "/v1/products");
        let header = format!("Authorization: Bearer {}", gc.keys.ops_token());
        let (conns, secs) = (args.connections.to_string(), format!("{}s", args.seconds));
        let (rps, text) = wrk(&["-t2", "-c", &conns, "-d", &secs, "-H", &header, &url])
            .ok_or_else(|| anyhow::anyhow!("wrk failed"))?;
        anyhow::ensure!(!text.contains("Non-2xx"), "errors under load:\n{text}");
        Ok::<f64, anyhow::Error>(rps)
    };
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let a = run(&off)?;
        let b = run(&on)?;
        eprintln!("round {}: OTLP off {a:.0} req/s, on {b:.0} req/s", round + 1);
        without.push(a);
        with.push(b);
    }
    tokio::time::sleep(Duration::from_secs(6)).await;
    let spans = receiver.spans().len();
    let (with, without) = (median(with), median(without));
    println!(
        "\n== telemetry overhead ({} connections, median of {} rounds of {} s) ==",
        args.connections, args.rounds, args.seconds
    );
    println!("anchor  OTLP export off (OTEL_SDK_DISABLED)      : {without:>9.0} req/s");
    println!("ours    OTLP export on, every request sampled  : {with:>9.0} req/s   ({spans} spans received)");
    println!("ratio   on / off                               : {:>9.2}   (goal >= 0.9)", with / without);
    anyhow::ensure!(spans > 0, "the receiver got no spans: the exporting side did not export");
    Ok(())
}
