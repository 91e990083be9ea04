//! What the ingestion routes share.

use std::sync::Arc;

use sqlx::PgPool;

use crate::ingest::committer::Committer;
use crate::metrics::IngestMetrics;
use crate::platforms::directory::Directory;
use crate::settings::AggregationSettings;

pub struct IngestState {
    pub pool: PgPool,
    pub directory: Arc<Directory>,
    pub committer: Committer,
    pub metrics: IngestMetrics,
    pub settings: AggregationSettings,
}
