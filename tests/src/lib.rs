//! Helpers for the end-to-end tests: the `gigcover` binary as a child process, free ports,
//! and HTTP waits. The tests themselves are in `e2e/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod load;
pub mod process;
pub mod receiver;
pub mod scenario;

pub use process::{Gigcover, free_port};
pub use receiver::WebhookReceiver;
pub use scenario::{Scenario, gig};

/// True, with a note, on a machine without PostgreSQL's server binaries (`initdb`,
/// `pg_ctl`): the calling test, which needs a private cluster, then skips.
pub fn skip_without_postgres() -> bool {
    let missing = gigcover_localpg::find_bin_dir().is_err();
    if missing {
        eprintln!("skipped: no PostgreSQL server binaries (initdb, pg_ctl) on this machine");
    }
    missing
}
