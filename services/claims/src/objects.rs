//! Where claim attachments are kept: an object store behind one trait, a local folder in
//! the embedded default and S3 in production (SigV4-signed `PutObject`/`GetObject`).

use std::path::PathBuf;

use actix_web::web::Bytes;
use futures::future::BoxFuture;
use gigcover_kit::aws::{CredentialSource, SignedClient};
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

pub trait ObjectStore: Send + Sync + 'static {
    /// Stores `bytes` under `key` (written whole or not at all).
    fn put<'a>(&'a self, key: &'a str, content_type: &'a str, bytes: Bytes) -> BoxFuture<'a, anyhow::Result<()>>;
    /// The object under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Bytes>>>;
}

/// Keys are made by us from UUIDs; anything else is refused before it reaches a path.
fn check_key(key: &str) -> anyhow::Result<()> {
    let ok = !key.is_empty()
        && key.split('/').all(|part| !part.is_empty() && part != ".." && part != ".")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'/' | b'.'));
    if ok { Ok(()) } else { anyhow::bail!("invalid object key") }
}

/// A local folder: each object a file, written to a temporary name, synced and renamed.
pub struct LocalFolder {
    pub root: PathBuf,
}

impl ObjectStore for LocalFolder {
    fn put<'a>(&'a self, key: &'a str, _content_type: &'a str, bytes: Bytes) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            check_key(key)?;
            let path = self.root.join(key);
            let dir = path.parent().ok_or_else(|| anyhow::anyhow!("an object key names a file"))?.to_owned();
            let tmp = path.with_extension("partial");
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                use std::io::Write as _;
                std::fs::create_dir_all(&dir)?;
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(&bytes)?;
                file.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                std::fs::File::open(&dir)?.sync_all()?;
                Ok(())
            })
            .await?
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Bytes>>> {
        Box::pin(async move {
            check_key(key)?;
            match tokio::fs::read(self.root.join(key)).await {
                Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// The `claims.s3` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// e.g. `https://s3.eu-central-1.amazonaws.com` (path-style addressing).
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// Static keys; without them, the pod's web identity (IRSA) is used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    pub session_token: Option<SecretString>,
    pub web_identity: Option<gigcover_kit::aws::WebIdentity>,
}

pub struct S3 {
    bucket: String,
    endpoint: reqwest::Url,
    client: SignedClient,
}

impl S3 {
    pub fn new(settings: S3Settings) -> anyhow::Result<Self> {
        let credentials = CredentialSource::new(
            settings.access_key_id,
            settings.secret_access_key,
            settings.session_token,
            settings.web_identity,
            &settings.region,
        )?;
        Ok(Self {
            bucket: settings.bucket,
            endpoint: reqwest::Url::parse(&settings.endpoint)?,
            client: SignedClient::new("s3", &settings.region, credentials, std::time::Duration::from_secs(30))?,
        })
    }

    async fn send(
        &self,
        method: reqwest::Method,
        key: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> anyhow::Result<reqwest::Response> {
        check_key(key)?;
        let url = self.endpoint.join(&format!("/{}/{key}", self.bucket))?;
        let mut headers = vec![("x-amz-content-sha256".to_owned(), hex::encode(Sha256::digest(&body)))];
        if let Some(ct) = content_type {
            headers.push(("content-type".to_owned(), ct.to_owned()));
        }
        self.client.send(method, url, headers, body.to_vec()).await
    }
}

impl ObjectStore for S3 {
    fn put<'a>(&'a self, key: &'a str, content_type: &'a str, bytes: Bytes) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let res = self.send(reqwest::Method::PUT, key, Some(content_type), bytes).await?;
            if !res.status().is_success() {
                anyhow::bail!("S3 PutObject answered {}", res.status());
            }
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Bytes>>> {
        Box::pin(async move {
            let res = self.send(reqwest::Method::GET, key, None, Bytes::new()).await?;
            match res.status() {
                s if s.is_success() => Ok(Some(res.bytes().await?)),
                reqwest::StatusCode::NOT_FOUND => Ok(None),
                s => anyhow::bail!("S3 GetObject answered {s}"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_folder_keeps_what_it_was_given_and_refuses_paths_out_of_it() {
        let root = std::env::temp_dir().join(format!("gigcover-objects-{}", uuid::Uuid::now_v7()));
        let store = LocalFolder { root: root.clone() };
        store.put("claims/a/b.pdf", "application/pdf", Bytes::from_static(b"%PDF-1.7")).await.unwrap();
        assert_eq!(store.get("claims/a/b.pdf").await.unwrap().as_deref(), Some(&b"%PDF-1.7"[..]));
        assert_eq!(store.get("claims/a/missing").await.unwrap(), None);
        assert!(store.put("../escape", "application/pdf", Bytes::from_static(b"x")).await.is_err());
        assert!(store.get("/etc/passwd").await.is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
