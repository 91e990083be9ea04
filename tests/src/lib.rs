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
