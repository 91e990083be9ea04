//! What the ingestion routes share.

use std::sync::Arc;

use sqlx::PgPool;

use crate::metrics::IngestMetrics;
use crate::platforms::directory::Directory;
use crate::settings::AggregationSettings;
use crate::webhooks::inbox::Inbox;

pub struct IngestState {
    pub pool: PgPool,
    pub directory: Arc<Directory>,
    pub inbox: Inbox,
    pub metrics: IngestMetrics,
    pub settings: AggregationSettings,
}
