//! Consuming another service's feed, exactly once.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures::future::BoxFuture;
use futures::{StreamExt as _, TryStreamExt as _};
use gigcover_kit::client::ServiceClient;
use gigcover_telemetry::{TraceParent, context_from_trace_parent};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge};
use opentelemetry::trace::TraceContextExt as _;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use uuid::Uuid;

use crate::event::{FeedEvent, FeedPage};

/// Applies one event, in two steps. An error in either drops the whole page; it is read
/// and tried again after a pause.
pub trait EventHandler: Send + Sync + 'static {
    /// What [`handle`](Self::handle) needs from outside this service's database (another
    /// service's answer).
    type Prepared: Default + Send;

    /// Gathers it outside the transaction, for a few events of a page at a time, while the
    /// transaction begins. Reads only: it runs also for an event applied before, which
    /// `handle` then skips.
    fn prepare<'a>(&'a self, _event: &'a FeedEvent) -> BoxFuture<'a, anyhow::Result<Self::Prepared>> {
        Box::pin(async { Ok(Self::Prepared::default()) })
    }

    /// Applies the event inside the consumer's transaction: write only through `conn`, and
    /// the write commits together with the event's inbox row and the cursor.
    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a FeedEvent,
        prepared: Self::Prepared,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Events of a page prepared at once.
const PREPARE_AHEAD: usize = 8;

struct ConsumerMetrics {
    applied: Counter<u64>,
    failures: Counter<u64>,
    lag: Gauge<u64>,
}

/// Reads the feed of service `source` and applies its events with `handler`.
pub struct Consumer<H> {
    source: String,
    client: ServiceClient,
    pool: PgPool,
    handler: H,
    batch: u32,
    wait_secs: u32,
    metrics: ConsumerMetrics,
    /// The consuming service's own signals (its lag, for the ops service's SLO).
    signals: std::sync::Arc<gigcover_kit::signals::ServiceSignals>,
    /// Begins a page's transaction and takes the lock by which one replica at a time
    /// applies this feed (so events are applied in order), in one round trip.
    begin_sql: String,
}

impl<H: EventHandler> Consumer<H> {
    /// `client` points at the producing service; `pool` is this service's own.
    pub fn new(source: impl Into<String>, client: ServiceClient, pool: PgPool, handler: H) -> Self {
        let service = gigcover_telemetry::current_service().unwrap_or(gigcover_telemetry::PROCESS_SERVICE);
        let meter = gigcover_telemetry::meter(service);
        let source: String = source.into();
        // The source as an SQL string literal (quotes doubled).
        let begin_sql =
            format!("BEGIN; SELECT pg_advisory_xact_lock(hashtext('feed-consumer:{}'))", source.replace('\'', "''"));
        Self {
            signals: gigcover_kit::signals::of(service),
            begin_sql,
            source,
            client,
            pool,
            handler,
            batch: 200,
            wait_secs: 20,
            metrics: ConsumerMetrics {
                applied: meter
                    .u64_counter("gigcover.feed.events_applied")
                    .with_description("Feed events applied")
                    .build(),
                failures: meter
                    .u64_counter("gigcover.feed.apply_failures")
                    .with_description("Feed pages that failed and will be retried")
                    .build(),
                lag: meter
                    .u64_gauge("gigcover.feed.backlog")
                    .with_description("Events published by the source and not yet applied here")
                    .build(),
            },
        }
    }

    /// Events per page (and per transaction).
    pub fn batch(mut self, batch: u32) -> Self {
        self.batch = batch.clamp(1, crate::serve::MAX_LIMIT);
        self
    }

    /// Seconds a request waits for new events (long-poll).
    pub fn wait_secs(mut self, secs: u32) -> Self {
        self.wait_secs = secs.min(crate::serve::MAX_WAIT_SECS);
        self
    }

