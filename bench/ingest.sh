#!/usr/bin/env bash
# Issue 3's ingestion benchmark: batch vs COPY, webhooks vs hello-world. Release build.
# Arguments go to the bench binary (--records, --rounds, --seconds, --connections).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || echo "note: wrk missing (apt-get install wrk): the webhook part will be skipped" >&2
cargo build --release --bin gigcover --bin bench_ingest
exec target/release/bench_ingest "$@"
