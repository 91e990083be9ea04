#!/usr/bin/env bash
# Issue 7's claim filing benchmark: POST /v1/claims at a steady rate (p50/p99) against
# pgbench running a filing's statements at the same rate. Release build. Arguments go to
# the bench binary (--workers, --rate, --seconds, --rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v pgbench >/dev/null || { echo "needs pgbench (apt-get install postgresql-client)" >&2; exit 1; }
cargo build --release --bin gigcover --bin bench_claims
exec target/release/bench_claims "$@"
