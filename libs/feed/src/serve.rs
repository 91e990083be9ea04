//! Serving a service's feed: `GET /v1/events`, long-polled.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use gigcover_kit::auth::{Authorized, roles};
use gigcover_kit::http::Query;
use gigcover_kit::{ApiError, ApiResult};
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::event::{FeedEvent, FeedPage};

/// Longest a reader may ask to wait for new events.
pub const MAX_WAIT_SECS: u32 = 30;
/// Most events in one page.
pub const MAX_LIMIT: u32 = 1000;
/// Re-check at least this often while waiting, in case a notification was lost.
const RECHECK: Duration = Duration::from_secs(1);

/// Serves one service's outbox as a feed.
#[derive(Clone)]
pub struct FeedServer {
    pool: PgPool,
    published: watch::Receiver<u64>,
    shutdown: CancellationToken,
}

/// The feed route and the listener task that wakes waiting readers.
pub struct FeedServerRoutes {
    pub server: FeedServer,
    /// Must run while the service runs (it ends on shutdown).
    pub listener: BoxFuture<'static, ()>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Return events after this position (0 for the beginning).
    #[serde(default)]
    #[param(minimum = 0)]
    after: i64,
    /// At most this many events (1 to 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Wait up to this many seconds for an event when none is there yet (0 to 30; default 0).
    #[param(maximum = 30)]
    wait: Option<u32>,
}

/// An event and the head position.
type EventRow = (i64, Uuid, String, serde_json::Value, DateTime<Utc>, Option<String>, Option<String>, Option<i64>);

impl FeedServer {
    /// `schema` is the service's schema (its notification channel is `<schema>_outbox`).
    pub fn start(pool: PgPool, schema: &str, shutdown: CancellationToken) -> FeedServerRoutes {
        let (tx, rx) = watch::channel(0u64);
        let listener = Box::pin(listen(pool.clone(), format!("{schema}_outbox"), tx, shutdown.clone()));
        FeedServerRoutes { server: FeedServer { pool, published: rx, shutdown }, listener }
    }

    /// Registers `GET /v1/events`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        cfg.app_data(web::Data::new(self.clone())).route("/v1/events", web::get().to(events));
    }

    /// A page of events after `after`, and the head position.
    pub async fn read(&self, after: i64, limit: u32) -> Result<FeedPage, sqlx::Error> {
        // The head comes with the events, in their snapshot (one round trip where a
        // waiting reader is woken), and on its own when there are none.
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT position, event_id, event_type, payload, recorded_at, traceparent, tracestate,
                    (SELECT max(position) FROM outbox)
             FROM outbox WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let head: Option<i64> = match rows.first() {
            Some(row) => row.7,
            None => sqlx::query_scalar("SELECT max(position) FROM outbox").fetch_one(&self.pool).await?,
        };
        let events: Vec<FeedEvent> = rows
            .into_iter()
            .map(|(position, id, event_type, payload, recorded_at, traceparent, tracestate, _)| FeedEvent {
                position,
                id,
                event_type,
                payload,
                recorded_at,
                traceparent,
                tracestate,
            })
            .collect();
        let next_after = events.last().map_or(after, |e| e.position);
        Ok(FeedPage { events, next_after, head: head.unwrap_or(0) })
    }
}

/// Events published by this service after a position, long-polled.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "feed",
    params(FeedQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = FeedPage),
        (status = 400, description = "bad parameter", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "no or bad token", body = gigcover_kit::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn events(
    _caller: Authorized<roles::Internal>,
    feed: web::Data<FeedServer>,
    query: Query<FeedQuery>,
) -> ApiResult<HttpResponse> {
    if query.after < 0 {
        return Err(ApiError::bad_request("invalid_query", "after must not be negative"));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::bad_request("invalid_query", format!("wait must be at most {MAX_WAIT_SECS} seconds")));
    }
    let deadline = Instant::now() + Duration::from_secs(u64::from(wait));
    let mut published = feed.published.clone();
    published.mark_unchanged();
    loop {
        let page = feed.read(query.after, limit).await?;
        let now = Instant::now();
        if !page.events.is_empty() || now >= deadline || feed.shutdown.is_cancelled() {
            return Ok(HttpResponse::Ok().json(page));
        }
        tokio::select! {
            _ = published.changed() => {}
            _ = tokio::time::sleep(RECHECK.min(deadline - now)) => {}
            _ = feed.shutdown.cancelled() => {}
        }
    }
}

/// Listens for `NOTIFY <channel>` and bumps the watch so waiting readers re-read; reconnects
/// with a pause when Postgres goes away.
async fn listen(pool: PgPool, channel: String, published: watch::Sender<u64>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        match PgListener::connect_with(&pool).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(&channel).await {
                    tracing::warn!(%error, channel, "LISTEN failed");
                } else {
                    // Anything published while we were not listening is found by this re-read.
                    published.send_modify(|n| *n += 1);
                    loop {
                        tokio::select! {
                            received = listener.try_recv() => match received {
                                Ok(Some(_)) => published.send_modify(|n| *n += 1),
                                Ok(None) => break,
                                Err(error) => {
                                    tracing::warn!(%error, channel, "feed notifications interrupted");
                                    break;
                                }
                            },
                            _ = shutdown.cancelled() => return,
                        }
                    }
                }
            }
            Err(error) => tracing::debug!(%error, channel, "cannot listen for feed notifications yet"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
