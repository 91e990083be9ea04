//! Applies the webhook inbox: stored webhooks, oldest first, through the one write path,
//! many at a time. Each transaction takes the applier's lock (one applier at a time, in
//! every instance of the service), reads the oldest rows, writes their events as a batch
//! does (`ingest::engine`, archive, status, `activity.changed` with each event's own
//! trace), deletes the rows and commits: a row is applied exactly once, also when the
//! process dies halfway.
//!
//! Rows are applied in the order of `seq`, which a row takes when it is inserted, not when
//! it commits: a group being stored may hold smaller numbers than one stored already. So
//! the writers store under a shared lock and the applier first takes it exclusively for a
//! moment (the [`horizon`]): every number handed out before that moment is then committed
//! or gone, and the applier reads no further. Records of one platform are applied in the
//! order they were stored, across writers and instances.
//!
//! A group that fails for a reason that passes (`failures::is_retryable`) is tried again
//! after a pause. Any other failure has the group applied again row by row: a row that the
//! database refuses for its own data, or that fails alone while others succeed, is kept
//! with its failure and the rows after it go on; when no row succeeds and none is at fault,
//! nothing is set aside and the group is tried again after a pause.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gigcover_domain::PlatformId;
use gigcover_feed::NewEvent;
use gigcover_telemetry::{TraceParent, context_from_trace_parent};
use opentelemetry::trace::TraceContextExt as _;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::failures::{is_retryable, is_the_datas_fault};
use crate::adapters::{self, Accepted, ParseContext};
use crate::ingest::engine::{self, Counts};
use crate::ingest::{finish, plain};
use crate::metrics::IngestMetrics;
use crate::platforms::directory::{Directory, PlatformInfo};

/// The key of the lock that lets one applier at a time read and apply the inbox
/// (`hashtext` of it; the service's schema is `aggregation`).
pub const APPLIER_LOCK: &str = "aggregation.webhook_inbox";

/// The key of the lock the inbox's writers hold (shared) while they insert, and the
/// applier takes exclusively to set its [`horizon`].
pub const WRITERS_LOCK: &str = "aggregation.webhook_inbox.writers";

/// How often the inbox is looked at without a wake-up: rows another instance stored, or
/// left after a failure.
const POLL: Duration = Duration::from_secs(1);

/// Rows applied (so deleted) between two vacuums of the inbox, by the applier. Autovacuum
/// visits a database at most once a minute (`autovacuum_naptime`), and by then a busy
/// inbox holds a million dead rows, which each read of the oldest rows would wade through.
const VACUUM_AFTER: u64 = 20_000;

/// The links a span keeps (`opentelemetry_sdk`'s default `max_links_per_span`).
const LINKS_KEPT: usize = 128;

/// Writes the stored webhooks.
pub struct Applier {
    pub pool: PgPool,
    pub directory: Arc<Directory>,
    pub metrics: IngestMetrics,
    /// Most webhooks in one transaction.
    pub max_webhooks: i64,
    /// Stored bytes in one transaction: a group ends with the webhook that reaches them.
    pub max_bytes: i64,
    /// As when the webhook was received (`ParseContext::future_tolerance`).
    pub future_tolerance: chrono::Duration,
    /// How long a wake-up waits for more webhooks before applying: the longer, the larger
    /// each transaction and the less each webhook costs to apply, at that much latency.
    pub linger: Duration,
}

