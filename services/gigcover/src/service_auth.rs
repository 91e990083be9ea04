//! How this process's services authenticate their calls to each other: a client of the
//! identity service (client credentials), configured in `service_auth`; or, where this
//! process runs identity itself and none is configured (the embedded default), a service
//! client it provisions at start with a fresh secret that never leaves the process.

use std::sync::Arc;

use gigcover_kit::client::{StaticToken, TokenSource};
use gigcover_kit::config::Settings;
use gigcover_kit::oauth::ClientCredentials;
use gigcover_kit::{Config, ServiceName};
use secrecy::SecretString;
use serde::Deserialize;

use crate::services::{Targets, spec};

/// The `service_auth` configuration section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceAuthSettings {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// The identity service's token endpoint by default.
    pub token_url: Option<String>,
}

/// The client id of the embedded default's own service client.
const EMBEDDED_CLIENT: &str = "gigcover-embedded-services";

pub async fn token_source(
    config: &Config,
    settings: &Settings,
    database_url: &SecretString,
    targets: &Targets,
) -> anyhow::Result<Arc<dyn TokenSource>> {
    let section: ServiceAuthSettings = config.section("service_auth")?;
    let token_url = section
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{}/oauth/token", settings.services.url(ServiceName::Identity)));
    match (section.client_id, section.client_secret) {
        (Some(id), Some(secret)) => Ok(Arc::new(ClientCredentials::new(token_url, id, secret))),
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("service_auth needs both client_id and client_secret (or neither)")
        }
        (None, None) if targets.0.contains(&ServiceName::Identity) => {
            let pool = gigcover_kit::db::pool(&settings.database, database_url, ServiceName::Identity.schema())?;
            (spec(ServiceName::Identity).migrate)(pool.clone()).await?;
            gigcover_identity::ensure_signing_key(&pool).await?;
            let issued = gigcover_identity::clients::bootstrap_client(
                &pool,
                EMBEDDED_CLIENT,
                "gigcover services (embedded)",
                gigcover_kit::auth::Role::Service,
                None,
            )
            .await
            .map_err(|e| anyhow::anyhow!("provision the embedded service client: {}", e.detail()))?;
            pool.close().await;
            tracing::info!(client_id = EMBEDDED_CLIENT, "provisioned this process's service client");
            Ok(Arc::new(ClientCredentials::new(token_url, EMBEDDED_CLIENT, SecretString::from(issued.client_secret))))
        }
        (None, None) => {
            if settings.environment.is_production() {
                anyhow::bail!("service_auth.client_id and service_auth.client_secret are required in production");
            }
            tracing::warn!("no service_auth configured: calls between services carry no token and will be refused");
            Ok(Arc::new(StaticToken(None)))
        }
    }
}
