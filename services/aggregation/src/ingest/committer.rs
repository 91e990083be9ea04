//! Group commit for webhooks. A webhook is answered 2xx only once its records are durable;
//! a commit per request would cap throughput at the disk's sync rate, so concurrent
//! requests are written together: a few writer tasks each take every request waiting at
//! that moment (up to `group_max`), write them in one transaction, commit once, and answer
//! each request with its own outcome. A writer keeps its pooled connection while groups
//! keep coming (a connection returned to the pool costs a ping round trip and a task on
//! each release) and gives it back after a quiet moment or any failure.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use gigcover_kit::ApiError;
use gigcover_telemetry::{TraceParent, context_from_trace_parent};
use opentelemetry::trace::TraceContextExt as _;
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::engine::{self, Outcome};
use super::finish;
use crate::adapters::Accepted;
use crate::metrics::IngestMetrics;
use crate::platforms::directory::PlatformInfo;

struct Submission {
    platform: Arc<PlatformInfo>,
    items: Vec<Accepted>,
    trace: Option<TraceParent>,
    reply: oneshot::Sender<Result<Outcome, String>>,
}

/// Hands webhook records to the writers.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Submission>,
}

impl Committer {
    /// The committer and its writer tasks (run them as the service's background tasks).
    pub fn start(
        pool: PgPool,
        metrics: IngestMetrics,
        writers: usize,
        group_max: usize,
        shutdown: CancellationToken,
    ) -> (Self, Vec<BoxFuture<'static, ()>>) {
        let (queue, rx) = mpsc::channel::<Submission>(group_max.max(1) * writers.max(1) * 4);
        let rx = Arc::new(Mutex::new(rx));
        let tasks = (0..writers.max(1))
            .map(|_| {
                let task: BoxFuture<'static, ()> = Box::pin(writer(
                    pool.clone(),
                    metrics.clone(),
                    Arc::clone(&rx),
                    group_max.max(1),
                    shutdown.clone(),
                ));
                task
            })
            .collect();
        (Self { queue }, tasks)
    }

    /// Writes `items` durably (grouped with other requests) and returns what happened.
    pub async fn submit(&self, platform: Arc<PlatformInfo>, items: Vec<Accepted>) -> Result<Outcome, ApiError> {
        let (reply, answer) = oneshot::channel();
        let trace = gigcover_telemetry::current_trace_parent();
        self.queue
            .send(Submission { platform, items, trace, reply })
            .await
            .map_err(|_| ApiError::unavailable("shutting_down", "the service is shutting down"))?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(reason)) => {
                Err(ApiError::unavailable("write_failed", format!("the records could not be stored: {reason}; retry")))
            }
            Err(_) => Err(ApiError::unavailable("shutting_down", "the service is shutting down")),
        }
    }
}

/// How long a writer keeps its connection without a group to write.
const HOLD_IDLE: Duration = Duration::from_secs(1);

/// A writer's connection: taken from the pool for the first group, kept while groups keep
/// coming, given back after [`HOLD_IDLE`] without one or after any failure (the pool then
/// tests it, and replaces it if broken).
struct Held {
    pool: PgPool,
    conn: Option<PoolConnection<Postgres>>,
    /// The last connection was lost: the pool's idle ones may be gone too (a restart closes
    /// them all), so each one taken is tested before use.
    suspect: bool,
}

impl Held {
    async fn get(&mut self) -> Result<&mut PoolConnection<Postgres>, sqlx::Error> {
        let slot = match &mut self.conn {
            Some(conn) => return Ok(conn),
            slot => slot,
        };
        // One more try than the pool has connections: enough to pass every dead one (each
        // is closed when given back) and reach a newly opened one.
        let mut tries = self.pool.options().get_max_connections() + 1;
        let conn = loop {
            let mut conn = self.pool.acquire().await?;
            tries -= 1;
            if !self.suspect {
                break conn;
            }
            match sqlx::Connection::ping(&mut *conn).await {
                Ok(()) => break conn,
                Err(e) if tries == 0 => return Err(e),
                Err(_) => continue,
            }
        };
        self.suspect = false;
        Ok(slot.insert(conn))
    }

    /// Gives the connection back; `lost` when it failed for want of a connection.
    fn release(&mut self, lost: bool) {
        self.conn = None;
        self.suspect |= lost;
    }
}

