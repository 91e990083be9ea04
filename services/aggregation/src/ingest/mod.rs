//! Writing accepted records: the one path every ingestion route (webhook, batch, upload)
//! goes through, so the rules are the same everywhere.
//!
//! - A record is identified by (platform, external id): the same content again changes
//!   nothing; new content is a new version (the old one kept in `activity_history`); a
//!   retraction withdraws the activity from the worker's hours.
//! - Pieces of an activity (a task's start, its end) are merged in `open_intervals`; the
//!   activity exists once both ends are known.
//! - The activity is attributed to the gigcover worker its platform account is linked to;
//!   unlinked accounts' activity is held (no worker) until a link arrives.
//! - Every change of a worker's activities is announced as `activity.changed` with the
//!   worker's local days it touched, in the same transaction.

pub mod engine;
pub mod events;
pub mod finish;
mod partials;
pub mod plain;
mod replays;
mod rows;
mod sql;
