//! The one client of our OpenSearch domain, for `gigcover opensearch apply` and for the ops
//! service's SLO source. Three ways in: none (a local cluster or an emulator), basic auth
//! (the security plugin's internal users), or AWS SigV4 for Amazon OpenSearch Service
//! (service `es`, with the pod's web identity or configured keys, as our other AWS calls).

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::aws::{CredentialSource, SignedClient};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSearchSettings {
    /// The domain's endpoint, e.g. `https://search-gigcover-dev.eu-west-1.es.amazonaws.com`.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// Sign every request for Amazon OpenSearch Service in this region (SigV4, IAM).
    pub aws_region: Option<String>,
}

enum Auth {
    None,
    Basic(String, SecretString),
    Aws(Box<SignedClient>),
}

pub struct OpenSearch {
    base: Url,
    auth: Auth,
    http: reqwest::Client,
}

/// What the cluster answered: its status and body (JSON, or the text as a JSON string).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The plugin behind the path is not there (OpenSearch answers "no handler found").
    pub fn no_handler(&self) -> bool {
        self.body.to_string().contains("no handler found")
    }

    /// An error naming what was asked and what OpenSearch answered.
    pub fn error(&self, what: &str) -> anyhow::Error {
        anyhow::anyhow!("{what}: OpenSearch answered {} {}", self.status, self.body)
    }

    /// The body of a successful answer, or [`Answer::error`].
    pub fn ok(self, what: &str) -> anyhow::Result<Value> {
        if self.status.is_success() { Ok(self.body) } else { Err(self.error(what)) }
    }
}

/// `url` as a base that paths are joined to (with its trailing slash).
pub fn base_url(url: &str) -> anyhow::Result<Url> {
    let url = if url.ends_with('/') { url.to_owned() } else { format!("{url}/") };
    Ok(Url::parse(&url)?)
}

impl OpenSearch {
    pub fn new(settings: &OpenSearchSettings, timeout: Duration) -> anyhow::Result<Self> {
        let auth = match (&settings.aws_region, &settings.username, &settings.password) {
            (Some(region), _, _) => {
                let credentials = CredentialSource::new(
                    std::env::var("AWS_ACCESS_KEY_ID").ok(),
                    std::env::var("AWS_SECRET_ACCESS_KEY").ok().map(SecretString::from),
                    std::env::var("AWS_SESSION_TOKEN").ok().map(SecretString::from),
                    None,
                    region,
                )?;
                Auth::Aws(Box::new(SignedClient::new("es", region, credentials, timeout)?))
            }
            (None, Some(user), Some(password)) => Auth::Basic(user.clone(), password.clone()),
            (None, None, None) => Auth::None,
            (None, _, _) => anyhow::bail!("OpenSearch: give both username and password, or neither"),
        };
        let http = crate::client::http_builder().timeout(timeout).build()?;
        Ok(Self { base: base_url(&settings.url)?, auth, http })
    }

    /// `method` `path` (relative to the domain) with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        self.call_at(&self.base, method, path, body).await
    }

    /// The same against another endpoint of the domain (OpenSearch Dashboards).
    pub async fn call_at(
        &self,
        base: &Url,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let url = base.join(path)?;
        let bytes = body.map(serde_json::to_vec).transpose()?.unwrap_or_default();
        // Dashboards refuses writes without `osd-xsrf`; OpenSearch ignores it.
        let headers =
            vec![("content-type".to_owned(), "application/json".to_owned()), ("osd-xsrf".into(), "true".into())];
        let res = match &self.auth {
            Auth::Aws(signed) => signed.send(method, url, headers, bytes).await?,
            Auth::Basic(..) | Auth::None => {
                let mut req = self.http.request(method, url).body(bytes);
                if let Auth::Basic(user, password) = &self.auth {
                    req = req.basic_auth(user, Some(password.expose_secret()));
                }
                headers.into_iter().fold(req, |r, (k, v)| r.header(k, v)).send().await?
            }
        };
        let status = res.status();
        let text = res.text().await?;
        Ok(Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }
}
