//! How a service plugs into the kit: it names itself, says how to migrate its schema and
//! how to build its routes; [`launch`] does the rest, the same way for the `gigcover`
//! binary and for tests.

use std::sync::Arc;

use anyhow::Context as _;
use futures::future::BoxFuture;
use secrecy::SecretString;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::auth::Verifier;
use crate::client::{StaticToken, TokenSource};
use crate::config::Config;
use crate::http::{Application, ServiceContext, ServiceRoutes};
use crate::topology::ServiceName;

/// A service as the kit sees it.
pub struct ServiceSpec {
    pub name: ServiceName,
    /// Applies the service's migrations (its schema, and the libraries' tables in it).
    pub migrate: fn(PgPool) -> BoxFuture<'static, anyhow::Result<()>>,
    /// Builds the service's routes and background tasks.
    pub build: fn(ServiceContext) -> BoxFuture<'static, anyhow::Result<ServiceRoutes>>,
}

/// Options the caller decides rather than the configuration.
#[derive(Default, Clone)]
pub struct LaunchOptions {
    /// Listen on this port instead of the configured one (0 = any free port).
    pub port: Option<u16>,
    /// The token the service presents to others; none when absent.
    pub tokens: Option<Arc<dyn TokenSource>>,
}

/// Connects the service's pool, migrates its schema, builds it and binds its port.
pub async fn launch(
    spec: &ServiceSpec,
    config: &Config,
    database_url: &SecretString,
    options: LaunchOptions,
) -> anyhow::Result<Application> {
    let settings = config.settings()?;
    let schema = spec.name.schema();
    let shutdown = CancellationToken::new();
    let pool = crate::db::serving_pool(&settings.database, database_url, schema, shutdown.clone())?;
    (spec.migrate)(pool.clone()).await.with_context(|| format!("migrate {}", spec.name))?;
    let jwks = format!("{}/.well-known/jwks.json", settings.services.url(ServiceName::Identity));
    let verifier = Arc::new(Verifier::from_settings(&settings.auth, &jwks)?);
    let port = options.port.unwrap_or_else(|| settings.services.port(spec.name));
    let ctx = ServiceContext {
        name: spec.name,
        settings,
        config: config.clone(),
        pool,
        verifier,
        tokens: options.tokens.unwrap_or_else(|| Arc::new(StaticToken(None))),
        shutdown,
    };
    // Built inside its service, so what it creates (meters, signals) carries its name.
    let routes = gigcover_telemetry::in_service(spec.name.as_str(), (spec.build)(ctx.clone()))
        .await
        .with_context(|| format!("build {}", spec.name))?;
    Application::build(&ctx, routes, port).with_context(|| format!("bind {} to port {port}", spec.name))
}
