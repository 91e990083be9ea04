//! Credentials for our AWS clients (KMS, S3): access keys from the configuration, or the
//! pod's web identity (IRSA on EKS: a role ARN and a token file, exchanged with STS
//! `AssumeRoleWithWebIdentity` for temporary keys, renewed five minutes before they
//! expire). No long-lived keys are needed in production. `SignedClient` signs and sends
//! one request with them (SigV4), for every AWS API we call.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

/// Keys to sign one request with.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: Option<SecretString>,
}

/// A web identity to exchange (default: `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebIdentity {
    pub role_arn: String,
    pub token_file: PathBuf,
    /// Default `https://sts.<region>.amazonaws.com`.
    pub sts_endpoint: Option<String>,
}

pub enum CredentialSource {
    Static(Credentials),
    WebIdentity {
        identity: WebIdentity,
        endpoint: String,
        http: reqwest::Client,
        cached: Mutex<Option<(Credentials, DateTime<Utc>)>>,
    },
}

impl CredentialSource {
    /// Static keys when given; else `web_identity`, or the one IRSA puts in the environment.
    pub fn new(
        access_key_id: Option<String>,
        secret_access_key: Option<SecretString>,
        session_token: Option<SecretString>,
        web_identity: Option<WebIdentity>,
        region: &str,
    ) -> anyhow::Result<Self> {
        if let (Some(access_key_id), Some(secret_access_key)) = (access_key_id, secret_access_key) {
            return Ok(Self::Static(Credentials { access_key_id, secret_access_key, session_token }));
        }
        let identity = match web_identity {
            Some(w) => w,
            None => match (std::env::var("AWS_ROLE_ARN"), std::env::var("AWS_WEB_IDENTITY_TOKEN_FILE")) {
                (Ok(role_arn), Ok(file)) => WebIdentity { role_arn, token_file: file.into(), sts_endpoint: None },
                _ => anyhow::bail!(
                    "no AWS credentials: give access_key_id and secret_access_key, or run with a web identity \
                     (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, as IRSA sets them)"
                ),
            },
        };
        let endpoint = identity.sts_endpoint.clone().unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"));
        let http = crate::client::http_builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Self::WebIdentity { identity, endpoint, http, cached: Mutex::new(None) })
    }

    pub async fn current(&self) -> anyhow::Result<Credentials> {
        match self {
            Self::Static(c) => Ok(c.clone()),
            Self::WebIdentity { identity, endpoint, http, cached } => {
                let mut cached = cached.lock().await;
                if let Some((c, expires)) = cached.as_ref()
                    && Utc::now() + chrono::Duration::minutes(5) < *expires
                {
                    return Ok(c.clone());
                }
                let (credentials, expires) = assume(http, endpoint, identity).await?;
                *cached = Some((credentials.clone(), expires));
                Ok(credentials)
            }
        }
    }
}

/// STS `AssumeRoleWithWebIdentity` (unsigned: the web identity token is the proof).
async fn assume(
    http: &reqwest::Client,
    endpoint: &str,
    identity: &WebIdentity,
) -> anyhow::Result<(Credentials, DateTime<Utc>)> {
    let token = tokio::fs::read_to_string(&identity.token_file).await?;
    let form = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", identity.role_arn.as_str()),
        ("RoleSessionName", "gigcover"),
        ("WebIdentityToken", token.trim()),
    ];
    let res = http.post(endpoint).form(&form).send().await?;
    let status = res.status();
    let xml = res.text().await?;
    anyhow::ensure!(status.is_success(), "STS AssumeRoleWithWebIdentity answered {status}");
    let tag = |name: &str| -> anyhow::Result<String> {
        let open = format!("<{name}>");
        let start = xml.find(&open).ok_or_else(|| anyhow::anyhow!("STS gave no {name}"))? + open.len();
        let end = xml[start..].find(&format!("</{name}>")).ok_or_else(|| anyhow::anyhow!("STS gave no {name}"))?;
        Ok(xml[start..start + end].to_owned())
    };
    let credentials = Credentials {
        access_key_id: tag("AccessKeyId")?,
        secret_access_key: SecretString::from(tag("SecretAccessKey")?),
        session_token: Some(SecretString::from(tag("SessionToken")?)),
    };
    Ok((credentials, tag("Expiration")?.parse()?))
}

impl Credentials {
    /// The `x-amz-security-token` header, for temporary keys.
    pub fn token_header(&self) -> Option<(String, String)> {
        self.session_token.as_ref().map(|t| ("x-amz-security-token".to_owned(), t.expose_secret().to_owned()))
    }
}

/// A client of one AWS service in one region: each request gets `host`, `x-amz-date`, the
/// session token of temporary keys and its SigV4 `authorization`.
pub struct SignedClient {
    pub service: &'static str,
    pub region: String,
    credentials: CredentialSource,
    http: reqwest::Client,
}

impl SignedClient {
    pub fn new(
        service: &'static str,
        region: &str,
        credentials: CredentialSource,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = crate::client::http_builder().timeout(timeout).build()?;
        Ok(Self { service, region: region.to_owned(), credentials, http })
    }

    /// Sends `body` to `url` with `headers` (lower-case names), all of them signed.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: reqwest::Url,
        mut headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> anyhow::Result<reqwest::Response> {
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let amz_date = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        headers.push(("host".to_owned(), host));
        headers.push(("x-amz-date".to_owned(), amz_date.clone()));
        let credentials = self.credentials.current().await?;
        headers.extend(credentials.token_header());
        let request = crate::sigv4::Request {
            method: method.as_str(),
            path: url.path(),
            query: url.query().unwrap_or_default(),
            headers: headers.clone(),
            body: &body,
        };
        let authorization = crate::sigv4::authorization(
            &request,
            &credentials.access_key_id,
            credentials.secret_access_key.expose_secret(),
            &self.region,
            self.service,
            &amz_date,
        );
        let mut req = self.http.request(method, url).header("authorization", authorization).body(body);
        for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
            req = req.header(k, v);
        }
        Ok(req.send().await?)
    }
}
