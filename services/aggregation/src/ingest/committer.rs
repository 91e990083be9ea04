//! Group commit for webhooks. A webhook is answered 2xx only once its records are durable;
//! a commit per request would cap throughput at the disk's sync rate, so concurrent
//! requests are written together: a few writer tasks each take every request waiting at
//! that moment (up to `group_max`), write them in one transaction, commit once, and answer
//! each request with its own outcome. A group of new records is written in one statement
//! (`one_statement`), anything else in the general transaction. A writer keeps its pooled
//! connection while groups keep coming (a connection returned to the pool costs a ping
//! round trip and a task on each release) and gives it back after a quiet moment or any
//! failure.

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
use super::one_statement;
use super::worker_links::WorkerLinks;
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
        let links = Arc::new(WorkerLinks::new(LINKS_KEPT));
        let tasks = (0..writers.max(1))
            .map(|_| {
                let task: BoxFuture<'static, ()> = Box::pin(writer(
                    Writing { metrics: metrics.clone(), links: Arc::clone(&links) },
                    pool.clone(),
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

/// How many account links the writers remember (about 100 bytes each).
const LINKS_KEPT: usize = 100_000;

/// What the writers share besides the queue.
struct Writing {
    metrics: IngestMetrics,
    links: Arc<WorkerLinks>,
}

/// How long a writer keeps its connection without a group to write.
const HOLD_IDLE: Duration = Duration::from_secs(1);

/// While a writer holds a connection, Postgres plans each of its statements once for the
/// connection (a generic plan) instead of for each execution. By default it plans the
/// one-statement write again for every group of fewer than about ten requests, because
/// the plan made for those few rows looks cheaper: under `wrk -c16` that planning took
/// about a third of Postgres's CPU per webhook. The writers' statements look rows up by key
/// whatever the group's size, so one plan serves them all.
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
    writing: Writing,
    pool: PgPool,
    rx: Arc<Mutex<mpsc::Receiver<Submission>>>,
    group_max: usize,
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
        write_group(&mut held, &writing, group).await;
    }
}

/// One write for the whole group; on a failure, each request not yet answered is written
/// alone so one bad request cannot fail the others.
async fn write_group(held: &mut Held, writing: &Writing, group: Vec<Submission>) {
    let span = tracing::info_span!(
        "ingest.group_commit",
        otel.kind = "internal",
        requests = group.len(),
        // How many of the requests were written in one statement (the rest: the general write).
        one_statement = tracing::field::Empty
    );
    for s in &group {
        if let Some(t) = &s.trace {
            let cx = context_from_trace_parent(t);
            span.add_link(cx.span().span_context().clone());
        }
    }
    let mut outcomes: Vec<Option<Outcome>> = (0..group.len()).map(|_| None).collect();
    let result = write_all(held, writing, &group, &mut outcomes).instrument(span.clone()).await;
    let alone = result.is_err() && group.len() > 1;
    if let Err(e) = &result
        && !alone
    {
        tracing::warn!(error = format!("{e:#}"), "webhook write failed");
    }
    for (s, outcome) in group.into_iter().zip(outcomes) {
        let answer = match (outcome, &result) {
            (Some(o), _) => Ok(o),
            (None, Err(_)) if alone => {
                let mut one = vec![None];
                let single =
                    write_all(held, writing, std::slice::from_ref(&s), &mut one).instrument(span.clone()).await;
                single.map(|()| one.remove(0).unwrap_or_default()).map_err(|e| format!("{e:#}"))
            }
            (None, Err(e)) => Err(format!("{e:#}")),
            // Not expected: a request the write did not answer is not known to be stored.
            (None, Ok(())) => Err("the write gave this request no outcome".to_owned()),
        };
        let _ = s.reply.send(answer);
    }
}

