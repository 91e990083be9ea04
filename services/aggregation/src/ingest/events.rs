//! `activity.changed`: one event per worker whose activities a write changed, naming the
//! worker's local days touched, so enrichment recomputes just those.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use gigcover_domain::{PlatformId, WorkerId};
use gigcover_feed::NewEvent;
use gigcover_telemetry::TraceParent;
use serde::{Deserialize, Serialize};

pub const ACTIVITY_CHANGED: &str = "activity.changed";

/// The payload of `activity.changed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivityChanged {
    pub worker_id: WorkerId,
    pub platform: PlatformId,
    /// The platform's time zone, in which `days` are local days.
    pub time_zone: String,
    pub days: Vec<NaiveDate>,
}

/// The event for one worker, traced to the request that caused it (when known).
pub fn activity_changed(
    worker: WorkerId,
    platform: &PlatformId,
    time_zone: &str,
    days: &BTreeSet<NaiveDate>,
    trace: Option<TraceParent>,
) -> anyhow::Result<NewEvent> {
    let payload = ActivityChanged {
        worker_id: worker,
        platform: platform.clone(),
        time_zone: time_zone.to_owned(),
        days: days.iter().copied().collect(),
    };
    Ok(NewEvent::new(ACTIVITY_CHANGED, payload)?.traced(trace))
}
