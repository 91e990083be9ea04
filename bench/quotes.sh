#!/usr/bin/env bash
# Issue 6's quote benchmark: POST /v1/quotes under wrk against pgbench running a quote's
# statements, then latency at half the measured rate. Release build. Arguments go to the
# bench binary (--workers, --rounds, --seconds, --clients).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wrk pgbench; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk postgresql-client)" >&2; exit 1; }
done
cargo build --release --bin gigcover --bin bench_quotes
exec target/release/bench_quotes "$@"