/// Writes the requests of `group` not answered in `outcomes` yet, retrying what is
/// retryable; a request one attempt answered is not written again by the next.
async fn write_all(
    held: &mut Held,
    writing: &Writing,
    group: &[Submission],
    outcomes: &mut [Option<Outcome>],
) -> anyhow::Result<()> {
    for attempt in 0..3 {
        let result = match held.get().await {
            Ok(conn) => try_write_all(conn, writing, group, outcomes).await,
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

/// Deadlocks, serialisation failures and a lost connection are worth another try (the
/// latter on a tested connection). A retry after a commit whose answer was lost cannot
/// apply anything twice: its event ids are already recorded, and the same content again
/// is `unchanged`.
fn is_retryable(e: &anyhow::Error) -> bool {
    is_lost_connection(e) || sqlx_errors(e).any(is_conflict)
}

/// A deadlock or a serialisation failure: the same write may succeed when tried again.
fn is_conflict(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// The database was not there: the connection broke, the server closed it (a failover, a
/// restart, an administrator) or none could be had.
fn is_lost_connection(e: &anyhow::Error) -> bool {
    sqlx_errors(e).any(gigcover_kit::error::is_unavailable)
}

/// Another write of the same ids got there first (a unique violation), or the two
/// deadlocked or failed to serialise.
fn is_concurrent_write(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation()) || is_conflict(e)
}

/// The database errors in `e`'s chain.
fn sqlx_errors(e: &anyhow::Error) -> impl Iterator<Item = &sqlx::Error> {
    e.chain().filter_map(|c| c.downcast_ref::<sqlx::Error>())
}

/// The requests of one platform in a group, their records one after the other.
struct Part<'g> {
    platform: &'g Arc<PlatformInfo>,
    members: Vec<usize>,
    items: Vec<Accepted>,
    /// The member each record came from.
    owner: Vec<usize>,
}

impl<'g> Part<'g> {
    /// The group's requests not answered yet, by platform, in platform order.
    fn split(group: &'g [Submission], outcomes: &[Option<Outcome>]) -> Vec<Self> {
        let mut parts: Vec<Part<'g>> = Vec::new();
        for (m, s) in group.iter().enumerate().filter(|(m, _)| outcomes[*m].is_none()) {
            let at = match parts.iter().position(|p| p.platform.id == s.platform.id) {
                Some(at) => at,
                None => {
                    parts.push(Part {
                        platform: &s.platform,
                        members: Vec::new(),
                        items: Vec::new(),
                        owner: Vec::new(),
                    });
                    parts.len() - 1
                }
            };
            let part = &mut parts[at];
            part.members.push(m);
            part.items.extend(s.items.iter().cloned());
            part.owner.extend(std::iter::repeat_n(m, s.items.len()));
        }
        // In platform order, so writers lock the platforms' status rows in the same order.
        parts.sort_unstable_by(|a, b| a.platform.id.as_str().cmp(b.platform.id.as_str()));
        parts
    }

    fn trace_of(&self, group: &[Submission], record: usize) -> Option<TraceParent> {
        group[self.owner[record]].trace.clone()
    }

    /// Gives each member the part of `outcome` that is about its own records.
    fn answer(&self, group: &[Submission], outcome: &Outcome, outcomes: &mut [Option<Outcome>]) {
        let mut start = 0;
        for &m in &self.members {
            let n = group[m].items.len();
            outcomes[m] = Some(Outcome {
                statuses: outcome.statuses[start..start + n].to_vec(),
                rejected: outcome
                    .rejected
                    .iter()
                    .filter(|(i, _)| (start..start + n).contains(i))
                    .map(|(i, r)| (i - start, r.clone()))
                    .collect(),
                affected: Default::default(),
                last_end: outcome.last_end,
            });
            start += n;
        }
    }
}

/// Writes the requests not answered yet: each platform's in one statement where they are
/// all new, the rest in one transaction (the requests of one platform in one engine write,
/// a handful of statements whatever the group's size), then one commit.
async fn try_write_all(
    conn: &mut PoolConnection<Postgres>,
    writing: &Writing,
    group: &[Submission],
    outcomes: &mut [Option<Outcome>],
) -> anyhow::Result<()> {
    let mut rest = Vec::new();
    let mut in_one_statement = 0;
    for part in Part::split(group, outcomes) {
        let written = one_statement::write(conn, &writing.links, part.platform, &part.items, &writing.metrics, |i| {
            part.trace_of(group, i)
        })
        .await;
        match written {
            Ok(Ok(outcome)) => {
                in_one_statement += part.members.len();
                part.answer(group, &outcome, outcomes);
            }
            Ok(Err(declined)) => {
                tracing::debug!(?declined, "group takes the general write");
                rest.push(part);
            }
            Err(e) if is_lost_connection(&e) => return Err(e),
            Err(e) => {
                // A concurrent write of the same ids (a unique violation, or a deadlock with
                // it) is expected: the general write sorts it out. Anything else is not, and
                // must not go unseen behind the fallback.
                if sqlx_errors(&e).any(is_concurrent_write) {
                    tracing::debug!(error = format!("{e:#}"), "one-statement write met a concurrent write");
                } else {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "one-statement write failed; group takes the general write"
                    );
                }
                rest.push(part);
            }
        }
    }
    tracing::Span::current().record("one_statement", in_one_statement);
    if rest.is_empty() {
        return Ok(());
    }
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    let mut plain = engine::PlainInserts::per_transaction();
    let mut events = Vec::new();
    let mut answers = Vec::with_capacity(rest.len());
    for part in &rest {
        let outcome = engine::write(&mut tx, part.platform, &part.items, &writing.metrics, &mut plain).await?;
        let kept = finish::kept(&part.items, &outcome);
        finish::record_status(&mut tx, part.platform, "webhook", kept, &outcome.counts(), outcome.last_end).await?;
        events.extend(finish::events(part.platform, &outcome, |i| part.trace_of(group, i))?);
        answers.push(outcome);
    }
    gigcover_feed::publish(tx, &events).await?;
    for (part, outcome) in rest.iter().zip(&answers) {
        part.answer(group, outcome, outcomes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::testing;
    use crate::platforms::model::Adapter;

    fn submission(platform: &str, records: usize) -> Submission {
        let template = testing::platform(Adapter::GigRecords);
        let platform = Arc::new(PlatformInfo {
            id: gigcover_domain::PlatformId::parse(platform).unwrap(),
            time_zone: template.time_zone,
            currency: template.currency,
            adapter: Adapter::GigRecords,
            csv_mapping: None,
            secrets: Vec::new(),
        });
        let record = serde_json::json!({"id": "g", "worker": "w", "start_datetime": "2026-11-02T08:00:00Z",
                                        "end_datetime": "2026-11-02T08:30:00Z"});
        let items = (0..records)
            .map(|_| crate::adapters::parse_json(record.clone(), &testing::ctx(&platform)).unwrap())
            .collect();
        Submission { platform, items, trace: None, reply: oneshot::channel().0 }
    }

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

    #[test]
    fn a_group_splits_by_platform_in_platform_order_without_the_requests_answered() {
        let group = [submission("rides", 1), submission("eats", 2), submission("rides", 3), submission("eats", 1)];
        let mut outcomes: Vec<Option<Outcome>> = (0..group.len()).map(|_| None).collect();
        let parts = Part::split(&group, &outcomes);
        let seen: Vec<(&str, &[usize], usize)> =
            parts.iter().map(|p| (p.platform.id.as_str(), p.members.as_slice(), p.items.len())).collect();
        // Platform order: writers lock the platforms' status rows in the same order.
        assert_eq!(seen, [("eats", &[1, 3][..], 3), ("rides", &[0, 2][..], 4)]);
        assert_eq!(parts[0].owner, [1, 1, 3]);

        outcomes[1] = Some(Outcome::default());
        let parts = Part::split(&group, &outcomes);
        assert_eq!(parts[0].members, [3], "an answered request is not written again");
    }
}