#[derive(sqlx::FromRow)]
struct InboxRow {
    seq: i64,
    platform_id: String,
    received_at: DateTime<Utc>,
    /// NDJSON, one event per line, as read when received.
    records: Vec<u8>,
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl InboxRow {
    fn trace(&self) -> Option<TraceParent> {
        self.traceparent.clone().map(|traceparent| TraceParent { traceparent, tracestate: self.tracestate.clone() })
    }
}

/// The events of one platform in a group, in the order received.
struct Part {
    platform: Arc<PlatformInfo>,
    items: Vec<Accepted>,
    /// The row each item came from.
    owner: Vec<usize>,
    /// Reasons of events the adapter refused now (they passed when received).
    refused: Vec<&'static str>,
}

/// The webhooks one transaction applied, and their stored size.
struct Group {
    webhooks: usize,
    bytes: i64,
    /// Cut short before a webhook whose platform was not resolved (another instance
    /// applied webhooks meanwhile, so the oldest now reach past those resolved, or a failed
    /// webhook was set to apply again): the rest goes on at once, its platforms resolved.
    cut: bool,
}

/// The platforms of the next webhooks to apply, by id: `None` for one that cannot be read.
type Platforms = HashMap<String, Option<Arc<PlatformInfo>>>;

/// What a committed group did for one platform, reported to the metrics after the commit.
struct Applied {
    platform: PlatformId,
    counts: Counts,
    last_end: Option<DateTime<Utc>>,
    rejected: Vec<&'static str>,
}

impl Applier {
    /// Applies the inbox whenever `stored` says something was stored, and every [`POLL`].
    pub async fn run(self, stored: Arc<Notify>, shutdown: CancellationToken) {
        let mut failures = 0i32;
        let mut since_vacuum = 0u64;
        loop {
            tokio::select! {
                _ = stored.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = shutdown.cancelled() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(self.linger) => {}
                _ = shutdown.cancelled() => return,
            }
            match self.drain(&shutdown, &mut since_vacuum).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = format!("{e:#}"), "applying the webhook inbox failed; will retry");
                    // The one backoff, kept short: the platforms' data waits meanwhile.
                    let pause = Duration::from_secs(gigcover_kit::retry::backoff_secs(failures - 1).min(30) as u64);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Applies groups while they come full (a backlog), then leaves the rest to the next
    /// wake-up, so that under load each group gathers for [`Applier::linger`] first.
    /// `since_vacuum` counts the rows applied since the inbox was last vacuumed.
    async fn drain(&self, shutdown: &CancellationToken, since_vacuum: &mut u64) -> anyhow::Result<()> {
        while !shutdown.is_cancelled() {
            let applied = self.apply().await;
            if let Ok(group) = &applied {
                *since_vacuum += group.webhooks as u64;
                if *since_vacuum >= VACUUM_AFTER {
                    sqlx::query("VACUUM (ANALYZE) webhook_inbox").execute(&self.pool).await?;
                    *since_vacuum = 0;
                }
            }
            match applied {
                // A group cut by the byte limit ends past its half (a webhook is far smaller);
                // one cut before a platform not resolved goes on with the rest at once.
                Ok(group)
                    if group.webhooks as i64 >= self.max_webhooks || group.bytes >= self.max_bytes / 2 || group.cut => {
                }
                Ok(_) => return Ok(()),
                Err(e) if is_retryable(&e) => return Err(e),
                Err(e) => {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "a webhook group failed; applying its webhooks one by one"
                    );
                    self.one_by_one().await?;
                }
            }
        }
        Ok(())
    }

    /// Applies the next group's webhooks alone. One the database refuses for its own data,
    /// or that fails while another of the group is applied, is kept with its failure; when
    /// none can be applied and none is at fault, the fault is elsewhere (a bug, the
    /// database) and all are tried again later.
    async fn one_by_one(&self) -> anyhow::Result<()> {
        let horizon = horizon(&self.pool).await?;
        // The group and its platforms, from one read: each webhook's platform is resolved.
        let next: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, platform_id FROM webhook_inbox WHERE failed_at IS NULL AND seq <= $2 ORDER BY seq LIMIT $1",
        )
        .bind(self.max_webhooks)
        .bind(horizon)
        .fetch_all(&self.pool)
        .await?;
        let mut ids: Vec<String> = next.iter().map(|(_, id)| id.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let platforms = self.resolve(ids).await;
        let mut failed = Vec::new();
        let mut applied_any = false;
        for (seq, _) in next {
            match self.apply_up_to(horizon, &platforms, Some(seq)).await {
                Ok(group) => applied_any |= group.webhooks > 0,
                Err(e) if is_retryable(&e) => return Err(e),
                Err(e) => failed.push((seq, e)),
            }
        }
        let (kept, unexplained): (Vec<_>, Vec<_>) =
            failed.into_iter().partition(|(_, e)| applied_any || is_the_datas_fault(e));
        for (seq, e) in kept {
            let failure = format!("{e:#}");
            tracing::error!(seq, error = failure, "a stored webhook cannot be applied; kept in the inbox");
            sqlx::query("UPDATE webhook_inbox SET failed_at = now(), failure = $2 WHERE seq = $1")
                .bind(seq)
                .bind(failure)
                .execute(&self.pool)
                .await?;
        }
        match unexplained.into_iter().next() {
            Some((_, e)) => Err(e.context("no stored webhook could be applied, even alone")),
            None => Ok(()),
        }
    }

