//! Delivering alert notifications to their receivers: signed like every webhook we send
//! (`Gigcover-Signature`), retried with backoff until the receiver answers 2xx.

use std::time::Duration;

use secrecy::ExposeSecret as _;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::settings::Receiver;

pub struct Notifier {
    pub pool: PgPool,
    pub receivers: Vec<Receiver>,
    pub http: reqwest::Client,
}

impl Notifier {
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "sending alert notifications failed");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn round(&self) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        let due: Vec<(Uuid, String, Value, i32)> = sqlx::query_as(
            "SELECT id, receiver, payload, attempts FROM notifications
             WHERE delivered_at IS NULL AND next_attempt_at <= now() ORDER BY created_at LIMIT 20 FOR UPDATE SKIP LOCKED",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (id, receiver, payload, attempts) in due {
            let outcome = match self.receivers.iter().find(|r| r.name == receiver) {
                Some(r) => self.send(r, &payload).await,
                None => Err(format!("no receiver named {receiver} is configured")),
            };
            match outcome {
                Ok(()) => {
                    sqlx::query("UPDATE notifications SET delivered_at = now(), attempts = attempts + 1 WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                Err(e) => {
                    tracing::warn!(%receiver, error = %e, "an alert notification was not accepted; retrying");
                    sqlx::query(
                        "UPDATE notifications SET attempts = attempts + 1, last_error = $2,
                                next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
                    )
                    .bind(id)
                    .bind(&e)
                    .bind(gigcover_kit::retry::backoff_secs(attempts) as f64)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn send(&self, receiver: &Receiver, payload: &Value) -> Result<(), String> {
        let body = payload.to_string();
        let signature = gigcover_kit::signature::sign(
            receiver.secret.expose_secret().as_bytes(),
            chrono::Utc::now().timestamp(),
            body.as_bytes(),
        );
        let res = self
            .http
            .post(&receiver.url)
            .header("content-type", "application/json")
            .header(gigcover_kit::signature::HEADER, signature)
            .timeout(Duration::from_secs(10))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("no answer: {}", e.without_url()))?;
        if res.status().is_success() { Ok(()) } else { Err(format!("answered {}", res.status())) }
    }
}
