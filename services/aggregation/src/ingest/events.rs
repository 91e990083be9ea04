//! `activity.changed`: one event per worker whose activities a write changed, naming the
//! worker's local days touched, so enrichment recomputes just those.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use gigcover_domain::{Interval, PlatformId, WorkerId};
use gigcover_feed::NewEvent;
use gigcover_telemetry::TraceParent;
use serde::{Deserialize, Serialize};

use crate::platforms::directory::PlatformInfo;

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

/// The event for held activity just attributed to `worker` (its intervals, retracted ones
/// left out), announcing the platform's local days they touch; `None` when there are none.
pub fn attributed(
    worker: WorkerId,
    platform: &PlatformInfo,
    intervals: &[Interval],
) -> anyhow::Result<Option<NewEvent>> {
    if intervals.is_empty() {
        return Ok(None);
    }
    let days = intervals.iter().flat_map(|i| i.split_at_local_midnight(platform.time_zone)).map(|p| p.date).collect();
    activity_changed(worker, &platform.id, platform.time_zone.name(), &days, None).map(Some)
}
