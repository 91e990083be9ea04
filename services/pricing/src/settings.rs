//! The `pricing` configuration section.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingSettings {
    /// How long after its month ends a statement stays provisional for late data.
    pub statement_grace_hours: u32,
    /// How often the background task finalises statements that became due.
    pub statement_check_secs: u32,
}

impl Default for PricingSettings {
    fn default() -> Self {
        Self { statement_grace_hours: 72, statement_check_secs: 300 }
    }
}
