//! What ingestion needs to know about a platform, cached for a short while so a webhook
//! does not read the registry on every request. Changes made through this service take
//! effect at once here; other replicas see them within `TTL`. Only registered platforms
//! are cached: the cache holds at most one entry per platform, whatever ids callers try.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use gigcover_domain::{Currency, PlatformId};
use gigcover_kit::crypto::Sealer;
use sqlx::PgPool;

use super::model::Adapter;
use crate::adapters::csv::CsvMapping;

const TTL: Duration = Duration::from_secs(30);

/// A platform as ingestion sees it.
pub struct PlatformInfo {
    pub id: PlatformId,
    pub time_zone: Tz,
    pub currency: Currency,
    pub adapter: Adapter,
    pub csv_mapping: Option<CsvMapping>,
    /// Active webhook secrets, opened.
    pub secrets: Vec<Vec<u8>>,
}

impl std::fmt::Debug for PlatformInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformInfo")
            .field("id", &self.id)
            .field("secrets", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

/// A platform and when it was read.
type Cached = (Instant, Arc<PlatformInfo>);

pub struct Directory {
    pool: PgPool,
    sealer: Sealer,
    cache: RwLock<HashMap<String, Cached>>,
}

impl Directory {
    pub fn new(pool: PgPool, sealer: Sealer) -> Self {
        Self { pool, sealer, cache: RwLock::new(HashMap::new()) }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The platform, or `None` when it is not registered.
    pub async fn get(&self, id: &str) -> anyhow::Result<Option<Arc<PlatformInfo>>> {
        if let Ok(cache) = self.cache.read()
            && let Some((at, info)) = cache.get(id)
            && at.elapsed() < TTL
        {
            return Ok(Some(Arc::clone(info)));
        }
        let Some(info) = self.load(id).await?.map(Arc::new) else {
            // Not remembered (and an expired entry dropped): a caller cycling through
            // made-up ids must not grow the cache.
            self.forget(id);
            return Ok(None);
        };
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(id.to_owned(), (Instant::now(), Arc::clone(&info)));
        }
        Ok(Some(info))
    }

    /// Forgets a platform so the next `get` reads it again.
    pub fn forget(&self, id: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(id);
        }
    }

    async fn load(&self, id: &str) -> anyhow::Result<Option<PlatformInfo>> {
        let Ok(platform) = PlatformId::parse(id) else {
            return Ok(None);
        };
        let mut conn = self.pool.acquire().await?;
        let row: Option<(String, String, serde_json::Value, Option<serde_json::Value>)> =
            sqlx::query_as("SELECT time_zone, currency, to_jsonb(adapter), csv_mapping FROM platforms WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((tz, currency, adapter, mapping)) = row else {
            return Ok(None);
        };
        let secrets = super::secrets::active_values(&mut conn, &self.sealer, &platform).await?;
        Ok(Some(PlatformInfo {
            id: platform,
            time_zone: tz.parse().map_err(|e| anyhow::anyhow!("stored time zone {tz}: {e}"))?,
            currency: currency.parse()?,
            adapter: serde_json::from_value(adapter)?,
            csv_mapping: mapping.map(serde_json::from_value).transpose()?,
            secrets,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ids_of_no_platform_are_not_remembered() {
        let (pool, _db) = crate::adapters::testing::database().await;
        let directory = Directory::new(pool, Sealer::from_key(&[7; 32]));
        for i in 0..50 {
            // Well-formed ids of no platform (read from the database), and ids that cannot be one.
            assert!(directory.get(&format!("unknown-{i}")).await.unwrap().is_none());
            assert!(directory.get(&format!("no such platform {i}")).await.unwrap().is_none());
        }
        assert_eq!(directory.cache.read().unwrap().len(), 0);
    }
}
