//! The database `serve` and `migrate` use: the configured one, or a private local cluster.

use gigcover_kit::config::Settings;
use gigcover_localpg::LocalPostgres;
use secrecy::SecretString;

/// The database URL, and the local cluster when this process started one (to stop on exit).
pub struct Database {
    pub url: SecretString,
    pub started: Option<LocalPostgres>,
}

pub async fn resolve(settings: &Settings) -> anyhow::Result<Database> {
    if let Some(url) = &settings.database.url {
        return Ok(Database { url: url.clone(), started: None });
    }
    let data_dir = settings.database.data_dir.clone();
    let (pg, started) = tokio::task::spawn_blocking(move || LocalPostgres::ensure_running(&data_dir)).await??;
    tracing::info!(data_dir = %pg.data_dir().display(), port = pg.port(), started, "using the private PostgreSQL cluster");
    let url = SecretString::from(pg.url());
    Ok(Database { url, started: started.then_some(pg) })
}

impl Database {
    /// Stops the private cluster if this process started it.
    pub async fn release(self) {
        if let Some(pg) = self.started {
            match tokio::task::spawn_blocking(move || pg.stop()).await {
                Ok(Ok(())) => tracing::info!("stopped the private PostgreSQL cluster"),
                Ok(Err(error)) => {
                    tracing::warn!(error = format!("{error:#}"), "stopping the private PostgreSQL cluster failed")
                }
                Err(error) => tracing::warn!(%error, "stopping the private PostgreSQL cluster failed"),
            }
        }
    }
}
