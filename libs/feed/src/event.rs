//! What travels on a feed.

use chrono::{DateTime, Utc};
use gigcover_telemetry::TraceParent;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event about to be published.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub event_type: &'static str,
    pub payload: serde_json::Value,
    /// The trace this event continues; the publishing span's when `None`.
    pub trace: Option<TraceParent>,
}

impl NewEvent {
    pub fn new(event_type: &'static str, payload: impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Self { id: Uuid::now_v7(), event_type, payload: serde_json::to_value(payload)?, trace: None })
    }

    /// Continues `trace` instead of the publishing span's trace (for work done on behalf
    /// of another request, such as a write grouping several webhooks).
    pub fn traced(mut self, trace: Option<TraceParent>) -> Self {
        self.trace = trace;
        self
    }
}

/// A published event as served and consumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedEvent {
    /// Position in this feed: strictly increasing, never reused (gaps are possible).
    pub position: i64,
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
    /// W3C trace context of the transaction that wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// One page of a feed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub events: Vec<FeedEvent>,
    /// Pass as `after` to get the next page.
    pub next_after: i64,
    /// The newest position published so far (how far behind a reader is: `head - after`).
    pub head: i64,
}
