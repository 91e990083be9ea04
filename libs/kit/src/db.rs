//! PostgreSQL: one pool per service, confined to the schema the service owns
//! (`search_path`), with that schema's migrations applied at start.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio_util::sync::CancellationToken;

/// The `database` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...`; when absent, `gigcover serve` provisions a private local cluster.
    pub url: Option<SecretString>,
    /// Connections per service. Small machines want few: Postgres does best with about
    /// (2 x cores) busy connections in all.
    pub max_connections: u32,
    /// How long a request waits for a connection before answering 503.
    pub acquire_timeout_ms: u64,
    /// Where a private cluster lives when no `url` is set.
    pub data_dir: std::path::PathBuf,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: None, max_connections: 8, acquire_timeout_ms: 3000, data_dir: ".gigcover/postgres".into() }
    }
}

/// Options for `url` whose unqualified names resolve in `schema` (and `public` for extensions).
pub fn connect_options(url: &SecretString, schema: &str) -> anyhow::Result<PgConnectOptions> {
    let options = PgConnectOptions::from_str(url.expose_secret()).context("parse database.url")?;
    Ok(options.options([("search_path", format!("{schema},public"))]).application_name(&format!("gigcover-{schema}")))
}

/// A connection idle this long is pinged before it is handed out.
const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// A lazily-connecting pool for one service: start-up does not fail while Postgres restarts,
/// and requests answer 503 after `acquire_timeout_ms` instead of hanging.
pub fn pool(settings: &DatabaseSettings, url: &SecretString, schema: &str) -> anyhow::Result<PgPool> {
    serving_pool(settings, url, schema, CancellationToken::new())
}

/// [`pool`] for a service that serves until `stopping` is cancelled. Its connections are
/// shared by the HTTP workers, and each belongs to the worker's runtime that opened it; once
/// the service stops, the workers' runtimes end and their connections with them, so from
/// then on every connection is pinged before use and a dead one is replaced.
pub fn serving_pool(
    settings: &DatabaseSettings,
    url: &SecretString,
    schema: &str,
    stopping: CancellationToken,
) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .idle_timeout(Duration::from_secs(300))
        // sqlx pings every connection it takes back (a round trip per release); pinging it
        // again on every acquire doubled that. Only a connection idle long enough for the
        // server to have gone away since is pinged before use (a broken one is replaced).
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            let stopping = stopping.is_cancelled();
            Box::pin(async move {
                if stopping || meta.idle_for >= PING_IDLE_AFTER {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(connect_options(url, schema)?))
}

/// Applies `migrator` to `schema`, creating the schema and keeping the record of applied
/// migrations inside it (`<schema>._sqlx_migrations`), so services never share that table.
pub async fn migrate(pool: &PgPool, schema: &str, mut migrator: Migrator) -> anyhow::Result<()> {
    migrator.create_schema(schema.to_owned());
    migrator.dangerous_set_table_name(format!("{schema}._sqlx_migrations"));
    migrator.run(pool).await.with_context(|| format!("apply the {schema} migrations"))
}

/// Applies a second, independent set of migrations to `schema` (a library's tables, such as
/// the event feed's), recorded in `<schema>._<name>_migrations`.
pub async fn migrate_library(pool: &PgPool, schema: &str, name: &str, mut migrator: Migrator) -> anyhow::Result<()> {
    migrator.create_schema(schema.to_owned());
    migrator.dangerous_set_table_name(format!("{schema}._{name}_migrations"));
    migrator.run(pool).await.with_context(|| format!("apply the {name} migrations to {schema}"))
}
