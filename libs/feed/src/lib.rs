//! Event feeds: the one way services tell each other what happened.
//!
//! - **Publish** ([`publish`]): domain events are written to the service's `outbox` in the
//!   same transaction as the change they describe, then committed. Positions are assigned
//!   in that final step under a transaction-scoped advisory lock, so they are handed out in
//!   commit order: a reader that has seen position 11 has also seen 10 (the "sequence taken
//!   before commit" trap cannot happen). Gaps are possible (a failed commit); repeats and
//!   reversals are not.
//! - **Serve** ([`FeedServer`]): `GET /v1/events?after=<position>&limit=N&wait=S`, long-poll
//!   woken by `LISTEN/NOTIFY`, with a periodic re-check in case a notification is lost.
//! - **Consume** ([`Consumer`]): another service reads the feed and applies each event in
//!   one transaction with an `inbox` row (unique per event) and its cursor, so a consumer
//!   killed at any moment resumes with nothing lost and nothing applied twice.
//!
//! Every event carries the W3C trace context of the transaction that wrote it; the
//! consumer's span continues that trace.

mod consume;
mod event;
mod publish;
pub mod serve;

pub use consume::{Consumer, EventHandler};
pub use event::{FeedEvent, FeedPage, NewEvent};
pub use publish::{publish, publish_within};
pub use serve::{FeedServer, FeedServerRoutes};

/// Applies the feed's tables (`outbox`, `inbox`, `feed_cursors`) to a service's `schema`.
pub async fn migrate(pool: &sqlx::PgPool, schema: &str) -> anyhow::Result<()> {
    gigcover_kit::db::migrate_library(pool, schema, "feed", sqlx::migrate!("../../migrations/feed")).await
}
