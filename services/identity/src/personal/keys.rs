//! Wrapping per-worker data keys with a master key. The embedded default wraps with the
//! kit's sealer (the local master key file); production would wrap with AWS KMS behind the
//! same trait (not built yet: AWS cannot be reached here).

use gigcover_kit::crypto::Sealer;
use uuid::Uuid;

pub trait KeyWrapper: Send + Sync {
    fn wrap(&self, worker: Uuid, data_key: &[u8; 32]) -> anyhow::Result<Vec<u8>>;
    fn unwrap(&self, worker: Uuid, wrapped: &[u8]) -> anyhow::Result<[u8; 32]>;
}

/// The master key is the kit's sealer key; the worker id is bound in as associated data,
/// so a wrapped key moved to another worker does not open.
pub struct LocalKeyWrapper(pub Sealer);

impl KeyWrapper for LocalKeyWrapper {
    fn wrap(&self, worker: Uuid, data_key: &[u8; 32]) -> anyhow::Result<Vec<u8>> {
        self.0.seal(data_key, format!("data-key:{worker}").as_bytes())
    }

    fn unwrap(&self, worker: Uuid, wrapped: &[u8]) -> anyhow::Result<[u8; 32]> {
        let key = self.0.open(wrapped, format!("data-key:{worker}").as_bytes())?;
        key.try_into().map_err(|_| anyhow::anyhow!("a wrapped data key of the wrong length"))
    }
}
