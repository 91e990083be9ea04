//! Data keys wrapped by AWS KMS (`Encrypt`/`Decrypt` of the KMS JSON API, SigV4-signed),
//! the worker id bound in as encryption context. Configured as `identity.kms`.

use base64::Engine as _;
use futures::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::keys::KeyWrapper;
use gigcover_kit::sigv4;

/// The `identity.kms` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KmsSettings {
    /// e.g. `https://kms.eu-central-1.amazonaws.com`.
    pub endpoint: String,
    pub region: String,
    /// The key's id, ARN or alias.
    pub key_id: String,
    /// Static keys; without them, the pod's web identity (IRSA) is used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
    /// The web identity to use instead of the environment's (tests).
    pub web_identity: Option<gigcover_kit::aws::WebIdentity>,
}

pub struct KmsKeyWrapper {
    settings: KmsSettings,
    credentials: gigcover_kit::aws::CredentialSource,
    http: reqwest::Client,
}

impl KmsKeyWrapper {
    pub fn new(settings: KmsSettings) -> anyhow::Result<Self> {
        let http = gigcover_kit::client::http_builder().timeout(std::time::Duration::from_secs(10)).build()?;
        let credentials = gigcover_kit::aws::CredentialSource::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.clone(),
            settings.session_token.clone(),
            settings.web_identity.clone(),
            &settings.region,
        )?;
        Ok(Self { settings, credentials, http })
    }

    async fn call(&self, action: &str, body: Value) -> anyhow::Result<Value> {
        let body = serde_json::to_vec(&body)?;
        let url = reqwest::Url::parse(&self.settings.endpoint)?;
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let target = format!("TrentService.{action}");
        let mut headers = vec![
            ("content-type".to_owned(), "application/x-amz-json-1.1".to_owned()),
            ("host".to_owned(), host),
            ("x-amz-date".to_owned(), amz_date.clone()),
            ("x-amz-target".to_owned(), target),
        ];
        let credentials = self.credentials.current().await?;
        headers.extend(credentials.token_header());
        let request = sigv4::Request { method: "POST", path: "/", query: "", headers: headers.clone(), body: &body };
        let authorization = sigv4::authorization(
            &request,
            &credentials.access_key_id,
            credentials.secret_access_key.expose_secret(),
            &self.settings.region,
            "kms",
            &amz_date,
        );
        let mut req = self.http.post(url).header("authorization", authorization).body(body);
        for (k, v) in headers.into_iter().filter(|(k, _)| k != "host") {
            req = req.header(k, v);
        }
        let res = req.send().await?;
        let status = res.status();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("KMS {action} answered {status}: {}", answer["__type"].as_str().unwrap_or("unknown error"));
        }
        Ok(answer)
    }
}

fn context(worker: Uuid) -> Value {
    json!({"gigcover:worker": worker.to_string()})
}

impl KeyWrapper for KmsKeyWrapper {
    fn wrap<'a>(&'a self, worker: Uuid, data_key: &'a [u8; 32]) -> BoxFuture<'a, anyhow::Result<Vec<u8>>> {
        Box::pin(async move {
            let b64 = base64::engine::general_purpose::STANDARD;
            let answer = self
                .call(
                    "Encrypt",
                    json!({"KeyId": self.settings.key_id, "Plaintext": b64.encode(data_key), "EncryptionContext": context(worker)}),
                )
                .await?;
            let blob = answer["CiphertextBlob"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("KMS Encrypt gave no CiphertextBlob"))?;
            Ok(b64.decode(blob)?)
        })
    }

    fn unwrap<'a>(&'a self, worker: Uuid, wrapped: &'a [u8]) -> BoxFuture<'a, anyhow::Result<[u8; 32]>> {
        Box::pin(async move {
            let b64 = base64::engine::general_purpose::STANDARD;
            let answer = self
                .call(
                    "Decrypt",
                    json!({"KeyId": self.settings.key_id, "CiphertextBlob": b64.encode(wrapped), "EncryptionContext": context(worker)}),
                )
                .await?;
            let plain = answer["Plaintext"].as_str().ok_or_else(|| anyhow::anyhow!("KMS Decrypt gave no Plaintext"))?;
            b64.decode(plain)?.try_into().map_err(|_| anyhow::anyhow!("KMS gave a data key of the wrong length"))
        })
    }
}
