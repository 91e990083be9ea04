//! The webhook inbox, written by group commit. A webhook is answered 2xx only once it is
//! durably stored; a commit per request would cap throughput at the disk's sync rate, so
//! concurrent requests are stored together: writer tasks (one by default) each take every request
//! waiting at that moment (up to `group_max`), insert them into `webhook_inbox` in one
//! statement (one commit), answer each request, and wake the applier (`apply`). A writer
//! keeps its pooled connection while groups keep coming (a connection returned to the pool
//! costs a ping round trip and a task on each release) and gives it back after a quiet
//! moment or any failure.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use gigcover_domain::PlatformId;
use gigcover_kit::ApiError;
use gigcover_telemetry::TraceParent;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::failures::{is_lost_connection, is_retryable};

struct Submission {
    platform: PlatformId,
    received_at: DateTime<Utc>,
    records: Vec<u8>,
    trace: Option<TraceParent>,
    reply: oneshot::Sender<Result<(), String>>,
}

/// Hands webhooks to the writers.
#[derive(Clone)]
pub struct Inbox {
    queue: mpsc::Sender<Submission>,
}

impl Inbox {
    /// The inbox and its writer tasks (run them as the service's background tasks); each
    /// stored group is announced on `stored`.
    pub fn start(
        pool: PgPool,
        writers: usize,
        group_max: usize,
        stored: Arc<Notify>,
        shutdown: CancellationToken,
    ) -> (Self, Vec<BoxFuture<'static, ()>>) {
        let (queue, rx) = mpsc::channel::<Submission>(group_max.max(1) * writers.max(1) * 4);
        let rx = Arc::new(Mutex::new(rx));
        let tasks = (0..writers.max(1))
            .map(|_| {
                let task: BoxFuture<'static, ()> = Box::pin(writer(
                    pool.clone(),
                    Arc::clone(&rx),
                    group_max.max(1),
                    Arc::clone(&stored),
                    shutdown.clone(),
                ));
                task
            })
            .collect();
        (Self { queue }, tasks)
    }

    /// Stores a webhook's records (NDJSON, as read) durably, grouped with other requests,
    /// with the trace of the request, for the applier.
    pub async fn store(
        &self,
        platform: &PlatformId,
        received_at: DateTime<Utc>,
        records: Vec<u8>,
    ) -> Result<(), ApiError> {
        let (reply, answer) = oneshot::channel();
        let trace = gigcover_telemetry::current_trace_parent();
        self.queue
            .send(Submission { platform: platform.clone(), received_at, records, trace, reply })
            .await
            .map_err(|_| ApiError::unavailable("shutting_down", "the service is shutting down"))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => {
                Err(ApiError::unavailable("write_failed", format!("the webhook could not be stored: {reason}; retry")))
            }
            Err(_) => Err(ApiError::unavailable("shutting_down", "the service is shutting down")),
        }
    }
}

/// How long a writer keeps its connection without a group to write.
const HOLD_IDLE: Duration = Duration::from_secs(1);

/// While a writer holds a connection, Postgres plans its statement once for the
/// connection (a generic plan) instead of for each group. By default it plans a statement
/// again for every execution of fewer than about ten rows, because the plan made for those
/// few rows looks cheaper: when webhooks were written to their tables directly, that
/// planning took about a third of Postgres's CPU per webhook under `wrk -c16`.
const GENERIC_PLANS: &str = "SET plan_cache_mode = force_generic_plan";
const DEFAULT_PLANS: &str = "RESET plan_cache_mode";

/// A writer's connection: taken from the pool for the first group (set to
/// [`GENERIC_PLANS`], which also tests it), kept while groups keep coming, given back after
/// [`HOLD_IDLE`] without one or after any failure, with the default planning restored. One
/// that was lost, whose reset fails, or that a stopping writer still holds is closed
/// instead: the setting does not reach the pool's other users. The connection stays in
/// `conn` while it is being set or reset, so a writer dropped in between closes it too.
struct Held {
    pool: PgPool,
    conn: Option<PoolConnection<Postgres>>,
}

