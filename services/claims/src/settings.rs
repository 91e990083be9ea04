//! The `claims` configuration section.

use std::path::PathBuf;

use serde::Deserialize;

use crate::objects::S3Settings;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimsSettings {
    /// Where attachments are kept in the embedded default (a local folder).
    pub attachments_dir: PathBuf,
    /// Attachments in S3 instead (required in production).
    pub s3: Option<S3Settings>,
    /// Largest attachment accepted, in bytes.
    pub attachment_limit_bytes: usize,
    /// Attachments per claim, at most.
    pub attachments_per_claim: i64,
    /// How often decision deadlines are checked for breaches.
    pub sla_check_secs: u64,
    /// Events per page read from enrichment's feed (re-verification on late activity).
    pub feed_batch: u32,
    /// Whether insurers' webhooks may call loopback and private addresses (default: only
    /// outside production, for the embedded default and tests).
    pub webhooks_allow_internal: Option<bool>,
}

impl ClaimsSettings {
    pub fn webhooks_allow_internal(&self, production: bool) -> bool {
        self.webhooks_allow_internal.unwrap_or(!production)
    }
}

impl Default for ClaimsSettings {
    fn default() -> Self {
        Self {
            attachments_dir: ".gigcover/attachments".into(),
            s3: None,
            attachment_limit_bytes: 10 * 1024 * 1024,
            attachments_per_claim: 20,
            sla_check_secs: 60,
            feed_batch: 100,
            webhooks_allow_internal: None,
        }
    }
}

/// The content types a claim attachment may have: photos and documents.
pub const ALLOWED_CONTENT_TYPES: &[&str] = &["image/jpeg", "image/png", "image/heic", "application/pdf"];