async fn writer(
    pool: PgPool,
    metrics: IngestMetrics,
    rx: Arc<Mutex<mpsc::Receiver<Submission>>>,
    group_max: usize,
    shutdown: CancellationToken,
) {
    let mut held = Held { pool, conn: None, suspect: false };
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let first = tokio::select! {
                s = rx.recv() => s,
                _ = tokio::time::sleep(HOLD_IDLE), if held.conn.is_some() => {
                    held.release(false);
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
        write_group(&mut held, &metrics, group).await;
    }
}

/// One transaction for the whole group; on a failure, each request is written alone so
/// one bad request cannot fail the others.
async fn write_group(held: &mut Held, metrics: &IngestMetrics, group: Vec<Submission>) {
    let span = tracing::info_span!("ingest.group_commit", otel.kind = "internal", requests = group.len());
    for s in &group {
        if let Some(t) = &s.trace {
            let cx = context_from_trace_parent(t);
            span.add_link(cx.span().span_context().clone());
        }
    }
    let result = write_all(held, metrics, &group).instrument(span.clone()).await;
    match result {
        Ok(outcomes) => {
            for (s, o) in group.into_iter().zip(outcomes) {
                let _ = s.reply.send(Ok(o));
            }
        }
        Err(_) if group.len() > 1 => {
            for s in group {
                let single = write_all(held, metrics, std::slice::from_ref(&s)).instrument(span.clone()).await;
                let answer = single.map(|mut o| o.remove(0)).map_err(|e| format!("{e:#}"));
                let _ = s.reply.send(answer);
            }
        }
        Err(e) => {
            tracing::warn!(error = format!("{e:#}"), "webhook write failed");
            for s in group {
                let _ = s.reply.send(Err(format!("{e:#}")));
            }
        }
    }
}

async fn write_all(held: &mut Held, metrics: &IngestMetrics, group: &[Submission]) -> anyhow::Result<Vec<Outcome>> {
    for attempt in 0..3 {
        let result = match held.get().await {
            Ok(conn) => try_write_all(conn, metrics, group).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = &result {
            held.release(is_lost_connection(e));
        }
        match result {
            Err(e) if attempt < 2 && is_retryable(&e) => tokio::time::sleep(Duration::from_millis(5 << attempt)).await,
            other => return other,
        }
    }
    unreachable_outcome()
}

fn unreachable_outcome() -> anyhow::Result<Vec<Outcome>> {
    Err(anyhow::anyhow!("write retries exhausted"))
}

/// Deadlocks, serialisation failures and a lost connection are worth another try (the
/// latter on a tested connection). A retry after a commit whose answer was lost cannot
/// apply anything twice: its event ids are already recorded, and the same content again
/// is `unchanged`.
fn is_retryable(e: &anyhow::Error) -> bool {
    is_lost_connection(e)
        || sqlx_errors(e).any(
            |s| matches!(s, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01") | Some("40001"))),
        )
}

/// The database was not there: the connection broke, the server closed it (a failover, a
/// restart, an administrator) or none could be had.
fn is_lost_connection(e: &anyhow::Error) -> bool {
    sqlx_errors(e).any(gigcover_kit::error::is_unavailable)
}

/// The database errors in `e`'s chain.
fn sqlx_errors(e: &anyhow::Error) -> impl Iterator<Item = &sqlx::Error> {
    e.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>())
}

/// Writes the group in one transaction: the requests of one platform in one engine write
/// (a handful of statements, whatever the group's size), then one commit.
async fn try_write_all(
    conn: &mut PoolConnection<Postgres>,
    metrics: &IngestMetrics,
    group: &[Submission],
) -> anyhow::Result<Vec<Outcome>> {
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    let mut plain = engine::PlainInserts::per_transaction();
    let mut outcomes: Vec<Option<Outcome>> = (0..group.len()).map(|_| None).collect();
    let mut events = Vec::new();
    let mut platforms: Vec<&str> = group.iter().map(|s| s.platform.id.as_str()).collect();
    platforms.sort_unstable();
    platforms.dedup();
    for platform_id in platforms {
        let members: Vec<usize> = (0..group.len()).filter(|&i| group[i].platform.id.as_str() == platform_id).collect();
        let platform = &group[members[0]].platform;
        let mut items = Vec::new();
        let mut owner = Vec::new();
        for &m in &members {
            items.extend(group[m].items.iter().cloned());
            owner.extend(std::iter::repeat_n(m, group[m].items.len()));
        }
        let outcome = engine::write(&mut tx, platform, &items, metrics, &mut plain).await?;
        let kept = finish::kept(&items, &outcome);
        finish::record_status(&mut tx, platform, "webhook", kept, &outcome.counts(), outcome.last_end).await?;
        events.extend(finish::events(platform, &outcome, |i| group[owner[i]].trace.clone())?);
        // Each request gets the part of the outcome that is about its own records.
        let mut start = 0;
        for &m in &members {
            let n = group[m].items.len();
            let mine = Outcome {
                statuses: outcome.statuses[start..start + n].to_vec(),
                rejected: outcome
                    .rejected
                    .iter()
                    .filter(|(i, _)| (start..start + n).contains(i))
                    .map(|(i, r)| (i - start, r.clone()))
                    .collect(),
                affected: Default::default(),
                last_end: outcome.last_end,
            };
            outcomes[m] = Some(mine);
            start += n;
        }
    }
    gigcover_feed::publish(tx, &events).await?;
    Ok(outcomes.into_iter().map(Option::unwrap_or_default).collect())
}
