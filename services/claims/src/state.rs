//! What the claims handlers share.

use std::sync::Arc;

use gigcover_kit::client::ServiceClient;
use gigcover_kit::crypto::Sealer;

use crate::evidence::Sources;
use crate::objects::ObjectStore;
use crate::settings::ClaimsSettings;

pub struct ClaimsState {
    pub pricing: ServiceClient,
    pub enrichment: ServiceClient,
    pub objects: Arc<dyn ObjectStore>,
    pub settings: ClaimsSettings,
    /// Seals insurers' webhook secrets.
    pub sealer: Arc<Sealer>,
    pub production: bool,
}

impl ClaimsState {
    pub fn sources(&self) -> Sources<'_> {
        Sources { pricing: &self.pricing, enrichment: &self.enrichment }
    }
}