    /// Applies the oldest webhooks not failed in one transaction.
    async fn apply(&self) -> anyhow::Result<Group> {
        let horizon = horizon(&self.pool).await?;
        // Known before the transaction: a platform not in the directory's cache would take
        // a second connection while this one holds the inbox.
        let platforms = self.platforms(horizon).await?;
        self.apply_up_to(horizon, &platforms, None).await
    }

    /// Applies the oldest webhooks not failed up to `horizon` (only `only`, when given) in
    /// one transaction, as far as the webhooks whose platforms are in `platforms` go.
    async fn apply_up_to(&self, horizon: i64, platforms: &Platforms, only: Option<i64>) -> anyhow::Result<Group> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(APPLIER_LOCK).execute(&mut *tx).await?;
        let mut rows: Vec<InboxRow> = sqlx::query_as(
            "SELECT seq, platform_id, received_at, records, traceparent, tracestate
             FROM (SELECT *, sum(octet_length(records)) OVER (ORDER BY seq) AS upto
                   FROM (SELECT * FROM webhook_inbox
                         WHERE failed_at IS NULL AND seq <= $4 AND ($3::bigint IS NULL OR seq = $3)
                         ORDER BY seq LIMIT $1) oldest) w
             WHERE upto - octet_length(records) < $2
             ORDER BY seq",
        )
        .bind(self.max_webhooks)
        .bind(self.max_bytes)
        .bind(only)
        .bind(horizon)
        .fetch_all(&mut *tx)
        .await?;
        let resolved = rows.iter().position(|r| !platforms.contains_key(&r.platform_id)).unwrap_or(rows.len());
        let cut = resolved < rows.len();
        rows.truncate(resolved);
        let group = Group { webhooks: rows.len(), bytes: rows.iter().map(|r| r.records.len() as i64).sum(), cut };
        if rows.is_empty() {
            return Ok(group);
        }
        let span = tracing::info_span!("webhooks.apply", otel.kind = "internal", webhooks = rows.len());
        // Linked to the webhooks' requests, as many as a span keeps (the SDK's default).
        for t in rows.iter().filter_map(InboxRow::trace).take(LINKS_KEPT) {
            span.add_link(context_from_trace_parent(&t).span().span_context().clone());
        }
        let (events, applied) = self.write(&mut tx, platforms, &rows).instrument(span.clone()).await?;
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        sqlx::query("DELETE FROM webhook_inbox WHERE seq = ANY($1)").bind(&seqs).execute(&mut *tx).await?;
        gigcover_feed::publish(tx, &events).instrument(span).await?;
        for a in applied {
            self.metrics.stored(&a.platform, &a.counts, a.last_end);
            for reason in a.rejected {
                self.metrics.rejected(&a.platform, reason);
            }
        }
        Ok(group)
    }