    /// Consumes until `shutdown`, pausing (1 s doubling to 30 s) after failures.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut pause = Duration::from_secs(1);
        while !shutdown.is_cancelled() {
            match self.step(&shutdown).await {
                Ok(_) => pause = Duration::from_secs(1),
                Err(error) => {
                    self.metrics.failures.add(1, &[KeyValue::new("source", self.source.clone())]);
                    tracing::warn!(error = format!("{error:#}"), source = %self.source, "feed consumer failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.cancelled() => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// The position this consumer has applied up to.
    pub async fn cursor(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT position FROM feed_cursors WHERE source = $1")
            .bind(&self.source)
            .fetch_optional(&self.pool)
            .await
            .map(|p| p.unwrap_or(0))
    }

    /// Reads one page (waiting for events up to `wait_secs`) and applies it; returns how
    /// many events were applied.
    pub async fn step(&self, shutdown: &CancellationToken) -> anyhow::Result<usize> {
        let cursor = self.cursor().await.context("read the feed cursor")?;
        let path = format!("/v1/events?after={cursor}&limit={}&wait={}", self.batch, self.wait_secs);
        let within = Duration::from_secs(u64::from(self.wait_secs) + 10);
        let page: FeedPage = tokio::select! {
            page = self.client.get_json_within(&path, within) => page.with_context(|| format!("read the {} feed", self.source))?,
            _ = shutdown.cancelled() => return Ok(0),
        };
        let lag = u64::try_from(page.head.saturating_sub(page.next_after)).unwrap_or(0);
        self.metrics.lag.record(lag, &[KeyValue::new("source", self.source.clone())]);
        self.signals.gauge(&format!("feed.lag.{}", self.source), lag as f64);
        if page.events.is_empty() {
            return Ok(0);
        }
        self.apply(cursor, &page.events).await
    }

    /// Begins the page's transaction, records its events in the inbox and moves the cursor
    /// to `last`, the page's last position, in one statement (a round trip less on every
    /// page; all of it commits with the handlers' writes or not at all). Returns the ids of
    /// the events not applied before.
    async fn begin(
        &self,
        events: &[FeedEvent],
        last: i64,
    ) -> anyhow::Result<(Transaction<'static, Postgres>, HashSet<Uuid>)> {
        let mut tx = self.pool.begin_with(sqlx::AssertSqlSafe(self.begin_sql.clone())).await?;
        let fresh = sqlx::query_scalar(
            "WITH cursor AS (
                 INSERT INTO feed_cursors (source, position, updated_at) VALUES ($1, $4, now())
                 ON CONFLICT (source) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
                 WHERE feed_cursors.position < EXCLUDED.position)
             INSERT INTO inbox (source, event_id, position)
             SELECT $1, e.id, e.position FROM unnest($2::uuid[], $3::bigint[]) AS e(id, position)
             ON CONFLICT DO NOTHING RETURNING event_id",
        )
        .bind(&self.source)
        .bind(events.iter().map(|e| e.id).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.position).collect::<Vec<_>>())
        .bind(last)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        Ok((tx, fresh))
    }

    async fn apply(&self, cursor: i64, events: &[FeedEvent]) -> anyhow::Result<usize> {
        let mut last = cursor;
        for event in events {
            if event.position <= last {
                bail!("the {} feed went backwards: {} after {}", self.source, event.position, last);
            }
            last = event.position;
        }
        let spans: Vec<tracing::Span> = events.iter().map(|e| consume_span(&self.source, e)).collect();
        let preparing: Vec<_> = events
            .iter()
            .zip(&spans)
            .map(|(event, span)| {
                let prepare = self.handler.prepare(event).instrument(span.clone());
                async move {
                    prepare.await.with_context(|| {
                        format!("prepare {} event {} at {}", event.event_type, event.id, event.position)
                    })
                }
            })
            .collect();
        let prepared = futures::stream::iter(preparing).buffered(PREPARE_AHEAD).try_collect::<Vec<_>>();
        let (prepared, (mut tx, fresh)) = tokio::try_join!(prepared, self.begin(events, last))?;
        let mut applied = 0;
        for ((event, span), prepared) in events.iter().zip(spans).zip(prepared) {
            if !fresh.contains(&event.id) {
                continue;
            }
            self.handler
                .handle(&mut tx, event, prepared)
                .instrument(span)
                .await
                .with_context(|| format!("apply {} event {} at {}", event.event_type, event.id, event.position))?;
            applied += 1;
        }
        tx.commit().await?;
        self.metrics.applied.add(applied as u64, &[KeyValue::new("source", self.source.clone())]);
        Ok(applied)
    }
}

/// The span of applying one event: a child of (and linked to) the span that published it,
/// so one trace follows a change from the producer through every consumer.
fn consume_span(source: &str, event: &FeedEvent) -> tracing::Span {
    let span = tracing::info_span!(
        "feed.consume",
        otel.name = %format!("consume {}", event.event_type),
        otel.kind = "consumer",
        messaging.system = "gigcover.feed",
        messaging.source.name = %source,
        messaging.message.id = %event.id,
        messaging.feed.position = event.position,
    );
    if let Some(traceparent) = &event.traceparent {
        let cx = context_from_trace_parent(&TraceParent {
            traceparent: traceparent.clone(),
            tracestate: event.tracestate.clone(),
        });
        let producer = cx.span().span_context().clone();
        if producer.is_valid() {
            let _ = span.set_parent(cx);
            span.add_link(producer);
        }
    }
    span
}
