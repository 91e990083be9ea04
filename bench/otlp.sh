#!/usr/bin/env bash
# Issue 8's telemetry overhead benchmark: the same load with OTLP export on (every request
# sampled, to a real OTLP receiver) and off; medians and ratio. Release build. Arguments
# go to the bench binary (--rounds, --seconds, --connections).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --bin gigcover --bin bench_otlp
exec target/release/bench_otlp "$@"
