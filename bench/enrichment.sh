#!/usr/bin/env bash
# Issue 4's enrichment benchmark: full recompute and engine vs range_agg, late-event latency.
# Release build. Arguments go to the bench binary (--activities, --workers, --rounds, --late-events).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin gigcover --bin bench_enrichment
exec target/release/bench_enrichment "$@"
