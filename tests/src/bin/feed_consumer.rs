//! A feed consumer as its own process, for the exactly-once test: it reads the feed at
//! `FEED_URL` and records every event it applies in `applied` (no unique key, so an event
//! applied twice would show as two rows). The test kills it with SIGKILL and restarts it.

use std::sync::Arc;

use futures::future::BoxFuture;
use gigcover_feed::{Consumer, EventHandler, FeedEvent};
use gigcover_kit::client::{ServiceClient, StaticToken};
use gigcover_kit::db::DatabaseSettings;
use secrecy::SecretString;
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;

struct Record;

impl EventHandler for Record {
    type Prepared = ();

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a FeedEvent,
        _: (),
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            sqlx::query("INSERT INTO applied (position, event_id, n) VALUES ($1, $2, $3)")
                .bind(event.position)
                .bind(event.id)
                .bind(event.payload["n"].as_i64())
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is required"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let schema = env("CONSUMER_SCHEMA")?;
    let url = SecretString::from(env("DATABASE_URL")?);
    let pool = gigcover_kit::db::pool(&DatabaseSettings::default(), &url, &schema)?;
    gigcover_feed::migrate(&pool, &schema).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS applied (seq bigserial PRIMARY KEY, position bigint NOT NULL, event_id uuid NOT NULL, n bigint)",
    )
    .execute(&pool)
    .await?;
    let client = ServiceClient::new("producer", env("FEED_URL")?, Arc::new(StaticToken(Some(env("FEED_TOKEN")?))));
    Consumer::new("producer", client, pool, Record).batch(100).wait_secs(1).run(CancellationToken::new()).await;
    Ok(())
}
