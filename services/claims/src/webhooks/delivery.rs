//! Delivering claim events to insurers' webhooks: each webhook in feed order, one event per
//! request, at least once. A 2xx moves the webhook on; anything else (or no answer within
//! 10 s) is retried after 1, 2, 4 ... seconds, at most an hour apart, and recorded as an
//! attempt. The request carries the event's trace context, so the insurer's side can join
//! the trace.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gigcover_kit::crypto::Sealer;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{aad, target};

pub struct Deliverer {
    pub pool: PgPool,
    pub sealer: Arc<Sealer>,
    pub http: reqwest::Client,
    pub allow_internal: bool,
}

#[derive(sqlx::FromRow)]
struct Due {
    id: Uuid,
    insurer_id: String,
    url: String,
    secret_sealed: Vec<u8>,
    position: i64,
    failures: i32,
}

#[derive(sqlx::FromRow)]
struct Event {
    position: i64,
    event_id: Uuid,
    event_type: String,
    payload: Value,
    traceparent: Option<String>,
    recorded_at: DateTime<Utc>,
}

impl Deliverer {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let busy = match self.round().await {
                Ok(delivered) => delivered > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery round failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            } else if shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// Tries every due webhook once; returns how many events were delivered.
    async fn round(&self) -> anyhow::Result<usize> {
        let due: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM insurer_webhooks WHERE deleted_at IS NULL AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT 50",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut delivered = 0;
        for id in due {
            if self.deliver_next(id).await? {
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// Delivers the webhook's next event, if any; true when it was accepted.
    async fn deliver_next(&self, id: Uuid) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await?;
        let hook: Option<Due> = sqlx::query_as(
            "SELECT id, insurer_id, url, secret_sealed, position, failures FROM insurer_webhooks
             WHERE id = $1 AND deleted_at IS NULL AND next_attempt_at <= now() FOR UPDATE SKIP LOCKED",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(hook) = hook else { return Ok(false) };
        let event: Option<Event> = sqlx::query_as(
            "SELECT position, event_id, event_type, payload, traceparent, recorded_at FROM outbox
             WHERE position > $1 AND payload ->> 'insurer_id' = $2 ORDER BY position LIMIT 1",
        )
        .bind(hook.position)
        .bind(&hook.insurer_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(event) = event else {
            sqlx::query("UPDATE insurer_webhooks SET next_attempt_at = now() + interval '1 second' WHERE id = $1")
                .bind(hook.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(false);
        };
        let outcome = self.post(&hook, &event).await;
        let (status, error) = match &outcome {
            Ok(status) if (200..300).contains(status) => (Some(*status), None),
            Ok(status) => (Some(*status), Some(format!("answered {status}"))),
            Err(e) => (None, Some(e.clone())),
        };
        if error.is_none() {
            sqlx::query(
                "UPDATE insurer_webhooks SET position = $2, failures = 0, last_error = NULL, next_attempt_at = now()
                 WHERE id = $1",
            )
            .bind(hook.id)
            .bind(event.position)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "UPDATE insurer_webhooks SET failures = failures + 1, last_error = $2,
                        next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
            )
            .bind(hook.id)
            .bind(&error)
            .bind(gigcover_kit::retry::backoff_secs(hook.failures) as f64)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO webhook_attempts (webhook_id, position, event_id, status, error) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hook.id)
        .bind(event.position)
        .bind(event.event_id)
        .bind(status.map(i32::from))
        .bind(&error)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(error.is_none())
    }

    /// POSTs one event, signed; the receiver's status, or why there was none.
    async fn post(&self, hook: &Due, event: &Event) -> Result<u16, String> {
        let url = target::check_url(&hook.url, false)?;
        target::check_resolved(&url, self.allow_internal).await?;
        let secret = self
            .sealer
            .open(&hook.secret_sealed, &aad(&hook.insurer_id, hook.id))
            .map_err(|_| "the signing secret cannot be opened".to_owned())?;
        let body = json!({"id": event.event_id, "type": event.event_type, "position": event.position,
                          "recorded_at": event.recorded_at, "data": event.payload})
        .to_string();
        let signature = gigcover_kit::signature::sign(&secret, Utc::now().timestamp(), body.as_bytes());
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(gigcover_kit::signature::HEADER, signature)
            .header("gigcover-event-id", event.event_id.to_string())
            .timeout(Duration::from_secs(10))
            .body(body);
        if let Some(t) = &event.traceparent {
            req = req.header("traceparent", t);
        }
        match req.send().await {
            Ok(res) => Ok(res.status().as_u16()),
            Err(e) => Err(format!("no answer: {}", e.without_url())),
        }
    }
}
