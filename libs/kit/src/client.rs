//! The HTTP client services call each other (and partners) with. Every call gets a client
//! span, carries the W3C trace context and a bearer token, and answers errors as values:
//! a problem+json from the other side, or "unavailable" when it cannot be reached.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::error::{ApiError, Problem};

/// A reqwest client builder with the process's TLS provider installed: use it for every
/// outbound HTTP client (reqwest is built without a default provider).
pub fn http_builder() -> reqwest::ClientBuilder {
    crate::install_crypto_provider();
    reqwest::Client::builder()
}

/// A plain client for tests and tools.
pub fn http() -> reqwest::Client {
    http_builder().build().unwrap_or_else(|_| reqwest::Client::new())
}

/// Supplies the bearer token for outbound calls (a fixed token, or client credentials).
pub trait TokenSource: Send + Sync {
    fn token(&self) -> BoxFuture<'_, Result<Option<String>, ClientError>>;
}

/// A fixed token, or none.
pub struct StaticToken(pub Option<String>);

impl TokenSource for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<Option<String>, ClientError>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{service} answered {status}: {}", .problem.as_ref().map_or("", |p| p.detail.as_str()))]
    Status { service: String, status: StatusCode, problem: Option<Problem> },
    #[error("{service} is unreachable: {reason}")]
    Unavailable { service: String, reason: String },
    #[error("{service} answered something unreadable: {reason}")]
    Invalid { service: String, reason: String },
}

impl ClientError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<ClientError> for ApiError {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Unavailable { .. } => ApiError::unavailable("dependency_unavailable", e.to_string()),
            ClientError::Status { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE => {
                ApiError::unavailable("dependency_unavailable", e.to_string())
            }
            _ => ApiError::internal(anyhow::Error::new(e)),
        }
    }
}

struct HeaderInjector<'a>(&'a mut HashMap<String, String>);

impl opentelemetry::propagation::Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// A client for one other service (or partner) at `base_url`.
#[derive(Clone)]
pub struct ServiceClient {
    name: String,
    base_url: String,
    http: reqwest::Client,
    tokens: Arc<dyn TokenSource>,
}

impl ServiceClient {
    pub fn new(name: impl Into<String>, base_url: impl Into<String>, tokens: Arc<dyn TokenSource>) -> Self {
        let http = http_builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { name: name.into(), base_url: base_url.into().trim_end_matches('/').to_owned(), http, tokens }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send::<(), T>(Method::GET, path, None, None).await
    }

    /// A GET that may take up to `timeout` (long-polls).
    pub async fn get_json_within<T: DeserializeOwned>(&self, path: &str, timeout: Duration) -> Result<T, ClientError> {
        self.send::<(), T>(Method::GET, path, None, Some(timeout)).await
    }

    pub async fn post_json<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.send(Method::POST, path, Some(body), None).await
    }

    pub async fn put_json<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, ClientError> {
        self.send(Method::PUT, path, Some(body), None).await
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        timeout: Option<Duration>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{}", self.base_url, path);
        let route = path.split('?').next().unwrap_or(path).to_owned();
        let span = tracing::info_span!(
            "http.client",
            otel.name = %format!("{method} {}", self.name),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = %method,
            url.path = %route,
            peer.service = %self.name,
            http.response.status_code = Empty,
        );
        async move {
            let mut headers = HashMap::new();
            gigcover_telemetry::inject_context(&tracing::Span::current().context(), &mut HeaderInjector(&mut headers));
            let mut req = self.http.request(method, &url);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some(token) = self.tokens.token().await? {
                req = req.bearer_auth(token);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            let unavailable =
                |e: reqwest::Error| ClientError::Unavailable { service: self.name.clone(), reason: e.to_string() };
            let res = req.send().await.map_err(unavailable)?;
            let status = res.status();
            tracing::Span::current().record("http.response.status_code", status.as_u16());
            if !status.is_success() {
                if status.is_server_error() {
                    tracing::Span::current().record("otel.status_code", "ERROR");
                }
                let problem = res.json::<Problem>().await.ok();
                return Err(ClientError::Status { service: self.name.clone(), status, problem });
            }
            let invalid = |reason: String| ClientError::Invalid { service: self.name.clone(), reason };
            let bytes = res.bytes().await.map_err(|e| invalid(e.to_string()))?;
            // An empty answer (204) reads as JSON `null`, which `()` accepts.
            let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            serde_json::from_slice::<T>(text).map_err(|e| invalid(e.to_string()))
        }
        .instrument(span)
        .await
    }
}
