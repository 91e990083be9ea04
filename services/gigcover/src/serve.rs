//! `serve` and `migrate`.

use std::time::Duration;

use anyhow::Context as _;
use futures::future::join_all;
use gigcover_kit::Config;
use gigcover_kit::service::{LaunchOptions, launch};
use gigcover_telemetry::{TelemetryGuard, TelemetrySettings};

use crate::database;
use crate::services::{Targets, spec};

fn telemetry(config: &Config, targets: &Targets) -> anyhow::Result<TelemetryGuard> {
    let settings = config.settings()?;
    gigcover_telemetry::init(TelemetrySettings {
        services: targets.0.iter().map(|n| n.as_str()).collect(),
        version: env!("CARGO_PKG_VERSION"),
        environment: settings.environment.as_str().to_owned(),
        log_filter: settings.log_filter.clone(),
    })
}

/// Flushes telemetry off the async runtime (the flush blocks).
async fn flush(guard: TelemetryGuard) {
    let _ = tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_secs(5))).await;
}

pub async fn serve(config: &Config, targets: &Targets) -> anyhow::Result<()> {
    let guard = telemetry(config, targets)?;
    let settings = config.settings()?;
    let db = database::resolve(&settings).await?;

    let mut apps = Vec::new();
    for name in &targets.0 {
        let app = launch(spec(*name), config, &db.url, LaunchOptions::default()).await?;
        tracing::info!(service = name.as_str(), port = app.port(), "listening");
        apps.push(app);
    }
    let stops: Vec<_> = apps.iter().map(|a| a.stop_handle()).collect();
    let mut running: Vec<_> = apps.into_iter().map(|a| tokio::spawn(a.run_until_stopped())).collect();
    tracing::info!(services = targets.0.len(), "gigcover is up");

    let stopped_early = tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "stopping: draining in-flight requests");
            None
        }
        (ended, index, _) = futures::future::select_all(running.iter_mut()) => Some((ended, index)),
    };
    join_all(stops.iter().map(|s| s.stop())).await;
    let mut failure = None;
    if let Some((ended, index)) = stopped_early {
        running.remove(index);
        failure = Some(match ended {
            Ok(Ok(())) => anyhow::anyhow!("a service stopped unexpectedly"),
            Ok(Err(e)) => anyhow::Error::new(e).context("a service failed"),
            Err(e) => anyhow::Error::new(e).context("a service panicked"),
        });
    }
    for task in running {
        let _ = task.await;
    }
    tracing::info!("all services stopped");
    flush(guard).await;
    db.release().await;
    failure.map_or(Ok(()), Err)
}

pub async fn migrate(config: &Config, targets: &Targets) -> anyhow::Result<()> {
    let guard = telemetry(config, targets)?;
    let settings = config.settings()?;
    let db = database::resolve(&settings).await?;
    let mut result = Ok(());
    for name in &targets.0 {
        let pool = gigcover_kit::db::pool(&settings.database, &db.url, name.schema())?;
        let applied = (spec(*name).migrate)(pool.clone()).await.with_context(|| format!("migrate {name}"));
        pool.close().await;
        if let Err(e) = applied {
            result = Err(e);
            break;
        }
        tracing::info!(service = name.as_str(), "migrated");
    }
    flush(guard).await;
    db.release().await;
    result
}

/// Resolves on SIGTERM (Kubernetes) or SIGINT (Ctrl-C); returns which.
async fn shutdown_signal() -> &'static str {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = terminate => "SIGTERM",
        _ = tokio::signal::ctrl_c() => "SIGINT",
    }
}
