//! Data keys wrapped by AWS KMS (`Encrypt`/`Decrypt` of the KMS JSON API, SigV4-signed),
//! the worker id bound in as encryption context. Configured as `identity.kms`.

use base64::Engine as _;
use futures::future::BoxFuture;
use gigcover_kit::aws::{CredentialSource, SignedClient};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::keys::KeyWrapper;

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
    key_id: String,
    endpoint: reqwest::Url,
    client: SignedClient,
}

impl KmsKeyWrapper {
    pub fn new(settings: KmsSettings) -> anyhow::Result<Self> {
        let credentials = CredentialSource::new(
            settings.access_key_id,
            settings.secret_access_key,
            settings.session_token,
            settings.web_identity,
            &settings.region,
        )?;
        Ok(Self {
            key_id: settings.key_id,
            endpoint: reqwest::Url::parse(&settings.endpoint)?,
            client: SignedClient::new("kms", &settings.region, credentials, std::time::Duration::from_secs(10))?,
        })
    }

    async fn call(&self, action: &str, body: Value) -> anyhow::Result<Value> {
        let headers = vec![
            ("content-type".to_owned(), "application/x-amz-json-1.1".to_owned()),
            ("x-amz-target".to_owned(), format!("TrentService.{action}")),
        ];
        let res =
            self.client.send(reqwest::Method::POST, self.endpoint.clone(), headers, serde_json::to_vec(&body)?).await?;
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
                    json!({"KeyId": self.key_id, "Plaintext": b64.encode(data_key), "EncryptionContext": context(worker)}),
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
                    json!({"KeyId": self.key_id, "CiphertextBlob": b64.encode(wrapped), "EncryptionContext": context(worker)}),
                )
                .await?;
            let plain = answer["Plaintext"].as_str().ok_or_else(|| anyhow::anyhow!("KMS Decrypt gave no Plaintext"))?;
            b64.decode(plain)?.try_into().map_err(|_| anyhow::anyhow!("KMS gave a data key of the wrong length"))
        })
    }
}
