//! Wrapping per-worker data keys with a master key: the local master key (the kit's sealer)
//! in the embedded default, AWS KMS in production (`kms`), behind one trait.

use futures::future::BoxFuture;
use gigcover_kit::crypto::Sealer;
use uuid::Uuid;

pub trait KeyWrapper: Send + Sync {
    fn wrap<'a>(&'a self, worker: Uuid, data_key: &'a [u8; 32]) -> BoxFuture<'a, anyhow::Result<Vec<u8>>>;
    fn unwrap<'a>(&'a self, worker: Uuid, wrapped: &'a [u8]) -> BoxFuture<'a, anyhow::Result<[u8; 32]>>;
}

/// The master key is the kit's sealer key; the worker id is bound in as associated data,
/// so a wrapped key moved to another worker does not open.
pub struct LocalKeyWrapper(pub Sealer);

impl KeyWrapper for LocalKeyWrapper {
    fn wrap<'a>(&'a self, worker: Uuid, data_key: &'a [u8; 32]) -> BoxFuture<'a, anyhow::Result<Vec<u8>>> {
        Box::pin(async move { self.0.seal(data_key, format!("data-key:{worker}").as_bytes()) })
    }

    fn unwrap<'a>(&'a self, worker: Uuid, wrapped: &'a [u8]) -> BoxFuture<'a, anyhow::Result<[u8; 32]>> {
        Box::pin(async move {
            let key = self.0.open(wrapped, format!("data-key:{worker}").as_bytes())?;
            key.try_into().map_err(|_| anyhow::anyhow!("a wrapped data key of the wrong length"))
        })
    }
}