    /// The platforms of the next webhooks to apply: the oldest not failed up to `horizon`,
    /// as many as one group takes (not the whole backlog: reading all of it for each group
    /// would make a backlog slower to apply the longer it is).
    async fn platforms(&self, horizon: i64) -> anyhow::Result<Platforms> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT platform_id
             FROM (SELECT platform_id FROM webhook_inbox WHERE failed_at IS NULL AND seq <= $1
                   ORDER BY seq LIMIT $2) next",
        )
        .bind(horizon)
        .bind(self.max_webhooks)
        .fetch_all(&self.pool)
        .await?;
        Ok(self.resolve(ids).await)
    }

    /// The platforms `ids` from the directory.
    async fn resolve(&self, ids: Vec<String>) -> Platforms {
        let mut platforms = HashMap::with_capacity(ids.len());
        for id in ids {
            // One that cannot be read fails its own webhooks (see `parts`), not the others'.
            let platform = match self.directory.get(&id).await {
                Ok(Some(platform)) => Some(platform),
                Ok(None) => {
                    tracing::warn!(platform = id, "stored webhooks of a platform not registered");
                    None
                }
                Err(e) => {
                    tracing::warn!(platform = id, error = format!("{e:#}"), "could not read a platform");
                    None
                }
            };
            platforms.insert(id, platform);
        }
        platforms
    }

    /// Writes the rows' events, each platform's as one write, in platform order (the order
    /// every writer locks platforms' status rows in); returns the events to publish.
    async fn write(
        &self,
        conn: &mut PgConnection,
        platforms: &Platforms,
        rows: &[InboxRow],
    ) -> anyhow::Result<(Vec<NewEvent>, Vec<Applied>)> {
        let mut parts = self.parts(platforms, rows)?;
        parts.sort_unstable_by(|a, b| a.platform.id.as_str().cmp(b.platform.id.as_str()));
        let mut plain = plain::PlainInserts::per_transaction();
        let mut events = Vec::new();
        let mut applied = Vec::with_capacity(parts.len());
        for part in parts {
            let outcome = engine::write(conn, &part.platform, &part.items, &self.metrics, &mut plain).await?;
            let mut counts = outcome.counts();
            counts.rejected += part.refused.len() as u64;
            let kept = finish::kept(&part.items, &outcome);
            finish::record_status(conn, &part.platform, "webhook", kept, &counts, outcome.last_end).await?;
            events.extend(finish::events(&part.platform, &outcome, |i| rows[part.owner[i]].trace())?);
            let mut rejected = part.refused;
            rejected.extend(outcome.rejected.iter().map(|(_, r)| r.code));
            applied.push(Applied { platform: part.platform.id.clone(), counts, last_end: outcome.last_end, rejected });
        }
        Ok((events, applied))
    }

    /// The rows' events through their platforms' adapters, by platform.
    fn parts(&self, platforms: &Platforms, rows: &[InboxRow]) -> anyhow::Result<Vec<Part>> {
        let mut parts: Vec<Part> = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            let at = match parts.iter().position(|p| p.platform.id.as_str() == row.platform_id) {
                Some(at) => at,
                None => {
                    let platform = platforms
                        .get(&row.platform_id)
                        .cloned()
                        .flatten()
                        .ok_or_else(|| anyhow::anyhow!("platform {} could not be read", row.platform_id))?;
                    parts.push(Part { platform, items: Vec::new(), owner: Vec::new(), refused: Vec::new() });
                    parts.len() - 1
                }
            };
            let part = &mut parts[at];
            let platform = Arc::clone(&part.platform);
            let ctx =
                ParseContext { platform: &platform, now: row.received_at, future_tolerance: self.future_tolerance };
            for line in row.records.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let parsed = std::str::from_utf8(line)
                    .map_err(|_| "malformed_json")
                    .and_then(|event| adapters::parse_json(event, &ctx).map_err(|r| r.code));
                match parsed {
                    Ok(item) => {
                        part.items.push(item);
                        part.owner.push(r);
                    }
                    Err(reason) => part.refused.push(reason),
                }
            }
        }
        Ok(parts)
    }
}

/// The largest `seq` handed out so far, once every writer that took one has committed or
/// given up: the writers insert under [`WRITERS_LOCK`] (shared), and this takes it
/// exclusively, for the one statement (writers that come meanwhile wait that long). A row
/// numbered up to it that is not visible now never will be.
async fn horizon(pool: &PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence('webhook_inbox', 'seq')), 0)
         FROM (SELECT pg_advisory_xact_lock(hashtext($1))) writers_done",
    )
    .bind(WRITERS_LOCK)
    .fetch_one(pool)
    .await?)
}
