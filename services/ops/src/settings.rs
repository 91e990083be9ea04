//! The `ops` configuration section.

use std::path::PathBuf;

use gigcover_kit::opensearch::OpenSearchSettings;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpsSettings {
    /// How often every service's signals are read.
    pub scrape_secs: f64,
    /// How often the SLOs are evaluated.
    pub evaluate_secs: f64,
    /// Multiplies every alert window and the pending time (1 in production; tests and
    /// drills on a laptop use a small factor so an hour passes in seconds).
    pub time_scale: f64,
    /// How long an alert's condition must hold before it fires.
    pub pending_secs: f64,
    /// SLOs to use instead of the defaults (a JSON list, see `services/ops/slos.json`).
    pub slos_file: Option<PathBuf>,
    /// Where people open the dashboard (links in notifications).
    pub dashboard_url: String,
    /// Where the runbook is (links in notifications).
    pub runbook_url: String,
    /// Who is notified of firing and resolved alerts.
    pub receivers: Vec<Receiver>,
    /// Evaluate the SLOs from the spans and metrics indexed in this OpenSearch domain
    /// instead of the services' own signals (the dashboard still shows those).
    pub opensearch: Option<OpenSearchSettings>,
}

impl Default for OpsSettings {
    fn default() -> Self {
        Self {
            scrape_secs: 15.0,
            evaluate_secs: 15.0,
            time_scale: 1.0,
            pending_secs: 60.0,
            slos_file: None,
            dashboard_url: "http://127.0.0.1:8080/dashboard".into(),
            runbook_url: "https://bitbucket.org/gigcover/gigcover/src/main/docs/runbook.md".into(),
            receivers: Vec::new(),
            opensearch: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// An incoming-webhook message (`{"text": ...}`).
    Slack,
    /// PagerDuty Events API v2 (`trigger`/`resolve` with a dedup key).
    Pagerduty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    pub name: String,
    pub url: String,
    pub format: Format,
    /// Signs each notification (`Gigcover-Signature`, as our other webhooks).
    pub secret: SecretString,
    /// PagerDuty's integration key.
    pub routing_key: Option<SecretString>,
}
