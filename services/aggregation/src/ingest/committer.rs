//! Group commit for webhooks. A webhook is answered 2xx only once its records are durable;
//! a commit per request would cap throughput at the disk's sync rate, so concurrent
//! requests are written together: a few writer tasks each take every request waiting at
//! that moment (up to `group_max`), write them in one transaction, commit once, and answer
//! each request with its own outcome.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use gigcover_kit::ApiError;
use gigcover_telemetry::{TraceParent, context_from_trace_parent};
use opentelemetry::trace::TraceContextExt as _;
use sqlx::PgPool;
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

async fn writer(
    pool: PgPool,
    metrics: IngestMetrics,
    rx: Arc<Mutex<mpsc::Receiver<Submission>>>,
    group_max: usize,
    shutdown: CancellationToken,
) {
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let first = tokio::select! {
                s = rx.recv() => s,
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
        write_group(&pool, &metrics, group).await;
    }
}

/// One transaction for the whole group; on a failure, each request is written alone so
/// one bad request cannot fail the others.
async fn write_group(pool: &PgPool, metrics: &IngestMetrics, group: Vec<Submission>) {
    let span = tracing::info_span!("ingest.group_commit", otel.kind = "internal", requests = group.len());
    for s in &group {
        if let Some(t) = &s.trace {
            let cx = context_from_trace_parent(t);
            span.add_link(cx.span().span_context().clone());
        }
    }
    let result = write_all(pool, metrics, &group).instrument(span.clone()).await;
    match result {
        Ok(outcomes) => {
            for (s, o) in group.into_iter().zip(outcomes) {
                let _ = s.reply.send(Ok(o));
            }
        }
        Err(_) if group.len() > 1 => {
            for s in group {
                let single = write_all(pool, metrics, std::slice::from_ref(&s)).instrument(span.clone()).await;
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

async fn write_all(pool: &PgPool, metrics: &IngestMetrics, group: &[Submission]) -> anyhow::Result<Vec<Outcome>> {
    for attempt in 0..3 {
        match try_write_all(pool, metrics, group).await {
            Err(e) if attempt < 2 && is_retryable(&e) => tokio::time::sleep(Duration::from_millis(5 << attempt)).await,
            other => return other,
        }
    }
    unreachable_outcome()
}

fn unreachable_outcome() -> anyhow::Result<Vec<Outcome>> {
    Err(anyhow::anyhow!("write retries exhausted"))
}

/// Deadlocks and serialisation failures are worth one more try.
fn is_retryable(e: &anyhow::Error) -> bool {
    e.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>()).any(
        |s| matches!(s, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01") | Some("40001"))),
    )
}

/// Writes the group in one transaction: the requests of one platform in one engine write
/// (a handful of statements, whatever the group's size), then one commit.
async fn try_write_all(pool: &PgPool, metrics: &IngestMetrics, group: &[Submission]) -> anyhow::Result<Vec<Outcome>> {
    let mut tx = pool.begin().await?;
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
        finish::archive(&mut tx, platform, "webhook", finish::kept(&items, &outcome)).await?;
        finish::record_status(&mut tx, platform, &outcome.counts(), outcome.last_end).await?;
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
