//! `serve` and `migrate`.

use std::time::Duration;

use anyhow::Context as _;
use futures::future::join_all;
use gigcover_kit::service::{LaunchOptions, launch};
use gigcover_kit::{Config, ServiceName};
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
        trace_filter: settings.trace_filter.clone(),
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
    let tokens = crate::service_auth::token_source(config, &settings, &db.url, targets).await?;

    let mut apps = Vec::new();
    for name in &targets.0 {
        let options = LaunchOptions { tokens: Some(tokens.clone()), ..LaunchOptions::default() };
        let app = launch(spec(*name), config, &db.url, options).await?;
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

/// Whether every targeted service on this host is ready (`/readyz` answers 200).
pub async fn healthcheck(config: &Config, targets: &Targets) -> anyhow::Result<()> {
    let settings = config.settings()?;
    let http = gigcover_kit::client::http_builder().timeout(std::time::Duration::from_secs(3)).build()?;
    for name in &targets.0 {
        let url = format!("http://127.0.0.1:{}/readyz", settings.services.port(*name));
        let res = http.get(&url).send().await.map_err(|e| anyhow::anyhow!("{name} is not answering: {e}"))?;
        anyhow::ensure!(res.status().is_success(), "{name} is not ready: {}", res.status());
    }
    Ok(())
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

/// `gigcover create-client`: a client straight in identity's database; prints the secret.
pub async fn create_client(
    config: &Config,
    client_id: String,
    name: String,
    role: &str,
    tenant: Option<String>,
) -> anyhow::Result<()> {
    let settings = config.settings()?;
    let role = serde_json::from_value(serde_json::Value::String(role.to_owned()))
        .map_err(|_| anyhow::anyhow!("--role is one of ops, insurer, platform, service"))?;
    let db = database::resolve(&settings).await?;
    let pool = gigcover_kit::db::pool(&settings.database, &db.url, ServiceName::Identity.schema())?;
    (spec(ServiceName::Identity).migrate)(pool.clone()).await?;
    let new = gigcover_identity::clients::NewClient { client_id, name, role, tenant, scopes: Vec::new() };
    let created = gigcover_identity::clients::create(&pool, &new).await;
    pool.close().await;
    db.release().await;
    let issued = created.map_err(|e| {
        let fields: Vec<String> = e.field_errors().iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
        anyhow::anyhow!("{} {}", e.detail(), fields.join("; "))
    })?;
    println!("client_id={}\nclient_secret={}", issued.client.client_id, issued.client_secret);
    eprintln!("keep the secret now: it is stored only as a hash and cannot be shown again");
    Ok(())
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
