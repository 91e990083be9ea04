//! Test support shared by every crate's tests: a fresh database per test, signing keys
//! and tokens, a real OTLP receiver, an OpenSearch API emulator, and services spawned on
//! free ports.
//! A failed expectation here is a failed test, so `expect` is the right tool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod db;
pub mod keys;
pub mod osmem;
pub mod otlp;

pub use app::TestApp;
pub use db::TestDatabase;
pub use keys::TestKeys;
pub use osmem::Osmem;
pub use otlp::OtlpReceiver;
