//! Client credentials (RFC 6749 section 4.4) as a [`TokenSource`]: a service's outbound
//! calls carry a token the identity service issued it, fetched when first needed and
//! renewed a minute before it expires.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::client::{ClientError, TokenSource};

pub struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    http: reqwest::Client,
    cached: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

impl ClientCredentials {
    pub fn new(token_url: impl Into<String>, client_id: impl Into<String>, client_secret: SecretString) -> Self {
        let http = crate::client::http_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { token_url: token_url.into(), client_id: client_id.into(), client_secret, http, cached: Mutex::new(None) }
    }

    async fn fetch(&self) -> Result<(String, Instant), ClientError> {
        let unavailable = |reason: String| ClientError::Unavailable { service: "identity".into(), reason };
        let res = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = res.status();
        if !status.is_success() {
            let problem = res.json().await.ok();
            return Err(ClientError::Status { service: "identity".into(), status, problem });
        }
        let body: TokenResponse =
            res.json().await.map_err(|e| ClientError::Invalid { service: "identity".into(), reason: e.to_string() })?;
        let renew_at = Instant::now() + Duration::from_secs(body.expires_in.saturating_sub(60).max(1));
        Ok((body.access_token, renew_at))
    }
}

impl TokenSource for ClientCredentials {
    fn token(&self) -> BoxFuture<'_, Result<Option<String>, ClientError>> {
        Box::pin(async move {
            let mut cached = self.cached.lock().await;
            if let Some((token, renew_at)) = cached.as_ref()
                && Instant::now() < *renew_at
            {
                return Ok(Some(token.clone()));
            }
            let (token, renew_at) = self.fetch().await?;
            *cached = Some((token.clone(), renew_at));
            Ok(Some(token))
        })
    }
}
