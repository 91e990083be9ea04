#!/usr/bin/env bash
# Shared set-up for scripts/run and scripts/test on a fresh Debian/Ubuntu machine:
# the Rust toolchain, a C toolchain, the PostgreSQL server binaries, and cargo-nextest.
# Installs what is missing when it may (root, or passwordless sudo); otherwise says in
# one line what to run. Set GIGCOVER_NO_INSTALL=1 to never install anything.
set -euo pipefail

say() { printf 'gigcover: %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

may_install() { [ "${GIGCOVER_NO_INSTALL:-0}" != 1 ]; }

apt_install() {
  may_install && command -v apt-get >/dev/null 2>&1 || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1 ||
    { as_root apt-get update >/dev/null 2>&1 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null 2>&1; }
}

# A C compiler and linker (some crates build C).
if ! command -v cc >/dev/null 2>&1; then
  say "installing a C toolchain (build-essential)"
  apt_install build-essential pkg-config ca-certificates curl ||
    { say "no C compiler: run 'sudo apt-get install -y build-essential pkg-config'"; exit 1; }
fi

# Rust, at the version rust-toolchain.toml pins.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  if may_install && command -v curl >/dev/null 2>&1; then
    say "installing Rust with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    say "no Rust toolchain: install rustup from https://rustup.rs, then run this again"; exit 1
  fi
fi

# PostgreSQL server binaries (initdb, pg_ctl), unless a database is configured.
have_pg_binaries() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
if [ -z "${DATABASE_URL:-}" ] && ! have_pg_binaries; then
  say "installing the PostgreSQL server (package postgresql)"
  apt_install postgresql postgresql-client ||
    { say "no PostgreSQL server binaries: run 'sudo apt-get install -y postgresql', or set DATABASE_URL"; exit 1; }
fi
