//! `gigcover`: one binary that runs any part of gigcover.
//!
//! - `gigcover serve --target all` runs every service in this process, each on its own
//!   port, talking to the others over HTTP exactly as in production; `--target pricing`
//!   runs one (what each Kubernetes Deployment runs).
//! - With no database configured, a private PostgreSQL cluster is provisioned under
//!   `database.data_dir`, reused on the next run and stopped on exit.

mod cli;
mod database;
mod demo;
mod opensearch;
mod serve;
mod service_auth;
mod services;
mod simulator;

use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc instead of glibc's allocator: recomputing hours frees millions of small rows,
/// where glibc's `free` took a quarter of the time (see `bench/enrichment.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gigcover: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gigcover: {e:#}");
            ExitCode::FAILURE
        }
    }
}