impl Held {
    async fn get(&mut self) -> Result<&mut PoolConnection<Postgres>, sqlx::Error> {
        // One more try than the pool has connections: enough to pass every dead one (a
        // restart closes them all) and reach a newly opened one.
        let mut tries = self.pool.options().get_max_connections() + 1;
        while self.conn.is_none() {
            let conn = self.conn.insert(self.pool.acquire().await?);
            tries -= 1;
            match sqlx::query(GENERIC_PLANS).execute(&mut **conn).await {
                Ok(_) => {}
                // Anything but the server refusing the setting says the connection is dead.
                Err(e) if !matches!(e, sqlx::Error::Database(_)) || gigcover_kit::error::is_unavailable(&e) => {
                    self.close();
                    if tries == 0 {
                        return Err(e);
                    }
                }
                // A server without the setting: write with the default planning rather than not at all.
                Err(e) => tracing::warn!(error = %e, "could not set the writer's planning; writing with the default"),
            }
        }
        // The loop ends only with a connection held.
        self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// Gives the connection back; `lost` when it failed for want of a connection.
    async fn give_back(&mut self, lost: bool) {
        let Some(conn) = self.conn.as_mut() else { return };
        if lost || sqlx::query(DEFAULT_PLANS).execute(&mut **conn).await.is_err() {
            self.close();
        } else {
            self.conn = None;
        }
    }

    /// Closes the connection instead of giving it back to the pool.
    fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

impl Drop for Held {
    /// A writer that stops while it holds a connection (the service stopping) closes it.
    fn drop(&mut self) {
        self.close();
    }
}

async fn writer(
    pool: PgPool,
    rx: Arc<Mutex<mpsc::Receiver<Submission>>>,
    group_max: usize,
    stored: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut held = Held { pool, conn: None };
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let first = tokio::select! {
                s = rx.recv() => s,
                _ = tokio::time::sleep(HOLD_IDLE), if held.conn.is_some() => {
                    // The queue is free for the other writers while the connection goes back.
                    drop(rx);
                    held.give_back(false).await;
                    continue;
                }
                _ = shutdown.cancelled() => {
                    // Drain what was already accepted into the queue, then stop.
                    rx.close();
                    rx.recv().await
                }
            };
            let Some(first) = first else { return };
            let mut group = vec![first];
            while group.len() < group_max {
                match rx.try_recv() {
                    Ok(s) => group.push(s),
                    Err(_) => break,
                }
            }
            group
        };
        let span = tracing::info_span!("webhooks.inbox.store", otel.kind = "internal", requests = group.len());
        let result = write_all(&mut held, &group).instrument(span).await;
        if let Err(e) = &result {
            tracing::warn!(error = format!("{e:#}"), requests = group.len(), "storing webhooks failed");
        } else {
            stored.notify_one();
        }
        for s in group {
            let _ = s.reply.send(result.as_ref().map(|_| ()).map_err(|e| format!("{e:#}")));
        }
    }
}

/// Stores the group in one statement, retrying what is retryable. A retry after a commit
/// whose answer was lost stores the webhooks twice, which applying them makes harmless:
/// an event id seen before is skipped, and the same content again is `unchanged`. (A
/// record without an event id, corrected by a webhook stored between the two copies,
/// would be set back by the second; the retry follows within milliseconds, before the
/// first request is answered.)
async fn write_all(held: &mut Held, group: &[Submission]) -> anyhow::Result<()> {
    for attempt in 0..3 {
        let result = match held.get().await {
            Ok(conn) => insert(conn, group).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = &result {
            held.give_back(is_lost_connection(e)).await;
        }
        match result {
            Err(e) if attempt < 2 && is_retryable(&e) => tokio::time::sleep(Duration::from_millis(5 << attempt)).await,
            other => return other,
        }
    }
    Err(anyhow::anyhow!("write retries exhausted"))
}

/// One row per webhook, in one statement (which commits on its own).
async fn insert(conn: &mut PoolConnection<Postgres>, group: &[Submission]) -> anyhow::Result<()> {
    let platforms: Vec<&str> = group.iter().map(|s| s.platform.as_str()).collect();
    let received: Vec<DateTime<Utc>> = group.iter().map(|s| s.received_at).collect();
    let records: Vec<&[u8]> = group.iter().map(|s| s.records.as_slice()).collect();
    let parents: Vec<Option<&str>> = group.iter().map(|s| s.trace.as_ref().map(|t| t.traceparent.as_str())).collect();
    let states: Vec<Option<&str>> =
        group.iter().map(|s| s.trace.as_ref().and_then(|t| t.tracestate.as_deref())).collect();
    // Under the writers' lock, shared, taken before any row is numbered (the rows are made
    // from both sides of the join) and held to the commit: see `apply::horizon`.
    sqlx::query(
        "WITH writing AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(hashtext($6)))
         INSERT INTO webhook_inbox (platform_id, received_at, records, traceparent, tracestate)
         SELECT u.* FROM writing, unnest($1::text[], $2::timestamptz[], $3::bytea[], $4::text[], $5::text[]) AS u",
    )
    .bind(platforms)
    .bind(received)
    .bind(records)
    .bind(parents)
    .bind(states)
    .bind(super::apply::WRITERS_LOCK)
    .execute(&mut **conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::testing;

    async fn plan_cache_mode(conn: &mut sqlx::PgConnection) -> (String, i32) {
        sqlx::query_as("SELECT current_setting('plan_cache_mode'), pg_backend_pid()").fetch_one(conn).await.unwrap()
    }

    #[tokio::test]
    async fn a_writer_sets_generic_plans_on_the_connection_it_holds_and_never_hands_the_setting_on() {
        let (pool, _db) = testing::database().await;
        // One connection, so the pool can only hand out the one the writer had; not tested
        // when taken, as in production (`gigcover_kit::db`).
        let one = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with((*pool.connect_options()).clone())
            .await
            .unwrap();
        let (default, first) = plan_cache_mode(&mut one.acquire().await.unwrap()).await;
        assert_ne!(default, "force_generic_plan");
        let mut held = Held { pool: one.clone(), conn: None };

        let (mode, writer) = plan_cache_mode(held.get().await.unwrap()).await;
        assert_eq!((mode.as_str(), writer), ("force_generic_plan", first));
        held.give_back(false).await;
        assert_eq!(
            plan_cache_mode(&mut one.acquire().await.unwrap()).await,
            (default.clone(), writer),
            "given back as found"
        );

        // A failed write: its transaction rolled back when dropped, then the reset.
        {
            let conn = held.get().await.unwrap();
            let mut tx = sqlx::Connection::begin(&mut **conn).await.unwrap();
            assert!(sqlx::query("SELECT 1 / 0").execute(&mut *tx).await.is_err());
        }
        held.give_back(false).await;
        assert_eq!(plan_cache_mode(&mut one.acquire().await.unwrap()).await, (default.clone(), writer));

        // A connection that died in the pool (a restart, an administrator) is passed over.
        sqlx::query("SELECT pg_terminate_backend($1, 5000)").bind(writer).execute(&pool).await.unwrap();
        let (mode, replaced) = plan_cache_mode(held.get().await.unwrap()).await;
        assert_eq!(mode, "force_generic_plan");
        assert_ne!(replaced, writer, "the dead connection was passed over");

        held.give_back(true).await;
        let (mode, next) = plan_cache_mode(&mut one.acquire().await.unwrap()).await;
        assert_eq!(mode, default);
        assert_ne!(next, replaced, "a lost connection is closed, not given back");

        let (_, writer) = plan_cache_mode(held.get().await.unwrap()).await;
        drop(held);
        let (mode, next) = plan_cache_mode(&mut one.acquire().await.unwrap()).await;
        assert_eq!(mode, default);
        assert_ne!(next, writer, "a writer that stops closes its connection");
    }
}
